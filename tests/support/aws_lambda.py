"""Helpers for the reward-Lambda tests: test-local components registered through an
in-process plugin, a Lambda context with a real deadline, and the Nova Forge result model
every handler answer must validate against."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from rewardsmith import (
    Component,
    ComponentConfig,
    Score,
    make_plugin_host,
)
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.sample import Sample


# -- test-local components ------------------------------------------------------------------
class MatchesReference(Component[Any]):
    """1 when the response equals the reference answer's text: proves which text and which
    reference the handler's input shape produced."""

    class Config(ComponentConfig):
        type: Literal["t-matches-reference"] = "t-matches-reference"

    def score(self, sample: Sample) -> Score:
        ok = sample.reference_text is not None and sample.response == sample.reference_text
        return Score.from_bool(ok, chars=len(sample.response))


class NonEmpty(Component[Any]):
    class Config(ComponentConfig):
        type: Literal["t-nonempty"] = "t-nonempty"

    def score(self, sample: Sample) -> Score:
        return Score.from_bool(bool(sample.response.strip()))


class Hangs(Component[Any]):
    """An I/O component that never answers in time (a judge that hangs)."""

    run = "async"

    class Config(ComponentConfig):
        type: Literal["t-hangs"] = "t-hangs"
        seconds: float = 3600.0

    async def score(self, sample: Sample) -> Score:
        await asyncio.sleep(self.config.seconds)
        return Score(1.0)


class BlocksLoop(Component[Any]):
    """A badly written async component that blocks the event loop (time.sleep in an
    ``async def``): the engine cannot enforce its deadline, the handler's watchdog must."""

    run = "async"

    class Config(ComponentConfig):
        type: Literal["t-blocks-loop"] = "t-blocks-loop"
        seconds: float = 2.0

    async def score(self, sample: Sample) -> Score:
        time.sleep(self.config.seconds)
        return Score(1.0)


#: Released by the tests using :class:`NeverReturns` when they end, so no thread outlives them.
RELEASE_STUCK = threading.Event()


class NeverReturns(Component[Any]):
    """A synchronous check that never returns on a response of ``stuck`` (until the test
    sets :data:`RELEASE_STUCK`): a plugin check caught in a loop, or a backtracking
    pattern matched many times over one sample."""

    class Config(ComponentConfig):
        type: Literal["t-never-returns"] = "t-never-returns"

    def score(self, sample: Sample) -> Score:
        if sample.response == "stuck":
            RELEASE_STUCK.wait()
        return Score(1.0)


class GatherExits(Component[Any]):
    """An async component whose own ``asyncio.gather`` sub-task raises ``SystemExit`` on a
    response of ``exit`` (a plugin's fan-out gone wrong)."""

    run = "async"

    class Config(ComponentConfig):
        type: Literal["t-gather-exits"] = "t-gather-exits"

    async def score(self, sample: Sample) -> Score:
        async def part(n: int) -> int:
            await asyncio.sleep(0)
            if sample.response == "exit" and n == 1:
                raise SystemExit(3)
            return n

        await asyncio.gather(part(0), part(1))
        return Score(1.0)


test_plugin = types.SimpleNamespace()


class Slow(Component[Any]):
    """A synchronous check that takes ``seconds`` per sample (a costly deterministic check):
    a batch whose checks cannot all finish before a deadline."""

    class Config(ComponentConfig):
        type: Literal["t-slow"] = "t-slow"
        seconds: float = 0.002

    def score(self, sample: Sample) -> Score:
        time.sleep(self.config.seconds)
        return Score.from_bool(True)


@hookimpl
def _register_components(register: Callable[[type[Any]], None]) -> None:
    for cls in (MatchesReference, NonEmpty, Hangs, BlocksLoop, NeverReturns, GatherExits,
                Slow):
        register(cls)


test_plugin.register_components = _register_components


def make_test_host() -> PluginHost:
    return make_plugin_host(load_entry_points=False, plugins=[("lambda-test", test_plugin)])


BASIC_PACK = """
[pack]
name = "lambda-basic"
version = "1.2.3"

[[components]]
id = "nonempty"
type = "t-nonempty"
gate = { fail_reward = 0.0 }

[[components]]
id = "match"
type = "t-matches-reference"
"""

HANGING_PACK = """
[pack]
name = "lambda-hanging"
version = "1.0.0"

[[components]]
id = "match"
type = "t-matches-reference"

[[components]]
id = "judge"
type = "t-hangs"
weight = 2
"""


# -- Lambda context ---------------------------------------------------------------------------
class FakeContext:
    """The parts of the Lambda context the handler reads, with a real deadline."""

    def __init__(self, remaining_ms: float = 60_000, *, request_id: str = "req-123",
                 function_name: str = "reward-SageMaker-test") -> None:
        self.deadline = time.monotonic() + remaining_ms / 1000
        self.aws_request_id = request_id
        self.function_name = function_name
        self.function_version = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


# -- the Nova Forge result model ----------------------------------------------------------------
Number = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]


class NovaMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    value: Number
    type: Literal["Metric", "Reward"]


class NovaResult(BaseModel):
    """Mirrors the Nova Forge validator: ``id`` required, a finite numeric
    ``aggregate_reward_score``, optional ``metrics_list``; extra keys ignored."""

    model_config = ConfigDict(extra="ignore")
    id: Any = Field(...)
    aggregate_reward_score: Number
    metrics_list: list[NovaMetric] | None = None


def validate_answer(out: Any, expected_ids: list[Any] | None = None) -> list[NovaResult]:
    """Validate a handler answer as the trainer would, after a JSON round trip."""
    assert isinstance(out, list), f"handler returned {type(out).__name__}, not a list"
    wire = json.loads(json.dumps(out, allow_nan=False))  # what the Lambda runtime sends
    results = [NovaResult.model_validate(item) for item in wire]
    for item in results:
        assert math.isfinite(float(item.aggregate_reward_score))
    if expected_ids is not None:
        assert [r.id for r in results] == expected_ids
    return results


def metrics_of(result: dict[str, Any]) -> dict[str, float]:
    return {m["name"]: m["value"] for m in result.get("metrics_list") or []}


def sample(sample_id: Any, response: Any, *, reference: Any = "ok", role: str = "assistant",
           **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sample_id,
        "messages": [
            {"role": "system", "content": "Answer with ok."},
            {"role": "user", "content": "Say ok."},
            {"role": role, "content": response},
        ],
        **extra,
    }
    if reference is not None:
        out["reference_answer"] = reference
    return out
