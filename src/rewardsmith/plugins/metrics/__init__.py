"""Built-in product-metric linkers: ``type = "product-metric"``.

A component whose value comes from a product metric (an installed function, a metadata
lookup, a formula over metadata, or an HTTP endpoint), mapped into [0, 1] by a declared
transform (threshold, linear band, target with tolerance, identity). See
:mod:`rewardsmith.plugins.metrics.component`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.plugins.metrics.component import ProductMetric
from rewardsmith.plugins.metrics.functions import (
    METRICS_ENTRY_POINT_GROUP,
    MODULE_ALLOWLIST_ENV,
    installed_metric_functions,
)

__all__ = [
    "METRICS_ENTRY_POINT_GROUP",
    "MODULE_ALLOWLIST_ENV",
    "ProductMetric",
    "installed_metric_functions",
]


@hookimpl
def register_components(register: Callable[[type[Any]], None]) -> None:
    register(ProductMetric)

