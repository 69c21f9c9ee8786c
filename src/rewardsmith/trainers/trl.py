"""TRL adapter (``GRPOTrainer(reward_funcs=[...])``).

Contract (huggingface/trl 1.16.0, ``trl/trainer/grpo_trainer.py``,
``GRPOTrainer._calculate_rewards``): every reward function is called as
``func(prompts=prompts, completions=completions, completion_ids=completion_ids_list,
**reward_kwargs)`` where ``reward_kwargs`` holds every dataset column except ``prompt`` /
``completion`` / ``completion_ids`` (one value per completion), ``trainer_state``,
``log_extra(column, values)`` (a column of the completions table, one value per sample),
``log_metric(name, value)`` (a scalar averaged over the logging step) and, with
environments, ``environments``. An async function is awaited (all async functions of a
step together, with ``asyncio.gather``, on the trainer's own event-loop thread; 1.16.0
decides with ``trl.trainer.utils.is_async_callable``: ``inspect.iscoroutinefunction`` of
the function or of its ``__call__``). A ``None`` reward becomes NaN: left out of that
function's mean and, under ``multi_objective_aggregation="normalize_then_sum"``, of its
per-group normalisation. Prompts/completions are strings, or lists of
``{"role", "content"}`` messages for conversational datasets.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Literal

from rewardsmith.core.engine import Scorer
from rewardsmith.core.errors import ErrorKind, RewardsmithError
from rewardsmith.core.pack import Pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.results import BatchResult
from rewardsmith.trainers._common import (
    PackSpec,
    component_ids,
    component_values,
    plain,
    reward_component_ids,
    scorer_for,
)

# Keyword arguments TRL passes that are not dataset columns.
_TRL_NON_COLUMNS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric",
                              "environments"})
METRIC_PREFIX = "rewardsmith"

RewardList = list[float | None]


class ReferenceColumnMissingError(RewardsmithError, ValueError):
    """The pack needed a reference answer, and the batch had no ``reference_column``: every
    reference-based component would score 0 on every sample without a word."""


def _messages(value: Any, role: str) -> list[dict[str, Any]]:
    value = plain(value)
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list):
        return [dict(m) for m in value]
    raise TypeError(f"expected a string or a list of messages, got {type(value).__name__}")


class _Batcher:
    """Turns TRL's call into samples, scores them, and reports per-component values."""

    def __init__(self, scorer: Scorer, reference_column: str, timeout_s: float | None) -> None:
        self.scorer = scorer
        self.reference_column = reference_column
        self.timeout_s = timeout_s
        self.ids = component_ids(scorer)

    def samples(self, prompts: Sequence[Any], completions: Sequence[Any],
                kwargs: dict[str, Any]) -> list[Any]:
        n = len(completions)
        # TRL passes one value per completion in every column: a length that differs means
        # the caller's columns are misaligned, and scoring them would pair the wrong rows.
        columns = {k: v for k, v in kwargs.items()
                   if k not in _TRL_NON_COLUMNS and isinstance(v, list | tuple)}
        wrong = {k: len(v) for k, v in {"prompts": prompts, **columns}.items() if len(v) != n}
        if wrong:
            raise ValueError(f"reward function: {n} completions, but "
                             + ", ".join(f"{k!r} has {m}" for k, m in wrong.items())
                             + " (TRL passes one prompt and one value per column for each "
                             "completion)")
        samples: list[Any] = []
        for i, completion in enumerate(completions):
            row = {k: plain(v[i]) for k, v in columns.items()}
            try:
                messages = _messages(prompts[i], "user") + _messages(completion, "assistant")
            except TypeError as exc:
                samples.append({"id": i, "messages": None, "error": str(exc)})
                continue
            sample: dict[str, Any] = {"id": row.pop("id", i), "messages": messages,
                                      "metadata": row}
            if self.reference_column in row:
                sample["reference_answer"] = row.pop(self.reference_column)
            samples.append(sample)
        return samples

    def check(self, batch: BatchResult, kwargs: dict[str, Any]) -> None:
        batch.raise_for_judge_outage()  # never train on a reward the judge had no part in
        if self.reference_column in kwargs:
            return
        for result in batch.results:
            for outcome in result.components.values():
                if outcome.error_kind == ErrorKind.MISSING_REFERENCE:
                    columns = sorted(k for k in kwargs if k not in _TRL_NON_COLUMNS)
                    raise ReferenceColumnMissingError(
                        f"component {outcome.id!r} needs a reference answer and the batch has "
                        f"no {self.reference_column!r} column (its columns: {columns}); name "
                        "the dataset column holding it with reference_column=")

    def score(self, prompts: Sequence[Any], completions: Sequence[Any],
              kwargs: dict[str, Any]) -> BatchResult:
        batch = self.scorer.score(self.samples(prompts, completions, kwargs),
                                  timeout_s=self.timeout_s)
        self.check(batch, kwargs)
        return batch

    def log(self, batch: BatchResult, kwargs: dict[str, Any]) -> None:
        """Per-component values to TRL's ``log_extra`` (one column per component, ``None``
        where it gave no value, plus the status) and means to ``log_metric``."""
        log_extra = kwargs.get("log_extra")
        log_metric = kwargs.get("log_metric")
        results = batch.results
        if not results:
            return
        rows = [component_values(r, self.ids) for r in results]
        for cid in self.ids:
            values = [row[cid] for row in rows]
            if callable(log_extra):
                log_extra(f"{METRIC_PREFIX}/{cid}", values)
            present = [v for v in values if v is not None]
            if callable(log_metric) and present:
                log_metric(f"{METRIC_PREFIX}/{cid}/mean", sum(present) / len(present))
        if callable(log_extra):
            log_extra(f"{METRIC_PREFIX}/status", [r.status for r in results])
        if callable(log_metric):
            n = len(results)
            log_metric(f"{METRIC_PREFIX}/gated_frac", sum(r.status == "gated" for r in results) / n)
            log_metric(f"{METRIC_PREFIX}/failed_frac",
                       sum(r.status == "failed" for r in results) / n)


def _name(scorer: Scorer, suffix: str = "") -> str:
    return f"rewardsmith_{scorer.pack.name}{suffix}"


def trl_reward_function(
    pack: PackSpec | Pack | Scorer,
    *,
    host: PluginHost | None = None,
    reference_column: str = "reference_answer",
    timeout_s: float | None = None,
) -> Callable[..., list[float]]:
    """A TRL reward function scoring completions with ``pack``: one float (the pack's
    reward) per completion, in order; groups by prompt are scored together.

    ``reference_column`` names the dataset column holding the reference answer (default
    ``reference_answer``); every other dataset column becomes sample metadata (an ``id``
    column names the sample). Per-component values go to TRL's completions table through
    ``log_extra`` (columns ``rewardsmith/<component>`` and ``rewardsmith/status``) and
    their means to ``log_metric`` (``rewardsmith/<component>/mean``,
    ``rewardsmith/gated_frac``, ``rewardsmith/failed_frac``).

    Its ``__name__`` is ``rewardsmith_<pack>`` so TRL logs the reward under the pack's name.
    A call raises :class:`~rewardsmith.core.errors.JudgeUnavailableError` when a judge
    component could not run for the whole batch (unless the pack's ``[judge]`` sets
    ``allow_failures = true``), and :class:`ReferenceColumnMissingError` when a component
    needed a reference and the batch has no ``reference_column``, and ``ValueError`` naming
    the lengths when ``prompts`` or a list-valued column does not hold one value per
    completion. Building it raises what
    :func:`~rewardsmith.core.pack.load_pack` raises for a pack that does not load.
    """
    batcher = _Batcher(scorer_for(pack, host), reference_column, timeout_s)

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        batch = batcher.score(prompts, completions, kwargs)
        batcher.log(batch, kwargs)
        return batch.rewards

    reward.__name__ = _name(batcher.scorer)
    return reward


def trl_reward_function_async(
    pack: PackSpec | Pack | Scorer,
    *,
    host: PluginHost | None = None,
    reference_column: str = "reference_answer",
    timeout_s: float | None = None,
) -> Callable[..., Coroutine[Any, Any, list[float]]]:
    """The ``async def`` form of :func:`trl_reward_function` (same rewards, logs and
    errors): TRL awaits it together with its other async reward functions, so a judge pack
    does not hold up the synchronous ones. The scoring runs on the scorer's own event loop
    (judge clients stay bound to one loop), awaited from TRL's through a worker thread."""
    batcher = _Batcher(scorer_for(pack, host), reference_column, timeout_s)

    async def reward(prompts: Sequence[Any], completions: Sequence[Any],
                     **kwargs: Any) -> list[float]:
        batch = await asyncio.to_thread(batcher.score, prompts, completions, kwargs)
        batcher.log(batch, kwargs)
        return batch.rewards

    reward.__name__ = _name(batcher.scorer)
    return reward


class _SharedPass:
    """One scoring pass per TRL batch, shared by the per-component functions: TRL passes
    the same ``prompts`` and ``completions`` list objects to every reward function of a
    step, so the pass is keyed by their identity (a reference is kept, so the identity
    cannot be reused by another list while cached)."""

    def __init__(self, batcher: _Batcher) -> None:
        self.batcher = batcher
        self._lock = threading.Lock()
        self._key: tuple[Any, Any] | None = None
        self._batch: BatchResult | None = None
        self._pending: asyncio.Future[BatchResult] | None = None

    def _same(self, prompts: Any, completions: Any) -> bool:
        return self._key is not None and self._key[0] is prompts and self._key[1] is completions

    def get(self, prompts: Sequence[Any], completions: Sequence[Any],
            kwargs: dict[str, Any]) -> BatchResult:
        with self._lock:
            if self._same(prompts, completions) and self._batch is not None:
                return self._batch
            batch = self.batcher.score(prompts, completions, kwargs)
            self._key, self._batch = (prompts, completions), batch
            self.batcher.log(batch, kwargs)  # once per batch, by the function that scored it
            return batch

    async def aget(self, prompts: Sequence[Any], completions: Sequence[Any],
                   kwargs: dict[str, Any]) -> BatchResult:
        # TRL gathers the async functions on one loop: the first starts the pass, the
        # others await the same future.
        if not self._same(prompts, completions) or self._pending is None:
            self._key = (prompts, completions)
            self._pending = asyncio.ensure_future(self._ascore(prompts, completions, kwargs))
        return await asyncio.shield(self._pending)

    async def _ascore(self, prompts: Sequence[Any], completions: Sequence[Any],
                      kwargs: dict[str, Any]) -> BatchResult:
        batch = await asyncio.to_thread(self.batcher.score, prompts, completions, kwargs)
        self.batcher.log(batch, kwargs)
        return batch


def trl_component_reward_functions(
    pack: PackSpec | Pack | Scorer,
    *,
    components: Sequence[str] | None = None,
    host: PluginHost | None = None,
    reference_column: str = "reference_answer",
    gated_value: float | Literal["min"] = "min",
    timeout_s: float | None = None,
    asynchronous: bool = False,
) -> list[Callable[..., Any]]:
    """One TRL reward function per component, all sharing ONE scoring pass per batch:
    for ``GRPOConfig(multi_objective_aggregation="normalize_then_sum")`` (GDPO), where TRL
    normalises each reward function within its group before the weighted sum.

    ``components`` defaults to the pack's reward components (not gates, weight > 0); pass
    their pack weights as ``GRPOConfig(reward_weights=...)`` (:func:`trl_component_weights`).
    Each function is named ``rewardsmith_<pack>/<component>`` and returns, per completion,
    the component's value; when a gate failed (or the sample could not be scored) it
    returns ``gated_value`` (``"min"``: the bottom of the component's range), so a gated
    completion stays at the bottom of every component's group; when the component
    abstained it returns ``None`` (TRL's NaN: left out of that component's normalisation).
    The first function called in a step scores the batch and logs the per-component values
    (as :func:`trl_reward_function` does). ``asynchronous=True`` returns ``async def``
    functions (one pass shared through one future).

    Raises ``ValueError`` for a component id not in the pack; calls raise as
    :func:`trl_reward_function` does.
    """
    scorer = scorer_for(pack, host)
    shared = _SharedPass(_Batcher(scorer, reference_column, timeout_s))
    known = {c.config.id: c for c in scorer.pack.components}
    ids = list(components) if components is not None else reward_component_ids(scorer)
    if unknown := [c for c in ids if c not in known]:
        raise ValueError(f"pack {scorer.pack.name!r} has no component(s) {unknown} "
                         f"(it has {sorted(known)})")
    funcs: list[Callable[..., Any]] = []
    for cid in ids:
        floor = known[cid].value_range[0] if gated_value == "min" else float(gated_value)
        funcs.append(_component_function(shared, cid, floor, asynchronous))
        funcs[-1].__name__ = _name(scorer, f"/{cid}")
    return funcs


def trl_component_weights(pack: PackSpec | Pack | Scorer, *, components: Sequence[str] | None
                          = None, host: PluginHost | None = None) -> list[float]:
    """The pack weights of the components :func:`trl_component_reward_functions` returns
    (the same order), for ``GRPOConfig(reward_weights=...)``."""
    scorer = scorer_for(pack, host)
    weights = {c.config.id: c.config.effective_weight for c in scorer.pack.components}
    ids = list(components) if components is not None else reward_component_ids(scorer)
    return [weights[c] for c in ids]


def _column(batch: BatchResult, cid: str, floor: float) -> RewardList:
    out: RewardList = []
    for result in batch.results:
        outcome = result.components.get(cid)
        if outcome is None or outcome.skipped or result.status == "failed":
            out.append(floor)
        else:
            out.append(outcome.value)
    return out


def _component_function(shared: _SharedPass, cid: str, floor: float,
                        asynchronous: bool) -> Callable[..., Any]:
    if asynchronous:
        async def areward(prompts: Sequence[Any], completions: Sequence[Any],
                          **kwargs: Any) -> RewardList:
            return _column(await shared.aget(prompts, completions, kwargs), cid, floor)
        return areward

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> RewardList:
        return _column(shared.get(prompts, completions, kwargs), cid, floor)
    return reward
