"""TRL adapter (``GRPOTrainer(reward_funcs=[...])``): ``reward(prompts, completions,
**columns)`` returning one float per completion; prompts/completions are strings or, for
conversational datasets, lists of ``{"role", "content"}`` messages; every dataset column
arrives as a keyword list aligned with the completions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import Pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.trainers._common import scorer_for

# Keyword arguments TRL passes that are not dataset columns.
_TRL_NON_COLUMNS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric"})


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
    A call raises :class:`~rewardsmith.core.errors.JudgeUnavailableError` when a judge
    component could not run for the whole batch (the rewards would silently come from the
    checks alone), unless the pack's ``[judge]`` sets ``allow_failures = true``. Building it
    raises what :func:`~rewardsmith.core.pack.load_pack` raises (``PackError``,
    ``PluginError``) for a pack name or path that does not load.
    """
    scorer = scorer_for(pack, host)

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
        batch = scorer.score(samples, timeout_s=timeout_s)
        batch.raise_for_judge_outage()  # never train on a reward the judge had no part in
        return batch.rewards

    reward.__name__ = f"rewardsmith_{scorer.pack.name}"
    return reward
