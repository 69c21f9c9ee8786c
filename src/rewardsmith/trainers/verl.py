"""verl adapter: ``compute_score`` for verl's reward loop (verl >= 0.7) and the batch form
for verl < 0.7's ``BatchRewardManager``.

Contract (verl-project/verl, read at tags v0.7.0 and v0.9.0 and main 0.10.0.dev):

- ``verl/trainer/ppo/reward.py::get_custom_reward_fn`` loads ``custom_reward_function.name``
  from ``custom_reward_function.path`` and wraps it in ``functools.partial``; it awaits it
  when ``inspect.iscoroutinefunction(raw_fn)`` is true, else runs it in an executor.
- ``verl/experimental/reward_loop/reward_manager/naive.py`` (and ``dapo.py``, ``gdpo.py``)
  ``run_single`` calls it per sample with keywords ``data_source``, ``solution_str``,
  ``ground_truth`` (``non_tensor_batch["reward_model"]["ground_truth"]``: numpy values as
  stored by the parquet reader) and ``extra_info`` (the dataset's ``extra_info`` plus
  ``num_turns`` and ``rollout_reward_scores``), and with ``reward_router_address`` /
  ``reward_model_tokenizer`` when a reward model runs. A dict result must hold ``"score"``;
  every key goes to ``reward_extra_info``.
- ``verl/experimental/reward_loop/reward_loop.py::RewardLoopManager.compute_rm_score``
  takes the keys of the FIRST sample's dict and builds ``np.array([info[key] for info in
  infos])`` for each: every sample must return the same keys, and a key's values must be
  one kind (numbers, or strings, which validation metrics skip).
- ``verl/trainer/ppo/core_algos.py`` (GDPO, ``algorithm.gdpo_reward_keys``) reads each key
  as ``np.asarray(values, dtype=np.float32)``: a NaN there makes every advantage NaN, so a
  component without a value reports a finite sentinel, never NaN or None.

- ``verl/experimental/reward_loop/reward_manager/remote.py`` (``RemoteRewardManager``)
  ships ``compute_score`` to Ray actors (``RewardComputeWorker.remote(compute_score)``):
  it must pickle, and it must be sync there.

verl's dataset recipes (``examples/data_preprocess/gsm8k.py``) keep the question in
``extra_info["question"]``; the chat prompt itself is not passed to ``compute_score``.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from collections.abc import Sequence
from typing import Any

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

#: Where the prompt is looked for in ``extra_info``, in order (verl's recipes write
#: ``question``; ``prompt`` may hold the chat messages).
PROMPT_KEYS: tuple[str, ...] = ("question", "prompt")
#: The keys every row holds besides one per component and its ``<id>_skipped`` flag.
FIXED_KEYS: tuple[str, ...] = ("score", "status")
SKIPPED_SUFFIX = "_skipped"


class PromptMissingError(RewardsmithError, ValueError):
    """A component needed the prompt and ``extra_info`` held none of the prompt keys: the
    component would otherwise score 0 (or abstain) on every sample without a word."""


class VerlComputeScore:
    """verl's ``compute_score`` for ``pack``: call it with verl's keywords, get one dict.

    Every call returns the same keys, in the same order (``keys``)::

        {"score": reward, "status": "ok" | "gated" | "failed",
         <component id>: value or skipped_value, ...,
         <component id>_skipped: True when the component gave no value, ...}

    A component gives no value when a gate failed first, it abstained, it failed (whatever
    value its failure policy gave), or the sample could not be scored; its key then holds
    ``skipped_value`` (default 0.0; finite, because verl's GDPO casts these to float32 and
    a NaN would poison every advantage) and ``<id>_skipped`` says so, so averages can be
    read right. ``reward_keys`` / ``reward_weights`` are the GDPO
    ``algorithm.gdpo_reward_keys`` / ``gdpo_reward_weights``.

    Picklable when built from a pack name or path without ``host`` (what verl's process
    pools and Ray workers need): the state is the spec and options; the scorer is built
    lazily in each process on first call. ``extra_info`` and ``ground_truth`` are made
    plain Python (numpy arrays to lists, numpy scalars to numbers) before scoring.

    Raises (at call time) :class:`PromptMissingError` when a sample had none of
    ``prompt_keys`` in ``extra_info`` and a component failed for want of it (grounding
    with nothing to ground in: ``missing_source``), or whenever a sample has no prompt if
    ``require_prompt`` is true;
    :class:`~rewardsmith.core.errors.JudgeUnavailableError` when a judge could not run
    (unless the pack's ``[judge]`` sets ``allow_failures = true``); what
    :func:`~rewardsmith.core.pack.load_pack` raises on the first call if the pack does not
    load. ``ValueError`` at construction for a non-finite ``skipped_value`` or a component
    id that clashes with a fixed key.
    """

    def __init__(
        self,
        pack: PackSpec | Pack | Scorer,
        *,
        host: PluginHost | None = None,
        prompt_keys: Sequence[str] = PROMPT_KEYS,
        skipped_value: float = 0.0,
        require_prompt: bool = False,
        timeout_s: float | None = None,
    ) -> None:
        if not math.isfinite(skipped_value):
            raise ValueError(f"skipped_value must be a finite number (verl's GDPO casts it to "
                             f"float32 and a NaN makes every advantage NaN), got "
                             f"{skipped_value!r}")
        self._spec: str | None = None
        self._host = host
        self._scorer: Scorer | None = None
        if isinstance(pack, Pack | Scorer):
            self._scorer = scorer_for(pack, host)
        else:
            self._spec = os.fspath(pack)
        self.prompt_keys = tuple(prompt_keys)
        self.skipped_value = float(skipped_value)
        self.require_prompt = require_prompt
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        if self._scorer is not None:
            self._check_keys(self._scorer)

    # -- pickling: the spec travels, the scorer is rebuilt in the receiving process --------
    def __getstate__(self) -> dict[str, Any]:
        if self._spec is None or self._host is not None:
            raise TypeError(
                f"{type(self).__name__} pickles only when built from a pack name or path "
                "without host= (a Pack, Scorer or plugin host holds clients and threads "
                "that cannot cross processes); pass the pack's name or path instead")
        return {"spec": self._spec, "prompt_keys": self.prompt_keys,
                "skipped_value": self.skipped_value, "require_prompt": self.require_prompt,
                "timeout_s": self.timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._spec = state["spec"]
        self._host = None
        self._scorer = None
        self.prompt_keys = tuple(state["prompt_keys"])
        self.skipped_value = state["skipped_value"]
        self.require_prompt = state["require_prompt"]
        self.timeout_s = state["timeout_s"]
        self._lock = threading.Lock()

    @property
    def scorer(self) -> Scorer:
        """The scorer, built on first use in this process (raises what ``load_pack``
        raises)."""
        if self._scorer is None:
            with self._lock:
                if self._scorer is None:
                    assert self._spec is not None
                    scorer = scorer_for(self._spec, self._host)
                    self._check_keys(scorer)
                    self._scorer = scorer
        return self._scorer

    def _check_keys(self, scorer: Scorer) -> None:
        ids = component_ids(scorer)
        fixed = set(FIXED_KEYS) | {f"{i}{SKIPPED_SUFFIX}" for i in ids}
        if clash := [i for i in ids if i in fixed]:
            raise ValueError(f"pack {scorer.pack.name!r}: component id(s) {clash} clash with "
                             f"the verl row keys {sorted(fixed)}; rename the component(s)")

    @property
    def keys(self) -> list[str]:
        """Every row's keys, in order: ``score``, ``status``, the component ids, then each
        id with ``_skipped``."""
        ids = component_ids(self.scorer)
        return [*FIXED_KEYS, *ids, *(f"{i}{SKIPPED_SUFFIX}" for i in ids)]

    @property
    def reward_keys(self) -> list[str]:
        """The per-component reward keys for verl's GDPO (``algorithm.gdpo_reward_keys``):
        the components that weigh in the reward (not gates, weight > 0), in pack order."""
        return reward_component_ids(self.scorer)

    @property
    def reward_weights(self) -> list[float]:
        """The pack weights of :attr:`reward_keys` (``algorithm.gdpo_reward_weights``)."""
        weights = {c.config.id: c.config.effective_weight for c in self.scorer.pack.components}
        return [weights[k] for k in self.reward_keys]

    # -- scoring ----------------------------------------------------------------------------
    def __call__(self, data_source: Any = None, solution_str: Any = None,
                 ground_truth: Any = None, extra_info: Any = None,
                 **kwargs: Any) -> dict[str, Any]:
        """Score one sample as verl's reward loop calls it (keywords; extra keywords such
        as ``reward_router_address`` are accepted and ignored)."""
        return self.score_batch([data_source], [solution_str], [ground_truth], [extra_info])[0]

    def score_batch(self, data_sources: Sequence[Any], solution_strs: Sequence[Any],
                    ground_truths: Sequence[Any],
                    extra_infos: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Score aligned sequences in one pass (groups by prompt kept together); one row per
        sample in input order, raising as the class docstring says and ``ValueError`` naming
        the lengths when the sequences differ in length."""
        infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
        lengths = {"data_sources": len(data_sources), "solution_strs": len(solution_strs),
                   "ground_truths": len(ground_truths), "extra_infos": len(infos)}
        if len(set(lengths.values())) > 1:
            raise ValueError("compute_score: data_sources, solution_strs, ground_truths and "
                             "extra_infos differ in length ("
                             + ", ".join(f"{k}={n}" for k, n in lengths.items()) + ")")
        samples, missing = self._samples(data_sources, solution_strs, ground_truths, infos)
        batch = self.scorer.score(samples, timeout_s=self.timeout_s)
        batch.raise_for_judge_outage()  # never train on a reward the judge had no part in
        return self._rows(batch, missing)

    def _samples(self, data_sources: Sequence[Any], solutions: Sequence[Any],
                 truths: Sequence[Any], infos: Sequence[Any]
                 ) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
        samples: list[dict[str, Any]] = []
        missing: dict[int, list[str]] = {}  # index -> the extra_info keys it had
        for i, (source, solution, truth, info) in enumerate(
            zip(data_sources, solutions, truths, infos, strict=True)
        ):
            extra = plain(info) if info is not None else {}
            if not isinstance(extra, dict):
                extra = {"extra_info": extra}
            prompt = next((extra.pop(k) for k in self.prompt_keys
                           if extra.get(k) not in (None, "", [])), None)
            for k in self.prompt_keys:
                extra.pop(k, None)
            messages: list[Any] = []
            if prompt is None:
                missing[i] = sorted(extra)
                if self.require_prompt:
                    raise PromptMissingError(self._missing_message(i, sorted(extra), None))
            elif isinstance(prompt, list):
                messages.extend(prompt)
            else:
                messages.append({"role": "user", "content": str(prompt)})
            messages.append({"role": "assistant", "content": plain(solution)})
            index = extra.pop("index", None)
            samples.append({
                "id": index if index is not None else i,
                "messages": messages,
                "reference_answer": plain(truth),
                "metadata": {"data_source": plain(source), **extra},
            })
        return samples, missing

    def _missing_message(self, index: int, had: list[str], failure: str | None) -> str:
        where = f"sample #{index}" if failure is None else f"sample #{index}: {failure}"
        return (f"{where}: extra_info has none of the prompt keys {list(self.prompt_keys)} "
                f"(it has {had}); put the question in extra_info['question'] in the "
                "dataset (as verl's recipes do) or pass prompt_keys=")

    def _rows(self, batch: BatchResult, missing: dict[int, list[str]]) -> list[dict[str, Any]]:
        ids = component_ids(self.scorer)
        rows = []
        for i, result in enumerate(batch.results):
            if i in missing:
                failed = [f"component {o.id!r} failed: {o.error}"
                          for o in result.components.values()
                          if o.error_kind == ErrorKind.MISSING_SOURCE]
                if failed:
                    raise PromptMissingError(self._missing_message(i, missing[i], failed[0]))
            values = component_values(result, ids)  # None for a failed component too
            row: dict[str, Any] = {"score": result.reward, "status": result.status}
            row.update({cid: self.skipped_value if v is None else v for cid, v in values.items()})
            row.update({f"{cid}{SKIPPED_SUFFIX}": v is None for cid, v in values.items()})
            rows.append(row)
        return rows


async def _verl_compute_score_signature(data_source: Any = None, solution_str: Any = None,
                                        ground_truth: Any = None, extra_info: Any = None,
                                        **kwargs: Any) -> dict[str, Any]:
    """The code object whose signature and coroutine flag :class:`AsyncVerlComputeScore`
    shows to ``inspect`` (never called)."""
    raise NotImplementedError


class AsyncVerlComputeScore(VerlComputeScore):
    """The ``async def`` form of :class:`VerlComputeScore` (same rows, same errors): verl's
    reward loop awaits it on its event loop instead of taking an executor thread.

    verl decides with ``inspect.iscoroutinefunction(raw_fn)``, which is false for an
    instance with an ``async def __call__``; ``inspect`` takes an object that carries a
    function's attributes (``__code__``, ``__name__``, ``__defaults__``, ...) as a function,
    so the class carries those of an ``async def`` with verl's signature. The scoring runs
    on the scorer's own loop (judge clients stay bound to one loop), awaited from the
    caller's through a worker thread.
    """

    __name__ = "compute_score"
    __code__ = _verl_compute_score_signature.__code__
    __defaults__ = _verl_compute_score_signature.__defaults__
    __kwdefaults__ = None

    async def __call__(self, data_source: Any = None,  # type: ignore[override]
                       solution_str: Any = None, ground_truth: Any = None,
                       extra_info: Any = None, **kwargs: Any) -> dict[str, Any]:
        rows = await asyncio.to_thread(self.score_batch, [data_source], [solution_str],
                                       [ground_truth], [extra_info])
        return rows[0]


class VerlComputeScoreBatch(VerlComputeScore):
    """The batch form for verl < 0.7's ``BatchRewardManager``
    (``verl/workers/reward_manager/batch.py`` at v0.6.1 calls
    ``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=,
    **reward_kwargs)``): one row per sample, the same keys in every row, groups by prompt
    scored together. verl >= 0.7 has no batch manager: use :class:`VerlComputeScore` there
    (or ``rewardsmith serve`` to keep groups)."""

    def __call__(self, data_sources: Sequence[Any] = (),  # type: ignore[override]
                 solution_strs: Sequence[Any] = (), ground_truths: Sequence[Any] = (),
                 extra_infos: Sequence[Any] | None = None,
                 **kwargs: Any) -> list[dict[str, Any]]:
        return self.score_batch(data_sources, solution_strs, ground_truths, extra_infos)


def verl_compute_score(pack: PackSpec | Pack | Scorer, **options: Any) -> VerlComputeScore:
    """A verl ``compute_score`` for ``pack`` (see :class:`VerlComputeScore` for the
    options, the row and the errors)."""
    return VerlComputeScore(pack, **options)


def verl_compute_score_async(pack: PackSpec | Pack | Scorer,
                             **options: Any) -> AsyncVerlComputeScore:
    """The ``async`` verl ``compute_score`` for ``pack`` (:class:`AsyncVerlComputeScore`)."""
    return AsyncVerlComputeScore(pack, **options)


def verl_compute_score_batch(pack: PackSpec | Pack | Scorer,
                             **options: Any) -> VerlComputeScoreBatch:
    """The batch ``compute_score`` for verl < 0.7 (:class:`VerlComputeScoreBatch`)."""
    return VerlComputeScoreBatch(pack, **options)
