"""npz(path, x, y): arrays loaded without pickle, and clear errors for anything else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl.files
from nndsl.data import load_data
from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec


def load(tmp_path: Path, name: str = "d.npz", **args):
    return load_data(Spec("npz", {"path": name, **args}), str(tmp_path))


def test_features_become_float64_and_integer_labels_int64(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 2, 1, 2], dtype=np.int32))
    ds = load(tmp_path)
    assert ds.x.dtype == np.float64 and ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.x, x)
    assert ds.feature_names == ["x[0]", "x[1]", "x[2]"] and ds.target_names == ["y"]
    assert ds.num_classes == 3 and "d.npz" in ds.source


def test_float_and_bool_targets_are_float64(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 1)), y=np.array([[0.5, 1], [2, 3]]))
    ds = load(tmp_path)
    assert ds.y.dtype == np.float64 and ds.y.shape == (2, 2)
    assert ds.target_names == ["y[0]", "y[1]"]
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 1)), y=np.array([True, False]))
    assert load(tmp_path).y.dtype == np.float64


def test_named_arrays_images_and_one_dimensional_x(tmp_path: Path) -> None:
    np.savez_compressed(
        tmp_path / "img.npz", images=np.ones((5, 2, 3), dtype=np.uint8), labels=np.arange(5)
    )
    ds = load(tmp_path, "img.npz", x="images", y="labels")
    assert ds.x.shape == (5, 2, 3) and ds.n_features == 6
    assert ds.feature_names[:2] == ["images[0,0]", "images[0,1]"]
    np.savez(tmp_path / "d.npz", x=np.arange(3.0), y=np.arange(3.0))
    assert load(tmp_path).x.shape == (3, 1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NNDSLError) as info:
        load(tmp_path, "sub/none.npz")
    assert "cannot find data file 'sub/none.npz'" in info.value.message
    assert str(tmp_path / "sub" / "none.npz") in info.value.message


def test_a_missing_array_names_the_ones_present(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 2)), labels=np.zeros(2))
    with pytest.raises(NNDSLError) as info:
        load(tmp_path)
    assert "d.npz has no array 'x'; it holds: X, labels" in info.value.message
    assert info.value.hint == "did you mean 'X'?"
    with pytest.raises(NNDSLError, match="has no array 'y'; it holds: X, labels"):
        load(tmp_path, x="X")


@pytest.mark.parametrize(
    "x, y, fragment",
    [
        (np.array([[1], "a"], dtype=object), np.zeros(2), "array 'x' holds Python objects"),
        (np.array(["a", "b"]), np.zeros(2), "array 'x' holds text (dtype <U1), not numbers"),
        (np.zeros(2), np.array([1 + 2j, 3]), "array 'y' holds complex numbers"),
        (np.array([[1.0, np.nan], [2, 3]]), np.zeros(2), "array 'x' holds nan at x[0, 1]"),
        (np.zeros((2, 2)), np.array([0, np.inf]), "array 'y' holds inf at y[1]"),
        (np.zeros((3, 2)), np.zeros(2), "'x' has 3 samples (shape (3, 2)) but 'y' has 2"),
        (np.zeros((0, 2)), np.zeros(0), "hold no samples"),
        (np.float64(1.0), np.zeros(1), "array 'x' is a single value"),
    ],
)
def test_bad_arrays(tmp_path: Path, x, y, fragment: str) -> None:
    np.savez(tmp_path / "d.npz", x=x, y=y)
    with pytest.raises(NNDSLError) as info:
        load(tmp_path)
    assert fragment in info.value.message and "d.npz" in info.value.message


def test_corrupt_truncated_and_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"this is not an archive at all")
    with pytest.raises(NNDSLError, match="junk.npz is not a readable .npz archive"):
        load(tmp_path, "junk.npz")
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).random((200, 20)), y=np.zeros(200))
    whole = (tmp_path / "d.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(NNDSLError, match="cut.npz is not a readable .npz archive"):
        load(tmp_path, "cut.npz")
    damaged = bytearray(whole)
    damaged[200:260] = bytes(60)  # inside x's data: the zip's checksum no longer matches
    (tmp_path / "bad.npz").write_bytes(bytes(damaged))
    with pytest.raises(NNDSLError, match="bad.npz: array 'x' is damaged"):
        load(tmp_path, "bad.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(NNDSLError, match="one.npy is a .npy file holding one array"):
        load(tmp_path, "one.npy")


def test_arrays_that_would_not_fit_in_memory_as_float64_are_refused_unread(
    tmp_path: Path, monkeypatch
) -> None:
    """The header says what loading needs (the array, then its float64 copy); the
    machine's memory is made small here, so a 100 KiB file stands for a huge one."""
    np.savez(tmp_path / "d.npz", x=np.zeros((25_600, 4), np.uint8), y=np.zeros(25_600))
    monkeypatch.setattr(nndsl.files, "machine_memory", lambda: 1 << 20)
    with pytest.raises(NNDSLError) as info:
        load(tmp_path)
    assert "data file 'd.npz' claims 0.3 MiB of arrays (loading needs 1.3 MiB)" in str(
        info.value
    ) and "this machine has 1.0 MiB" in str(info.value)


def test_new_inputs_with_no_samples_are_refused_before_naming_their_features(
    tmp_path: Path,
) -> None:
    """A shape (0, 10**6) holds no bytes, but would have made 10**6 feature names."""
    np.savez(tmp_path / "d.npz", x=np.zeros((0, 10**6), np.float32))
    with pytest.raises(NNDSLError, match="d.npz: array 'x' holds no samples"):
        load(tmp_path, inputs_only=True)
