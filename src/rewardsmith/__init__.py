"""rewardsmith: compose reward functions for reinforcement fine-tuning.

Names are imported on first use (PEP 562), so ``import rewardsmith`` stays cheap for the
pytest plugin, the CLI's start-up and a Lambda's cold start.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardsmith.core.component import (
        Component,
        ComponentConfig,
        ComponentContext,
        RunMode,
    )
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.pack import Pack, load_pack
    from rewardsmith.core.plugins import PluginHost, make_plugin_host
    from rewardsmith.core.results import SampleResult, Score
    from rewardsmith.core.sample import Sample, parse_sample
    from rewardsmith.core.sample import make_sample as sample

__version__ = "0.1.0"

_EXPORTS = {
    "Component": "rewardsmith.core.component",
    "ComponentConfig": "rewardsmith.core.component",
    "ComponentContext": "rewardsmith.core.component",
    "RunMode": "rewardsmith.core.component",
    "Scorer": "rewardsmith.core.engine",
    "Pack": "rewardsmith.core.pack",
    "load_pack": "rewardsmith.core.pack",
    "PluginHost": "rewardsmith.core.plugins",
    "make_plugin_host": "rewardsmith.core.plugins",
    "SampleResult": "rewardsmith.core.results",
    "Score": "rewardsmith.core.results",
    "Sample": "rewardsmith.core.sample",
    "parse_sample": "rewardsmith.core.sample",
    "sample": "rewardsmith.core.sample",
}
# Public name -> the module's own name, where they differ.
_RENAMED = {"sample": "make_sample"}

__all__ = [
    "Component",
    "ComponentConfig",
    "ComponentContext",
    "Pack",
    "PluginHost",
    "RunMode",
    "Sample",
    "SampleResult",
    "Score",
    "Scorer",
    "__version__",
    "load_pack",
    "make_plugin_host",
    "parse_sample",
    "sample",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rewardsmith' has no attribute {name!r}")
    value = getattr(import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
