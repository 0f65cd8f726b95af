"""Moved to nndsl.ir.targets, below the backends that use them; kept for old imports."""

from nndsl.ir.targets import first_bad_target, prepare_targets, target_kind

__all__ = ["first_bad_target", "prepare_targets", "target_kind"]
