"""Moved to nndsl.ir.metrics, below the backends that compute them; kept for old imports."""

from nndsl.ir.metrics import METRICS, NEEDS_PROBS, accuracy, mae, mse

__all__ = ["METRICS", "NEEDS_PROBS", "accuracy", "mae", "mse"]
