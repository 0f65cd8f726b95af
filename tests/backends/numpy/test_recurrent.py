"""Recurrent layers and embedding: Keras' parameter counts and shapes, torch's own
nn.RNN / nn.LSTM / nn.GRU as references for the cells (Keras' gate layout mapped onto
torch's), and embedding's index checks."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl


def graph(body: str):
    return nndsl.compile_string(f"model m {{\n{body}\n}}\n").graph


@pytest.mark.parametrize(
    "body, shape, params",
    [
        ("input(10, 32)\nlstm(64)", (64,), 24_832),  # Keras LSTM(64) on 32 features
        ("input(10, 32)\nlstm(64, return_sequences=true)", (10, 64), 24_832),
        ("input(10, 32)\nlstm(64, use_bias=false)", (64,), 24_576),
        ("input(10, 32)\ngru(64)", (64,), 18_816),  # Keras GRU (reset_after=True)
        ("input(10, 32)\ngru(64, use_bias=false)", (64,), 18_432),
        ("input(10, 32)\nsimple_rnn(64)", (64,), 6_208),  # Keras SimpleRNN(64)
        ("input(20)\nembedding(1000, 64)", (20, 64), 64_000),  # Keras Embedding(1000, 64)
        ("input(20)\nembedding(1000, 16)\nlstm(8, return_sequences=true)", (20, 8), 16_800),
    ],
)
def test_keras_shapes_and_parameter_counts(body, shape, params):
    g = graph(body)
    assert g.output.shape == shape
    assert g.param_count == params


def test_lstm_starts_with_a_forget_bias_of_one_and_orthogonal_recurrence():
    model = nndsl.compile_string("model m { input(5, 3)\n r = lstm(4) }").build(dtype="float64")
    w = model.get_weights()
    assert w["r.bias"].tolist() == [0.0] * 4 + [1.0] * 4 + [0.0] * 8
    rec = w["r.recurrent_weight"]  # (4, 16): orthonormal rows
    np.testing.assert_allclose(rec @ rec.T, np.eye(4), atol=1e-12)
    plain = nndsl.compile_string("model m { input(5, 3)\n r = lstm(4, unit_forget_bias=false) }")
    assert not plain.build().get_weights()["r.bias"].any()


@pytest.mark.parametrize("op", ["simple_rnn", "lstm", "gru"])
def test_shape_error_names_the_expected_shape(op):
    with pytest.raises(nndsl.NNDSLError) as info:
        graph(f"input(8)\n{op}(2)")
    assert f"{op} needs samples of shape (timesteps, features), got (batch, 8)" in str(info.value)
    assert "reshape(8, 1)" in info.value.hint


def torch_reference(kind: str, w: dict, units: int):
    """torch's own layer holding the same weights: torch orders the lstm's gates as
    Keras does (i, f, g, o) but the gru's as r, z, n; it adds a second bias."""
    torch = pytest.importorskip("torch")
    cls = {"simple_rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    features = w["weight"].shape[0]
    layer = cls(features, units, batch_first=True).double()
    kernel, recurrent = w["weight"], w["recurrent_weight"]
    bias_in, bias_rec = (
        (w["bias"][0], w["bias"][1]) if kind == "gru" else (w["bias"], 0 * w["bias"])
    )
    if kind == "gru":  # Keras [z, r, n] -> torch [r, z, n]
        order = np.r_[units : 2 * units, 0:units, 2 * units : 3 * units]
        kernel, recurrent = kernel[:, order], recurrent[:, order]
        bias_in, bias_rec = bias_in[order], bias_rec[order]
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        layer.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        layer.bias_ih_l0.copy_(torch.from_numpy(bias_in))
        layer.bias_hh_l0.copy_(torch.from_numpy(bias_rec))
    return lambda x: layer(torch.from_numpy(x))[0].detach().numpy()


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_cells_equal_torch_layers(kind):
    model = nndsl.compile_string(
        f"model m {{ input(7, 3)\n r = {kind}(5, return_sequences=true) }}"
    ).build(dtype="float64")
    rng = np.random.default_rng(0)
    w = {k: rng.normal(scale=0.5, size=v.shape) for k, v in model.get_weights().items()}
    model.set_weights(w)
    reference = torch_reference(kind, {k[2:]: v for k, v in w.items()}, 5)
    x = rng.normal(size=(4, 7, 3))
    np.testing.assert_allclose(model.predict(x), reference(x), rtol=1e-10, atol=1e-12)


def test_embedding_looks_rows_up():
    model = nndsl.compile_string("model m { input(3)\n e = embedding(4, 2) }").build()
    table = np.arange(8.0).reshape(4, 2)
    model.set_weights({"e.weight": table})
    np.testing.assert_array_equal(model.predict(np.array([[3, 0, 3]])), table[[[3, 0, 3]]])


@pytest.mark.parametrize("bad", [[0, 4, 1], [0, -1, 1], [0, 1.5, 1]])
def test_embedding_refuses_what_is_not_an_index(bad):
    model = nndsl.compile_string("model m { input(3)\n e = embedding(4, 2) }").build()
    with pytest.raises(nndsl.NNDSLError, match=r"is not an index in \[0, 4\)"):
        model.predict(np.array([bad]))
