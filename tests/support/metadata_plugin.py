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
        # where the measurements come from: a judge's usage, or nothing for a check
        usage_key: str = "judge_usage"

    def score(self, sample: Sample) -> Score:
        scores = sample.metadata.get("scores") or {}
        forced = (sample.metadata.get("errors") or {}).get(self.config.id)
        if forced:  # an error of a given kind (judge_parse, judge_refused, ...)
            raise ComponentError(f"forced {forced}", kind=forced)
        if self.config.id not in scores:
            raise ComponentError(f"no score for {self.config.id}", kind="no_score")
        value = float(scores[self.config.id])
        rationale = f"the response said: {sample.response}" if self.config.echo_response else ""
        usage = sample.metadata.get(self.config.usage_key) or {}
        details = (sample.metadata.get("details") or {}).get(self.config.id) or {}
        return Score(value, passed=value >= 0.5, rationale=rationale, measurements=dict(usage),
                     details=dict(details))


@hookimpl
def register_components(register):
    register(MetadataScore)
