"""csv(path, target, features, delimiter): values, labels, names, and every defect located
to the line and the cell in the CSV file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nndsl.data import load_data
from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec

GRADES = "lectures,hours,passed\n10,20.5,0\n35,50,1\n"


def test_numbers_become_float_features_and_target(load_csv_text) -> None:
    ds = load_csv_text(GRADES, target="passed")
    np.testing.assert_array_equal(ds.x, [[10, 20.5], [35, 50]])
    np.testing.assert_array_equal(ds.y, [0, 1])
    assert ds.x.dtype == np.float64 and ds.y.dtype == np.float64 and ds.y.shape == (2,)
    assert ds.feature_names == ["lectures", "hours"] and ds.target_names == ["passed"]
    assert ds.class_names is None and len(ds) == 2
    assert "data.csv" in ds.source


def test_text_labels_become_sorted_class_indices(load_csv_text) -> None:
    ds = load_csv_text(
        "a,species\n1,virginica\n2,setosa\n3, versicolor \n4,setosa\n", target="species"
    )
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(ds.y, [2, 0, 1, 0])
    assert ds.y.dtype == np.int64 and ds.num_classes == 3


def test_several_target_columns(load_csv_text) -> None:
    ds = load_csv_text("a,t1,b,t2\n1,2,3,4\n5,6,7,8\n", target=["t2", "t1"])
    np.testing.assert_array_equal(ds.y, [[4, 2], [8, 6]])
    np.testing.assert_array_equal(ds.x, [[1, 3], [5, 7]])
    assert ds.target_names == ["t2", "t1"] and ds.feature_names == ["a", "b"]


def test_features_select_and_order_columns(load_csv_text) -> None:
    # the unused column may hold anything
    ds = load_csv_text("a,name,b,y\n1,ann,2,0\n3,bob,4,1\n", features=["b", "a"])
    np.testing.assert_array_equal(ds.x, [[2, 1], [4, 3]])
    assert ds.feature_names == ["b", "a"]
    assert load_csv_text("a,name,b,y\n1,ann,2,0\n", features="a").feature_names == ["a"]


def test_quotes_whitespace_blank_lines_bom_and_crlf(load_csv_text) -> None:
    text = '\ufeff"a", b ,y\r\n\r\n"1.5", 2 ,"3"\r\n  \r\n4,5e1,-6\r\n\r\n'
    ds = load_csv_text(text)
    np.testing.assert_array_equal(ds.x, [[1.5, 2], [4, 50]])
    np.testing.assert_array_equal(ds.y, [3, -6])
    assert ds.feature_names == ["a", "b"]


@pytest.mark.parametrize("delimiter, sep", [(";", ";"), ("\t", "\t"), ("tab", "\t")])
def test_other_delimiters(load_csv_text, delimiter: str, sep: str) -> None:
    ds = load_csv_text(sep.join("aby") + "\n" + sep.join("123") + "\n", delimiter=delimiter)
    np.testing.assert_array_equal(ds.x, [[1, 2]])


def test_paths_are_relative_to_the_nn_files_folder(tmp_path: Path, write) -> None:
    write("project/data/d.csv", GRADES)
    spec = Spec("csv", {"path": "data/d.csv", "target": "passed"})
    assert len(load_data(spec, str(tmp_path / "project"))) == 2
    with pytest.raises(NNDSLError, match="cannot find data file"):
        load_data(spec, str(tmp_path))
    absolute = Spec("csv", {"path": str(tmp_path / "project/data/d.csv"), "target": "passed"})
    assert len(load_data(absolute, "/somewhere/else")) == 2


def test_missing_file_names_the_resolved_absolute_path(tmp_path: Path) -> None:
    with pytest.raises(NNDSLError) as info:
        load_data(Spec("csv", {"path": "nope/grades.csv", "target": "y"}), str(tmp_path))
    err = info.value
    assert "cannot find data file 'nope/grades.csv'" in err.message
    assert str(tmp_path / "nope" / "grades.csv") in err.message
    assert err.line is None and err.path is None  # the caller locates it in the .nn file


# text, target, extra args, message fragment, line, column (1-based, where the cell starts)
DEFECTS = [
    ("", "y", {}, "data file data.csv is empty", 1, 1),
    ("\n\n", "y", {}, "is empty", 1, 1),
    ("a,b,y\n", "y", {}, "data.csv has a header but no data rows", 1, 1),
    ("a,b,label\n1,2,3\n", "lable", {}, "data.csv has no column 'lable' (line 1", 1, 1),
    ("a,b,y\n1,2,3\n", "y", {"features": ["a", "c"]}, "has no column 'c'", 1, 1),
    (
        "a,b,y\n1,2,3\n4,5\n",
        "y",
        {},
        "line 3: 2 cells but the header has 3; column 'y' is missing",
        3,
        4,
    ),
    (
        "a,b,y\n1,2,3\n4,5,6,7\n",
        "y",
        {},
        "line 3: 4 cells but the header has 3; an extra cell after column 'y'",
        3,
        7,
    ),
    ("a,b,y\n1,2,3\n4,abc,6\n", "y", {}, "line 3, column 'b': 'abc' is not a number", 3, 3),
    ("a,b,y\n1,2,3\n4,inf,6\n", "y", {}, "line 3, column 'b': the value is infinite", 3, 3),
    ("a,b,y\n1,,3\n4,NA,6\n", "y", {}, "in data.csv: column 'b' has no values", 1, 3),
    ("a,b,y\n1,2,3\n4,5,-inf\n", "y", {}, "line 3, column 'y': the value is infinite", 3, 5),
    (
        "a,b,y\n1,2,3\n4,5,6\n7,8,O.9\n",
        "y",
        {},
        "line 4, column 'y': 'O.9' is not a number, though other values",
        4,
        5,
    ),
    (
        "a,t1,t2\n1,2,3\n4,5,x\n",
        ["t1", "t2"],
        {},
        "line 3, column 't2': 'x' is not a number (with several target columns",
        3,
        5,
    ),
    ('a,b,y\n"1,5",2,3\n', "y", {}, "line 2, column 'a': '1,5' is not a number", 2, 1),
    ('a,b,y\n1,2,3\n4,5,6\n7,"x ""q""",9\n', "y", {}, "column 'b': 'x \"q\"' is not", 4, 3),
    ("a,a,y\n1,2,3\n", "y", {}, "line 1: column 'a' appears twice in the header", 1, 3),
    ("a,,y\n1,2,3\n", "y", {}, "line 1: header cell 2 is empty", 1, 3),
    (
        "a,b,y\n1,2,3\n\n4,5,6\n\n7,8,z9\n",
        "y",
        {},
        "line 6, column 'y': 'z9' is not a number",
        6,
        5,
    ),
]


@pytest.mark.parametrize("text, target, args, fragment, line, column", DEFECTS)
def test_defects_are_located_in_the_csv(
    tmp_path: Path, load_csv_text, text, target, args, fragment, line, column
) -> None:
    with pytest.raises(NNDSLError) as info:
        load_csv_text(text, target=target, **args)
    err = info.value
    assert fragment in err.message
    assert "data.csv" in err.message
    assert (err.line, err.column) == (line, column)
    assert err.path == str(tmp_path / "data.csv")
    assert err.source == text


def test_error_renders_the_line_with_a_caret_under_the_cell(load_csv_text) -> None:
    with pytest.raises(NNDSLError) as info:
        load_csv_text("a,b,y\n1,2,3\n4,abc,6\n")
    rendered = str(info.value).splitlines()
    assert rendered[0].endswith(
        "data.csv:3:3: error: in data.csv, line 3, column 'b': 'abc' is not a number"
    )
    assert rendered[1] == "   3 | 4,abc,6"
    assert rendered[2] == "         ^^^"


def test_unknown_column_hints(load_csv_text) -> None:
    with pytest.raises(NNDSLError) as info:
        load_csv_text("a,b,label\n1,2,3\n", target="lable")
    assert info.value.hint == "did you mean 'label'?"
    with pytest.raises(NNDSLError) as info:
        load_csv_text("a,b,label\n1,2,3\n", target="zzz")
    assert info.value.hint == "its columns are: a, b, label"
    with pytest.raises(NNDSLError) as info:  # a ;-separated file read with ","
        load_csv_text("a;b;label\n1;2;3\n", target="label")
    assert 'delimiter=";"' in info.value.hint


def test_a_free_text_feature_column_says_how_to_read_it(load_csv_text) -> None:
    rows = "".join(f"a review number {i} of the film,{i},{i % 2}\n" for i in range(60))
    with pytest.raises(NNDSLError) as info:
        load_csv_text("review,b,y\n" + rows)
    assert "column 'review' holds free text (60 different values in 60 rows)" in str(info.value)
    assert 'csv(text="review")' in info.value.hint and "features=[...]" in info.value.hint
    assert (info.value.line, info.value.column) == (1, 1)  # at its header cell


def test_a_quoted_cell_spanning_lines_is_located_where_it_starts(load_csv_text) -> None:
    with pytest.raises(NNDSLError) as info:
        load_csv_text('a,b,y\n1,2,3\n4,"x\ny",6\n7,8,9\n')
    assert (info.value.line, info.value.column) == (3, 3)
    with pytest.raises(NNDSLError) as info:  # the line after it is counted right
        load_csv_text('a,b,y\n1,"2\n",3\n7,8,q\n')
    assert (info.value.line, info.value.column) == (4, 5)


def test_not_utf8_is_located(tmp_path: Path, write) -> None:
    write("data.csv", b"a,b,y\n1,2,3\n4,\xff\xfe,6\n")
    with pytest.raises(NNDSLError) as info:
        load_data(Spec("csv", {"path": "data.csv", "target": "y"}), str(tmp_path))
    assert "data.csv is not UTF-8 text" in info.value.message
    assert (info.value.line, info.value.column) == (3, 3)


@pytest.mark.parametrize(
    "target, args, fragment",
    [
        ("y", {"features": ["a", "y"]}, "column 'y' is both a feature and the target"),
        (3, {}, "target must be a column name or a list of column names"),
        ([], {}, "target must be a column name"),
        (["y", "y"], {}, "column 'y' is named twice in target"),
        ("y", {"delimiter": ";;"}, "delimiter must be a single character"),
    ],
)
def test_bad_arguments(load_csv_text, target, args, fragment) -> None:
    with pytest.raises(NNDSLError, match=fragment):
        load_csv_text("a,b,y\n1,2,3\n", target=target, **args)


def test_no_feature_left(load_csv_text) -> None:
    with pytest.raises(NNDSLError, match="has no feature columns besides the target 'y'"):
        load_csv_text("y\n1\n2\n")


def test_example_grades_csv_matches_the_grades_generator() -> None:
    from nndsl.data import make_synthetic

    examples = Path(__file__).resolve().parents[2] / "examples"
    ds = load_data(Spec("csv", {"path": "grades.csv", "target": "passed"}), str(examples))
    assert ds.feature_names == ["lectures_attended", "project_hours"] and len(ds) == 200
    generated = make_synthetic("grades", n=200, noise=0.1, seed=2024)
    np.testing.assert_array_equal(ds.x, generated.x)
    np.testing.assert_array_equal(ds.y, generated.y)
