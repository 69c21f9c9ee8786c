"""Calibration of pack weights against observed product outcomes.

Needs the ``rewardsmith[calibrate]`` extra (numpy, scipy), imported on first use.
"""

from rewardsmith.calibration.analysis import CalibrationResult, calibrate
from rewardsmith.calibration.data import Joined, join, read_outcomes, read_scored
from rewardsmith.calibration.errors import CalibrationError, MissingDependency
from rewardsmith.calibration.fit import WeightFit, fit_weights
from rewardsmith.calibration.rewrite import bump_version, render_calibrated_pack
from rewardsmith.calibration.stats import Correlation, rank_correlations

__all__ = [
    "CalibrationError",
    "CalibrationResult",
    "Correlation",
    "Joined",
    "MissingDependency",
    "WeightFit",
    "bump_version",
    "calibrate",
    "fit_weights",
    "join",
    "rank_correlations",
    "read_outcomes",
    "read_scored",
    "render_calibrated_pack",
]
