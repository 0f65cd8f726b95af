"""Files that are hostile: weights and checkpoints load without pickle anywhere, damaged or
mismatched ones are refused with clear messages, a model description cannot make nndsl
allocate what it claims, and a .nn file cannot run code or read more than it names."""

from __future__ import annotations

import ast
import os
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl import NNDSLError
from nndsl.cli import main
from nndsl.train.checkpoint import load_checkpoint
from nndsl.weights import save_weights

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nndsl"
SOURCE = "model m {\n    input(3)\n    dense(4, activation=relu)\n    dense(2)\n}\n"


@pytest.fixture(scope="module")
def program():
    return nndsl.compile_string(SOURCE)


# ---------------------------------------------------------------- no pickle anywhere


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func), {k.arg: ast.unparse(k.value) for k in node.keywords}


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_code_never_unpickles_or_evaluates(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not {"pickle", "cPickle", "dill", "marshal", "shelve", "joblib"} & {
                n.split(".")[0] for n in names
            }, ast.unparse(node)
    for call, func, keywords in _calls(tree):
        if func in ("np.load", "numpy.load"):
            assert keywords.get("allow_pickle") == "False", ast.unparse(call)
        if func.endswith("torch.load"):
            assert keywords.get("weights_only") == "True", ast.unparse(call)
        if func in ("yaml.load", "yaml.full_load", "yaml.unsafe_load"):
            pytest.fail(f"{path}: {ast.unparse(call)} (use yaml.safe_load)")
        assert func not in ("eval", "exec", "compile", "__import__"), ast.unparse(call)


class Evil:
    """Unpickling this creates a file: proof that something was unpickled."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def evil(tmp_path: Path) -> Path:
    marker = tmp_path / "UNPICKLED"
    Evil.marker = str(marker)
    yield marker
    assert not marker.exists(), "a pickle was loaded"


def _pickles(folder: Path, evil_object) -> dict[str, Path]:
    files = {}
    files["pickle"] = folder / "w.pkl"
    files["pickle"].write_bytes(pickle.dumps({"dense_1.weight": evil_object}))
    files["object npz"] = folder / "w.npz"
    np.savez(files["object npz"], **{"dense_1.weight": np.array([evil_object], dtype=object)})
    files["torch.save zip"] = folder / "w.pt"
    with zipfile.ZipFile(files["torch.save zip"], "w") as z:  # torch.save's layout
        z.writestr("archive/data.pkl", pickle.dumps({"dense_1.weight": evil_object}))
        z.writestr("archive/version", "3\n")
    return files


@pytest.mark.parametrize(
    "kind, message",
    [
        ("pickle", "is a Python pickle, which nndsl never loads"),
        ("object npz", "holds Python objects \\(pickled\\), which nndsl never loads"),
        ("torch.save zip", "holds 'archive/data.pkl', a pickle \\(a torch.save file\\?\\)"),
    ],
)
def test_pickled_weights_are_refused_unopened(
    program, tmp_path: Path, evil: Path, kind: str, message: str
) -> None:
    path = _pickles(tmp_path, Evil())[kind]
    with pytest.raises(NNDSLError, match=message):
        nndsl.load(path)
    with pytest.raises(NNDSLError, match=message):
        program.build().load(path)
    with pytest.raises(NNDSLError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_an_npz_data_file_with_pickled_objects_is_refused_unopened(
    tmp_path: Path, evil: Path
) -> None:
    np.savez(tmp_path / "d.npz", x=np.array([Evil()] * 4, dtype=object), y=np.zeros(4))
    (tmp_path / "m.nn").write_text(
        'model m { input(1) dense(1) }\ntrain m { data = npz("d.npz") loss = mse }\n'
    )
    model = nndsl.compile_file(tmp_path / "m.nn").build()
    with pytest.raises(NNDSLError, match="holds Python objects, which are not loaded"):
        model.load_data()


# ---------------------------------------------------------------- mismatched and damaged


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.pop("dense_2.bias"), r"missing tensor 'dense_2.bias' \(shape \(2,\)\)"),
        (
            lambda t: t.update({"extra.weight": np.zeros((5, 1), np.float32)}),
            r"unexpected tensor 'extra.weight' \(shape \(5, 1\)\)",
        ),
        (
            lambda t: t.update({"dense_1.weight": np.zeros((4, 3), np.float32)}),
            r"'dense_1.weight' has shape \(4, 3\), but the model needs \(3, 4\)",
        ),
    ],
    ids=["missing", "extra", "shape"],
)
def test_mismatched_tensors_are_named_with_their_shapes(
    program, tmp_path: Path, suffix: str, change, message: str
) -> None:
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    model = program.build(seed=0)
    tensors = model.get_weights()
    change(tensors)
    path = tmp_path / f"w{suffix}"
    save_weights(path, tensors, model.metadata())
    before = model.get_weights()
    for load in (model.load, nndsl.load, lambda p: nndsl.load(p, program=program)):
        with pytest.raises(NNDSLError, match=message):
            load(path)
    assert all(np.array_equal(before[k], v) for k, v in model.get_weights().items())


def _damaged(data: bytes, how: str) -> bytes:
    if how == "truncated":
        return data[: len(data) * 2 // 3]
    if how == "header":
        return b"\x00" * 16 + data[16:]
    if how == "zeroed middle":
        mid = len(data) // 2
        return data[: mid - 64] + b"\x00" * 128 + data[mid + 64 :]
    if how == "empty":
        return b""
    return os.urandom(200)  # noise


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize("how", ["truncated", "header", "zeroed middle", "empty", "noise"])
def test_damaged_weight_files_are_refused_clearly(program, tmp_path, suffix: str, how: str) -> None:
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    path = tmp_path / f"w{suffix}"
    program.build().save(path)
    path.write_bytes(_damaged(path.read_bytes(), how))
    with pytest.raises(NNDSLError) as info:
        nndsl.load(path)
    text = info.value.render()
    assert str(path) in text
    assert "not a readable weights file (corrupt or truncated)" in text or "corrupt" in text


def test_a_hostile_model_description_is_refused_before_allocating(program, tmp_path) -> None:
    model = program.build()
    meta = model.metadata()
    huge = meta["graph"]["nodes"][1]
    huge["attrs"]["units"] = huge["shape"][0] = 10**12  # a dense layer of 10^12 units
    huge["weights"][0]["shape"] = [3, 10**12]
    huge["weights"][1]["shape"] = [10**12]
    meta["graph"]["nodes"][2]["weights"][0]["shape"] = [10**12, 2]  # consistent, just huge
    path = tmp_path / "huge.npz"
    save_weights(path, model.get_weights(), meta)
    with pytest.raises(NNDSLError, match="needs about .* TiB.*this machine has"):
        nndsl.load(path)
    lying = model.metadata()
    lying["graph"]["nodes"][2]["shape"] = [7]  # dense(2) claiming 7 outputs
    save_weights(path, model.get_weights(), lying)
    with pytest.raises(NNDSLError, match="model description is not valid: node 'dense_2'"):
        nndsl.load(path)
    broken = model.metadata()
    del broken["graph"]["nodes"][1]["op"]
    save_weights(path, model.get_weights(), broken)
    with pytest.raises(NNDSLError, match="model description is corrupt \\(KeyError"):
        nndsl.load(path)


# ---------------------------------------------------------------- never half-written


def test_a_failed_save_leaves_the_previous_weights(program, tmp_path, monkeypatch) -> None:
    path = tmp_path / "w.npz"
    first = program.build(seed=1)
    first.save(path)
    real = np.savez

    def half_then_fail(f, **arrays):
        real(f, **arrays)
        f.truncate(f.tell() // 2)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(OSError):
        program.build(seed=2).save(path)
    monkeypatch.undo()
    loaded = nndsl.load(path)
    assert all(np.array_equal(first.get_weights()[k], v) for k, v in loaded.get_weights().items())
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


# ---------------------------------------------------------------- .nn files


def test_a_nn_file_cannot_run_code(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "RAN"
    attempts = [
        f'data = csv(__import__("os").system("touch {marker}"), target="y")',
        f'data = csv("$(touch {marker})", target="y")',
        f'data = csv("`touch {marker}`", target="y")',
        'data = npz("x.npz", x="__class__.__mro__")',
    ]
    for attempt in attempts:
        path = tmp_path / "m.nn"
        path.write_text(
            f"model m {{ input(1) dense(1) }}\ntrain m {{\n    {attempt}\n    loss = mse\n}}\n"
        )
        assert main(["run", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert "error:" in err and "Traceback" not in err
    assert not marker.exists()


@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="needs /etc/passwd")
def test_a_system_file_named_as_data_is_just_a_data_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.nn"
    path.write_text(
        "model m { input(1) dense(1) }\n"
        'train m { data = csv("/etc/passwd", target="x") loss = mse }\n'
    )
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("/etc/passwd:1:1: error: /etc/passwd has no column 'x'"), err
    assert "Traceback" not in err and not (tmp_path / "r").exists()


def test_a_nn_file_reads_only_the_data_it_names_beside_itself(tmp_path: Path, monkeypatch) -> None:
    """Every file opened for reading while a file is compiled and its data loaded, apart
    from Python's own (modules, the grammar): the .nn file and its data, resolved
    relative to the .nn file (not to the working directory)."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "d.csv").write_text("a,y\n1,0\n2,1\n3,0\n4,1\n")
    (folder / "m.nn").write_text(
        "model m { input(1) dense(1, activation=sigmoid) }\n"
        'train m { data = csv("data/d.csv", target="y") loss = binary_crossentropy }\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    opened: list[str] = []
    python = (sys.prefix, sys.base_prefix, str(PACKAGE), str(ROOT / "grammar"))

    def audit(event: str, args: tuple) -> None:
        if event == "open" and isinstance(args[0], str) and str(args[1] or "r").startswith("r"):
            if not args[0].startswith(python) and not args[0].startswith(("/proc", "/sys", "/dev")):
                opened.append(os.path.realpath(args[0]))

    recording = [True]
    sys.addaudithook(lambda e, a: audit(e, a) if recording[0] else None)
    try:
        program = nndsl.compile_file("../project/m.nn")
        program.build().load_data()
    finally:
        recording[0] = False
    assert set(opened) == {
        os.path.realpath(folder / "m.nn"),
        os.path.realpath(folder / "data" / "d.csv"),
    }
