"""What every metric source is: a strict config that builds a reader of one number."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from rewardsmith.core.component import ComponentContext
from rewardsmith.core.sample import Sample


class MetricSource:
    """Reads one raw product metric for a sample; raises ComponentError when it can't."""

    async def read(self, sample: Sample) -> float:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release clients or pools at the end of the scorer's life."""


class SourceConfig(BaseModel):
    """Base of the ``source = { kind = ... }`` tables; ``build`` runs once, at pack load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str

    def build(self, context: ComponentContext | None = None) -> MetricSource:
        """The reader; ``context`` gives access to what plugins registered (functions)."""
        raise NotImplementedError
