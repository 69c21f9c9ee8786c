from __future__ import annotations

from pathlib import Path

import pytest
from tests.support import toy_plugin

from rewardsmith import load_pack, make_plugin_host
from rewardsmith.trainers import (
    trl_reward_function,
    verl_compute_score,
    verl_compute_score_batch,
)

PACK = """
[pack]
name = "trainer-toy"
version = "1"

[[components]]
id = "nonempty"
type = "non-empty"
gate = { fail_reward = 0.0 }

[[components]]
id = "yes"
type = "contains"
needle = "yes"

[[components]]
id = "rank"
type = "length-rank"
"""


@pytest.fixture
def pack(tmp_path: Path):
    path = tmp_path / "pack.toml"
    path.write_text(PACK)
    host = make_plugin_host(load_entry_points=False, plugins=[("toy", toy_plugin)])
    return load_pack(path, host)


def test_trl_standard_format_groups_by_prompt(pack) -> None:
    reward = trl_reward_function(pack)
    assert reward.__name__ == "rewardsmith_trainer-toy"
    prompts = ["p1", "p1", "p2", "p2"]
    completions = ["yes!", "yes, longer", "no", ""]
    rewards = reward(prompts=prompts, completions=completions, completion_ids=[[1]] * 4,
                     trainer_state=object())
    # p1: both contain yes; the longer ranks 1 → (1+1)/2, the shorter (1+0)/2.
    # p2: the blank one fails the gate, leaving "no" alone in its group (rank 0).
    assert rewards == pytest.approx([0.5, 1.0, 0.0, 0.0])


def test_trl_conversational_format_and_columns(pack) -> None:
    reward = trl_reward_function(pack)
    prompts = [[{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]] * 2
    completions = [[{"role": "assistant", "content": "yes"}],
                   [{"role": "assistant", "content": "no"}]]
    rewards = reward(prompts, completions, reference_answer=["yes", "yes"], topic=["a", "b"])
    assert rewards == pytest.approx([1.0, 0.0])


def test_trl_bad_completion_type_fails_only_that_sample(pack) -> None:
    reward = trl_reward_function(pack)
    rewards = reward(["p", "p"], ["yes", 42])
    assert rewards[0] > 0 and rewards[1] == 0.0


def test_verl_single_and_batch(pack) -> None:
    single = verl_compute_score(pack)
    row = single("my/dataset", "yes indeed", "yes", {"question": "q?"})
    assert row["score"] == pytest.approx(0.5) and row["yes"] == 1.0
    batch = verl_compute_score_batch(pack)
    rows = batch(["d", "d"], ["yes", "yes longer"], ["r", "r"], [{"question": "q"}] * 2)
    assert [r["score"] for r in rows] == pytest.approx([0.5, 1.0])
