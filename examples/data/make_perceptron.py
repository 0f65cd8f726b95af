"""Write examples/lecture/perceptron.csv: points on both sides of the lecture's line.

The perceptron of examples/lecture/perceptron.nn computes y = sigmoid(1 + 3*x1 - 2*x2);
its decision boundary is the line 1 + 3*x1 - 2*x2 = 0. These 80 points are spread over
[-3, 3] x [-3, 3] and labelled 1 on the side where 1 + 3*x1 - 2*x2 > 0 (y > 0.5), 0 on
the other, so the file's weights classify every one of them correctly.

Run from anywhere: python examples/data/make_perceptron.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N, SEED = 80, 7
OUT = Path(__file__).resolve().parents[1] / "lecture" / "perceptron.csv"


def main() -> None:
    rng = np.random.default_rng(SEED)
    x = np.round(rng.uniform(-3, 3, size=(N, 2)), 2)
    z = 1 + 3 * x[:, 0] - 2 * x[:, 1]
    keep = np.abs(z) > 0.3  # no point sits on the line itself
    x, z = x[keep], z[keep]
    rows = ["x1,x2,label"] + [f"{a:g},{b:g},{int(v > 0)}" for (a, b), v in zip(x, z)]
    OUT.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(x)} rows, {int((z > 0).sum())} labelled 1)")


if __name__ == "__main__":
    main()
