"""Write examples/subscribers.csv: a streaming service's subscribers and whether they
cancelled (the course project's kind of table, made up, with its mess).

600 rows: user_id (a key, never a feature), plan (basic/standard/premium), country, signup
date (ISO, some with a time), monthly_fee, watch_hours (some cells empty or NA), devices,
autopay (yes/no, a few missing) and churned (yes/no). Who churns depends on the plan, the
watch hours, autopay and how long ago they signed up, plus noise. Seeded: the same file
every time. Run from anywhere: python examples/data/make_subscribers.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "subscribers.csv"
N, SEED = 600, 16


def main() -> None:
    rng = np.random.default_rng(SEED)
    plans = rng.choice(["basic", "standard", "premium"], N, p=[0.5, 0.3, 0.2])
    fee = {"basic": 7.99, "standard": 12.99, "premium": 17.99}
    countries = rng.choice(["DE", "FR", "IT", "ES", "NL"], N)
    start = datetime(2021, 1, 1)
    days = rng.integers(0, 1200, N)
    hours = np.round(rng.gamma(2.0, 8.0, N), 1)
    devices = rng.integers(1, 5, N)
    autopay = rng.random(N) < 0.6
    logit = (
        0.8
        - 0.12 * hours
        + 1.5 * (plans == "basic")
        - 1.2 * autopay
        + 0.0015 * (days - 600)
        - 0.3 * (devices - 2)
    )
    churned = rng.random(N) < 1 / (1 + np.exp(-logit))
    lines = ["user_id,plan,country,signup,monthly_fee,watch_hours,devices,autopay,churned"]
    for i in range(N):
        when = start + timedelta(days=int(days[i]), hours=int(rng.integers(0, 24)))
        signup = when.strftime("%Y-%m-%d %H:%M") if i % 3 else when.strftime("%Y-%m-%d")
        watch = "" if i % 17 == 0 else ("NA" if i % 23 == 0 else f"{hours[i]}")
        pay = "" if i % 41 == 0 else ("yes" if autopay[i] else "no")
        lines.append(
            f"u{1000 + i},{plans[i]},{countries[i]},{signup},{fee[plans[i]]},{watch},"
            f"{devices[i]},{pay},{'yes' if churned[i] else 'no'}"
        )
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({N} rows)")


if __name__ == "__main__":
    main()
