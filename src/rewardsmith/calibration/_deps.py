"""Lazy access to the optional numerical stack (``rewardsmith[calibrate]``).

numpy and scipy stay out of the core install (a reward Lambda never needs them), so
calibration imports them on first use and names the extra when they are missing.
"""

from __future__ import annotations

from types import ModuleType

from rewardsmith.calibration.errors import MissingDependency

INSTALL_HINT = "pip install 'rewardsmith[calibrate]'"


def numpy() -> ModuleType:
    try:
        import numpy as np
    except ImportError as exc:
        raise MissingDependency(f"calibration needs numpy: {INSTALL_HINT}") from exc
    return np


def scipy_stats() -> ModuleType:
    try:
        from scipy import stats
    except ImportError as exc:
        raise MissingDependency(f"calibration needs scipy: {INSTALL_HINT}") from exc
    return stats


def scipy_optimize() -> ModuleType:
    try:
        from scipy import optimize
    except ImportError as exc:
        raise MissingDependency(f"calibration needs scipy: {INSTALL_HINT}") from exc
    return optimize
