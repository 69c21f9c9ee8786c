"""rewardsmith: compose reward functions for reinforcement fine-tuning."""

from rewardsmith.core.component import (
    AsyncComponent,
    Component,
    ComponentConfig,
    ComponentContext,
    GroupComponent,
)
from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import Pack, load_pack
from rewardsmith.core.plugins import PluginHost, make_plugin_host
from rewardsmith.core.results import SampleResult, Score
from rewardsmith.core.sample import Sample, parse_sample

__version__ = "0.1.0"

__all__ = [
    "AsyncComponent",
    "Component",
    "ComponentConfig",
    "ComponentContext",
    "GroupComponent",
    "Pack",
    "PluginHost",
    "Sample",
    "SampleResult",
    "Score",
    "Scorer",
    "__version__",
    "load_pack",
    "make_plugin_host",
    "parse_sample",
]
