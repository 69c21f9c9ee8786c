"""Issue 15: the Python API as a new user meets it: a sample builder, ``parse_sample``
without an index, a ``TypeError`` for a lone dict, and no log line per call."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rewardsmith
from rewardsmith import Scorer, load_pack, parse_sample


@pytest.fixture(scope="module")
def scorer():
    scorer = Scorer(load_pack("json-extraction"))
    yield scorer
    scorer.close()


def test_sample_builds_the_wire_shape() -> None:
    built = rewardsmith.sample("Extract the invoice.", '{"total": 1}', reference={"total": 1},
                               metadata={"split": "dev"}, system="Answer in JSON.", id="s1")
    assert built == {
        "id": "s1",
        "messages": [{"role": "system", "content": "Answer in JSON."},
                     {"role": "user", "content": "Extract the invoice."},
                     {"role": "assistant", "content": '{"total": 1}'}],
        "reference_answer": {"total": 1},
        "metadata": {"split": "dev"},
    }
    parsed = parse_sample(built)  # no index needed for a lone sample
    assert (parsed.id, parsed.index, parsed.response) == ("s1", 0, '{"total": 1}')
    assert parsed.metadata == {"split": "dev"}
    assert "sample" in rewardsmith.__all__


def test_sample_refuses_a_message_list_as_prompt() -> None:
    with pytest.raises(TypeError, match="prompt must be a str, got list"):
        rewardsmith.sample([{"role": "user", "content": "q"}], "a")  # type: ignore[arg-type]


def test_score_of_one_dict_is_a_type_error_naming_the_fix(scorer) -> None:
    one = rewardsmith.sample("q", "{}")
    with pytest.raises(TypeError) as info:
        scorer.score(one)
    assert str(info.value) == ("Scorer.score expects a list of samples, got one dict (keys "
                               "['messages']); wrap it: score([sample])")
    with pytest.raises(TypeError, match=r"expects a list of samples .* got str"):
        scorer.score("not a batch")
    assert len(scorer.score([one]).rewards) == 1


def test_scoring_is_quiet_by_default() -> None:
    # A fresh interpreter: structlog unconfigured, as in a notebook or a trainer.
    code = ("import rewardsmith as r\n"
            "s = r.Scorer(r.load_pack('json-extraction'))\n"
            "for _ in range(3): s.score([r.sample('q', '{}')])\n"
            "s.close()\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert run.stdout == "" and run.stderr == ""


def test_configured_logging_still_gets_the_batch_line() -> None:
    code = ("import rewardsmith as r\n"
            "from rewardsmith.core.logs import configure_logging\n"
            "configure_logging(level='info', json=True)\n"
            "s = r.Scorer(r.load_pack('json-extraction'))\n"
            "s.score([r.sample('q', '{}')]); s.close()\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert '"event": "batch_scored"' in run.stderr
