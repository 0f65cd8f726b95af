#!/usr/bin/env bash
# The GPU check of issue 18 (benchmarks/gpu_check.py): the torch backend's agreement tests
# on CUDA in float32, every example trained for one epoch on CUDA, and B1, CNN, LSTM and
# transformer training samples/s beside hand-written PyTorch loops, float32 and bf16, in
# one table. Under 8 minutes on one H200. Run from anywhere; it works in the checkout.
#
#   benchmarks/gpu_check.sh [--device cuda|cpu] [--quick] [--out DIR] ...   (--help: all)
#   benchmarks/gpu_check.sh --device cpu --quick      # the proof run on a CPU (minutes)
#
# A device machine has no internet and no lark (nndsl's parser; torch, numpy, pyyaml,
# pytest, scikit-learn and matplotlib are there). Carry lark as a wheel:
#   here, once:   benchmarks/gpu_check.sh --wheels    # lark's wheel into .whl/ (git ignores it)
#   there:        run(command="benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=600)
# Where `import lark` fails this script installs .whl/lark-*.whl into /tmp/nndsl-site first.
# The report comes back as $OUT/gpu_check.md, with gpu_check_tests.log (pytest's output)
# and gpu_check_examples.log (the failing examples' output) beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ "${1:-}" = "--wheels" ]; then  # here, with pip's internet: the wheel a device lacks
    version=$("$PY" -c "import importlib.metadata as m; print(m.version('lark'))")
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "lark==$version"
    ls .whl/lark-*.whl
    exit 0
fi

case " $* " in
    *" -h "* | *" --help "*) ;;  # help needs no lark
    *)
        if ! "$PY" -c "import lark" 2>/dev/null; then
            wheels=$(ls .whl/lark-*.whl 2>/dev/null || true)
            if [ -z "$wheels" ]; then
                echo "gpu_check: lark is not installed and .whl/ holds no lark wheel:" >&2
                echo "  run 'benchmarks/gpu_check.sh --wheels' where pip works, and carry .whl" >&2
                exit 2
            fi
            "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
                --target /tmp/nndsl-site $wheels
            export PYTHONPATH="/tmp/nndsl-site${PYTHONPATH:+:$PYTHONPATH}"
        fi
        ;;
esac

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
exec "$PY" benchmarks/gpu_check.py "$@"
