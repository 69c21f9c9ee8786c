"""Exceptions with messages that say what was wrong and where."""

from __future__ import annotations


class RewardsmithError(Exception):
    """Base class for every error rewardsmith raises on purpose."""


class SampleError(RewardsmithError):
    """One input sample cannot be scored; the rest of the batch is unaffected."""

    def __init__(self, message: str, *, kind: str = "malformed_sample",
                 sample_id: object = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.sample_id = sample_id  # echoed in the failed result, when the input had one


class PackError(RewardsmithError):
    """A rubric pack is invalid. The message names the file and the offending key."""


class PluginError(RewardsmithError):
    """A plugin failed to load or registered something invalid; names the distribution."""


class ComponentError(RewardsmithError):
    """Raised by a component to report a scoring failure with a kind (e.g. ``judge_parse``).

    ``measurements`` made before the failure (a raw metric out of range, judge tokens
    spent) are still reported, so monitoring sees what failed and what it cost.
    """

    def __init__(self, message: str, *, kind: str = "error",
                 measurements: dict[str, float | int | str | bool | None] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.measurements = dict(measurements or {})
