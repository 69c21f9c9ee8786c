"""verl adapter (``custom_reward_function``): ``compute_score(data_source, solution_str,
ground_truth, extra_info=None)`` per sample, or the batch form used by verl's batch reward
manager (``data_sources, solution_strs, ground_truths, extra_infos``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import Pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.trainers._common import scorer_for


def verl_compute_score(
    pack: str | Pack | Scorer,
    *,
    host: PluginHost | None = None,
    prompt_key: str = "question",
    timeout_s: float | None = None,
) -> Callable[..., dict[str, Any]]:
    """A verl ``compute_score``: returns ``{"score": reward, <component>: value, ...}``.

    Raises :class:`~rewardsmith.core.errors.JudgeUnavailableError` when a judge component
    could not run (see :meth:`BatchResult.raise_for_judge_outage`), unless the pack's
    ``[judge]`` sets ``allow_failures = true``. Building it raises what
    :func:`~rewardsmith.core.pack.load_pack` raises for a pack name or path that does not
    load."""
    scorer = scorer_for(pack, host)

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
    """The batch form for verl's batch reward manager: one call scores the whole step and
    returns one ``{"score": reward, <component>: value, ...}`` per sample, in input order;
    raises as :func:`verl_compute_score` does."""
    scorer = scorer_for(pack, host)

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
    batch = scorer.score(samples, timeout_s=timeout_s)
    batch.raise_for_judge_outage()  # never train on a reward the judge had no part in
    for result in batch.results:
        row: dict[str, Any] = {"score": result.reward}
        row.update({cid: o.value for cid, o in result.components.items()
                    if o.value is not None})
        out.append(row)
    return out
