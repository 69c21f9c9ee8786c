"""Adapters that turn a pack into the reward callables open-source trainers expect, one
module per trainer (contracts, with the trainer file and version read, in each module):

- :mod:`~rewardsmith.trainers.trl`: TRL ``GRPOTrainer(reward_funcs=[...])`` functions,
  sync and async, and one function per component for ``normalize_then_sum`` (GDPO).
- :mod:`~rewardsmith.trainers.verl`: verl's ``compute_score`` (reward loop, verl >= 0.7),
  sync and async, picklable, the same keys for every sample; the batch form for verl < 0.7.
- :mod:`~rewardsmith.trainers.openrlhf`: the ``reward_func(queries, prompts, labels)`` of
  an OpenRLHF reward file (``--remote_rm_url my_reward.py``).

All build wire-format samples and go through the same :class:`Scorer`, so a pack behaves
identically in a trainer, a Lambda and the CLI. Names are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "trl_reward_function": "trl",
    "trl_reward_function_async": "trl",
    "trl_component_reward_functions": "trl",
    "trl_component_weights": "trl",
    "VerlComputeScore": "verl",
    "AsyncVerlComputeScore": "verl",
    "VerlComputeScoreBatch": "verl",
    "verl_compute_score": "verl",
    "verl_compute_score_async": "verl",
    "verl_compute_score_batch": "verl",
    "openrlhf_reward_func": "openrlhf",
}

__all__ = [
    "AsyncVerlComputeScore",
    "VerlComputeScore",
    "VerlComputeScoreBatch",
    "openrlhf_reward_func",
    "trl_component_reward_functions",
    "trl_component_weights",
    "trl_reward_function",
    "trl_reward_function_async",
    "verl_compute_score",
    "verl_compute_score_async",
    "verl_compute_score_batch",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rewardsmith.trainers' has no attribute {name!r}")
    value = getattr(import_module(f"rewardsmith.trainers.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
