"""Write examples/series.csv: hourly viewers of a streaming service in two regions (made
up), the series examples/forecast.nn forecasts.

2 regions x 1,500 hours (62.5 days) = 3,000 rows: time (ISO, hourly), region (the group),
hour (0-23) and viewers (thousands): a daily cycle (low at night, a peak in the evening),
a slow upward trend, and noise that lingers from hour to hour (AR(1), phi 0.7) plus some
that does not. The regions' rows are interleaved, as a log writes them. Seeded: the same
file every time. Run from anywhere: python examples/data/make_series.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "series.csv"
HOURS, SEED = 1500, 24
REGIONS = {"north": (6.0, 2.0), "south": (4.0, 1.5)}  # level and daily swing, thousands


def viewers(rng: np.random.Generator, level: float, swing: float) -> np.ndarray:
    t = np.arange(HOURS)
    day = 2 * np.pi * (t % 24) / 24
    # the evening peak: a first harmonic peaking at 20:00 and a second sharpening it
    cycle = np.cos(day - 2 * np.pi * 20 / 24) + 0.4 * np.cos(2 * (day - 2 * np.pi * 20 / 24))
    lingering = np.zeros(HOURS)
    shocks = rng.normal(0.0, 0.35, HOURS)
    for k in range(1, HOURS):
        lingering[k] = 0.7 * lingering[k - 1] + shocks[k]
    trend = 0.5 * t / HOURS
    return level + swing * cycle + trend + lingering + rng.normal(0.0, 0.1, HOURS)


def main() -> None:
    rng = np.random.default_rng(SEED)
    series = {name: viewers(rng, *shape) for name, shape in REGIONS.items()}
    start = datetime(2024, 3, 1)
    lines = ["time,region,hour,viewers"]
    for t in range(HOURS):
        when = start + timedelta(hours=t)
        for name, values in series.items():
            lines.append(f"{when:%Y-%m-%d %H:%M},{name},{when.hour},{values[t]:.3f}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(lines) - 1} rows)")


if __name__ == "__main__":
    main()
