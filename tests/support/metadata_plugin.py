"""Components for calibration and report tests: their values come from the sample.

``metadata-score`` returns ``metadata["scores"][<component id>]`` (abstaining with a
``no_score`` error when absent), so a test decides each component's value exactly and
the real engine, pack loader and aggregation run on top of it.
"""

from __future__ import annotations

from typing import Literal

from rewardsmith import Component, ComponentConfig, Score
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.sample import Sample


class MetadataScore(Component):
    summary = "the value stored in the sample's metadata under scores.<id>"

    class Config(ComponentConfig):
        type: Literal["metadata-score"] = "metadata-score"
        echo_response: bool = False  # put the response in the rationale, as judges quote it

    def score(self, sample: Sample) -> Score:
        scores = sample.metadata.get("scores") or {}
        if self.config.id not in scores:
            raise ComponentError(f"no score for {self.config.id}", kind="no_score")
        value = float(scores[self.config.id])
        rationale = f"the response said: {sample.response}" if self.config.echo_response else ""
        usage = sample.metadata.get("judge_usage") or {}
        return Score(value, passed=value >= 0.5, rationale=rationale, measurements=dict(usage))


@hookimpl
def register_components(register):
    register(MetadataScore)
