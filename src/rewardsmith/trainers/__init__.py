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

from rewardsmith.trainers.trl import trl_reward_function
from rewardsmith.trainers.verl import verl_compute_score, verl_compute_score_batch

__all__ = ["trl_reward_function", "verl_compute_score", "verl_compute_score_batch"]
