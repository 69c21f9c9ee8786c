"""OpenRLHF adapter: the ``reward_func(queries, prompts, labels)`` of a reward file.

Contract (OpenRLHF/OpenRLHF 0.11.0, read at tags v0.10.2-v0.11.0):

- ``openrlhf/utils/agent.py::SingleTurnAgentExecutor`` takes ``--remote_rm_url`` ending in
  ``.py`` as a file, imports it with ``importlib.util.spec_from_file_location`` and reads
  its module attribute ``reward_func``; ``_fetch_rewards_via_func`` calls it in a worker
  thread (``asyncio.to_thread``), one sample at a time, as ``reward_func(queries, prompts,
  labels)``: ``queries`` the decoded prompt + response tokens (special tokens kept),
  ``prompts`` the prompt text the model saw (chat template applied), ``labels`` the
  dataset's ``--label_key`` values. It reads ``"rewards"``, ``"scores"`` (``rewards`` when
  absent) and ``"extra_logs"`` from the returned dict.
- ``openrlhf/trainer/ppo_utils/samples_generator.py`` stores ``torch.tensor([rewards])``
  and turns each ``extra_logs`` value into a tensor (a tensor's first element); the
  example ``examples/python/reward_func.py`` returns float tensors of ``len(queries)``.
  A reward file whose call raises is logged at INFO and the sample gets no reward, so the
  adapter raises only for what must stop the run (a judge outage).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.core.errors import SampleError
from rewardsmith.core.pack import Pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.trainers._common import PackSpec, component_ids, plain, scorer_for

#: End-of-turn markers a decoded query keeps (``skip_special_tokens=False``), stripped from
#: the end of the response before scoring: ChatML/Qwen, Llama 2/3, GPT-2 style, Gemma.
END_MARKERS: tuple[str, ...] = ("<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "</s>",
                                "<|endoftext|>", "<end_of_turn>", "<eos>")


def split_query(query: str, prompt: str, end_markers: Sequence[str] = END_MARKERS) -> str:
    """The response part of an OpenRLHF ``query`` (prompt + response, decoded with special
    tokens): ``query`` minus its leading ``prompt``, with trailing end-of-turn markers and
    whitespace stripped. A query that does not start with the prompt (the tokenizer did not
    round-trip it) is taken whole here; :func:`openrlhf_reward_func` fails such a sample."""
    response = query[len(prompt):] if prompt and query.startswith(prompt) else query
    stripped = True
    while stripped:
        stripped = False
        response = response.rstrip()
        for marker in end_markers:
            if marker and response.endswith(marker):
                response = response[: -len(marker)]
                stripped = True
    return response


def openrlhf_reward_func(
    pack: PackSpec | Pack | Scorer,
    *,
    host: PluginHost | None = None,
    end_markers: Sequence[str] = END_MARKERS,
    as_tensors: bool | None = None,
    timeout_s: float | None = None,
) -> Callable[..., dict[str, Any]]:
    """A ``reward_func(queries, prompts, labels, **kwargs)`` for an OpenRLHF reward file::

        # my_reward.py, passed as --remote_rm_url my_reward.py
        from rewardsmith.trainers.openrlhf import openrlhf_reward_func
        reward_func = openrlhf_reward_func("json-extraction")

    Returns ``{"rewards": r, "scores": r, "extra_logs": {"rewardsmith/<component>": v,
    "rewardsmith/gated": g, "rewardsmith/sample_failed": f}}`` with one value per query:
    the pack's reward; each component's value (0.0 where it gave none, so every sample
    logs the same keys); 1.0 for a gated sample in ``gated`` and for a sample that could
    not be scored in ``sample_failed`` (the flags ``rewardsmith serve`` reports). A query
    that does not start with its prompt fails alone, as it does in ``rewardsmith serve``.
    Values are float32 ``torch`` tensors when ``torch`` imports (OpenRLHF always has it;
    ``as_tensors`` forces either way), else lists.
    Samples sharing a prompt in one call are scored as a group (OpenRLHF 0.10+ calls with
    one sample: group components see groups of one; ``rewardsmith serve`` keeps groups).
    ``labels`` are the reference answers.

    A call raises :class:`~rewardsmith.core.errors.JudgeUnavailableError` when a judge
    could not run (unless the pack's ``[judge]`` sets ``allow_failures = true``) and
    ``ValueError`` when the three lists differ in length; building it raises what
    :func:`~rewardsmith.core.pack.load_pack` raises.
    """
    scorer = scorer_for(pack, host)
    ids = component_ids(scorer)

    def reward_func(queries: Sequence[Any], prompts: Sequence[Any],
                    labels: Sequence[Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        queries, prompts = plain(queries), plain(prompts)
        labels = plain(labels) if labels is not None else [None] * len(queries)
        if not len(queries) == len(prompts) == len(labels):
            raise ValueError(f"reward_func: queries, prompts and labels differ in length "
                             f"({len(queries)}, {len(prompts)}, {len(labels)})")
        samples: list[Any] = []
        for i, (query, prompt, label) in enumerate(zip(queries, prompts, labels, strict=True)):
            prompt_text = prompt if isinstance(prompt, str) else str(prompt)
            if isinstance(query, str) and prompt_text and not query.startswith(prompt_text):
                # As ``rewardsmith serve`` does: the response cannot be told apart from the
                # prompt, so the sample fails alone (failure reward, ``sample_failed`` 1.0).
                samples.append(SampleError(
                    f"queries[{i}] does not start with prompts[{i}], so the response cannot "
                    "be told apart from the prompt (was the prompt truncated?)", sample_id=i))
                continue
            response = split_query(query, prompt_text, end_markers) \
                if isinstance(query, str) else query
            samples.append({"id": i,
                            "messages": [{"role": "user", "content": prompt_text},
                                         {"role": "assistant", "content": response}],
                            "reference_answer": label})
        batch = scorer.score(samples, timeout_s=timeout_s)
        batch.raise_for_judge_outage()  # never train on a reward the judge had no part in
        rewards = batch.rewards
        logs: dict[str, list[float]] = {}
        for cid in ids:
            column = []
            for result in batch.results:
                outcome = result.components.get(cid)
                value = None if outcome is None else outcome.value
                column.append(0.0 if value is None else float(value))
            logs[f"rewardsmith/{cid}"] = column
        logs["rewardsmith/gated"] = [float(r.status == "gated") for r in batch.results]
        logs["rewardsmith/sample_failed"] = [float(r.status == "failed") for r in batch.results]
        tensor = _tensor_maker(as_tensors)
        return {"rewards": tensor(rewards), "scores": tensor(rewards),
                "extra_logs": {k: tensor(v) for k, v in logs.items()}}

    reward_func.__name__ = "reward_func"
    return reward_func


def _tensor_maker(as_tensors: bool | None) -> Callable[[list[float]], Any]:
    if as_tensors is False:
        return list
    try:
        import torch
    except ImportError:
        if as_tensors:
            raise
        return list
    return lambda values: torch.tensor(values, dtype=torch.float32)
