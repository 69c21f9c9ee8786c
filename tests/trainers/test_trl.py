"""The TRL adapters driven the way TRL 1.16.0 drives reward functions.

Call shape from huggingface/trl 1.16.0, ``trl/trainer/grpo_trainer.py``,
``GRPOTrainer._calculate_rewards``: ``reward_kwargs`` = every dataset column but
``prompt`` / ``completion`` / ``completion_ids`` (one value per completion) plus
``trainer_state``, ``log_extra`` (``_log_completion_extra(column, values)``) and
``log_metric`` (``_log_metric(name, value)``); a sync function is called as
``func(prompts=, completions=, completion_ids=, **reward_kwargs)``; the functions for which
``trl.trainer.utils.is_async_callable`` holds are awaited together with
``asyncio.gather`` on the trainer's event-loop thread
(``asyncio.run_coroutine_threadsafe(..., self.async_loop)``); ``None`` becomes NaN.
:func:`_calculate_rewards` below performs exactly these steps (TRL itself needs torch; a real
``GRPOTrainer`` step is recorded in bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import toy_plugin

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.trainers.trl import (
    ReferenceColumnMissingError,
    trl_component_reward_functions,
    trl_component_weights,
    trl_reward_function,
    trl_reward_function_async,
)

PACK = """
[pack]
name = "trl-toy"
version = "1"

[[components]]
id = "nonempty"
type = "non-empty"
gate = { fail_reward = 0.0 }

[[components]]
id = "yes"
type = "contains"
needle = "yes"
weight = 2

[[components]]
id = "rank"
type = "length-rank"
"""

REFERENCE = """
[pack]
name = "trl-ref"
version = "1"

[[components]]
id = "exact"
type = "reference-match"
mode = "exact"
on_error = "zero"
"""


class _Trainer:
    """What ``_calculate_rewards`` needs of the trainer: its loggers and its loop thread."""

    def __init__(self) -> None:
        self.pending_extra: dict[str, list[Any]] = defaultdict(list)
        self.pending_metrics: dict[str, list[float]] = defaultdict(list)
        self.state = object()  # TrainerState: passed through, never read by the adapter
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _log_completion_extra(self, column: str, values: list[Any]) -> None:
        self.pending_extra[column].extend(values)

    def _log_metric(self, name: str, value: float) -> None:
        self.pending_metrics[name].append(value)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _is_async_callable(func: Callable[..., Any]) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        func.__call__)  # type: ignore[operator]


def _calculate_rewards(trainer: _Trainer, funcs: list[Callable[..., Any]],
                       inputs: list[dict[str, Any]], prompts: list[Any],
                       completions: list[Any]) -> list[list[float]]:
    """TRL 1.16.0's reward calculation; returns ``rewards_per_func`` as rows."""
    completion_ids = [[1, 2, 3] for _ in completions]
    keys = [k for k in inputs[0] if k not in ["prompt", "completion", "completion_ids"]]
    reward_kwargs: dict[str, Any] = {k: [ex[k] for ex in inputs] for k in keys}
    reward_kwargs["trainer_state"] = trainer.state
    reward_kwargs["log_extra"] = trainer._log_completion_extra
    reward_kwargs["log_metric"] = trainer._log_metric
    columns: list[list[float] | None] = [None] * len(funcs)
    async_funcs = []
    for i, func in enumerate(funcs):
        if _is_async_callable(func):
            async_funcs.append((i, func))
        else:
            out = func(prompts=prompts, completions=completions,
                       completion_ids=completion_ids, **reward_kwargs)
            columns[i] = [math.nan if r is None else r for r in out]

    async def invoke(i: int, func: Callable[..., Any]) -> tuple[int, list[float]]:
        out = await func(prompts=prompts, completions=completions,
                         completion_ids=completion_ids, **reward_kwargs)
        return i, [math.nan if r is None else r for r in out]

    async def run_all() -> list[tuple[int, list[float]]]:
        return await asyncio.gather(*(invoke(i, f) for i, f in async_funcs))

    if async_funcs:
        for i, out in asyncio.run_coroutine_threadsafe(run_all(), trainer.loop).result(60):
            columns[i] = out
    return [list(row) for row in zip(*columns, strict=True)]  # type: ignore[misc]


@pytest.fixture
def trainer() -> Iterator[_Trainer]:
    t = _Trainer()
    yield t
    t.close()


@pytest.fixture
def pack(tmp_path: Path):
    path = tmp_path / "pack.toml"
    path.write_text(PACK)
    host = make_plugin_host(load_entry_points=False, plugins=[("toy", toy_plugin)])
    return load_pack(path, host)


# Two prompts, two generations each; "" is gated by the non-empty check.
PROMPTS = ["p1", "p1", "p2", "p2"]
COMPLETIONS = ["yes!", "yes, longer", "no", ""]
INPUTS = [{"prompt": p, "topic": t} for p, t in zip(PROMPTS, "aabb", strict=True)]
# p1: yes (w2) both; ranks 0 and 1 -> (2+0)/3, (2+1)/3. p2: "no" alone after the gate.
REWARDS = [2 / 3, 1.0, 0.0, 0.0]


def test_sync_rewards_and_per_component_logs(trainer: _Trainer, pack) -> None:
    reward = trl_reward_function(pack)
    assert reward.__name__ == "rewardsmith_trl-toy"
    rows = _calculate_rewards(trainer, [reward], INPUTS, PROMPTS, COMPLETIONS)
    assert [r[0] for r in rows] == pytest.approx(REWARDS)
    extra = trainer.pending_extra
    assert extra["rewardsmith/nonempty"] == [1.0, 1.0, 1.0, 0.0]
    assert extra["rewardsmith/yes"] == [1.0, 1.0, 0.0, None]  # skipped after the gate
    assert extra["rewardsmith/rank"] == [0.0, 1.0, 0.0, None]
    assert extra["rewardsmith/status"] == ["ok", "ok", "ok", "gated"]
    metrics = trainer.pending_metrics
    assert metrics["rewardsmith/yes/mean"] == [pytest.approx(2 / 3)]
    assert metrics["rewardsmith/nonempty/mean"] == [0.75]
    assert metrics["rewardsmith/gated_frac"] == [0.25]
    assert metrics["rewardsmith/failed_frac"] == [0.0]


def test_async_variant_is_awaited_by_trl_and_matches_sync(trainer: _Trainer, pack) -> None:
    areward = trl_reward_function_async(pack)
    assert inspect.iscoroutinefunction(areward) and _is_async_callable(areward)
    sync_rows = _calculate_rewards(trainer, [trl_reward_function(pack)], INPUTS, PROMPTS,
                                   COMPLETIONS)
    trainer.pending_extra.clear()
    rows = _calculate_rewards(trainer, [areward], INPUTS, PROMPTS, COMPLETIONS)
    assert rows == sync_rows
    assert trainer.pending_extra["rewardsmith/status"] == ["ok", "ok", "ok", "gated"]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_one_function_per_component_shares_one_scoring_pass(trainer: _Trainer, pack,
                                                            asynchronous: bool) -> None:
    funcs = trl_component_reward_functions(pack, asynchronous=asynchronous)
    assert [f.__name__ for f in funcs] == ["rewardsmith_trl-toy/yes", "rewardsmith_trl-toy/rank"]
    assert trl_component_weights(pack) == [2.0, 1.0]
    toy_plugin.CALLS.clear()
    rows = _calculate_rewards(trainer, funcs, INPUTS, PROMPTS, COMPLETIONS)
    # the gate ran once per completion and the group component once per prompt group:
    # one pass, although two reward functions read it
    assert toy_plugin.CALLS["nonempty"] == 4 and toy_plugin.CALLS["rank"] == 2
    # the gated completion sits at the bottom of each component's range
    assert rows == [[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    assert trainer.pending_metrics["rewardsmith/gated_frac"] == [0.25]  # logged once
    # the next step (new lists) is scored afresh
    toy_plugin.CALLS.clear()
    _calculate_rewards(trainer, funcs, list(INPUTS), list(PROMPTS), list(COMPLETIONS))
    assert toy_plugin.CALLS["nonempty"] == 4


def test_component_functions_reject_an_unknown_component(pack) -> None:
    with pytest.raises(ValueError, match=r"no component\(s\) \['nope'\]"):
        trl_component_reward_functions(pack, components=["yes", "nope"])


def test_an_abstaining_component_returns_none_which_trl_reads_as_nan(
        trainer: _Trainer, tmp_path: Path) -> None:
    path = tmp_path / "abstain.toml"
    path.write_text("""
[pack]
name = "abstain"
version = "1"

[[components]]
id = "exact"
type = "reference-match"
mode = "exact"
on_error = "abstain"

[[components]]
id = "short"
type = "length"
unit = "chars"
max = 100
""")
    funcs = trl_component_reward_functions(str(path))
    inputs = [{"prompt": "q", "reference_answer": "42"}, {"prompt": "q", "reference_answer": None}]
    rows = _calculate_rewards(trainer, funcs, inputs, ["q", "q"], ["42", "41"])
    assert rows[0] == [1.0, 1.0]
    assert math.isnan(rows[1][0]) and rows[1][1] == 1.0


def test_reference_column_names_the_dataset_column(trainer: _Trainer, tmp_path: Path) -> None:
    path = tmp_path / "ref.toml"
    path.write_text(REFERENCE)
    inputs = [{"prompt": "2+2?", "answer": "4"}, {"prompt": "2+2?", "answer": "4"}]
    prompts, completions = ["2+2?", "2+2?"], ["4", "5"]
    reward = trl_reward_function(str(path), reference_column="answer")
    assert [r[0] for r in _calculate_rewards(trainer, [reward], inputs, prompts,
                                              completions)] == [1.0, 0.0]
    # left at its default, the reference is not found: loud, never a silent 0
    with pytest.raises(ReferenceColumnMissingError, match=r"no 'reference_answer' column.*"
                                                          r"'answer'"):
        _calculate_rewards(trainer, [trl_reward_function(str(path))], inputs, prompts,
                           completions)


def test_conversational_prompts_and_an_id_column(trainer: _Trainer, pack) -> None:
    prompts = [[{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]] * 2
    completions = [[{"role": "assistant", "content": "yes"}],
                   [{"role": "assistant", "content": "no"}]]
    inputs = [{"prompt": prompts[0], "id": "a"}, {"prompt": prompts[1], "id": "b"}]
    scorer = Scorer(pack)
    reward = trl_reward_function(scorer)
    rows = _calculate_rewards(trainer, [reward], inputs, prompts, completions)
    assert [r[0] for r in rows] == pytest.approx([1.0, 0.0])


_INVOICE = "Extract: INVOICE No. A-1, TOTAL GBP 10.00"
_ANSWER = '{"invoice_number": "A-1", "total": 10.0}'


def test_aligned_columns_score_each_completion_against_its_own_reference() -> None:
    reward = trl_reward_function("json-extraction")
    rewards = reward(prompts=[_INVOICE, _INVOICE], completions=[_ANSWER, _ANSWER],
                     completion_ids=[[1], [1]], reference_answer=[{"total": 10.0}] * 2)
    assert rewards == pytest.approx([0.6, 0.6])


@pytest.mark.parametrize(("prompts", "completions", "references", "message"), [
    # a reference column one short used to be dropped: every sample scored without it
    (2, 2, 1, "2 completions, but 'reference_answer' has 1"),
    (2, 1, 1, "1 completions, but 'prompts' has 2"),
    (1, 2, 2, "2 completions, but 'prompts' has 1"),  # was a bare IndexError
])
def test_misaligned_columns_raise_naming_the_lengths(prompts: int, completions: int,
                                                     references: int, message: str) -> None:
    kwargs = {"prompts": [_INVOICE] * prompts, "completions": [_ANSWER] * completions,
              "completion_ids": [[1]] * completions,
              "reference_answer": [{"total": 10.0}] * references}
    with pytest.raises(ValueError, match=message):
        trl_reward_function("json-extraction")(**kwargs)
    with pytest.raises(ValueError, match=message):
        asyncio.run(trl_reward_function_async("json-extraction")(**kwargs))
    for func in trl_component_reward_functions("json-extraction"):
        with pytest.raises(ValueError, match=message):
            func(**kwargs)


def test_a_failed_component_logs_none_not_its_policy_zero() -> None:
    """Grounding with nothing to ground fails (policy ``zero``): the reward counts the 0,
    the completions table shows no value (as verl's ``grounded_skipped``)."""
    logged: dict[str, list[Any]] = {}
    reward = trl_reward_function("json-extraction")
    reward(prompts=[_INVOICE, _INVOICE],
           completions=['{"invoice_number": "A-1"}', _ANSWER], completion_ids=[[1], [1]],
           reference_answer=[{"total": 10.0}] * 2,
           log_extra=logged.__setitem__)
    assert logged["rewardsmith/grounded"] == [None, 1.0]
    assert logged["rewardsmith/json"] == [1.0, 1.0]
    assert logged["rewardsmith/status"] == ["ok", "ok"]
