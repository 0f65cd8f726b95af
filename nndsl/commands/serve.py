"""`nndsl serve RUN`: a trained model behind HTTP (nndsl.serving builds the application;
uvicorn runs it). FastAPI and uvicorn are the `serve` extra, imported only here, when the
command runs."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable

from nndsl.commands.run import add_saved_model_options, saved_model
from nndsl.errors import NNDSLError


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "serve",
        cmd_serve,
        "serve a trained model over HTTP: POST /predict, GET /schema, GET /health",
        [
            "nndsl serve runs/churn-20250101-120000 --port 8000",
            'curl -s localhost:8000/predict -d \'{"rows": [{"plan": "basic", ...}]}\'',
        ],
    )
    add_saved_model_options(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    p.add_argument(
        "--max-rows", type=int, default=10_000, metavar="N", help="rows per request (default: N)"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise NNDSLError(
            f"nndsl serve needs {' and '.join(missing)}", hint="pip install 'nndsl[serve]'"
        )
    if not 0 < args.port < 65536:
        raise NNDSLError(f"--port {args.port} is not a port", hint="give 1 to 65535")
    if args.max_rows < 1:
        raise NNDSLError("--max-rows must be at least 1")
    import uvicorn

    from nndsl.serving import create_app

    model = saved_model(args)
    model.refuse_gan("serve")
    app = create_app(model, args.max_rows)
    where = f"http://{args.host}:{args.port}"
    print(
        f"serving '{model.graph.name}' at {where} (POST /predict, GET /schema, GET /health); "
        "Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
