"""verl's own reward-loop code calling the rewardsmith verl adapter, on CPU (not part of
the test suite: verl needs torch and Ray, kept out of the project's extras).

verl's ``load_reward_manager`` (``verl/trainer/ppo/reward.py``) loads ``compute_score``
from a reward file exactly as a training run does, builds the reward manager (``naive``:
sync or async in the loop; ``remote``: the function pickled to a Ray actor) and its
``run_single`` scores hand-built ``DataProto`` items (a tiny byte-level tokenizer trained
here decodes the responses). The per-sample results are then stacked the way
``RewardLoopManager.compute_rm_score`` (``verl/experimental/reward_loop/reward_loop.py``)
stacks them: the first sample's keys, ``np.array`` per key, and GDPO's float32 cast.

    python -m venv /work/tmp-venvs/verl
    /work/tmp-venvs/verl/bin/pip install torch==2.13.0+cpu verl==0.9.1 -e .
    /work/tmp-venvs/verl/bin/python bench/verl_reward_loop.py
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

PACK = """
[pack]
name = "verl-bench"
version = "1"

[[components]]
id = "json"
type = "json-valid"
gate = { fail_reward = 0.0 }

[[components]]
id = "fields"
type = "reference-match"
mode = "json_fields"
weight = 2
on_error = "zero"

[[components]]
id = "length"
type = "length"
unit = "chars"
max = 200
"""

REWARD_FILE = """
from rewardsmith.trainers.verl import AsyncVerlComputeScore, VerlComputeScore
compute_score = VerlComputeScore({pack!r})
compute_score_async = AsyncVerlComputeScore({pack!r})
"""

ITEMS = [  # (response, ground truth): gated first, then ok, then a numpy ground truth
    ("no json here", {"a": 1}),
    ('{"a": 1}', {"a": 1}),
    ('["x", "y"]', np.array(["x", "y"])),
]


def tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([r for r, _ in ITEMS] * 10, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>")


def data_item(tok: Any, response: str, truth: Any, index: int) -> Any:
    import torch
    from verl import DataProto

    prompt_ids = tok("Give JSON")["input_ids"]
    response_ids = tok(response)["input_ids"]
    width = 32
    responses = torch.full((1, width), tok.pad_token_id, dtype=torch.long)
    responses[0, :len(response_ids)] = torch.tensor(response_ids)
    prompts = torch.tensor([prompt_ids])
    mask = torch.zeros((1, len(prompt_ids) + width), dtype=torch.long)
    mask[0, :len(prompt_ids) + len(response_ids)] = 1
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
        non_tensors={"data_source": np.array(["bench"], dtype=object),
                     "reward_model": np.array([{"ground_truth": truth}], dtype=object),
                     "extra_info": np.array([{"question": "Give JSON", "index": index}],
                                            dtype=object)})


def run(manager_name: str, fn_name: str, order: list[int], reward_file: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import load_reward_manager

    tok = tokenizer()
    config = OmegaConf.create({"reward": {
        "custom_reward_function": {"path": str(reward_file), "name": fn_name},
        "reward_manager": {"source": "register", "name": manager_name},
        "num_workers": 1}})
    manager = load_reward_manager(config, tok)

    async def all_items() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(
            manager.run_single(data_item(tok, *ITEMS[i], index=i)) for i in order)))

    # the manager awaits on the loop it was built with (verl.utils.ray_utils.get_event_loop)
    outputs = manager.loop.run_until_complete(all_items())
    infos = [o["reward_extra_info"] for o in outputs]
    keys = list(infos[0].keys())  # RewardLoopManager.compute_rm_score
    table = {k: np.array([info[k] for info in infos]) for k in keys}
    gdpo = {k: np.asarray(table[k], dtype=np.float32).tolist() for k in ("fields", "length")}
    return {"manager": manager_name, "fn": fn_name, "order": order,
            "scores": [o["reward_score"] for o in outputs], "keys": keys,
            "status": table["status"].tolist(), "gdpo_float32": gdpo}


def main() -> None:
    import ray
    import verl

    print(json.dumps({"verl": verl.__version__, "ray": ray.__version__}))
    with tempfile.TemporaryDirectory() as tmp:
        pack = Path(tmp) / "verl-bench.toml"
        pack.write_text(PACK)
        reward_file = Path(tmp) / "my_reward.py"
        reward_file.write_text(REWARD_FILE.format(pack=str(pack)))
        for manager, fn in (("naive", "compute_score"), ("naive", "compute_score_async")):
            for order in ([0, 1, 2], [1, 0, 2]):
                print(json.dumps(run(manager, fn, order, reward_file)))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        print(json.dumps(run("remote", "compute_score", [0, 1, 2], reward_file)))
        ray.shutdown()


if __name__ == "__main__":
    main()
