"""A trained model behind HTTP: the FastAPI application `nndsl serve` runs (FastAPI and
uvicorn are the `serve` extra; this module imports FastAPI, so only that command loads it).

    GET  /health   {"status": "ok", "model": NAME}
    GET  /schema   what a request holds: the input columns by name with their types (the
                   categories and binary values training saw), the output columns, limits
    POST /predict  {"rows": [{"age": 41, "city": "Lyon", ...}, ...]} for a model trained on
                   a table, or {"inputs": [[...], ...]}: samples by position; answers
                   {"predictions": [{"p_yes": 0.83, "churned": "yes"}, ...], "warnings": [...]}

Rows are matched to the training columns by name and go through the run's own
preprocessing (nndsl.model.Model.predict), so a served prediction equals `nndsl predict`'s
on the same rows. A request that is not what the schema says gets a 4xx answer with a
message (and a hint where there is one): 400 not JSON, 413 too large, 422 a row or a cell
the model cannot read. A 500 means a bug in nndsl; its answer names no internals, the
server's log has the traceback.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import warnings
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from nndsl.errors import NNDSLError
from nndsl.predictions import prediction_table

MAX_ROWS = 10_000  # rows in one request
MAX_BODY_BYTES = 16 * 1024 * 1024  # of one request's JSON

log = logging.getLogger("nndsl.serve")


class BadRequest(Exception):
    """What the client sent is not a request the model can answer."""

    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


TABLES = ("csv", "parquet", "jsonl")  # sources whose columns have names people gave


def named_columns(model: Any) -> list[str] | None:
    """The feature columns a request's rows name, for a model trained on a table (typed
    columns, or a file with a header); None for one trained on arrays, whose made-up
    column names (x[0,0,0]) nobody would send."""
    spec = model.plan.data if model.plan is not None else None
    if model.preprocessing is None and (spec is None or spec.name not in TABLES):
        return None
    features, _ = model.training_columns()
    return features or None


def schema(model: Any, max_rows: int = MAX_ROWS) -> dict[str, Any]:
    """What /predict takes and gives, from what training saved."""
    out: dict[str, Any] = {"model": model.graph.name, "max_rows": max_rows}
    out["request"] = {"inputs": "a list of samples, each an array of the input's shape"}
    inputs = model.graph.inputs
    if len(inputs) == 1:
        out["input_shape"] = list(inputs[0].shape)
    else:  # several inputs: "inputs" is an object of samples by input name
        out["request"] = {"inputs": "{input name: a list of samples of its shape}"}
        out["input_shape"] = {node.name: list(node.shape) for node in inputs}
    features = named_columns(model)
    if features:
        kinds = model.preprocessing.kinds() if model.preprocessing is not None else {}
        stats = _encoding_stats(model)
        columns = []
        for name in features:
            kind, options = kinds.get(name, ("number", {}))
            column: dict[str, Any] = {"name": name, "type": kind}
            if kind == "category" and stats.get(name, {}).get("categories") is not None:
                column["categories"] = stats[name]["categories"]
            if kind == "binary" and options.get("values") is not None:
                column["values"] = list(options["values"])
            columns.append(column)
        out["request"] = {"rows": "a list of objects, one per row: {column: value}"}
        out["columns"] = columns
        out["ids"] = model.id_columns()  # echoed into each prediction when a row holds them
        out["missing"] = "null is a missing cell; every row has every column"
    header, _ = prediction_table(model, _one_prediction(model))
    out["outputs"] = header
    if model.class_names:
        out["classes"] = list(model.class_names)
    return out


def _encoding_stats(model: Any) -> dict[str, dict[str, Any]]:
    if model.preprocessing is None:
        return {}
    return {e["name"]: e.get("stats") or {} for e in model.preprocessing.to_dict()["encodings"]}


def _one_prediction(model: Any) -> Any:
    """A prediction of zeros with the model's output shapes: the header without data."""
    shapes = {name: model.graph[name].shape for name in model.graph.outputs}
    if len(shapes) == 1:
        return np.zeros((1, *next(iter(shapes.values()))))
    return {name: np.zeros((1, *shape)) for name, shape in shapes.items()}


def read_request(body: bytes, model: Any, max_rows: int = MAX_ROWS) -> tuple[Any, list[dict]]:
    """(what model.predict takes, the rows' id cells) from a request's JSON body."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except BadRequest:
        raise
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(400, f"the body is not JSON ({e})") from None
    features = named_columns(model)
    key = "inputs" if isinstance(data, dict) and "inputs" in data or not features else "rows"
    if not isinstance(data, dict) or key not in data:
        raise BadRequest(
            422,
            f'the body must be an object holding "{key}"',
            hint='e.g. {"rows": [{"column": value, ...}]} (GET /schema lists the columns)'
            if features
            else 'e.g. {"inputs": [[0.1, 0.2, ...]]} (GET /schema gives the input shape)',
        )
    items = data[key]
    if key == "inputs" and isinstance(items, dict) and len(model.graph.inputs) > 1:
        arrays = {name: _array_of(v) for name, v in items.items()}
        n = {len(a) for a in arrays.values()}
        if len(n) != 1 or n.pop() > max_rows:
            raise BadRequest(422, "give every input the same number of samples, within the limit")
        return arrays, [{} for _ in range(len(next(iter(arrays.values()))))]
    if not isinstance(items, list) or not items:
        raise BadRequest(422, f'"{key}" must be a non-empty list')
    if len(items) > max_rows:
        raise BadRequest(
            413,
            f"{len(items)} {key} in one request; the limit is {max_rows}",
            hint="send them in several requests",
        )
    if key == "inputs":
        return _array_of(items), [{} for _ in items]
    return _columns_of(items, model.id_columns())


def _array_of(items: Any) -> np.ndarray:
    """Samples as one array of numbers (the model checks its shape)."""
    if not isinstance(items, list) or not items:
        raise BadRequest(422, 'the samples of "inputs" must be a non-empty list')
    try:
        x = np.asarray(items, dtype=np.float64)
    except (ValueError, TypeError):
        raise BadRequest(
            422,
            '"inputs" must be samples of numbers, all of one shape',
            hint="GET /schema gives the input shape",
        ) from None
    if not np.isfinite(x).all():
        raise BadRequest(422, '"inputs" holds a number too large for a float')
    return x


def _no_constant(name: str) -> Any:
    raise BadRequest(400, f"{name} is not JSON", hint="give null for a missing value")


def _columns_of(rows: list[Any], ids: list[str]) -> tuple[dict[str, list], list[dict]]:
    """Row objects as columns {name: cells}; every row has the same keys. Rows are
    numbered from 1 in messages, as the model's own errors number them."""
    first = rows[0]
    if not isinstance(first, dict):
        raise BadRequest(422, "row 1 is not an object", hint='rows are {"column": value} objects')
    names = list(first)
    columns: dict[str, list] = {name: [] for name in names}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BadRequest(422, f"row {i + 1} is not an object")
        if row.keys() != first.keys():
            lacking = [n for n in names if n not in row] or [n for n in row if n not in first]
            raise BadRequest(
                422,
                f"row {i + 1} does not have the columns of row 1 (differs at '{lacking[0]}')",
                hint="give every row the same columns; null for a missing value",
            )
        for name in names:
            value = row[name]
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise BadRequest(
                    422,
                    f"row {i + 1}, column '{name}': a {type(value).__name__} is not a cell",
                    hint="a cell is a number, a string, true/false or null",
                )
            columns[name].append(value)
    keys = [{k: row[k] for k in ids if k in row} for row in rows]
    return {k: v for k, v in columns.items() if k not in ids}, keys  # ids: never features


def predictions(model: Any, x: Any, keys: list[dict]) -> tuple[list[dict], list[str]]:
    """Each row's prediction as {column: value}, its ids first, and the warnings the
    model gave (columns ignored, categories it never saw)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = model.predict(x)
    header, rows = prediction_table(model, pred)
    out = [{**key, **dict(zip(header, map(_finite, row)))} for key, row in zip(keys, rows)]
    return out, [getattr(w.message, "message", str(w.message)) for w in caught]


def _finite(value: Any) -> Any:
    """JSON has no NaN: a non-finite prediction is null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def create_app(model: Any, max_rows: int = MAX_ROWS) -> FastAPI:
    """The application serving `model` (a trained nndsl.model.Model)."""
    app = FastAPI(title=f"nndsl: {model.graph.name}", docs_url=None, redoc_url=None)
    described = schema(model, max_rows)
    one_at_a_time = threading.Lock()  # an engine predicts one batch at a time

    def answer(x: Any, keys: list[dict]) -> tuple[list[dict], list[str]]:
        with one_at_a_time:
            return predictions(model, x, keys)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model": model.graph.name}

    @app.get("/schema")
    def get_schema() -> dict[str, Any]:
        return described

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        try:
            body = await _read_body(request)
            x, keys = read_request(body, model, max_rows)
            rows, notes = await run_in_threadpool(answer, x, keys)
        except BadRequest as e:
            return _error(e.status, e.message, e.hint)
        except NNDSLError as e:  # the model cannot read these rows: the client's to fix
            return _error(422, e.message, e.hint)
        except Exception:  # a bug in nndsl: logged whole, answered without internals
            log.exception("POST /predict failed")
            return _error(500, "internal error: the server's log has the details")
        return JSONResponse({"predictions": rows, "warnings": notes})

    return app


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) past MAX_BODY_BYTES before more of it is read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequest(413, f"the body is {declared} bytes; the limit is {MAX_BODY_BYTES}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequest(413, f"the body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, hint: str | None = None) -> JSONResponse:
    content = {"error": message} | ({"hint": hint} if hint else {})
    return JSONResponse(content, status_code=status)
