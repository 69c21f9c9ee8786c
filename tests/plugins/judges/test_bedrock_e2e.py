"""Judge components through the real bedrock backend against the loopback Converse
simulator, and through the dedup/cache layer: the prompts must survive both."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.support.judges import policy_host, read_blocks, rubric_policy, sample

from rewardsmith import Scorer, load_pack
from rewardsmith.simulators.wiring import bedrock_settings


def _pack(tmp_path: Path, judge: dict[str, Any], components: str) -> Path:
    table = "\n".join(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"'
                      for k, v in judge.items())
    path = tmp_path / "pack.toml"
    path.write_text(f'[pack]\nname = "e2e"\nversion = "1"\n\n[judge]\n{table}\n\n'
                    + textwrap.dedent(components), encoding="utf-8")
    return path


def _score(path: Path, samples: list[dict[str, Any]], host: Any = None) -> Any:
    scorer = Scorer(load_pack(path, host))
    try:
        return scorer.score(samples, timeout_s=60)
    finally:
        scorer.close()


GROUP = """
[[components]]
id = "tournament"
type = "pairwise-judge"
mode = "group"
scoring = "bradley_terry"
"""


def test_group_tournament_through_bedrock_ranks_by_the_judges_preference(
    tmp_path: Path, converse_simulator: Any
) -> None:
    def longer(request: Any) -> dict[str, Any]:
        blocks = read_blocks(request.last_user_text)
        a, b = len(blocks["response_a"]), len(blocks["response_b"])
        return {"rationale": f"{a} vs {b}", "winner": "A" if a > b else "B" if b > a else "tie"}

    converse_simulator.set_policy(longer)
    responses = ["x" * n for n in (30, 10, 50, 20)]
    batch = _score(_pack(tmp_path, bedrock_settings(converse_simulator.endpoint_url), GROUP),
                   [sample(r, sid=str(i)) for i, r in enumerate(responses)])
    values = [r.components["tournament"].value for r in batch.results]
    assert sorted(range(4), key=lambda k: values[k]) == [1, 3, 0, 2]
    assert converse_simulator.request_count == 2 * 6


def test_first_position_bias_through_bedrock_gives_ties(
    tmp_path: Path, converse_simulator: Any
) -> None:
    converse_simulator.set_policy(lambda _request: {"rationale": "first", "winner": "A"})
    batch = _score(_pack(tmp_path, bedrock_settings(converse_simulator.endpoint_url), GROUP),
                   [sample("x" * n, sid=str(n)) for n in (5, 10, 15)])
    for result in batch.results:
        outcome = result.components["tournament"]
        assert outcome.value == pytest.approx(0.5)
        assert outcome.measurements["position_inconsistency"] == 1.0


def test_identical_requests_hit_the_persistent_cache(tmp_path: Path) -> None:
    """Boundary tokens are content-derived, so a re-scored batch is answered from the
    cache instead of calling the model again."""
    host, recorder = policy_host(rubric_policy({"grounded": lambda t: "Clause" in t}))
    components = """
    [[components]]
    id = "review"
    type = "rubric-judge"
    include_reference = true
    criteria = [{ id = "grounded", pass_if = "Quotes a clause." }]
    """
    # A pack names its cache inside its own folder (core.trust.confine).
    judge = {"backend": "policy", "model": "m", "cache_path": "cache.sqlite3"}
    path = _pack(tmp_path, judge, components)
    samples = [sample(f"Clause {i}", sid=i, reference_answer="ref") for i in range(5)]
    first = _score(path, samples, host)
    second = _score(path, samples, host)
    assert len(recorder.requests) == 5
    assert second.telemetry.cache_hits == 5
    assert [r.reward for r in second.results] == \
        [r.reward for r in first.results]
    assert (tmp_path / "cache.sqlite3").is_file()
