"""Scoring at scale, off the trainer's critical path: large rollout sets re-scored after a
pack change, preference sets built offline.

- :mod:`.ray`: ``rewardsmith score --ray [ADDRESS]`` and :func:`score_rollouts_ray` on Ray
  Data (the optional ``rewardsmith[ray]`` extra, imported only when used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardsmith.scale.ray import RayScoreSummary, score_rollouts_ray

__all__ = ["RayScoreSummary", "score_rollouts_ray"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from rewardsmith.scale import ray as _ray

        return getattr(_ray, name)
    raise AttributeError(f"module 'rewardsmith.scale' has no attribute {name!r}")
