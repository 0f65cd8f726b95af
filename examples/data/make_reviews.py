"""Write examples/reviews.csv: short film reviews and whether each is positive.

The reviews are generated from templates, so the repository ships no one's writing and
the sentiment of every review is known exactly. They are built so that counting words
is not enough: a review may negate its opinion ("was not good"), or turn in its second
clause ("the acting was great but the plot was dull": the clause after "but" decides).
The same words appear on both sides, so a model has to read their order. Columns:
review (the text), sentiment (positive or negative).

Run from anywhere: python examples/data/make_reviews.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "examples" / "reviews.csv"
N, SEED = 2000, 7

SUBJECTS = ["the film", "the plot", "the acting", "the music", "the ending", "the cast",
            "the script", "the story", "the director", "the camera work"]  # fmt: skip
GOOD = ["good", "great", "wonderful", "moving", "clever", "brilliant", "funny", "lovely"]
BAD = ["bad", "dull", "boring", "awful", "weak", "silly", "terrible", "slow"]
DEGREE = ["", "", "really ", "very ", "quite ", "truly "]
VERDICTS_GOOD = ["i loved it", "i would watch it again", "a must see"]
VERDICTS_BAD = ["i hated it", "i want my money back", "a waste of time"]


def clause(positive: bool, rng: random.Random) -> str:
    """'the plot was (not) really good', meaning `positive`."""
    negated = rng.random() < 0.35
    word = rng.choice(GOOD if positive != negated else BAD)
    verb = "was not" if negated else rng.choice(["was", "is", "was"])
    return f"{rng.choice(SUBJECTS)} {verb} {rng.choice(DEGREE)}{word}"


def review(positive: bool, rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.45:
        return clause(positive, rng)
    if shape < 0.8:  # the opposite first, then the turn: the second clause decides
        return f"{clause(not positive, rng)} but {clause(positive, rng)}"
    verdict = rng.choice(VERDICTS_GOOD if positive else VERDICTS_BAD)
    return f"{clause(positive, rng)} , {verdict}"


def main() -> None:
    rng = random.Random(SEED)
    with OUT.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")  # quotes the reviews with a comma
        out.writerow(["review", "sentiment"])
        for _ in range(N):
            positive = rng.random() < 0.5
            out.writerow([review(positive, rng), "positive" if positive else "negative"])
    print(f"wrote {OUT} ({N} reviews)")


if __name__ == "__main__":
    main()
