"""The OpenRLHF reward-file adapter loaded and called the way OpenRLHF 0.11.0 does.

``openrlhf/utils/agent.py`` (OpenRLHF/OpenRLHF v0.11.0, same at v0.10.2-v0.10.4):
``SingleTurnAgentExecutor.__init__`` imports a ``--remote_rm_url`` ending in ``.py`` with
``importlib.util.spec_from_file_location("reward_func", path)`` and keeps
``module.reward_func``; ``_fetch_rewards_via_func`` runs ``asyncio.to_thread(reward_func,
queries[i:i+1], prompts[i:i+1], labels[i:i+1])`` for every sample under
``asyncio.gather``; ``execute`` reads ``rewards`` / ``scores`` / ``extra_logs`` from the
dict. ``queries`` are prompt + response decoded with special tokens.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from rewardsmith.trainers.openrlhf import openrlhf_reward_func, split_query

PACK = """
[pack]
name = "rlhf-toy"
version = "1"

[[components]]
id = "json"
type = "json-valid"
gate = { fail_reward = 0.0 }

[[components]]
id = "exact"
type = "reference-match"
mode = "json_fields"
on_error = "zero"
"""

CHATML = "<|im_start|>user\nGive a as JSON<|im_end|>\n<|im_start|>assistant\n"


def _load_reward_file(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("reward_func", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def _fetch_rewards_via_func(reward_func: Any, queries: list[str], prompts: list[str],
                            labels: list[Any]) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return await asyncio.gather(*(
            asyncio.to_thread(reward_func, queries[i:i + 1], prompts[i:i + 1],
                              labels[i:i + 1]) for i in range(len(queries))))
    return asyncio.run(run())


def test_a_reward_file_loaded_as_openrlhf_loads_it(tmp_path: Path) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text(PACK)
    reward_file = tmp_path / "my_reward.py"
    reward_file.write_text(
        "from rewardsmith.trainers.openrlhf import openrlhf_reward_func\n"
        f"reward_func = openrlhf_reward_func({str(pack)!r})\n")
    reward_func = _load_reward_file(reward_file)
    responses = ['{"a": 1}<|im_end|>', '{"a": 2}<|im_end|>', "no json<|im_end|>"]
    queries = [CHATML + r for r in responses]
    infos = _fetch_rewards_via_func(reward_func, queries, [CHATML] * 3, ['{"a": 1}'] * 3)
    rewards = [info["rewards"] for info in infos]
    assert rewards == [[1.0], [0.0], [0.0]]
    assert [info["scores"] for info in infos] == rewards
    assert infos[0]["extra_logs"] == {"rewardsmith/json": [1.0], "rewardsmith/exact": [1.0],
                                      "rewardsmith/gated": [0.0],
                                      "rewardsmith/sample_failed": [0.0]}
    # the gated sample logs the same keys: 0.0 for the skipped component, gated 1.0
    assert infos[2]["extra_logs"] == {"rewardsmith/json": [0.0], "rewardsmith/exact": [0.0],
                                      "rewardsmith/gated": [1.0],
                                      "rewardsmith/sample_failed": [0.0]}


def test_a_batch_call_scores_every_query_in_order(tmp_path: Path) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text(PACK)
    reward_func = openrlhf_reward_func(str(pack), as_tensors=False)
    out = reward_func([CHATML + '{"a": 1}</s>', CHATML + "nope"], [CHATML, CHATML],
                      ['{"a": 1}', '{"a": 1}'])
    assert out["rewards"] == [1.0, 0.0]
    with pytest.raises(ValueError, match="differ in length"):
        reward_func(["a", "b"], ["a"], ["x", "y"])


@pytest.mark.parametrize(("query", "prompt", "response"), [
    (CHATML + "hello<|im_end|>", CHATML, "hello"),
    (CHATML + "hello<|im_end|><|endoftext|>\n", CHATML, "hello"),
    ("[INST] q [/INST] answer</s>", "[INST] q [/INST]", " answer"),
    ("something else entirely", CHATML, "something else entirely"),
])
def test_split_query(query: str, prompt: str, response: str) -> None:
    assert split_query(query, prompt) == response


def test_a_query_not_starting_with_its_prompt_fails_alone_as_the_server_fails_it(
    tmp_path: Path,
) -> None:
    """``rewardsmith serve`` answers such a query ``sample_failed`` 1.0; the reward file
    agrees: failure reward, ``sample_failed`` 1.0, ``gated`` 0.0, the other sample scored."""
    from rewardsmith.serving.protocols import openrlhf_samples

    pack = tmp_path / "pack.toml"
    pack.write_text(PACK)
    reward_func = openrlhf_reward_func(str(pack), as_tensors=False)
    queries = ['zzz{"a": 1}<|im_end|>', CHATML + '{"a": 1}<|im_end|>']
    out = reward_func(queries, [CHATML, CHATML], ['{"a": 1}', '{"a": 1}'])
    assert out["rewards"] == [0.0, 1.0]  # the pack's failure reward (its range's bottom)
    assert out["extra_logs"]["rewardsmith/sample_failed"] == [1.0, 0.0]
    assert out["extra_logs"]["rewardsmith/gated"] == [0.0, 0.0]
    served = openrlhf_samples({"query": queries, "prompts": [CHATML, CHATML]})
    assert [type(s).__name__ for s in served] == ["SampleError", "dict"]
