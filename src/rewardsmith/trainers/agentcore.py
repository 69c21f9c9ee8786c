"""agentcore-rl-toolkit: a pack as a ``RewardFunction``.

The toolkit's contract (awslabs/agentcore-rl-toolkit, ``src/agentcore_rl_toolkit/
reward_function.py`` at commit 7bdd4159): ``class RewardFunction(ABC)`` with one abstract
``__call__(self, **kwargs)`` returning a float, or a list of floats — per-turn rewards, or a
single-element list for an outcome reward. Apps call it with whatever the rollout has,
e.g. ``reward_fn(response_text=..., ground_truth=...)`` (``examples/strands_math_agent``)
or ``reward_fn(env=..., task=..., messages=...)`` (``examples/strands_taubench_agent``).

:class:`PackReward` takes the trajectory as ``messages`` (any shape ``core.sample``
parses: OpenAI chat, Converse blocks — the toolkit's Strands agents keep Converse-style
messages — or Responses items), or a ready sample dict as ``sample``; ``ground_truth``
becomes the reference answer, ``final_state``/``tools`` pass through, and any other
keyword is kept as sample metadata. It returns the per-turn list (``per_turn=True``, the
default) or ``[reward]`` as the outcome.

When agentcore-rl-toolkit is installed the class subclasses its ``RewardFunction``;
without it, it is the same callable on ``object`` (nothing here needs the toolkit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import Pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.results import SampleResult
from rewardsmith.trainers._common import scorer_for

try:  # the toolkit is optional: subclass its base when it is there
    from agentcore_rl_toolkit import RewardFunction as _ToolkitBase
except ImportError:  # pragma: no cover - exercised when the toolkit is absent (CI)
    _ToolkitBase = object

_SAMPLE_KEYS = ("messages", "sample", "ground_truth", "final_state", "tools", "id")


def trajectory_sample(*, messages: Sequence[Any] | None = None,
                      sample: Mapping[str, Any] | None = None, ground_truth: Any = None,
                      final_state: Any = None, tools: Sequence[Any] | None = None,
                      id: Any = None, **metadata: Any) -> dict[str, Any]:
    """The wire sample for one rollout from the toolkit's keyword arguments.

    Raises:
        TypeError: neither ``messages`` nor ``sample`` is given, or ``messages`` is a
            string or mapping rather than a sequence of messages.
    """
    if sample is not None:
        raw = dict(sample)
    elif messages is not None:
        if isinstance(messages, str | bytes | Mapping):
            raise TypeError(f"PackReward: messages must be a list of messages (the "
                            f"trajectory), got {type(messages).__name__}")
        raw = {"messages": list(messages)}
    else:
        raise TypeError("PackReward needs messages=[...] (the trajectory) or sample={...}")
    if ground_truth is not None:
        raw.setdefault("reference_answer", ground_truth)
    if final_state is not None:
        raw.setdefault("final_state", final_state)
    if tools is not None:
        raw.setdefault("tools", list(tools))
    if id is not None:
        raw.setdefault("id", id)
    for key, value in metadata.items():
        raw.setdefault(key, value)
    return raw


class PackReward(_ToolkitBase):  # type: ignore[misc,valid-type]
    """A rubric pack as an agentcore-rl-toolkit reward function.

    Args:
        pack: a pack name or path, a :class:`Pack` or a :class:`Scorer`.
        per_turn: return one reward per assistant turn (else ``[reward]``, the outcome).
        raise_on_judge_outage: raise ``JudgeUnavailableError`` rather than return a
            reward a judge had no part in (as the TRL and verl adapters do).
    """

    def __init__(self, pack: str | Pack | Scorer, *, per_turn: bool = True,
                 host: PluginHost | None = None, raise_on_judge_outage: bool = True) -> None:
        self.scorer = scorer_for(pack, host)
        self.per_turn = per_turn
        self.raise_on_judge_outage = raise_on_judge_outage
        self.last_result: SampleResult | None = None

    def __call__(self, **kwargs: Any) -> list[float]:
        """Score one rollout; see :func:`trajectory_sample` for the keywords.

        Returns the per-turn rewards (one per assistant turn) or ``[reward]``, finite and
        never empty: the toolkit's ``RewardFunction`` contract is per-turn rewards or a
        single-element outcome list (awslabs/agentcore-rl-toolkit,
        ``src/agentcore_rl_toolkit/reward_function.py``), so a rollout with nothing to
        reward per turn (no assistant turn, empty ``messages``) gets ``[reward]`` — the
        pack's failure reward, the error in ``last_result.error`` (a malformed trajectory
        with turns gets the failure reward on each).

        Raises ``TypeError`` as :func:`trajectory_sample` does, and
        ``JudgeUnavailableError`` when a judge could not run (``raise_on_judge_outage``).
        """
        raw = trajectory_sample(**kwargs)
        batch = self.scorer.score([raw])
        if self.raise_on_judge_outage:
            batch.raise_for_judge_outage()
        (result,) = batch.results
        self.last_result = result
        if self.per_turn and result.turn_rewards:
            return list(result.turn_rewards)
        return [result.reward]  # the outcome; also a single turn under a response-only pack

    def close(self) -> None:
        self.scorer.close()
