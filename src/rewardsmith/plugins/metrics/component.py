"""The ``product-metric`` component: a product metric, mapped into [0, 1] by a declared
transform, with the raw metric kept as a measurement (``<id>.<metric>`` in metrics_list)
whatever the transform did to it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.metrics.formula import FormulaSourceConfig
from rewardsmith.plugins.metrics.functions import FunctionSourceConfig
from rewardsmith.plugins.metrics.http import HttpSourceConfig
from rewardsmith.plugins.metrics.lookup import LookupSourceConfig
from rewardsmith.plugins.metrics.transforms import TransformConfig

SourceConfigs = Annotated[
    FunctionSourceConfig | LookupSourceConfig | FormulaSourceConfig | HttpSourceConfig,
    Field(discriminator="kind"),
]
# Measurement names the engine writes itself next to a component's own.
_RESERVED_METRIC_NAMES = frozenset({"latency_ms", "failed"})


class ProductMetric(Component["ProductMetric.Config"]):
    """A reward from a product metric: a function, a metadata lookup, a formula or an
    HTTP endpoint, mapped by threshold, linear band, target or identity.
    """

    run = "async"

    class Config(ComponentConfig):
        type: Literal["product-metric"] = "product-metric"
        source: SourceConfigs = Field(
            description="Where the number comes from: kind = function | lookup | formula | http."
        )
        transform: TransformConfig = Field(
            description="How it maps into [0, 1]: kind = threshold | linear | target | identity."
        )
        metric: str = Field(
            default="raw",
            description="Name of the raw-metric measurement: reported as '<id>.<metric>'.",
        )

        @field_validator("metric")
        @classmethod
        def _metric_name(cls, name: str) -> str:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"metric name {name!r} must be an identifier")
            if name in _RESERVED_METRIC_NAMES:
                raise ValueError(f"metric name {name!r} is reserved for the engine's own "
                                 f"measurements ({', '.join(sorted(_RESERVED_METRIC_NAMES))})")
            return name

    summary = "product metric (function, lookup, formula or HTTP) mapped into [0, 1]"

    def __init__(self, config: ProductMetric.Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self.source = config.source.build(context)
        self.transform = config.transform

    async def score(self, sample: Sample) -> Score:
        raw = await self.source.read(sample)
        name = self.config.metric
        try:
            value, passed = self.transform.apply(raw)
        except ComponentError as exc:
            # The raw metric is monitoring data even when it cannot become a reward.
            exc.measurements.setdefault(name, raw)
            raise
        return Score(
            value=value,
            passed=passed,
            rationale=f"{name} = {raw:g} -> {value:.3g} ({self.transform.kind})",
            measurements={name: raw},
        )

    async def aclose(self) -> None:
        await self.source.aclose()
