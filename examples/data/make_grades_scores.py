"""Write examples/grades_scores.csv: the "Will I pass?" students of grades.csv with a
second target, their final score, for a model with two outputs (examples/two_heads.nn).

The same 200 students as `synthetic("grades", n=200, seed=2024)`: lectures attended,
project hours, whether they passed, and the score out of 100 the pass follows from
(40% lectures, 60% project, plus noise of 3 points). Columns are written with the
score first, so the targets are found by name, not position.
Run from anywhere: python examples/data/make_grades_scores.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
try:
    from nndsl.data import make_synthetic
except ImportError:  # running from a checkout without installing nndsl
    sys.path.insert(0, str(ROOT))
    from nndsl.data import make_synthetic

N, NOISE, SEED = 200, 0.1, 2024
OUT = ROOT / "examples" / "grades_scores.csv"


def main() -> None:
    ds = make_synthetic("grades", n=N, noise=NOISE, seed=SEED)
    lectures, hours = ds.x[:, 0], ds.x[:, 1]
    noise = np.random.default_rng(SEED).normal(0, 3, N)
    score = np.clip(100 * (0.4 * lectures / 40 + 0.6 * hours / 60) + noise, 0, 100)
    rows = ["score,lectures_attended,project_hours,passed"]
    rows += [f"{s:.1f},{x[0]:g},{x[1]:g},{y:g}" for s, x, y in zip(score, ds.x, ds.y)]
    OUT.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({N} rows)")


if __name__ == "__main__":
    main()
