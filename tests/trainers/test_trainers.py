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


# -- a judge that cannot run is never trained on silently ------------------------------------
def _judged_pack(tmp_path: Path, port: int, allow: bool) -> Path:
    path = tmp_path / "judged.toml"
    path.write_text(f"""
[pack]
name = "judged"
version = "1"

[judge]
backend = "openai"
base_url = "http://127.0.0.1:{port}/v1"
model = "m"
max_retries = 1
retry_base_delay_s = 0.005
retry_max_delay_s = 0.01
circuit_failure_threshold = 2
circuit_cooldown_s = 0.05
connect_timeout_s = 2.0
allow_failures = {str(allow).lower()}

[[components]]
id = "words"
type = "length"
unit = "words"
max = 50

[[components]]
id = "review"
type = "rubric-judge"
weight = 3
criteria = [{{ id = "polite", pass_if = "The answer is polite." }}]
""")
    return path


@pytest.fixture
def refused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("adapter", ["trl", "verl", "verl_batch"])
def test_a_judge_that_cannot_run_stops_the_step_naming_the_cause(
    tmp_path: Path, refused_port: int, monkeypatch: pytest.MonkeyPatch, adapter: str,
) -> None:
    """The judge refuses connections: the adapters raise instead of returning rewards from
    the length check alone (the CLI exits 4 and the Lambda emits JudgeUnavailable instead)."""
    from rewardsmith.core.errors import JudgeUnavailableError

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")
    path = _judged_pack(tmp_path, refused_port, allow=False)
    with pytest.raises(JudgeUnavailableError) as caught:
        if adapter == "trl":
            trl_reward_function(str(path))(["Hi"], ["Hello, how can I help?"])
        elif adapter == "verl":
            verl_compute_score(str(path))("src", "Hello, how can I help?", "", {"question": "Hi"})
        else:
            verl_compute_score_batch(str(path))(["src"], ["Hello"], [""], [{"question": "Hi"}])
    assert set(caught.value.causes) == {"review"}
    assert "allow_failures" in str(caught.value)

    allowed = trl_reward_function(str(_judged_pack(tmp_path, refused_port, allow=True)))
    assert allowed(["Hi"], ["Hello, how can I help?"]) == [1.0]  # the length check alone
