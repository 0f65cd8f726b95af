"""Typed CSV columns against messy files, as users bring them (issue 16).

A corpus of tables, each run through `nndsl run` as a user would: it trains (exit 0), or
it stops with an error located in the file (file:line:col, a caret, a hint, no
traceback; exit 1) at the cell at fault. What trains then predicts a copy of its file
with the columns shuffled and the rows reordered: the same predictions, row for row,
through `nndsl predict` and through the Python API with a dict of raw columns.

Then: preprocessing statistics fitted on the training rows only (validation and test
rows hold wild values and a category of their own), the encoded matrix against
scikit-learn's ColumnTransformer on the same rows, and date components against
expectations written by hand.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from nndsl.data.split import split_indices

N = 40  # rows of most tables
CITIES = ("Paris", "Berlin", "Rome")
NA = ("", "NA", "N/A", "null", "?")  # ways a file says "no value"

MODEL = """\
model m {{
    input({width})
    dense(3, activation=tanh)
    dense(1, activation=sigmoid)
}}
train m {{
    data       = csv({csv})
    validation = 0.25
    loss       = binary_crossentropy
    optimizer  = adam(lr=0.01)
    epochs     = 1
    batch_size = 16
    seed       = 1
}}
"""
DATA_LINE = 7  # the `data = csv(...)` line of MODEL


@pytest.fixture(autouse=True)
def no_curves(monkeypatch) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)


def render(
    header: list[str], rows: list[list[str]], delimiter: str = ",", newline: str = "\n"
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def table(n: int = N, **columns) -> tuple[list[str], list[list[str]]]:
    """(header, rows) from column functions of the row number; the target y last."""
    columns.setdefault("y", lambda i: str((i * 7) % 3 % 2))
    header = list(columns)
    return header, [[str(columns[h](i)) for h in header] for i in range(n)]


def number(i: int) -> str:
    return f"{(i * 37) % 23 / 4:.2f}"


def city(i: int) -> str:
    return CITIES[i % 3]


def date_iso(i: int) -> str:
    return f"2023-{1 + i % 12:02d}-{1 + (i * 5) % 28:02d}"


def date_dayfirst(i: int) -> str:  # 31/12/2023: day first, days past 12 in most rows
    return f"{1 + (i * 3) % 28:02d}/{1 + i % 12:02d}/2022"


@dataclass
class Case:
    """A table, its csv(...) arguments, and what it must give: the encoded width it
    trains with, or the error at (line, column) of the file named."""

    name: str
    text: str | bytes
    csv_args: str = 'target="y"'
    width: int | None = None
    error: tuple[str, int, int] | None = None  # (file suffix: csv or nn, line, column)
    says: tuple[str, ...] = ()  # in the error, or the notes of a run that trains
    delimiter: str = ","
    id: str | None = None
    extra: dict = field(default_factory=dict)


def cell_column(text: str, line: int, cell: str) -> int:
    """The 1-based column where `cell` starts on `line` of the file."""
    return text.splitlines()[line - 1].index(cell) + 1


def corpus() -> list[Case]:
    cases = []

    # missing cells written five ways, two kinds of binary, a key column
    h, rows = table(
        id=lambda i: f"u{i:03d}",
        age=lambda i: NA[i % 8] if i % 8 < 5 else str(20 + i),
        city=lambda i: "" if i % 10 == 5 else city(i),
        paid=lambda i: "yes" if i % 3 == 0 else "no",
        active=lambda i: "True" if i % 2 else "False",
    )
    # age 1, city 3 + unknown, paid 1, active 1
    cases.append(
        Case(
            "mixed_missing",
            render(h, rows),
            'target="y", id="id", standardize=true',
            width=7,
            id="id",
        )
    )

    # dates: ISO; day first (31/12/2022); ISO with and without times in one column
    h, rows = table(
        x=number,
        signup=date_iso,
        joined=date_dayfirst,
        seen=lambda i: f"2023-05-{1 + i % 28:02d}" + (f" {i % 24:02d}:30" if i % 2 else ""),
    )
    # x 1; signup, joined: year 1 + month, day, weekday 2 each; seen: + hour 2
    cases.append(Case("dates", render(h, rows), 'target="y", standardize=true', width=24))

    # a constant word and a constant number
    h, rows = table(x=number, plan=lambda i: "basic", version=lambda i: "1")
    cases.append(Case("constant", render(h, rows), 'target="y", standardize=true', width=4))

    # 95% of the cells missing
    h, rows = table(x=number, rare=lambda i: "7.5" if i in (3, 30) else "")
    cases.append(Case("near_empty", render(h, rows), width=2))

    # every cell missing: an error at its header cell
    h, rows = table(x=number, blank=lambda i: NA[i % 3])
    text = render(h, rows)
    cases.append(
        Case(
            "all_empty",
            text,
            error=("csv", 1, cell_column(text, 1, "blank")),
            says=("column 'blank' has no values", "leave it out"),
        )
    )

    # a UTF-8 byte order mark before the header
    h, rows = table(area=number, city=city)
    cases.append(Case("bom", render(h, rows).encode("utf-8-sig"), width=5))

    # semicolons, declared
    h, rows = table(id=lambda i: f"r{i}", area=number, city=city)
    cases.append(
        Case(
            "semicolon",
            render(h, rows, ";"),
            'target="y", delimiter=";", id="id"',
            width=5,
            delimiter=";",
            id="id",
        )
    )

    # semicolons with decimal commas (a European export): the hint says why
    h, rows = table(area=lambda i: number(i).replace(".", ","), city=city)
    text = render(h, rows, ";")
    cases.append(
        Case(
            "semicolon_decimal_comma",
            text,
            'target="y", delimiter=";"',
            error=("csv", 2, 1),
            says=("'0,00' is not a number", "decimal point: 1.5, not 1,5"),
            delimiter=";",
        )
    )

    # quoted cells holding commas
    h, rows = table(x=number, city=lambda i: f"{city(i)}, {'FR DE IT'.split()[i % 3]}")
    assert '"Paris, FR"' in render(h, rows)
    cases.append(Case("quoted_commas", render(h, rows), width=5))

    # Windows line ends
    h, rows = table(x=number, city=city)
    cases.append(Case("crlf", render(h, rows, newline="\r\n"), width=5))

    # a stray word among numbers, in a file with Windows line ends
    h, rows = table(x=number, area=lambda i: "lots" if i == 16 else number(i), city=city)
    text = render(h, rows, newline="\r\n")
    cases.append(
        Case(
            "stray_word",
            text,
            error=("csv", 18, cell_column(text, 18, "lots")),
            says=("'lots' is not a number", "columns=(area=category)"),
        )
    )

    # one number written with a decimal comma (quoted, in a comma-separated file)
    h, rows = table(x=number, price=lambda i: "3,25" if i == 5 else number(i))
    text = render(h, rows)
    cases.append(
        Case(
            "decimal_comma",
            text,
            error=("csv", 7, cell_column(text, 7, '"3,25"')),
            says=("'3,25' is not a number", "decimal point"),
        )
    )

    # a declared binary column with a third value
    h, rows = table(x=number, paid=lambda i: "maybe" if i == 9 else ("yes", "no")[i % 2])
    text = render(h, rows)
    cases.append(
        Case(
            "binary_third_value",
            text,
            'target="y", columns=(paid=binary)',
            error=("csv", 11, cell_column(text, 11, "maybe")),
            says=("'maybe' is a third value in binary column 'paid'", "paid=category"),
        )
    )

    # a key column, all values different: free text unless named as the id
    h, rows = table(80, session=lambda i: f"s{i:04d}", x=number, city=city)
    text = render(h, rows)
    cases.append(
        Case(
            "high_cardinality",
            text,
            error=("csv", 1, cell_column(text, 1, "session")),
            says=("column 'session' holds free text (80 different values in 80 rows)",),
        )
    )
    cases.append(Case("id_column", text, 'target="y", id="session"', width=5, id="session"))

    # rows without a target: left out, with a note naming their lines
    h, rows = table(x=number, city=city, y=lambda i: {4: "", 9: "NA"}.get(i, str(i % 2)))
    cases.append(
        Case(
            "missing_target",
            render(h, rows),
            width=5,
            says=("2 row(s) without a value in column 'y' left out (no target; line 6, 11)",),
        )
    )

    # a column named twice
    h, rows = table(area=number, city=city, area2=number)
    text = render(h, rows).replace("area2", "area", 1)
    cases.append(
        Case(
            "duplicate_header",
            text,
            error=("csv", 1, text.index("area", 1) + 1),
            says=("column 'area' appears twice in the header", "rename one of them"),
        )
    )

    # every kind declared, a strategy per column (the syntax of the docs)
    h, rows = table(
        area=lambda i: str(50 + i * 3),
        age=lambda i: "" if i % 6 == 0 else str(30 + i % 9),
        city=lambda i: "none" if i % 4 == 0 else city(i),
        built=date_dayfirst,
    )
    declared = (
        'target="y", columns=(city=category, built=date(format="%d/%m/%Y"), '
        "area=number(scale=minmax)), missing=(age=fill_median, "
        'city=fill_constant(value="none"))'
    )
    # area 1, age 1, city 3 + "none" + unknown, built 7
    cases.append(Case("declared", render(h, rows), declared, width=14))

    # one strategy for every column: fills the numbers, the others keep their defaults
    h, rows = table(
        age=lambda i: "" if i % 5 == 0 else str(20 + i),
        city=lambda i: "?" if i % 7 == 0 else city(i),
        paid=lambda i: "" if i % 9 == 0 else ("yes", "no")[i % 2],
        built=lambda i: "" if i % 11 == 0 else date_iso(i),
    )
    cases.append(
        Case("fill_median_everywhere", render(h, rows), 'target="y", missing=fill_median', 13)
    )

    # an indicator column beside the fill
    h, rows = table(age=lambda i: "" if i % 5 == 0 else str(20 + i), city=city)
    cases.append(Case("indicator", render(h, rows), 'target="y", missing=indicator', width=2 + 5))

    # a declared date column with one bad cell, past the first rows
    h, rows = table(x=number, built=lambda i: "soon" if i == 7 else date_iso(i))
    text = render(h, rows)
    cases.append(
        Case(
            "bad_date",
            text,
            'target="y", columns=(built=date)',
            error=("csv", 9, cell_column(text, 9, "soon")),
            says=("'soon' is not a date", 'date(format="%d/%m/%Y")'),
        )
    )

    # a binary fill that is neither of its values: it would make every missing cell 0
    h, rows = table(x=number, paid=lambda i: "" if i % 6 == 0 else ("yes", "no")[i % 2])
    cases.append(
        Case(
            "binary_fill_neither",
            render(h, rows),
            'target="y", missing=(paid=fill_constant(value="maybe"))',
            error=("nn", DATA_LINE, 5),
            says=("fill_constant(value='maybe') is neither", "fill_constant(value='yes')"),
        )
    )
    return cases


CORPUS = corpus()
TRAINS = [c for c in CORPUS if c.width is not None]


def test_the_corpus_is_large_and_mixed() -> None:
    assert len(CORPUS) >= 15
    assert len(TRAINS) >= 10 and len(CORPUS) - len(TRAINS) >= 8


def write_case(folder: Path, case: Case, width: int | None = None) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{case.name}.csv"
    if isinstance(case.text, bytes):
        data.write_bytes(case.text)
    else:
        data.write_bytes(case.text.encode())  # line ends as written
    source = folder / f"{case.name}.nn"
    args = f'"{data.name}", {case.csv_args}'
    source.write_text(MODEL.format(width=width or case.width or 1, csv=args))
    return source, data


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", [c for c in CORPUS if c.error], ids=lambda c: c.name)
def test_a_messy_file_is_a_located_error(case: Case, tmp_path: Path, capsys) -> None:
    source, data = write_case(tmp_path, case)
    code, out, err = cli(capsys, "run", str(source), "--out", str(tmp_path / "run"), "-q")
    suffix, line, column = case.error
    where = data if suffix == "csv" else source
    assert code == 1, err
    assert f"{where}:{line}:{column}: error: " in err, err
    shown = err.splitlines()
    assert any(set(s.strip()) == {"^"} for s in shown), err  # the caret under the cell
    assert "hint:" in err and "Traceback" not in err
    for words in case.says:
        assert words in err, err
    assert not (tmp_path / "run" / "weights.npz").exists()


def read_rows(path: Path, delimiter: str) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return rows[0], rows[1:]


def shuffled_copy(
    data: Path, out: Path, delimiter: str, seed: int
) -> tuple[np.ndarray, list[str], list[list[str]]]:
    """`data` with its columns in another order and its rows reordered: (the row order,
    the new header, the new rows)."""
    header, rows = read_rows(data, delimiter)
    rng = np.random.default_rng(seed)
    cols = list(rng.permutation(len(header)))
    if cols == sorted(cols):
        cols = cols[::-1]
    order = rng.permutation(len(rows))
    new_header = [header[j] for j in cols]
    new_rows = [[rows[r][j] for j in cols] for r in order]
    out.write_text(render(new_header, new_rows, delimiter))
    return order, new_header, new_rows


def predictions(text: str, keys: list[str]) -> tuple[list[list[str]], list[dict[str, str]]]:
    """(each row's prediction cells, the rows as dicts) of `nndsl predict` output."""
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, text
    return [[v for k, v in r.items() if k not in keys] for r in rows], rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, tuple[Case, Path, Path, int, str]]:
    """Every case that trains, trained once by `nndsl run`: {name: (case, run folder,
    data file, exit status, what it wrote to stderr)}."""
    runs = {}
    folder = tmp_path_factory.mktemp("corpus")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
        for case in TRAINS:
            source, data = write_case(folder / case.name, case)
            err = io.StringIO()
            with pytest.MonkeyPatch.context() as streams:
                streams.setattr("sys.stderr", err)
                # not -q: the data's notes are warnings that -q keeps quiet
                code = main(["run", str(source), "--out", str(folder / case.name / "run")])
            runs[case.name] = (case, folder / case.name / "run", data, code, err.getvalue())
    return runs


@pytest.mark.parametrize("case", TRAINS, ids=lambda c: c.name)
def test_a_messy_file_trains_and_predicts_by_column_name(
    case: Case, trained, tmp_path: Path, capsys
) -> None:
    _, run, data, code, err = trained[case.name]
    assert code == 0, err
    assert "Traceback" not in err
    for words in case.says:
        assert words in err, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert math.isfinite(metrics["train"]["loss"]), metrics

    keys = [case.id] if case.id else []
    code, first, err = cli(capsys, "predict", str(run), "--data", str(data))
    assert code == 0, err
    moved = tmp_path / "moved.csv"
    order, header, rows = shuffled_copy(data, moved, case.delimiter, seed=len(case.name))
    code, second, err = cli(capsys, "predict", str(run), "--data", str(moved))
    assert code == 0, err
    a, _ = predictions(first, keys)
    b, written = predictions(second, keys)
    assert len(a) == len(b) == len(order)
    assert [b[k] for k in range(len(b))] == [a[r] for r in order]  # row for row, the same
    if case.id:  # the key column written beside each prediction, in the new order
        assert [r[case.id] for r in written] == [row[header.index(case.id)] for row in rows]

    model = nndsl.load(run / "weights.npz")
    columns = {h: [row[j] for row in rows] for j, h in enumerate(header)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes about left-out or unseen columns
        api = model.predict(columns)
    column = next(k for k in written[0] if k.startswith("p_"))
    want = np.array([float(r[column]) for r in written])
    np.testing.assert_allclose(api[:, 0], want, atol=2e-6)
    assert model.preprocessing.width == case.width


def test_a_category_unseen_at_predict_time_reads_as_unknown(trained, tmp_path, capsys) -> None:
    """Madrid never appeared in training: its row is predicted as one whose city is
    missing (both take the unknown slot), with a warning that counts it."""
    _, run, data, code, _ = trained["mixed_missing"]
    assert code == 0
    header, rows = read_rows(data, ",")
    j = header.index("city")
    row = rows[0]
    new = tmp_path / "new.csv"
    lines = [row[:j] + [value] + row[j + 1 :] for value in ("Madrid", "", "Paris")]
    new.write_text(render(header, lines))
    code, out, err = cli(capsys, "predict", str(run), "--data", str(new))
    assert code == 0, err
    assert "1 value(s) of column 'city' were not among its training categories" in err
    p = [r["p_y"] for r in csv.DictReader(io.StringIO(out))]
    assert p[0] == p[1] != p[2]


def test_new_rows_read_slash_dates_the_way_training_did(trained, tmp_path, capsys) -> None:
    """Training saw 28/01/2022, so its slash dates are day first; new rows whose days
    are all 12 or less (05/03/2022) must still read day first, not as May 3."""
    _, run, data, code, _ = trained["dates"]
    assert code == 0
    header, rows = read_rows(data, ",")
    j = header.index("joined")
    early = [r for r in rows if int(r[j].split("/")[0]) <= 12]
    assert 3 <= len(early) < len(rows)
    new = tmp_path / "early.csv"
    new.write_text(render(header, early))
    code, out, err = cli(capsys, "predict", str(run), "--data", str(new))
    assert code == 0, err
    code, full, err = cli(capsys, "predict", str(run), "--data", str(data))
    every = {tuple(r): p for r, p in zip(rows, csv.DictReader(io.StringIO(full)))}
    assert list(csv.DictReader(io.StringIO(out))) == [every[tuple(r)] for r in early]


def test_a_binary_value_training_never_had_is_a_located_error(trained, tmp_path, capsys):
    """Yes (capital) where training had yes/no would silently have read as 0."""
    _, run, data, code, _ = trained["mixed_missing"]
    assert code == 0
    header, rows = read_rows(data, ",")
    j = header.index("paid")
    rows = [r[:j] + (["Yes"] if k == 2 else [r[j]]) + r[j + 1 :] for k, r in enumerate(rows[:4])]
    new = tmp_path / "new.csv"
    text = render(header, rows)
    new.write_text(text)
    code, out, err = cli(capsys, "predict", str(run), "--data", str(new))
    assert code == 1 and out == ""
    assert f"{new}:4:{cell_column(text, 4, 'Yes')}: error: " in err, err
    assert "'Yes' is not one of the values of binary column 'paid' in training ('no', 'yes')" in err


# ---------------------------------------------------------------- no leakage


LEAK = """\
model m {
    input(16)
    dense(1, activation=sigmoid)
}
train m {
    data       = csv("leak.csv", target="y", standardize=true,
                     columns=(size=number(scale=minmax)),
                     missing=(age=fill_median, plan=fill_mode))
    validation = 0.2
    test       = 0.2
    seed       = 5
    loss       = binary_crossentropy
}
"""


def test_preprocessing_never_sees_validation_or_test_rows(tmp_path: Path) -> None:
    """Validation and test rows hold wild values (ages of a million, year 2099, sizes
    far out) and a city of their own; the fitted statistics must be those of the
    training rows alone, computed here by hand."""
    n = 100
    kept = n - 1  # the first row has no target: left out before the split
    train, val, test = split_indices(kept, 0.2, 0.2, 5)
    held = set(val.tolist()) | set(test.tolist())
    rng = np.random.default_rng(0)
    rows, want = [], {"age": [], "size": [], "city": [], "plan": [], "year": []}
    for k in range(kept):
        wild = k in held
        age = 1e6 + k if wild else float(rng.integers(18, 70))
        size = -5e5 if wild else float(rng.uniform(10, 20))
        city_ = "Atlantis" if wild else CITIES[k % 3]
        plan = "basic" if wild else ("pro", "free", "pro")[k % 3]
        year = 2099 if wild else 2000 + k % 20
        age_cell = "" if k % 10 == 3 else f"{age:g}"
        plan_cell = "" if k % 10 == 4 else plan
        rows.append(
            [age_cell, f"{size:.6f}", city_, plan_cell, f"{year}-06-{1 + k % 28:02d}", str(k % 2)]
        )
        if not wild:
            for key, v in zip(want, (age_cell, float(f"{size:.6f}"), city_, plan_cell, year)):
                want[key].append(v)
    header = ["age", "size", "city", "plan", "built", "y"]
    rows.insert(0, ["30", "15", "Rome", "pro", "2010-01-01", ""])
    (tmp_path / "leak.csv").write_text(render(header, rows))
    (tmp_path / "leak.nn").write_text(LEAK)
    model = nndsl.compile_file(tmp_path / "leak.nn").build()
    splits = model.load_data()
    stats = {e["name"]: e["stats"] for e in model.preprocessing.to_dict()["encodings"]}

    ages = np.array([float(a) for a in want["age"] if a])
    filled = np.array([float(a) if a else np.median(ages) for a in want["age"]])
    assert stats["age"]["fill"] == pytest.approx(np.median(ages))
    assert stats["age"]["shift"] == pytest.approx(filled.mean())
    assert stats["age"]["divide"] == pytest.approx(filled.std())
    sizes = np.array(want["size"])
    assert stats["size"]["fill"] == pytest.approx(sizes.mean())
    assert stats["size"]["shift"] == pytest.approx(sizes.min())
    assert stats["size"]["divide"] == pytest.approx(sizes.max() - sizes.min())
    assert stats["city"]["categories"] == sorted(CITIES)
    plans = [p for p in want["plan"] if p]
    assert stats["plan"]["fill"] == max(sorted(set(plans)), key=plans.count)
    assert stats["plan"]["categories"] == ["free", "pro"]  # "basic" only in held-out rows
    years = np.array(want["year"], dtype=float)
    assert stats["built"]["year"]["shift"] == pytest.approx(years.mean())
    assert stats["built"]["year"]["divide"] == pytest.approx(years.std())
    assert splits.train.x.shape == (len(train), 16) and splits.test.x.shape == (len(test), 16)
    # the held-out rows' city and plan are unknown to the model, and said so
    assert f"{len(val)} validation value(s) of column 'city' were not among" in splits.note
    assert f"{len(test)} test value(s) of column 'city' were not among" in splits.note
    assert "1 row(s) without a value in column 'y' left out (no target; line 2)" in splits.note
    unknown = model.preprocessing.outputs.index("city=<unknown>")
    assert (splits.validation.x[:, unknown] == 1).all()
    assert (splits.train.x[:, unknown] == 0).all()


# ---------------------------------------------------------------- against scikit-learn

MIXED = """\
model m {
    input(16)
    dense(1)
}
train m {
    data       = csv("mixed.csv", target="y", standardize=true,
                     columns=(b=number(scale=minmax)),
                     missing=(a=fill_mean, b=fill_median, c=fill_mode,
                              e=fill_constant(value="zz")))
    validation = 0.25
    test       = 0.25
    seed       = 2
    loss       = mse
}
"""


def test_the_encoding_equals_scikit_learns_column_transformer(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

    n = 80
    train, val, test = split_indices(n, 0.25, 0.25, 2)
    held = set(val.tolist()) | set(test.tolist())
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n):
        a = "" if i % 7 == 0 else f"{rng.normal(50, 10):.4f}"
        b = "NA" if i % 5 == 0 else f"{rng.exponential(3):.4f}"
        c = "?" if i % 6 == 0 else ("red", "green", "blue", "green")[int(rng.integers(4))]
        d = "v" if i in held and i % 5 == 1 else ("x", "y", "w")[i % 3]  # v: held out only
        e = "" if i % 4 == 0 else ("lo", "hi")[i % 2] + ("" if i % 3 else "!")
        rows.append([a, b, c, d, e, f"{rng.normal():.3f}"])
    header = ["a", "b", "c", "d", "e", "y"]
    (tmp_path / "mixed.csv").write_text(render(header, rows))
    (tmp_path / "mixed.nn").write_text(MIXED)
    model = nndsl.compile_file(tmp_path / "mixed.nn").build()
    splits = model.load_data()

    raw = np.array(rows, dtype=object)[:, :5]
    for j in range(5):
        missing = np.isin(raw[:, j], ["", "NA", "?"])
        raw[missing, j] = np.nan
    nums = raw[:, :2].astype(float)

    def onehot(strategy: str, **extra):
        imputer = SimpleImputer(strategy=strategy, missing_values=np.nan, **extra)
        return make_pipeline(imputer, OneHotEncoder(handle_unknown="ignore", sparse_output=False))

    cats = ColumnTransformer(
        [
            ("c", onehot("most_frequent"), [0]),
            ("d", OneHotEncoder(handle_unknown="ignore", sparse_output=False), [1]),
            ("e", onehot("constant", fill_value="zz"), [2]),
        ]
    )
    numbers = ColumnTransformer(
        [
            ("a", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), [0]),
            ("b", make_pipeline(SimpleImputer(strategy="median"), MinMaxScaler()), [1]),
        ]
    )
    numbers.fit(nums[train])
    cats.fit(raw[train, 2:5])
    sizes = [len(cats.named_transformers_[k].steps[-1][1].categories_[0]) for k in "ce"]
    sizes.insert(1, len(cats.named_transformers_["d"].categories_[0]))
    assert sizes == [3, 3, 5]  # c: blue green red; d: w x y; e: hi hi! lo lo! and zz

    def reference(index: np.ndarray) -> np.ndarray:
        parts, start = [numbers.transform(nums[index])], 0
        hot = cats.transform(raw[index, 2:5])
        for size in sizes:  # nndsl adds an unknown slot after each category's one-hot
            block = hot[:, start : start + size]
            parts += [block, 1 - block.sum(axis=1, keepdims=True)]
            start += size
        return np.concatenate(parts, axis=1)

    assert model.preprocessing.width == 2 + sum(sizes) + 3 == 16
    for part, index in ((splits.train, train), (splits.validation, val), (splits.test, test)):
        np.testing.assert_allclose(part.x, reference(index), atol=1e-12)
    unknown = model.preprocessing.outputs.index("d=<unknown>")
    assert splits.test.x[:, unknown].any() and splits.validation.x[:, unknown].any()  # v


# ---------------------------------------------------------------- dates by hand


DATES = """\
model m {
    input(9)
    dense(1)
}
train m {
    data = csv("dates.csv", target="y", columns=(when=date(format="%d/%m/%Y %H:%M")))
    loss = mse
}
"""


def test_date_components_are_the_calendars(tmp_path: Path) -> None:
    """A Thursday 29 February 2024 at 18:00 and a Sunday 31 December 2023 at 06:00: the
    year standardized over the training rows, month, day, weekday and hour as the sine
    and cosine of their cycles (January, the 1st, Monday and midnight at angle 0)."""
    (tmp_path / "dates.csv").write_text("when,y\n29/02/2024 18:00,1\n31/12/2023 06:00,2\n")
    (tmp_path / "dates.nn").write_text(DATES)
    model = nndsl.compile_file(tmp_path / "dates.nn").build()
    x = model.load_data().train.x
    x = x[np.argsort(-x[:, 0])]  # the split shuffled the rows: 2024 first
    assert model.preprocessing.outputs == [
        "when.year",
        *(f"when.{p}_{f}" for p in ("month", "day", "weekday", "hour") for f in ("sin", "cos")),
    ]
    r3, tau = math.sqrt(3) / 2, 2 * math.pi
    leap = [1.0, 0.5, r3, math.sin(tau * 28 / 31), math.cos(tau * 28 / 31)]
    leap += [math.sin(tau * 3 / 7), math.cos(tau * 3 / 7), -1.0, 0.0]
    eve = [-1.0, -0.5, r3, math.sin(tau * 30 / 31), math.cos(tau * 30 / 31)]
    eve += [math.sin(tau * 6 / 7), math.cos(tau * 6 / 7), 1.0, 0.0]
    np.testing.assert_allclose(x, [leap, eve], atol=1e-12)
