"""The reward Lambda accepts trajectory samples in every shape and answers the per-turn
vector in the documented extra key; single-turn answers keep their three keys."""

from __future__ import annotations

import json
from typing import Any

from tests.support import trajectories as tj
from tests.support.aws_lambda import FakeContext, validate_answer

from rewardsmith import Scorer, load_pack
from rewardsmith.aws_lambda import make_handler
from rewardsmith.core.wire import TURN_REWARDS_KEY

PACK = """
[pack]
name = "lambda-agent"
version = "1"

[trajectory]
assign = "every"

[[components]]
id = "calls"
type = "tool-call-valid"
scope = "turn"

[[components]]
id = "turns"
type = "turn-budget"
max_turns = 2
falloff = 2
"""


def test_trajectories_in_every_shape_get_one_reward_per_turn(tmp_path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(PACK)
    handler = make_handler(Scorer(load_pack(path)))
    items = [build() for build, _ in tj.SHAPES]
    event = json.dumps({"samples": items})  # as the trainer sends it: JSON text
    out = handler(event, FakeContext())
    validate_answer(out, [s["id"] for s in items])
    for row, (_, turns) in zip(out, tj.SHAPES, strict=True):
        vector = row[TURN_REWARDS_KEY]
        assert len(vector) == turns, row["id"]
        assert all(isinstance(v, float) for v in vector)
    by_id = {row["id"]: row for row in out}
    # 3 turns against a budget of 2 (falling to 0 at 4): turns = 0.5, assigned to every
    # turn; each turn's calls are valid
    assert by_id["chat"][TURN_REWARDS_KEY] == [0.75, 0.75, 0.75]
    assert by_id["chat"]["aggregate_reward_score"] == 0.75
    assert by_id["bad-call-id"][TURN_REWARDS_KEY] == [0.0, 0.0, 0.0]


def test_single_turn_answers_keep_three_keys(basic_scorer: Any) -> None:
    handler = make_handler(basic_scorer)
    out = handler([{"id": "a", "messages": [{"role": "user", "content": "Say ok."},
                                            {"role": "assistant", "content": "ok"}]}],
                  FakeContext())
    assert set(out[0]) == {"id", "aggregate_reward_score", "metrics_list"}
    multi = handler([tj.openai_chat()], FakeContext())
    assert len(multi[0][TURN_REWARDS_KEY]) == 3
