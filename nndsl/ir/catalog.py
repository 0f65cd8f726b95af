"""Declarations of everything a `train` block can name: losses, optimizers (with
torch.optim's argument names and defaults), schedules, metrics, initializers, data
sources, early stopping, and the `train` settings themselves."""

from __future__ import annotations

from typing import Any

from nndsl.ir.signature import CATALOGS, GROUPS, Entry, Param, Spec, register

# ---------------------------------------------------------------- initializers
# fan_in / fan_out come from the weight's declaration (WeightDef).
for _name, _doc, _params in [
    ("glorot_uniform", "U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Keras' default).", ()),
    ("glorot_normal", "Truncated-free N(0, 2 / (fan_in + fan_out)).", ()),
    ("he_uniform", "U(-a, a), a = sqrt(6 / fan_in).", ()),
    ("he_normal", "N(0, 2 / fan_in).", ()),
    ("lecun_normal", "N(0, 1 / fan_in).", ()),
    (
        "normal",
        "N(mean, std**2).",
        (
            Param("std", "float", 0.05, doc="standard deviation", low=0),
            Param("mean", "float", 0.0, doc="mean"),
        ),
    ),
    (
        "uniform",
        "U(low, high).",
        (
            Param("low", "float", -0.05, doc="lower bound"),
            Param("high", "float", 0.05, doc="upper bound"),
        ),
    ),
    (
        "orthogonal",
        "A random orthogonal matrix (rows or columns orthonormal) times gain, as Keras' "
        "Orthogonal: the default of recurrent weights.",
        (Param("gain", "float", 1.0, doc="scale of the matrix"),),
    ),
    ("zeros", "All zeros.", ()),
    ("ones", "All ones.", ()),
    ("constant", "Every value the same.", (Param("value", "float", 0.0, doc="the value"),)),
]:
    register("initializer", Entry(_name, _params, _doc))


FLOAT32_MAX = 3.4028234663852886e38


def _float32(a: dict[str, Any]) -> tuple[tuple[str, ...], str] | None:
    """Weights and optimizer state are float32 tensors: a larger value is infinity there
    (torch refuses to make one)."""
    for key, v in a.items():
        values = v if isinstance(v, list) else [v]
        if any(isinstance(x, float) and abs(x) > FLOAT32_MAX for x in values):
            return (key,), f"'{key}' must be at most {FLOAT32_MAX:.4g} in size (a float32)"
    return None


def _uniform_range(a: dict[str, Any]) -> tuple[tuple[str, ...], str] | None:
    """U(low, high): NumPy refuses high < low."""
    if a["high"] < a["low"]:
        return ("high", "low"), f"'high' ({a['high']!r}) is below 'low' ({a['low']!r})"
    return _float32(a)


for _entry in CATALOGS["initializer"].values():
    _entry.extra["check"] = _float32
CATALOGS["initializer"]["uniform"].extra["check"] = _uniform_range

# ---------------------------------------------------------------- losses
# logits: the output activation a loss fuses with (computed from logits, never NaN).
# target: what the targets look like.
for _name, _doc, _params, _extra in [
    ("mse", "Mean squared error.", (), {"target": "values"}),
    ("mae", "Mean absolute error.", (), {"target": "values"}),
    (
        "huber",
        "Squared error below `delta`, linear above (torch's HuberLoss).",
        (Param("delta", "float", 1.0, doc="where squared turns linear", low=0, low_open=True),),
        {"target": "values"},
    ),
    (
        "binary_crossentropy",
        "-[y log p + (1-y) log(1-p)] for sigmoid outputs (one unit per independent label).",
        (),
        {"target": "binary", "logits": "sigmoid"},
    ),
    (
        "categorical_crossentropy",
        "-sum y log p for softmax outputs and one-hot targets.",
        (),
        {"target": "one_hot", "logits": "softmax"},
    ),
    (
        "sparse_categorical_crossentropy",
        "Categorical cross-entropy with integer class labels as targets.",
        (),
        {"target": "labels", "logits": "softmax"},
    ),
]:
    register("loss", Entry(_name, _params, _doc, _extra))

# ---------------------------------------------------------------- optimizers (torch.optim)
_LR = "learning rate"
_EPS = "added to the denominator for stability"
_WD = Param("weight_decay", "float", 0.0, doc="L2 penalty added to the gradient", low=0)
for _name, _doc, _params in [
    (
        "sgd",
        "Stochastic gradient descent (torch.optim.SGD). g = grad + weight_decay*w; with momentum: "
        "b = momentum*b + (1-dampening)*g (b = g on the first step), g = g + momentum*b if "
        "nesterov else b; w -= lr*g.",
        (
            Param("lr", "float", 1e-3, doc=_LR, low=0),
            Param("momentum", "float", 0.0, doc="weight of the previous step", low=0),
            Param("dampening", "float", 0.0, doc="damping of the gradient in momentum", low=0),
            Param("nesterov", "bool", False, doc="Nesterov momentum"),
            _WD,
        ),
    ),
    (
        "adam",
        "Adam (torch.optim.Adam). g = grad + weight_decay*w; m = b1*m + (1-b1)*g; "
        "v = b2*v + (1-b2)*g^2 (amsgrad: v_max = max(v_max, v)); "
        "w -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps).",
        (
            Param("lr", "float", 1e-3, doc=_LR, low=0),
            Param(
                "betas",
                "floats",
                [0.9, 0.999],
                doc="decay of the moment estimates",
                low=0,
                high=1,
                high_open=True,
            ),
            Param("eps", "float", 1e-8, doc=_EPS, low=0),
            _WD,
            Param("amsgrad", "bool", False, doc="use the running maximum of v"),
        ),
    ),
    (
        "adamw",
        "AdamW (torch.optim.AdamW): w *= 1 - lr*weight_decay, then the Adam step on grad.",
        (
            Param("lr", "float", 1e-3, doc=_LR, low=0),
            Param(
                "betas",
                "floats",
                [0.9, 0.999],
                doc="decay of the moment estimates",
                low=0,
                high=1,
                high_open=True,
            ),
            Param("eps", "float", 1e-8, doc=_EPS, low=0),
            Param("weight_decay", "float", 1e-2, doc="decoupled decay", low=0),
            Param("amsgrad", "bool", False, doc="use the running maximum of v"),
        ),
    ),
    (
        "adagrad",
        "Adagrad (torch.optim.Adagrad). g = grad + weight_decay*w; "
        "clr = lr / (1 + (t-1)*lr_decay); "
        "s += g^2 (s starts at initial_accumulator_value); w -= clr * g / (sqrt(s) + eps).",
        (
            Param("lr", "float", 1e-2, doc=_LR, low=0),
            Param("lr_decay", "float", 0.0, doc="decay of lr per step", low=0),
            _WD,
            Param("initial_accumulator_value", "float", 0.0, doc="starting value of s", low=0),
            Param("eps", "float", 1e-10, doc=_EPS, low=0),
        ),
    ),
    (
        "adadelta",
        "Adadelta (torch.optim.Adadelta). g = grad + weight_decay*w; v = rho*v + (1-rho)*g^2; "
        "d = sqrt(u + eps) / sqrt(v + eps) * g; u = rho*u + (1-rho)*d^2; w -= lr*d.",
        (
            Param("lr", "float", 1.0, doc=_LR, low=0),
            Param("rho", "float", 0.9, doc="decay of the running averages", low=0, high=1),
            Param("eps", "float", 1e-6, doc=_EPS, low=0),
            _WD,
        ),
    ),
    (
        "rmsprop",
        "RMSprop (torch.optim.RMSprop). g = grad + weight_decay*w; v = alpha*v + (1-alpha)*g^2; "
        "centered: avg = v - mean_g^2 with mean_g = alpha*mean_g + (1-alpha)*g, else avg = v; "
        "momentum > 0: b = momentum*b + g/(sqrt(avg)+eps), w -= lr*b; "
        "else w -= lr*g/(sqrt(avg)+eps).",
        (
            Param("lr", "float", 1e-2, doc=_LR, low=0),
            Param("alpha", "float", 0.99, doc="smoothing constant", low=0, high=1),
            Param("eps", "float", 1e-8, doc=_EPS, low=0),
            _WD,
            Param("momentum", "float", 0.0, doc="weight of the previous step", low=0),
            Param("centered", "bool", False, doc="normalize by the gradient's variance"),
        ),
    ),
]:
    register("optimizer", Entry(_name, _params, _doc))

# Buffers each optimizer keeps per parameter (torch's state), by its arguments: the
# memory estimate counts them before anything is allocated.
for _name, _state in [
    ("sgd", lambda a: 1 if a.get("momentum") else 0),
    ("adam", lambda a: 3 if a.get("amsgrad") else 2),
    ("adamw", lambda a: 3 if a.get("amsgrad") else 2),
    ("adagrad", lambda a: 1),
    ("adadelta", lambda a: 2),
    ("rmsprop", lambda a: 1 + bool(a.get("momentum")) + bool(a.get("centered"))),
]:
    CATALOGS["optimizer"][_name].extra["state"] = _state
    CATALOGS["optimizer"][_name].extra["check"] = _float32

# ---------------------------------------------------------------- schedules (per epoch)
for _name, _doc, _params in [
    (
        "step",
        "lr * gamma ** (epoch // step_size) (torch StepLR).",
        (
            Param("step_size", "int", doc="epochs between decays", low=1),
            Param("gamma", "float", 0.1, doc="factor per decay", low=0),
        ),
    ),
    (
        "exponential",
        "lr * gamma ** epoch (torch ExponentialLR).",
        (Param("gamma", "float", doc="factor per epoch", low=0),),
    ),
    (
        "cosine",
        "Cosine annealing from lr to eta_min over t_max epochs (torch CosineAnnealingLR).",
        (
            Param("t_max", "int", doc="epochs of one half cosine", low=1),
            Param("eta_min", "float", 0.0, doc="lowest learning rate", low=0),
        ),
    ),
    (
        "reduce_on_plateau",
        "Multiply lr by `factor` when the monitored value stops improving "
        "(torch ReduceLROnPlateau).",
        (
            Param("factor", "float", 0.1, doc="lr multiplier", low=0, high=1, high_open=True),
            Param("patience", "int", 10, doc="epochs without improvement first", low=0),
            Param("monitor", "word", "val_loss", doc="history key to watch"),
            Param(
                "mode",
                "enum",
                "min",
                doc="whether lower or higher is better",
                choices=("min", "max"),
            ),
            Param("threshold", "float", 1e-4, doc="smallest change that counts", low=0),
            Param(
                "threshold_mode",
                "enum",
                "rel",
                doc="threshold relative to the best, or absolute",
                choices=("rel", "abs"),
            ),
            Param("cooldown", "int", 0, doc="epochs to wait after a reduction", low=0),
            Param("min_lr", "float", 0.0, doc="lowest learning rate", low=0),
        ),
    ),
]:
    register("schedule", Entry(_name, _params, _doc))

# ---------------------------------------------------------------- metrics
# fits: the target kinds (nndsl.ir.targets.target_kind) of the outputs a metric listed for
# every output is reported for (named for one output, `metrics = (value=[mae])`, any fits);
# needs: the kinds it can be computed for at all (else a located error; default: any);
# better: "max" where higher is better (early_stop's mode="auto", sweeps, nndsl compare).
# The computation of each is in nndsl.ir.metrics.
_CLASSES = ("binary", "one_hot", "labels")
_SOFTMAX = ("one_hot", "labels")
_VALUES = ("values",)
_UP = {"better": "max"}
_CLASSIFIER = {"fits": _CLASSES, "needs": _CLASSES, **_UP}
_AVERAGES = {
    "": "binary (class 1) for sigmoid units, the macro average for softmax classes",
    "_macro": "the mean over the classes that occur as targets or predictions",
    "_weighted": "the mean over classes weighted by each class's number of targets",
}
_SCORES = {
    "precision": "Precision, true positives / predicted positives",
    "recall": "Recall, true positives / actual positives",
    "f1": "F1, the harmonic mean of precision and recall",
}
_METRICS: list[tuple[str, str, tuple[Param, ...], dict[str, Any]]] = [
    (
        "accuracy",
        "Fraction of correct predictions (threshold 0.5 for one sigmoid unit, argmax otherwise).",
        (),
        {"fits": _CLASSES, **_UP},
    ),
    ("mse", "Mean squared error.", (), {"fits": _VALUES}),
    ("mae", "Mean absolute error.", (), {"fits": _VALUES}),
    (
        "rmse",
        "Root mean squared error (of each output column, then averaged).",
        (),
        {"fits": _VALUES},
    ),
    (
        "r2",
        "Coefficient of determination R² = 1 - SSE / total sum of squares, per output column "
        "then averaged (scikit-learn's r2_score); a constant target scores 1 if predicted "
        "exactly, else 0.",
        (),
        {"fits": _VALUES, "needs": _VALUES, **_UP},
    ),
    (
        "mape",
        "Mean absolute percentage error |y - p| / max(|y|, eps), a fraction (0.1 is 10%; huge "
        "where y is 0), as scikit-learn's mean_absolute_percentage_error.",
        (),
        {"fits": _VALUES, "needs": _VALUES},
    ),
    *(
        (
            score + suffix,
            f"{doc} ({how}); 0 where undefined (scikit-learn's zero_division=0).",
            (),
            _CLASSIFIER,
        )
        for score, doc in _SCORES.items()
        for suffix, how in _AVERAGES.items()
    ),
    (
        "auc",
        "Area under the ROC curve of the epoch's predictions, exact (scikit-learn's "
        "roc_auc_score; softmax classes: one-vs-rest macro average; sigmoid units: micro); "
        "NaN when a class never occurs.",
        (),
        _CLASSIFIER,
    ),
    (
        "auc_pr",
        "Area under the precision-recall curve as average precision, exact (scikit-learn's "
        "average_precision_score; softmax classes: one-vs-rest macro average).",
        (),
        _CLASSIFIER,
    ),
    (
        "top_k_accuracy",
        "Fraction of samples whose class is among the k highest scores (scikit-learn's "
        "top_k_accuracy_score); reported as `top_k_accuracy`, or `top_3_accuracy` for k=3.",
        (Param("k", "int", 5, doc="how many of the highest scores count", low=1),),
        {"fits": _SOFTMAX, "needs": _SOFTMAX, **_UP},
    ),
]
for _name, _doc, _params, _extra in _METRICS:
    register("metric", Entry(_name, _params, _doc, dict(_extra)))

# ---------------------------------------------------------------- data sources


def _tokenizer_param(default: str, doc: str) -> Param:
    """text()'s and csv(text=...)'s tokenizer (nndsl.data.text.TOKENIZERS)."""
    return Param("tokenizer", "enum", default, doc=doc, choices=("char", "word"))


def _vocab_size_param(doc: str = "") -> Param:
    return Param(
        "vocab_size",
        "int",
        None,
        optional=True,
        low=3,
        doc=doc + "at most this many ids, <pad> and <unk> included (the most frequent "
        "tokens kept; default: every token of the training split)",
    )


for _name, _doc, _params in [
    (
        "csv",
        "A CSV file with a header row; path relative to the .nn file.",
        (
            Param("path", "str", doc="file path, relative to the .nn file"),
            Param(
                "target",
                "any",
                None,
                doc="target column name, a list of names (one per output, in declared "
                'order), or a group output="column"; with `target = input` (an '
                "autoencoder) or for a GAN, the class column, left out of the inputs "
                "(optional)",
            ),
            Param("features", "any", None, doc="feature column names (default: all others)"),
            Param(
                "standardize",
                "bool",
                False,
                doc="scale features to mean 0, std 1 (fitted on the training split)",
            ),
            Param("delimiter", "str", ",", doc="column separator"),
            Param(
                "text",
                "str",
                None,
                optional=True,
                doc="a column of short texts as the model's only input: each text becomes "
                "`length` token ids (cut, or padded with <pad> = 0), with a vocabulary "
                "fitted on the training split and saved with the model",
            ),
            _tokenizer_param(
                "word", "with text: word (words and punctuation marks) or char (every character)"
            ),
            Param("length", "int", 32, doc="with text: token ids per text", low=1),
            _vocab_size_param("with text: "),
            Param(
                "columns",
                "each:column",
                None,
                optional=True,
                doc="the type of feature columns, by name: (city=category, built=date, "
                "area=number(scale=minmax)); the others are inferred (numbers, dates, two "
                "values: binary, a few words: category)",
            ),
            Param(
                "missing",
                "each:missing",
                None,
                optional=True,
                doc="what fills missing cells (empty, NA, N/A, NaN, null, None, ?): one "
                "strategy for every column it applies to (the others keep their default), "
                "or (age=fill_median, city=fill_mode) by name; "
                "default: numbers fill_mean, binary values and dates fill_mode, categories "
                "their unknown slot; a row without a target is left out",
            ),
            Param(
                "id",
                "any",
                None,
                doc="key column(s) naming each row: never features; `nndsl predict` writes "
                "them beside the predictions",
            ),
            Param(
                "weight",
                "str",
                None,
                optional=True,
                doc="a column of sample weights (numbers >= 0), never a feature: each row's "
                "loss is multiplied by its weight, in training, validation and test, and "
                "in `nndsl evaluate --data` when the new file has the column (as Keras' "
                "sample_weight)",
            ),
        ),
    ),
    (
        "npz",
        "A NumPy .npz archive with arrays x and y (loaded without pickle).",
        (
            Param("path", "str", doc="file path, relative to the .nn file"),
            Param("x", "str", "x", doc="name of the inputs array"),
            Param("y", "str", "y", doc="name of the targets array"),
        ),
    ),
    (
        "text",
        "A UTF-8 text file as language-model windows: `context` token ids in, the window "
        "shifted by one token as targets (targets=sequence: the next token at every "
        "position; targets=next: the one token after the window). Split by position (the "
        "last validation/test fractions of the text); the vocabulary (id 0 <pad>, 1 <unk>) "
        "is fitted on the training split and saved with the model.",
        (
            Param("path", "str", doc="file path, relative to the .nn file"),
            _tokenizer_param("char", "char: every character; word: words and punctuation marks"),
            Param("context", "int", 128, doc="tokens per window (the model's input)", low=1),
            Param(
                "stride",
                "int",
                None,
                optional=True,
                low=1,
                doc="tokens between training window starts (default: context, windows "
                "side by side; validation and test windows always are)",
            ),
            Param(
                "targets",
                "enum",
                "sequence",
                doc="sequence: the next token at every position, shape (context,); next: "
                "the token after the window",
                choices=("sequence", "next"),
            ),
            _vocab_size_param(),
        ),
    ),
    (
        "series",
        "An ordered CSV table as time-series windows: `length` consecutive rows of the "
        "feature columns in (shape (length, features): for lstm, gru, conv1d, attention), "
        "the `target` value `horizon` rows after the window's last row out. One series per "
        "`group_by` value (no window crosses two), rows sorted by `order_by` (numbers or "
        "dates). Split by time in every series: its first rows train, the next validation "
        "fraction validates, the last test fraction tests, and no window straddles two "
        "parts; standardize fits on training rows only. `nndsl run` reports the "
        "last-value and (with `season`) seasonal-naive forecasts beside the test metrics.",
        (
            Param("path", "str", doc="file path, relative to the .nn file"),
            Param("target", "str", doc="the column to forecast (a number)"),
            Param("length", "int", 48, doc="rows per window (the model's input)", low=1),
            Param(
                "horizon",
                "int",
                1,
                low=1,
                doc="the target is the value this many rows after the window's last row "
                "(one value, not the values up to it)",
            ),
            Param("stride", "int", 1, low=1, doc="rows between window starts"),
            Param(
                "features",
                "any",
                None,
                doc="the input columns, numbers (default: every column but group_by and "
                "order_by, the target's past included)",
            ),
            Param(
                "group_by",
                "str",
                None,
                optional=True,
                doc="a column naming each row's series (a session, a device); default: one series",
            ),
            Param(
                "order_by",
                "str",
                None,
                optional=True,
                doc="a column of times (numbers or dates) the rows of a series are sorted "
                "by; default: the file's order",
            ),
            Param(
                "season",
                "int",
                None,
                optional=True,
                low=1,
                doc="rows per season (24 for hourly rows and a daily cycle): the "
                "seasonal-naive baseline forecasts the value one season earlier",
            ),
            Param(
                "standardize",
                "bool",
                False,
                doc="scale each feature to mean 0, std 1 with the training rows' statistics "
                "(the target stays in the file's units)",
            ),
            Param("delimiter", "str", ",", doc="column separator"),
        ),
    ),
    (
        "dataset",
        "A dataset bundled with scikit-learn: iris, digits, breast_cancer, wine.",
        (
            Param(
                "name",
                "enum",
                doc="which dataset",
                choices=("iris", "digits", "breast_cancer", "wine"),
            ),
            Param("standardize", "bool", False, doc="scale features to mean 0, std 1"),
        ),
    ),
    (
        "synthetic",
        "A generated dataset: xor, spirals, moons, circles, blobs, grades (points in 2-d); "
        "ring (the GAN benchmark: `classes` Gaussians of std `noise`, 8 by default, their "
        "means evenly on a circle of radius 2, labelled by mode); waves (sequences (32, 1): "
        "noisy sine, square, sawtooth or triangle waves to tell apart).",
        (
            Param(
                "name",
                "enum",
                doc="which generator",
                choices=(
                    "xor",
                    "spirals",
                    "moons",
                    "circles",
                    "blobs",
                    "ring",
                    "grades",
                    "waves",
                ),
            ),
            Param("n", "int", 500, doc="number of samples", low=1),
            Param("noise", "float", 0.1, doc="scale of the added noise", low=0),
            Param(
                "classes",
                "int",
                None,
                optional=True,
                low=2,
                doc="number of classes (spirals, blobs, waves; default 2) or of modes (ring; "
                "default 8)",
            ),
            Param("seed", "int", 0, doc="seeds the generator"),
        ),
    ),
]:
    register("data", Entry(_name, _params, _doc))

# Parquet and JSON Lines tables: read into a CSV file's cells, so csv()'s arguments (but
# its delimiter) mean the same
_TABLE_PARAMS = tuple(p for p in CATALOGS["data"]["csv"].params if p.name != "delimiter")
register(
    "data",
    Entry(
        "jsonl",
        _TABLE_PARAMS,
        "A JSON Lines file, one object per line (its keys are the columns); read as csv() "
        "reads its cells. Path relative to the .nn file.",
    ),
)
register(
    "data",
    Entry(
        "parquet",
        (
            *_TABLE_PARAMS,
            Param(
                "stream",
                "bool",
                False,
                doc="read the training rows in batches each epoch instead of loading them: "
                "for data larger than memory (preprocessing fitted in one pass over the "
                "training rows; validation rows chosen by a hash of the row number, held "
                "in memory)",
            ),
            Param(
                "shuffle_buffer",
                "int",
                10_000,
                low=1,
                doc="with stream: rows held to shuffle from (shards in a seeded order, then "
                "each row drawn from this buffer)",
            ),
        ),
        "A Parquet file, or a folder of Parquet shards with the same columns (in name "
        "order); read as csv() reads its cells. Needs pyarrow (the `parquet` extra).",
    ),
)

# ---------------------------------------------------------------- feature column types
for _name, _doc, _params in [
    (
        "number",
        "A number: one input value, as is or scaled with statistics of the training split.",
        (
            Param(
                "scale",
                "enum",
                None,
                optional=True,
                choices=("none", "standard", "minmax"),
                doc="standard: mean 0, std 1; minmax: [0, 1]; default: standard with "
                "standardize=true, else none",
            ),
        ),
    ),
    (
        "category",
        "One of a set of values: one-hot over the training split's categories, plus an "
        "unknown slot for a category never seen in training (counted in a warning).",
        (
            Param(
                "max_categories",
                "int",
                50,
                low=1,
                doc="keep the most frequent ones; the rest read as unknown",
            ),
        ),
    ),
    (
        "binary",
        "One of two values (yes/no, true/false, M/F, ...): one input, 0 or 1.",
        (
            Param(
                "positive",
                "str",
                None,
                optional=True,
                doc="the value that is 1 (default: the second of the two, sorted)",
            ),
        ),
    ),
    (
        "date",
        "A date or time (ISO 8601, 2024/03/31, 31.03.2024 or 03/31/2024): its year "
        "(standardized) and month, day, weekday and hour, each as the sine and cosine of "
        "its cycle.",
        (
            Param(
                "format",
                "str",
                None,
                optional=True,
                doc='how the dates are written (strptime codes, e.g. "%d/%m/%Y %H:%M")',
            ),
            Param(
                "parts",
                "any",
                ["year", "month", "day", "weekday", "hour"],
                doc="the components to encode (hour only when the dates have times)",
            ),
            Param("cyclic", "bool", True, doc="sine and cosine of each cycle, else [0, 1]"),
        ),
    ),
]:
    register("column", Entry(_name, _params, _doc))


def _date_parts(a: dict[str, Any]) -> tuple[tuple[str, ...], str] | None:
    parts, known = a["parts"], ("year", "month", "day", "weekday", "hour")
    if not isinstance(parts, list) or not parts or not all(p in known for p in parts):
        return ("parts",), "'parts' must be a list of " + ", ".join(known)
    return None


CATALOGS["column"]["date"].extra["check"] = _date_parts

# ---------------------------------------------------------------- missing values
for _name, _doc, _params in [
    ("fill_mean", "The training split's mean (numbers).", ()),
    ("fill_median", "The training split's median (numbers).", ()),
    ("fill_mode", "The training split's most frequent value.", ()),
    (
        "fill_constant",
        "A value of your choice.",
        (Param("value", "any", doc="the value (a number for numbers)"),),
    ),
    ("drop_row", "Leave out rows missing this value (an error at predict time).", ()),
    (
        "indicator",
        "The type's default fill, plus an input that is 1 where the value was missing.",
        (),
    ),
]:
    register("missing", Entry(_name, _params, _doc))

# ---------------------------------------------------------------- early stopping (Keras)
# ---------------------------------------------------------------- experiment tracking
# `log = tensorboard("runs/tb")`, `log = [tensorboard(...), mlflow(...)]`: each epoch's
# scalars, the resolved settings, the final metrics and the run folder's files go to them
# (nndsl.train.tracking). Both are optional extras, imported when a run starts.
register(
    "logger",
    Entry(
        "tensorboard",
        (
            Param(
                "dir",
                "str",
                "runs/tensorboard",
                doc="folder of the event files (relative to the current one); a subfolder per run",
            ),
        ),
        "TensorBoard event files (tensorboardX, or torch.utils.tensorboard): every epoch's "
        "metrics as scalars, the settings as text, the final metrics; "
        "`tensorboard --logdir DIR` shows them. The `tensorboard` extra.",
    ),
)
register(
    "logger",
    Entry(
        "mlflow",
        (
            Param(
                "experiment",
                "str",
                None,
                optional=True,
                doc="the MLflow experiment (default: the model's name)",
            ),
            Param(
                "uri",
                "str",
                None,
                optional=True,
                doc="tracking URI (default: MLFLOW_TRACKING_URI, else ./mlruns, a local store)",
            ),
        ),
        "An MLflow run per nndsl run (a sweep: one per trial): the settings as parameters, "
        "every epoch's metrics, the final metrics, and the run folder's weights, curves and "
        "report as artifacts. The `mlflow` extra.",
    ),
)


# `search = optuna(trials=50)`: how a sweep file's trials are chosen. `grid` trains every
# combination of its lists; `optuna` lets an Optuna study pick each trial's values from the
# lists (categorical) and the ranges (`loguniform(1e-4, 1e-1)`, nndsl.sweep.grid) and prune
# trials on the monitored metric per epoch (nndsl.sweep.search). Optuna is an extra.
register(
    "search",
    Entry(
        "grid",
        (),
        "Every combination of the file's lists (`--trials N`: a seeded random sample of them).",
    ),
)
register(
    "search",
    Entry(
        "optuna",
        (
            Param("trials", "int", 20, low=1, doc="trials to train (`--trials N` overrides)"),
            Param(
                "sampler",
                "enum",
                "tpe",
                choices=("tpe", "random"),
                doc="how values are picked: Optuna's TPESampler or RandomSampler",
            ),
            Param(
                "pruner",
                "enum",
                "median",
                choices=("median",),
                optional=True,
                doc="median: stop a trial whose monitored metric is worse than the median of "
                "earlier trials at the same epoch (Optuna's MedianPruner); none: never",
            ),
            Param(
                "seed",
                "int",
                None,
                optional=True,
                doc="seeds the sampler (default: the train block's seed); trials run one "
                "after another, so a seeded search is reproducible",
            ),
            Param(
                "startup_trials",
                "int",
                5,
                low=0,
                doc="trials that are never pruned, and that TPE samples at random",
            ),
            Param("warmup_epochs", "int", 0, low=0, doc="epochs of each trial never pruned"),
        ),
        "An Optuna study over the file's lists and ranges, pruning on the monitored metric "
        "(early_stop's monitor, else val_loss, else loss). The `optuna` extra.",
    ),
)

EARLY_STOP = Entry(
    "early_stop",
    (
        Param("monitor", "word", "val_loss", doc="history key to watch"),
        Param("min_delta", "float", 0.0, doc="smallest change that counts as improvement", low=0),
        Param("patience", "int", 0, doc="epochs without improvement before stopping", low=0),
        Param(
            "mode",
            "enum",
            "auto",
            doc="min, max, or auto (as the monitored metric declares: max for accuracy, "
            "precision, recall, F1, AUC, R², min for losses and errors)",
            choices=("auto", "min", "max"),
        ),
        Param("baseline", "float", None, optional=True, doc="value to beat"),
        Param("restore_best", "bool", False, doc="restore the best weights when training ends"),
        Param("start_from_epoch", "int", 0, low=0, doc="epochs to wait before watching"),
    ),
    "Stop when a monitored quantity has stopped improving (Keras' EarlyStopping).",
)
GROUPS["early_stop"] = EARLY_STOP

# ---------------------------------------------------------------- the train block
TRAIN_SETTINGS = Entry(
    "train",
    (
        Param("data", "data", None, optional=True, doc="where the training data comes from"),
        Param(
            "validation",
            "float",
            0.0,
            low=0,
            high=1,
            high_open=True,
            doc="fraction of the data held out for validation",
        ),
        Param(
            "test",
            "float",
            0.0,
            low=0,
            high=1,
            high_open=True,
            doc="fraction held out for a final test evaluation",
        ),
        Param(
            "loss",
            "loss",
            doc="the loss to minimize; for several outputs one for each, or a group "
            "(label=sparse_categorical_crossentropy, value=mse)",
        ),
        Param(
            "loss_weights",
            "any",
            None,
            optional=True,
            doc="several outputs: each loss's weight in the total, a group (label=1, "
            "value=0.5); 1 for each output left out; >= 0",
        ),
        Param(
            "terms",
            "any",
            None,
            optional=True,
            doc="extra loss terms on named layers, a group (sparsity = 0.001 * l1(h)); "
            "see Loss terms",
        ),
        Param("optimizer", "optimizer", Spec("adam"), doc="how weights are updated"),
        Param("schedule", "schedule", None, optional=True, doc="learning-rate schedule per epoch"),
        Param("batch_size", "int", 32, doc="samples per gradient step", low=1),
        Param("epochs", "int", 10, doc="passes over the training data", low=1),
        Param("early_stop", "early_stop", None, optional=True, doc="stop when learning stalls"),
        Param(
            "metrics",
            "list:metric",
            [],
            doc="reported each epoch; with several outputs, for each output they fit, or "
            "per output (label=[accuracy], value=[mae])",
        ),
        Param("seed", "int", 0, doc="seeds weights, shuffling and dropout"),
        Param(
            "log",
            "list:logger",
            [],
            doc="experiment tracking: tensorboard(...) and/or mlflow(...), one or a list "
            "(the command line adds them with --log)",
        ),
        Param(
            "search",
            "search",
            Spec("grid"),
            doc="a sweep file: grid (every combination of its lists) or optuna(trials=N, "
            "...) over its lists and ranges (see Sweeps)",
        ),
        Param("shuffle", "bool", True, doc="reshuffle the training data every epoch"),
        Param(
            "class_weight",
            "any",
            None,
            optional=True,
            doc="weigh each class's samples in the training loss, as Keras' class_weight: "
            "balanced (n / (classes * count), counted on the training split), a group by "
            "class name (churned=5, stayed=1; classes left out weigh 1), or a list by class "
            "index [1, 5]; the validation and test losses stay unweighted",
        ),
        Param(
            "clip_norm",
            "float",
            None,
            optional=True,
            low=0,
            low_open=True,
            doc="clip the gradient's global L2 norm to this value",
        ),
        Param(
            "dtype", "enum", "float32", doc="floating-point type", choices=("float32", "float64")
        ),
        Param(
            "mixed_precision",
            "enum",
            None,
            choices=("bf16",),
            optional=True,
            doc="torch backend: bf16 autocast of the forward pass (float32 weights)",
        ),
        Param(
            "compile",
            "enum",
            False,
            choices=("false", "true", "reduce_overhead", "max_autotune"),
            doc="torch backend: compile the model with torch.compile; `true` in its default "
            "mode, `reduce_overhead` replays each step as a CUDA graph on a GPU (for small "
            "models, whose steps are mostly launch overhead), `max_autotune` also searches "
            "kernels (slow to start)",
        ),
        Param(
            "checkpoint_every", "int", 0, low=0, doc="write a checkpoint every N epochs (0: off)"
        ),
        Param(
            "target",
            "enum",
            None,
            choices=("input",),
            optional=True,
            doc="`target = input`: the model learns to give back its input (an "
            "autoencoder); no target column is needed",
        ),
        Param(
            "latent",
            "word",
            None,
            optional=True,
            doc="the layer whose values are the latent codes (`nndsl encode`) and from which "
            "`nndsl sample` decodes; default: the model's sample_normal layer",
        ),
        Param(
            "discriminator",
            "word",
            None,
            optional=True,
            doc="a GAN: the model that tells real samples from this (generator) model's; "
            "both train adversarially (see Generative models)",
        ),
        Param(
            "gan_loss",
            "gan_loss",
            Spec("non_saturating"),
            doc="a GAN's losses: non_saturating, minimax or wasserstein(gradient_penalty=10)",
        ),
        Param(
            "d_optimizer",
            "optimizer",
            None,
            optional=True,
            doc="a GAN's discriminator optimizer (default: a copy of `optimizer`)",
        ),
        Param(
            "d_steps",
            "int",
            1,
            low=0,
            doc="a GAN: discriminator steps per generator step (0: the discriminator never trains)",
        ),
        Param(
            "env",
            "env",
            None,
            optional=True,
            doc="an agent: the environment the model acts in (cartpole, gridworld, "
            'gym("Name")); see Reinforcement learning',
        ),
        Param(
            "algorithm",
            "algorithm",
            Spec("dqn"),
            doc="an agent: how it learns, dqn(...) or reinforce(...)",
        ),
        Param("steps", "int", 50000, low=1, doc="an agent: environment steps to train for"),
    ),
    "Settings of a `train` block.",
)

# ---------------------------------------------------------------- loss terms (`terms = ...`)
from nndsl.ir import adversarial as _adversarial  # noqa: E402, F401  (the "gan_loss" catalog)
from nndsl.ir import agents as _agents  # noqa: E402, F401  (env, algorithm, exploration)
from nndsl.ir import terms as _terms  # noqa: E402, F401  (registers the "term" catalog)
