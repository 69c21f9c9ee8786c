"""Calibration errors: bad outcome files, joins that match too little, missing extras."""

from __future__ import annotations

from rewardsmith.core.errors import RewardsmithError


class CalibrationError(RewardsmithError):
    """Calibration cannot proceed; the message says which input was wrong and where."""


class MissingDependency(CalibrationError):
    """numpy or scipy (the ``rewardsmith[calibrate]`` extra) is not installed."""
