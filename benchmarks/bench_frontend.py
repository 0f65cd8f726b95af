"""Front-end speed: parse + compile a generated 1,000-layer model, and `import nndsl`
as a whole process (torch must not be imported). Targets (issue 2): < 0.2 s, < 0.15 s.

    python benchmarks/bench_frontend.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def generated_source(layers: int = 1000) -> str:
    body = ["    input(64)"]
    for i in range(layers - 2):
        if i % 10 == 9:
            body.append("    dropout(0.1)")
        else:
            body.append(f"    dense({32 + i % 5 * 16}, activation=relu)")
    body.append("    dense(10, activation=softmax)")
    return (
        "model deep {\n" + "\n".join(body) + "\n}\n"
        "train deep {\n    loss = sparse_categorical_crossentropy\n"
        "    optimizer = adam(lr=1e-3)\n}\n"
    )


def main() -> None:
    src = generated_source()
    # first compile in a fresh process includes building the LALR parser
    code = (
        "import time; t=time.perf_counter(); import nndsl; "
        "src=open(0).read(); p=nndsl.compile_string(src); "
        "print(time.perf_counter()-t, len(p.graph.nodes))"
    )
    cold = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], input=src, capture_output=True, text=True, check=True
        ).stdout.split()
        cold.append(float(out[0]))
    import nndsl

    nndsl.compile_string(src)  # parser built
    warm = []
    for _ in range(5):
        t = time.perf_counter()
        program = nndsl.compile_string(src)
        warm.append(time.perf_counter() - t)
    print(
        f"parse+compile {len(program.graph.nodes)} layers: warm {statistics.median(warm):.3f} s,"
        f" cold (incl. import and parser build) {statistics.median(cold):.3f} s (target < 0.2 s)"
    )

    imports = []
    for _ in range(7):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", "import nndsl, sys; print('torch' in sys.modules)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        imports.append(time.perf_counter() - t)
        assert out == "False", "import nndsl imported torch"
    base = []
    for _ in range(7):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - t)
    print(
        f"python -c 'import nndsl': {statistics.median(imports):.3f} s as a whole process "
        f"(bare interpreter {statistics.median(base):.3f} s); torch not imported "
        f"(target < 0.15 s)"
    )


if __name__ == "__main__":
    main()
