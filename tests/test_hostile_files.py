"""Files that are hostile: weights and checkpoints load without pickle anywhere, damaged or
mismatched ones are refused with clear messages, a model description cannot make nndsl
allocate what it claims, and a .nn file cannot run code or read more than it names."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import math
import os
import pickle
import struct
import sys
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import numpy.lib.format as npy
import pytest

import nndsl
import nndsl.files
from nndsl import NNDSLError
from nndsl.cli import main
from nndsl.data.csvfile import load_csv
from nndsl.data.npzfile import load_npz
from nndsl.files import MissingFile, open_regular, read_regular, show_path
from nndsl.train.checkpoint import load_checkpoint
from nndsl.weights import load_weights, save_weights

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
    noise = np.random.default_rng(len(data)).bytes(200)  # the same bytes every run
    if how == "noise from 0x80":  # pickle's first byte, as random bytes begin 1 time in 256
        return b"\x80" + noise[1:]
    if how == "noise from 0x80 0x02":  # a pickle protocol too: still no pickle
        return b"\x80\x02\xff" + noise[3:]
    return noise


DAMAGES = ["truncated", "header", "zeroed middle", "empty", "noise", "noise from 0x80"]


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize("how", [*DAMAGES, "noise from 0x80 0x02"])
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
    with pytest.raises(NNDSLError, match=r"cannot write .*w\.npz: Input/output error"):
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


# ------------------------------------------------------- files that claim more than they hold


def _header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _archive(
    path: Path,
    arrays: dict[str, np.ndarray],
    claiming: dict[str, tuple[int, ...]] = {},  # noqa: B006  (read only)
    inflating: dict[str, tuple[int, ...]] = {},  # noqa: B006
) -> Path:
    """An .npz of real `arrays`, plus members whose header claims a shape they do not
    hold (no data at all), and members of zeros streamed through DEFLATE (a zip bomb:
    a few KiB on disk, and never in this process's memory while it is written)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, value in arrays.items():
            buf = io.BytesIO()
            npy.write_array(buf, np.asarray(value), allow_pickle=False)
            z.writestr(f"{name}.npy", buf.getvalue())
        for name, shape in claiming.items():
            z.writestr(f"{name}.npy", _header(shape))
        chunk = bytes(1 << 20)
        for name, shape in inflating.items():
            size = math.prod(shape) * 4
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                f.write(_header(shape))
                for start in range(0, size, len(chunk)):
                    f.write(chunk[: size - start])
    return path


def _peak(load) -> tuple[NNDSLError, int]:
    """The error `load()` raises, and the most memory Python and numpy held meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(NNDSLError) as info:
            load()
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


TIB8 = (1 << 20, 1 << 20, 2)  # float32: 8 TiB


def _weights_of(program) -> dict[str, np.ndarray]:
    model = program.build(seed=0)
    return {**model.get_weights(), "__nndsl_meta__": np.frombuffer(b"{}", np.uint8)}


def test_a_weights_file_claiming_8_tib_is_refused_unread(program, tmp_path: Path) -> None:
    weights = _weights_of(program)
    del weights["dense_1.weight"]
    path = _archive(tmp_path / "w.npz", weights, claiming={"dense_1.weight": TIB8})
    model = program.build()
    for load in (lambda: load_weights(path), lambda: model.load(path), lambda: nndsl.load(path)):
        error, peak = _peak(load)
        text = error.render()
        assert str(path) in text and "'dense_1.weight' claims shape (1048576, 1048576, 2)" in text
        assert "(8.0 TiB), but the file holds 0 B for it" in text
        assert peak < 4 << 20, peak


def test_a_weights_zip_bomb_is_refused_before_inflating(program, tmp_path, monkeypatch) -> None:
    """The right names, one tensor inflating from ~50 KiB to 48 MiB: refused from its
    header against the model's shapes, and by the inflation limit without a model."""
    weights = _weights_of(program)
    del weights["dense_1.weight"]
    huge = (3, 4 << 20)
    path = _archive(tmp_path / "w.npz", weights, inflating={"dense_1.weight": huge})
    assert path.stat().st_size < 200_000
    model = program.build()
    expected = {k: v.shape for k, v in model.get_weights().items()}
    error, peak = _peak(lambda: load_weights(path, expected=expected))
    assert f"{path}: weight 'dense_1.weight' has shape (3, 4194304)" in error.message
    assert "but the model needs (3, 4)" in error.message and peak < 4 << 20, peak
    # a model checks the file's header against its own shapes first
    before = model.get_weights()
    error, peak = _peak(lambda: model.load(path))
    assert "weight 'dense_1.weight' has shape (3, 4194304)" in error.message
    assert "but the model needs (3, 4)" in error.message and peak < 4 << 20, peak
    assert all(np.array_equal(before[k], v) for k, v in model.get_weights().items())
    # without a model to compare with, the inflation limit refuses it
    monkeypatch.setattr(nndsl.files, "INFLATE_ALLOWANCE", 1 << 20)
    error, peak = _peak(lambda: load_weights(path))
    assert f"weights file '{path}' claims 48.0 MiB of arrays, inflated from" in error.message
    assert "refuses to inflate a file by more than 1.0 MiB" in error.message
    assert "savez" in error.hint and peak < 4 << 20, peak
    error, peak = _peak(lambda: nndsl.load(path))  # reads the description alone first
    assert str(path) in error.render() and peak < 4 << 20, peak


def test_a_zip_member_claiming_more_than_deflate_can_make_is_refused(program, tmp_path) -> None:
    path = tmp_path / "w.npz"
    save_weights(path, program.build().get_weights(), {})
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.npy", _header((4,)) + bytes(16))
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")  # the last member's central directory entry
    data[central + 24 : central + 28] = struct.pack("<I", 0xF0000000)  # 3.8 GiB inflated
    path.write_bytes(bytes(data))
    error, peak = _peak(lambda: load_weights(path))
    assert f"weights file '{path}': member 'big.npy' claims 3.8 GiB from" in error.message
    assert "more than compression can produce" in error.message and peak < 4 << 20


def test_a_safetensors_header_claiming_terabytes_is_refused(program, tmp_path: Path) -> None:
    pytest.importorskip("safetensors")
    header = json.dumps(
        {"dense_1.weight": {"dtype": "F32", "shape": list(TIB8), "data_offsets": [0, 8 << 40]}}
    ).encode()
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(64))
    error, peak = _peak(lambda: program.build().load(path))
    assert f"{path} is not a readable weights file" in error.message and peak < 4 << 20


def test_a_safetensors_tensor_of_the_wrong_shape_is_refused_unread(program, tmp_path) -> None:
    pytest.importorskip("safetensors")
    model = program.build()
    weights = model.get_weights()
    weights["dense_1.weight"] = np.zeros((3, 1 << 20), np.float32)  # 12 MiB, really there
    path = tmp_path / "w.safetensors"
    save_weights(path, weights, model.metadata())
    expected = {k: v.shape for k, v in model.get_weights().items()}
    error, peak = _peak(lambda: load_weights(path, expected=expected))
    assert "'dense_1.weight' has shape (3, 1048576), but the model needs (3, 4)" in error.message
    assert peak < 2 << 20, peak


def test_a_checkpoint_claiming_more_than_it_holds_is_refused(tmp_path, monkeypatch) -> None:
    record = np.frombuffer(b'{"format": "nndsl-checkpoint", "version": 1}', np.uint8)
    path = _archive(tmp_path / "c.npz", {"__checkpoint__": record}, claiming={"a0": TIB8})
    error, peak = _peak(lambda: load_checkpoint(path))
    assert f"checkpoint '{path}': array 'a0' claims shape" in error.message
    assert "8.0 TiB" in error.message and peak < 4 << 20
    monkeypatch.setattr(nndsl.files, "INFLATE_ALLOWANCE", 1 << 20)
    path = _archive(tmp_path / "b.npz", {"__checkpoint__": record}, inflating={"a0": (4 << 20,)})
    error, peak = _peak(lambda: load_checkpoint(path))
    assert f"checkpoint '{path}' claims 16.0 MiB of arrays, inflated from" in error.message
    assert peak < 4 << 20, peak


def test_an_npz_data_file_that_inflates_or_lies_is_refused(tmp_path, monkeypatch) -> None:
    (tmp_path / "m.nn").write_text(
        'model m { input(4) dense(1) }\ntrain m { data = npz("d.npz") loss = mse }\n'
    )
    model = nndsl.compile_file(tmp_path / "m.nn").build()
    _archive(tmp_path / "d.npz", {"y": np.zeros(4)}, claiming={"x": (1 << 40, 4)})
    error, peak = _peak(model.load_data)
    assert "d.npz': array 'x' claims shape (1099511627776, 4) of float32 (16.0 TiB)" in str(error)
    assert peak < 4 << 20
    monkeypatch.setattr(nndsl.files, "INFLATE_ALLOWANCE", 1 << 20)
    _archive(tmp_path / "d.npz", {"y": np.zeros(1 << 20)}, inflating={"x": (1 << 20, 4)})
    error, peak = _peak(model.load_data)
    assert "d.npz' claims 24.0 MiB of arrays, inflated from" in error.message
    assert peak < 4 << 20, peak


# ------------------------------------------------------- names that are not plain files


@pytest.fixture
def fifo(tmp_path: Path):
    """A named pipe. Were it opened for reading the blocking way, the writer below would
    let that open return (and find nothing) instead of hanging the test forever."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)

    def writer() -> None:
        with contextlib.suppress(OSError), open(path, "wb"):
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    yield path
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # lets a still waiting writer go
    thread.join(5)
    os.close(fd)


LOADERS = {
    "weights": (lambda p: load_weights(p), "weights file"),
    "checkpoint": (lambda p: load_checkpoint(p), "checkpoint"),
    "npz data": (lambda p: load_npz(str(p)), "data file"),
    "csv data": (lambda p: load_csv(str(p), "y"), "data file"),
    ".nn file": (lambda p: nndsl.compile_file(p), ".nn file"),
}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_a_fifo_or_device_is_refused_without_reading(fifo: Path, loader: str) -> None:
    load, what = LOADERS[loader]
    with pytest.raises(NNDSLError, match=f"{what} '{fifo}' is a FIFO \\(named pipe\\), not a"):
        load(fifo)
    if Path("/dev/zero").exists():
        with pytest.raises(NNDSLError, match=f"{what} '/dev/zero' is a character device"):
            load(Path("/dev/zero"))


@pytest.mark.parametrize("loader", list(LOADERS))
@pytest.mark.parametrize(
    "name, message",
    [
        ("a\x00b.npz", r"name 'a\\x00b.npz' contains a NUL character"),
        ("\ud800.npz", r"name '\\ud800.npz' cannot be a file name on this system"),
    ],
    ids=["NUL", "lone surrogate"],
)
def test_a_name_no_file_can_have_is_a_clear_error(loader: str, name: str, message: str) -> None:
    load, what = LOADERS[loader]
    with pytest.raises(NNDSLError, match=f"the {what} {message}") as info:
        load(name)
    info.value.render().encode("utf-8")  # printable anywhere: no raw NUL or surrogate


@pytest.mark.parametrize(
    "path, message",
    [
        ("a\\u0000b.csv", "contains a NUL character"),
        ("\\ud800.csv", "cannot be a file name on this system"),
        ("\\udc80.csv", "cannot find data file '\\udc80.csv'"),  # byte 0x80: a valid name
        ("/dev/zero", "is a character device, not a regular file"),
    ],
)
def test_a_data_path_that_names_no_regular_file_is_located_at_the_data_line(
    tmp_path: Path, capsys, path: str, message: str
) -> None:
    source = tmp_path / "m.nn"
    source.write_text(
        "model m {\n    input(2)\n    dense(1)\n}\n"
        f'train m {{\n    loss = mse\n    data = csv("{path}", target="y")\n}}\n'
    )
    assert main(["run", str(source), "--out", str(tmp_path / "run"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"{source}:7:5: error: " in err and message in err, err
    assert "Traceback" not in err and not (tmp_path / "run").exists()
    err.encode("utf-8")  # no lone surrogate reaches the terminal


def test_the_shared_opener_reads_only_regular_files(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_bytes(b"a,b\n1,2\n")
    assert read_regular(tmp_path / "f.csv", "data file") == b"a,b\n1,2\n"
    with pytest.raises(NNDSLError, match="data file 'big.csv' is 8 B, more than the 4 B"):
        read_regular(tmp_path / "f.csv", "data file", shown="big.csv", limit=4)
    with pytest.raises(NNDSLError, match=f"data file '{tmp_path}' is a folder, not a regular"):
        open_regular(tmp_path, "data file")
    with pytest.raises(MissingFile, match="cannot find data file 'no.csv' \\(looked for"):
        open_regular(tmp_path / "no.csv", "data file", "no.csv")
    assert show_path("a\x1b[2Jb\udc80.csv") == "a\\x1b[2Jb\\udc80.csv"
