"""A small in-process plugin for engine tests: real components with call counters."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from rewardsmith import Component, ComponentConfig, Score
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.sample import Sample

CALLS: Counter[str] = Counter()


class NonEmpty(Component):
    summary = "passes when the response is not blank"

    class Config(ComponentConfig):
        type: Literal["non-empty"] = "non-empty"

    def score(self, sample: Sample) -> Score:
        CALLS[self.config.id] += 1
        return Score.from_bool(bool(sample.response.strip()), chars=len(sample.response))


class Contains(Component):
    """Value 1 when the response contains ``needle``; raises on the word 'explode'."""

    class Config(ComponentConfig):
        type: Literal["contains"] = "contains"
        needle: str

    def score(self, sample: Sample) -> Score:
        CALLS[self.config.id] += 1
        if "explode" in sample.response:
            raise RuntimeError("component blew up")
        return Score.from_bool(self.config.needle in sample.response)


class Ratio(Component):
    """Returns whatever number the response spells, to test range/NaN validation."""

    value_range = (-1.0, 1.0)

    class Config(ComponentConfig):
        type: Literal["ratio"] = "ratio"

    def score(self, sample: Sample) -> Score:
        CALLS[self.config.id] += 1
        text = sample.response.strip()
        if text == "not-a-score":
            return "oops"  # type: ignore[return-value]
        return Score(float(text))


class Sleepy(Component):
    """An I/O-bound component: waits ``delay`` seconds (forever on 'hang')."""

    run = "async"

    class Config(ComponentConfig):
        type: Literal["sleepy"] = "sleepy"
        delay: float = 0.01

    async def score(self, sample: Sample) -> Score:
        CALLS[self.config.id] += 1
        await asyncio.sleep(3600 if "hang" in sample.response else self.config.delay)
        if "judge-down" in sample.response:
            raise ComponentError("backend unavailable", kind="judge_unavailable")
        return Score(0.8, measurements={"tokens": 12})


class BlockingWork(Component):
    run = "thread"

    class Config(ComponentConfig):
        type: Literal["blocking-work"] = "blocking-work"

    def score(self, sample: Sample) -> Score:
        CALLS[self.config.id] += 1
        time.sleep(0.001)
        return Score(1.0)


class LengthRank(Component):
    """Ranks the rollouts of a group by length: the longest gets 1, the shortest 0."""

    run = "group"

    class Config(ComponentConfig):
        type: Literal["length-rank"] = "length-rank"

    async def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        CALLS[self.config.id] += 1
        order = sorted(range(len(samples)), key=lambda i: len(samples[i].response))
        ranks = {idx: pos for pos, idx in enumerate(order)}
        n = max(1, len(samples) - 1)
        return [Score(ranks[i] / n, measurements={"group_size": len(samples)})
                for i in range(len(samples))]


def sample(i: Any, response: Any, prompt: str = "prompt", **extra: Any) -> dict[str, Any]:
    return {"id": i, "messages": [{"role": "user", "content": prompt},
                                  {"role": "assistant", "content": response}], **extra}


_RAISABLE = {"KeyboardInterrupt": KeyboardInterrupt, "SystemExit": SystemExit,
             "CancelledError": asyncio.CancelledError, "GeneratorExit": GeneratorExit}


class Raiser(Component):
    """Raises the BaseException named in the response (a badly behaved plugin)."""

    class Config(ComponentConfig):
        type: Literal["raiser"] = "raiser"

    def score(self, sample: Sample) -> Score:
        exc = _RAISABLE.get(sample.response.strip())
        if exc is not None:
            raise exc()
        return Score(1.0)


class AsyncRaiser(Component):
    run = "async"

    class Config(ComponentConfig):
        type: Literal["async-raiser"] = "async-raiser"

    async def score(self, sample: Sample) -> Score:
        await asyncio.sleep(0)
        exc = _RAISABLE.get(sample.response.strip())
        if exc is not None:
            raise exc()
        return Score(1.0)


class KindRaiser(Component):
    """Raises ``ComponentError`` with the kind named after ``kind:`` in the response."""

    class Config(ComponentConfig):
        type: Literal["kind-raiser"] = "kind-raiser"

    def score(self, sample: Sample) -> Score:
        text = sample.response.strip()
        if text.startswith("kind:"):
            raise ComponentError(f"raised {text}", kind=text.removeprefix("kind:"))
        return Score(1.0)


@hookimpl
def register_components(register):  # type: ignore[no-untyped-def]
    for cls in (NonEmpty, Contains, Ratio, Sleepy, BlockingWork, LengthRank, Raiser,
                AsyncRaiser, KindRaiser):
        register(cls)
