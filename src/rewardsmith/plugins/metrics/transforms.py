"""Transforms: how a raw product metric maps into the reward range [0, 1].

Each transform returns the value and, where pass/fail is meaningful (threshold, target),
whether it passed, so a ``product-metric`` component can also serve as a gate.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rewardsmith.core.errors import ComponentError, ErrorKind

Mapped = tuple[float, bool | None]


class _Transform(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def apply(self, raw: float) -> Mapped:
        raise NotImplementedError


class ThresholdTransform(_Transform):
    """1 when the metric reaches the threshold, else 0."""

    kind: Literal["threshold"] = "threshold"
    threshold: float = Field(allow_inf_nan=False)
    direction: Literal["at_least", "at_most"] = Field(
        default="at_least",
        description="at_least: raw >= threshold passes; at_most: raw <= threshold passes.",
    )

    def apply(self, raw: float) -> Mapped:
        ok = raw >= self.threshold if self.direction == "at_least" else raw <= self.threshold
        return (1.0 if ok else 0.0), ok


class LinearTransform(_Transform):
    """``lo`` maps to 0 and ``hi`` to 1, linearly, clipped outside the band.

    Give ``lo > hi`` when lower is better (latency: ``lo = 2000, hi = 200``).
    """

    kind: Literal["linear"] = "linear"
    lo: float = Field(allow_inf_nan=False, description="The raw value that maps to 0.")
    hi: float = Field(allow_inf_nan=False, description="The raw value that maps to 1.")

    @model_validator(mode="after")
    def _distinct(self) -> LinearTransform:
        if self.lo == self.hi:
            raise ValueError(f"linear transform needs lo != hi, got both {self.lo}")
        return self

    def apply(self, raw: float) -> Mapped:
        position = (raw - self.lo) / (self.hi - self.lo)
        return min(max(position, 0.0), 1.0), None


class TargetTransform(_Transform):
    """1 at ``target``, falling linearly to ``edge_value`` at ``target ± tolerance``.

    Beyond the tolerance the value is ``outside_value`` (default: ``edge_value``, so the
    curve is continuous); ``outside_value = 0`` with a positive ``edge_value`` makes the
    tolerance a hard limit. ``passed`` says whether the metric was within tolerance.
    """

    kind: Literal["target"] = "target"
    target: float = Field(allow_inf_nan=False)
    tolerance: float = Field(gt=0, allow_inf_nan=False)
    edge_value: float = Field(default=0.0, ge=0, lt=1)
    outside_value: float | None = Field(default=None, ge=0, le=1)

    def apply(self, raw: float) -> Mapped:
        distance = abs(raw - self.target)
        if distance <= self.tolerance:
            return 1.0 - (1.0 - self.edge_value) * (distance / self.tolerance), True
        outside = self.edge_value if self.outside_value is None else self.outside_value
        return outside, False


class IdentityTransform(_Transform):
    """The metric already is a reward in [0, 1]. Anything outside is an error, never
    silently clipped: it usually means the producer changed its scale.
    """

    kind: Literal["identity"] = "identity"

    def apply(self, raw: float) -> Mapped:
        if not 0.0 <= raw <= 1.0:
            raise ComponentError(
                f"metric value {raw} is outside [0, 1]; the identity transform does not "
                "clip (use a linear transform to rescale)",
                kind=ErrorKind.METRIC_OUT_OF_RANGE,
            )
        return raw, None


TransformConfig = Annotated[
    ThresholdTransform | LinearTransform | TargetTransform | IdentityTransform,
    Field(discriminator="kind"),
]
