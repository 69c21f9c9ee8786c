"""``kind = "lookup"``: a product outcome the trainer already attached to the sample."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator

from rewardsmith.core.component import ComponentContext
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.metrics.base import MetricSource, SourceConfig
from rewardsmith.plugins.metrics.values import (
    KeyPath,
    checked_key_path,
    format_key_path,
    number_at,
    parse_key_path,
)


class LookupSourceConfig(SourceConfig):
    kind: Literal["lookup"] = "lookup"
    path: str | list[str] = Field(
        description="Key path in the sample's metadata, e.g. 'outcomes.accepted' (or a list "
        "of keys, for keys that contain dots)."
    )
    default: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Value used when the path is absent or null. Without it a missing value "
        "is a 'metric_missing' error and the component's on_error policy applies.",
    )

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str | Sequence[str]) -> str | list[str]:
        return checked_key_path(value)

    def build(self, context: ComponentContext | None = None) -> MetricSource:
        return LookupSource(parse_key_path(self.path), self.default)


class LookupSource(MetricSource):
    def __init__(self, path: KeyPath, default: float | None) -> None:
        self.path = path
        self.default = default

    def read_sync(self, sample: Sample) -> float:
        return number_at(sample.metadata, self.path, f"metadata.{format_key_path(self.path)}",
                         default=self.default, missing_from=" from the sample")

    async def read(self, sample: Sample) -> float:
        return self.read_sync(sample)
