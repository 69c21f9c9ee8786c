"""Adapters that turn a pack into the reward callables open-source trainers expect.

- TRL (``GRPOTrainer(reward_funcs=[...])``): ``reward(prompts, completions, **columns)``
  returning one float per completion; prompts/completions are strings or, for
  conversational datasets, lists of ``{"role", "content"}`` messages; every dataset column
  arrives as a keyword list aligned with the completions.
- verl (``custom_reward_function``): ``compute_score(data_source, solution_str,
  ground_truth, extra_info=None)`` per sample, or the batch form used by verl's batch
  reward manager (``data_sources, solution_strs, ground_truths, extra_infos``).

Both build wire-format samples and go through the same :class:`Scorer`, so a pack behaves
identically in a trainer, a Lambda and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import Pack, load_pack
from rewardsmith.core.plugins import PluginHost

# Keyword arguments TRL passes that are not dataset columns.
_TRL_NON_COLUMNS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric"})


def _scorer(pack: str | Pack | Scorer, host: PluginHost | None) -> Scorer:
    if isinstance(pack, Scorer):
        return pack
    return Scorer(pack if isinstance(pack, Pack) else load_pack(pack, host))


def _messages(value: Any, role: str) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list):
        return [dict(m) for m in value]
    raise TypeError(f"expected a string or a list of messages, got {type(value).__name__}")


def trl_reward_function(
    pack: str | Pack | Scorer,
    *,
    host: PluginHost | None = None,
    reference_column: str = "reference_answer",
    timeout_s: float | None = None,
) -> Callable[..., list[float]]:
    """A TRL reward function scoring completions with ``pack``.

    Its ``__name__`` is ``rewardsmith_<pack>`` so TRL logs the reward under the pack's name.
    """
    scorer = _scorer(pack, host)

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        n = len(completions)
        columns = {k: v for k, v in kwargs.items()
                   if k not in _TRL_NON_COLUMNS and isinstance(v, list) and len(v) == n}
        samples: list[Any] = []
        for i, completion in enumerate(completions):
            row = {k: v[i] for k, v in columns.items()}
            try:
                messages = _messages(prompts[i], "user") + _messages(completion, "assistant")
            except TypeError as exc:
                samples.append({"id": i, "messages": None, "error": str(exc)})
                continue
            sample: dict[str, Any] = {"id": row.pop("id", i), "messages": messages,
                                      "metadata": row}
            if reference_column in row:
                sample["reference_answer"] = row.pop(reference_column)
            samples.append(sample)
        return scorer.score(samples, timeout_s=timeout_s).rewards

    reward.__name__ = f"rewardsmith_{scorer.pack.name}"
    return reward


def verl_compute_score(
    pack: str | Pack | Scorer,
    *,
    host: PluginHost | None = None,
    prompt_key: str = "question",
    timeout_s: float | None = None,
) -> Callable[..., dict[str, Any]]:
    """A verl ``compute_score``: returns ``{"score": reward, <component>: value, ...}``."""
    scorer = _scorer(pack, host)

    def compute_score(data_source: str, solution_str: str, ground_truth: Any,
                      extra_info: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        return _verl_batch(scorer, [data_source], [solution_str], [ground_truth],
                           [extra_info], prompt_key, timeout_s)[0]

    return compute_score


def verl_compute_score_batch(
    pack: str | Pack | Scorer,
    *,
    host: PluginHost | None = None,
    prompt_key: str = "question",
    timeout_s: float | None = None,
) -> Callable[..., list[dict[str, Any]]]:
    """The batch form for verl's batch reward manager: one call scores the whole step."""
    scorer = _scorer(pack, host)

    def compute_score(data_sources: Sequence[str], solution_strs: Sequence[str],
                      ground_truths: Sequence[Any],
                      extra_infos: Sequence[dict[str, Any] | None] | None = None,
                      **_: Any) -> list[dict[str, Any]]:
        infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
        return _verl_batch(scorer, data_sources, solution_strs, ground_truths, infos,
                           prompt_key, timeout_s)

    return compute_score


def _verl_batch(scorer: Scorer, data_sources: Sequence[str], solutions: Sequence[str],
                truths: Sequence[Any], infos: Sequence[dict[str, Any] | None], prompt_key: str,
                timeout_s: float | None) -> list[dict[str, Any]]:
    samples = []
    for i, (source, solution, truth, info) in enumerate(
        zip(data_sources, solutions, truths, infos, strict=True)
    ):
        extra = dict(info or {})
        prompt = extra.pop(prompt_key, "")
        samples.append({
            "id": extra.pop("index", i),
            "messages": [{"role": "user", "content": str(prompt)},
                         {"role": "assistant", "content": solution}],
            "reference_answer": truth,
            "metadata": {"data_source": source, **extra},
        })
    out = []
    for result in scorer.score(samples, timeout_s=timeout_s).results:
        row: dict[str, Any] = {"score": result.aggregate_reward_score}
        row.update({cid: o.value for cid, o in result.components.items()
                    if o.value is not None})
        out.append(row)
    return out
