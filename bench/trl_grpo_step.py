"""A real TRL ``GRPOTrainer`` run on CPU with the rewardsmith TRL adapters (not part of the
test suite: TRL needs torch, kept out of the project's extras).

A tiny Qwen2 model (random weights, one layer) and a byte-level BPE tokenizer trained here
on a few sentences, so nothing is downloaded. Two runs of ``--steps`` steps each:

1. ``reward_funcs=[trl_reward_function_async(pack)]`` (TRL awaits it on its loop thread);
2. ``reward_funcs=trl_component_reward_functions(pack)`` with
   ``multi_objective_aggregation="normalize_then_sum"`` and the pack weights (GDPO).

Run in a throwaway venv (see bench/RESULTS.md)::

    python -m venv /work/tmp-venvs/trl
    /work/tmp-venvs/trl/bin/pip install torch==2.13.0+cpu trl==1.16.0 -e .
    /work/tmp-venvs/trl/bin/python bench/trl_grpo_step.py --steps 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

PACK = """
[pack]
name = "trl-bench"
version = "1"

[[components]]
id = "short"
type = "length"
unit = "chars"
max = 20
falloff = 40

[[components]]
id = "close"
type = "reference-match"
mode = "fuzzy"
weight = 2
on_error = "zero"
"""

CORPUS = ["hello world", "the answer is 42", "json please", "invoice total 10",
          "say hello to the world", "what is six times seven"] * 20


def build(tmp: Path):  # type: ignore[no-untyped-def]
    from datasets import Dataset
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>", "<pad>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>",
                                        pad_token="<pad>", eos_token="<eos>")
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.eos_token_id)
    model = Qwen2ForCausalLM(config)
    dataset = Dataset.from_list([{"prompt": p, "answer": "hello world"}
                                 for p in ["say hello", "greet the world", "hello?",
                                           "write hello world"] * 4])
    pack = tmp / "trl-bench.toml"
    pack.write_text(PACK)
    return model, tokenizer, dataset, pack


def run(steps: int, mode: str, tmp: Path) -> list[dict[str, float]]:
    from trl import GRPOConfig, GRPOTrainer

    from rewardsmith.trainers.trl import (
        trl_component_reward_functions,
        trl_component_weights,
        trl_reward_function_async,
    )

    model, tokenizer, dataset, pack = build(tmp)
    options = {}
    if mode == "async":
        funcs = [trl_reward_function_async(str(pack), reference_column="answer")]
    else:
        funcs = trl_component_reward_functions(str(pack), reference_column="answer")
        options = {"multi_objective_aggregation": "normalize_then_sum",
                   "reward_weights": trl_component_weights(str(pack))}
    args = GRPOConfig(output_dir=str(tmp / mode), per_device_train_batch_size=4,
                      num_generations=4, max_completion_length=12, max_steps=steps,
                      logging_steps=1, report_to="none", use_cpu=True, bf16=False,
                      save_strategy="no", seed=0, **options)
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=funcs,
                          args=args, train_dataset=dataset)
    trainer.train()
    return [h for h in trainer.state.log_history if "loss" in h]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    import torch
    import transformers
    import trl

    print(json.dumps({"torch": torch.__version__, "trl": trl.__version__,
                      "transformers": transformers.__version__}))
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("async", "components"):
            for entry in run(args.steps, mode, Path(tmp)):
                keys = sorted(k for k in entry if k.startswith(("reward", "rewardsmith",
                                                                "loss")))
                print(mode, json.dumps({k: entry[k] for k in keys}))


if __name__ == "__main__":
    main()
