"""verifiers (Nova Forge multi-turn RFT, prime-rl): a pack as a ``vf.Rubric``.

verifiers' classic rubric (``verifiers.Rubric(funcs, weights)``, 0.1.x; the same class
lives on as ``verifiers.legacy.rubrics.rubric.Rubric``) calls each reward function with
the named arguments it asks for — ``prompt``, ``completion``, ``answer``, ``state``,
``info`` — and sums ``weight * value`` over the functions into the rollout's reward.

:func:`pack_rubric` gives one reward function per component of the pack, named by the
component id, each with the weight that makes the rubric's weighted sum equal the pack's
reward exactly (the reward ``rewardsmith score`` writes):

* gate components are metrics (weight 0; their value is logged, the gate still decides);
* the others get ``v_i = w_i / W`` (``W`` the sum of the non-gate weights), and return
  ``low + n_i * (high - low) * W / W_scored`` — the component's normalised value ``n_i`` on
  the reward range, scaled up when abstaining components left their share (an abstained
  component returns ``low``). ``Σ v_i f_i`` is then the pack's weighted mean, renormalised
  as the engine does it;
* a gated or failed sample, and a pack aggregated by a formula, return the sample's
  reward from every function (``Σ v_i R = R``).

Failures follow the pack's policies because the engine applied them before: the rubric
only reads outcomes. The pack scores a rollout once; the functions share the result.

The trajectory is ``prompt + completion`` (chat messages in any shape ``core.sample``
parses); ``answer`` is the reference answer; the tools come from ``info["oai_tools"]``
(or ``state["oai_tools"]``), the environment's final state from ``state["final_state"]``
(or ``info["final_state"]``). Usage in an environment::

    import verifiers as vf
    from rewardsmith.trainers.verifiers import pack_rubric

    def load_environment(**kwargs):
        return vf.ToolEnv(dataset=..., tools=[...], rubric=pack_rubric("support-agent"))
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from rewardsmith.core.component import ComponentConfig
from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import Pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.results import SampleResult
from rewardsmith.trainers._common import scorer_for

RewardFunc = Callable[..., Any]


def _messages(value: Any, role: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    return list(value)


def rollout_sample(prompt: Any, completion: Any, answer: Any = None,
                   state: Mapping[str, Any] | None = None,
                   info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The wire sample of one verifiers rollout (see the module docstring)."""
    state = state or {}
    info = info or {}
    raw: dict[str, Any] = {"messages": [*_messages(prompt, "user"),
                                        *_messages(completion, "assistant")]}
    if answer not in (None, ""):
        raw["reference_answer"] = answer
    tools = info.get("oai_tools") or state.get("oai_tools")
    if tools:
        raw["tools"] = list(tools)
    final_state = state.get("final_state", info.get("final_state"))
    if final_state is not None:
        raw["final_state"] = final_state
    for key in ("id", "example_id"):
        if state.get(key) is not None:
            raw.setdefault("id", state[key])
    return raw


class PackRubricFunctions:
    """The reward functions and weights of a pack for a verifiers rubric; see the module
    docstring for how they add up to the pack's reward."""

    def __init__(self, pack: str | Pack | Scorer, *, host: PluginHost | None = None,
                 cache_size: int = 4096) -> None:
        self.scorer = scorer_for(pack, host)
        p = self.scorer.pack
        self._configs: dict[str, ComponentConfig] = {c.config.id: c.config
                                                     for c in p.components}
        self._ranges = {c.config.id: c.value_range for c in p.components}
        self._total = sum(c.effective_weight for c in self._configs.values()
                          if c.gate is None)
        self._cache: OrderedDict[bytes, SampleResult] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.funcs: list[RewardFunc] = [self._func(cid) for cid in self._configs]
        self.weights: list[float] = [
            0.0 if c.gate is not None or self._total <= 0 else c.effective_weight / self._total
            for c in self._configs.values()]

    # -- scoring once per rollout --------------------------------------------------------
    def result(self, raw: dict[str, Any]) -> SampleResult:
        """The pack's result for one wire sample, scored once and shared by the functions."""
        key = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS, default=str)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        batch = self.scorer.score([raw])
        batch.raise_for_judge_outage()
        (result,) = batch.results
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def value(self, cid: str, result: SampleResult) -> float:
        """Component ``cid``'s reward-function value for ``result`` (its term of the sum)."""
        cfg = self._configs[cid]
        outcome = result.components.get(cid)
        pack = self.scorer.pack
        lo, hi = pack.reward_range
        if cfg.gate is not None:  # a metric: the gate's own value, for the logs
            return float(outcome.value) if outcome is not None and outcome.value is not None \
                else lo
        if result.status != "ok" or pack.formula is not None or self._total <= 0:
            return result.reward
        scored = sum(self._configs[o.id].effective_weight
                     for o in result.components.values()
                     if o.value is not None and self._configs[o.id].gate is None)
        if outcome is None or outcome.value is None or scored <= 0:
            return lo
        clo, chi = self._ranges[cid]
        normalised = (outcome.value - clo) / (chi - clo)
        return lo + normalised * (hi - lo) * self._total / scored

    def _func(self, cid: str) -> RewardFunc:
        async def reward(prompt: Any = None, completion: Any = None, answer: Any = None,
                         state: Any = None, info: Any = None, **_: Any) -> float:
            raw = rollout_sample(prompt, completion, answer, state, info)
            # The scorer runs on its own loop thread; awaiting it off this loop keeps a
            # verifiers event loop free while judges answer.
            result = await asyncio.to_thread(self.result, raw)
            return self.value(cid, result)

        reward.__name__ = cid
        reward.__qualname__ = cid
        return reward

    def close(self) -> None:
        self.scorer.close()


def pack_rubric(pack: str | Pack | Scorer, *, host: PluginHost | None = None,
                **rubric_kwargs: Any) -> Any:
    """A ``verifiers.Rubric`` scoring with ``pack`` (needs the ``verifiers`` package).

    Raises:
        ImportError: verifiers is not installed, or has no classic ``Rubric``.
    """
    try:
        import verifiers as vf

        rubric_cls = vf.Rubric
    except (ImportError, AttributeError):
        try:
            from verifiers.legacy.rubrics.rubric import Rubric as rubric_cls
        except ImportError:
            raise ImportError("pack_rubric needs verifiers with its classic Rubric "
                              "(pip install 'verifiers<0.4')") from None
    functions = PackRubricFunctions(pack, host=host)
    rubric = rubric_cls(funcs=functions.funcs, weights=functions.weights, **rubric_kwargs)
    rubric.rewardsmith = functions  # the scorer's owner, to close it
    return rubric
