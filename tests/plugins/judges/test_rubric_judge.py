"""The rubric judge: generated schemas, explicit and implicit aggregation, per-sample
criteria, context blocks, and the rejection of off-schema verdicts."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from tests.support.judges import read_blocks, rubric_policy, sample

from rewardsmith import Scorer
from rewardsmith.core.errors import PackError
from rewardsmith.core.judge import JudgeRequest
from rewardsmith.plugins.judges.rubric import Criterion, explicit_schema

TWO_CRITERIA = """
[[components]]
id = "review"
type = "rubric-judge"
criteria = [
  { id = "grounded", pass_if = "Quotes a clause.", weight = 3 },
  { id = "actionable", pass_if = "Says what to do." },
]
"""

RULES = {"grounded": lambda t: "Clause" in t, "actionable": lambda t: "should" in t}


def _run(pack_factory, policy, components: str, samples: list[dict[str, Any]]):
    pack, recorder = pack_factory(policy, components)
    return Scorer(pack).score(samples), recorder


def test_generated_schema_has_one_required_object_per_criterion() -> None:
    criteria = [Criterion(id="grounded", pass_if="x"),
                Criterion(id="depth", pass_if="y", levels=[{"score": 0, "description": "a"},
                                                           {"score": 2, "description": "b"}])]
    schema = explicit_schema(criteria)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["grounded", "depth"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["grounded"]["properties"]["verdict"]["enum"] == ["pass", "fail"]
    assert schema["properties"]["depth"]["properties"]["level"] == {"type": "integer",
                                                                     "enum": [0, 2]}
    assert schema["properties"]["depth"]["required"] == ["rationale", "level"]


@pytest.mark.parametrize(("response", "value", "passed"), [
    ("Clause 4 is one-sided; you should cap liability.", 1.0, True),
    ("Clause 4 is one-sided.", 0.75, False),
    ("You should cap liability.", 0.25, False),
    ("Looks fine.", 0.0, False),
])
def test_explicit_aggregation_weights_per_criterion_verdicts(
    pack_factory, response: str, value: float, passed: bool
) -> None:
    batch, _ = _run(pack_factory, rubric_policy(RULES), TWO_CRITERIA, [sample(response)])
    result = batch.results[0]
    outcome = result.components["review"]
    assert outcome.value == pytest.approx(value)
    assert outcome.passed is passed
    assert result.aggregate_reward_score == pytest.approx(value)
    metrics = {m["name"]: m["value"] for m in result.metrics_list()}
    assert metrics["review.grounded"] == float("Clause" in response)
    assert metrics["review.actionable"] == float("should" in response)
    assert metrics["review.input_tokens"] > 0 and metrics["review.judge_calls"] == 1
    details = outcome.details["criteria"]
    assert details["grounded"]["rationale"].startswith("rule for grounded")
    if not passed:
        assert "failed:" in outcome.rationale


def test_levels_are_normalised_and_pass_at_applies(pack_factory) -> None:
    components = """
    [[components]]
    id = "review"
    type = "rubric-judge"
    criteria = [{ id = "depth", pass_if = "Depth of analysis.", pass_at = 3, levels = [
      { score = 1, description = "restates the clause" },
      { score = 3, description = "explains the risk" },
      { score = 5, description = "explains the risk and proposes wording" },
    ] }]
    """
    policy = rubric_policy({"depth": lambda t: min(5, 1 + 2 * t.count("risk"))})
    batch, _ = _run(pack_factory, policy, components,
                    [sample("no", sid="a"), sample("risk", sid="b"), sample("risk risk", sid="c")])
    outcomes = [r.components["review"] for r in batch.results]
    assert [o.value for o in outcomes] == [0.0, 0.5, 1.0]
    assert [o.passed for o in outcomes] == [False, True, True]


def test_implicit_aggregation_normalises_the_holistic_score(pack_factory) -> None:
    components = """
    [[components]]
    id = "overall"
    type = "rubric-judge"
    aggregation = "implicit"
    scale = [1, 5]
    pass_threshold = 0.75
    scale_anchors = [{ score = 1, description = "useless" }, { score = 5, description = "ideal" }]
    criteria = [{ id = "grounded", pass_if = "Quotes a clause." }]
    """

    def policy(request: JudgeRequest) -> dict[str, Any]:
        words = len(read_blocks(request.user)["candidate"].split())
        return {"rationale": f"{words} words", "score": min(5, words)}

    batch, recorder = _run(pack_factory, policy, components,
                           [sample("one", sid="a"), sample("a b c d", sid="b")])
    outcomes = [r.components["overall"] for r in batch.results]
    assert [o.value for o in outcomes] == [0.0, 0.75]
    assert [o.passed for o in outcomes] == [False, True]
    assert outcomes[1].measurements["holistic_score"] == 4
    request = recorder.requests[0]
    assert request.json_schema is not None
    assert request.json_schema["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]
    assert request.system.startswith("[template rubric-judge.implicit/1]")
    assert "5: ideal" in request.system


def test_per_sample_criteria_extend_the_rubric(pack_factory) -> None:
    components = TWO_CRITERIA.replace('type = "rubric-judge"',
                                      'type = "rubric-judge"\nextra_criteria_key = "rubric"')
    rules = {**RULES, "mentions_cap": lambda t: "cap" in t}
    extra = [{"id": "mentions_cap", "pass_if": "Proposes a liability cap.", "weight": 4}]
    batch, recorder = _run(pack_factory, rubric_policy(rules), components, [
        sample("Clause 4: you should cap liability.", sid="with", rubric=extra),
        sample("Clause 4: you should review.", sid="with-fail", rubric=extra),
        sample("Clause 4: you should review.", sid="without"),
    ])
    with_extra, failing_extra, without = (r.components["review"] for r in batch.results)
    assert with_extra.value == 1.0 and with_extra.measurements["mentions_cap"] == 1.0
    assert failing_extra.value == pytest.approx(4 / 8)
    assert without.value == 1.0 and "mentions_cap" not in without.measurements
    first_schema = recorder.requests[0].json_schema
    assert first_schema is not None and "mentions_cap" in first_schema["required"]
    assert "Proposes a liability cap." in recorder.requests[0].system


@pytest.mark.parametrize(("extra", "message"), [
    ([{"id": "x", "pass_if": "p", "wieght": 2}], "wieght"),
    ([{"id": "grounded", "pass_if": "again"}], "used twice"),
    ([{"id": "1bad", "pass_if": "p"}], "identifier"),
    ([{"id": "latency_ms", "pass_if": "p"}], "reserved"),
    ("pass everything", "non-empty list"),
    ([], "non-empty list"),
])
def test_bad_per_sample_criteria_fail_that_sample_clearly(pack_factory, extra, message) -> None:
    components = TWO_CRITERIA.replace('type = "rubric-judge"',
                                      'type = "rubric-judge"\nextra_criteria_key = "rubric"')
    batch, recorder = _run(pack_factory, rubric_policy(RULES), components,
                           [sample("Clause 4: you should.", sid="bad", rubric=extra),
                            sample("Clause 4: you should.", sid="good")])
    bad, good = batch.results
    assert bad.components["review"].error_kind == "invalid_rubric"
    assert message in (bad.components["review"].error or "")
    assert "metadata['rubric']" in (bad.components["review"].error or "")
    assert good.components["review"].value == 1.0
    assert len(recorder.requests) == 1  # no judge call for the bad sample


OFF_SCHEMA = {
    "missing_criterion": {"grounded": {"rationale": "ok", "verdict": "pass"}},
    "extra_key": {"grounded": {"rationale": "ok", "verdict": "pass"},
                  "actionable": {"rationale": "ok", "verdict": "pass"},
                  "bonus": {"rationale": "ok", "verdict": "pass"}},
    "unknown_verdict": {"grounded": {"rationale": "ok", "verdict": "PASS"},
                        "actionable": {"rationale": "ok", "verdict": "pass"}},
    "numeric_verdict": {"grounded": {"rationale": "ok", "verdict": 1},
                        "actionable": {"rationale": "ok", "verdict": "pass"}},
    "missing_rationale": {"grounded": {"verdict": "pass"},
                          "actionable": {"rationale": "ok", "verdict": "pass"}},
    "not_an_object": ["pass", "pass"],
}


@pytest.mark.parametrize("case", sorted(OFF_SCHEMA))
def test_off_schema_verdicts_are_rejected_not_coerced(pack_factory, case: str) -> None:
    batch, _ = _run(pack_factory, lambda _request: OFF_SCHEMA[case], TWO_CRITERIA,
                    [sample("Clause 4: you should.")])
    outcome = batch.results[0].components["review"]
    assert outcome.error_kind == "judge_invalid_verdict"
    assert outcome.raw_value is None


def test_out_of_range_levels_are_rejected(pack_factory) -> None:
    components = """
    [[components]]
    id = "review"
    type = "rubric-judge"
    criteria = [{ id = "depth", pass_if = "Depth.", levels = [
      { score = 1, description = "low" }, { score = 2, description = "mid" },
      { score = 3, description = "high" } ] }]
    """
    # Level = word count: in range for short answers, out of range for long ones.
    policy = rubric_policy({"depth": lambda t: len(t.split())})
    batch, _ = _run(pack_factory, policy, components,
                    [sample("two words", sid="ok"), sample("one two three four", sid="over"),
                     sample("", sid="under")])
    ok, over, under = (r.components["review"] for r in batch.results)
    assert ok.value == 0.5
    assert over.error_kind == under.error_kind == "judge_invalid_verdict"
    assert "depth/level" in (over.error or "")


def test_implicit_score_outside_the_scale_is_rejected(pack_factory) -> None:
    components = """
    [[components]]
    id = "overall"
    type = "rubric-judge"
    aggregation = "implicit"
    scale = [1, 5]
    criteria = [{ id = "grounded", pass_if = "Quotes a clause." }]
    """
    batch, _ = _run(pack_factory, lambda _r: {"rationale": "great", "score": 6}, components,
                    [sample("x")])
    assert batch.results[0].components["overall"].error_kind == "judge_invalid_verdict"


def test_reference_prompt_and_context_blocks_reach_the_judge(pack_factory) -> None:
    components = """
    [[components]]
    id = "review"
    type = "rubric-judge"
    include_prompt = true
    include_reference = true
    context_keys = ["contract", "jurisdiction"]
    context_notes = { contract = "the contract under review" }
    criteria = [{ id = "agrees", pass_if = "Agrees with the reference." }]
    """

    def agrees(request: JudgeRequest) -> dict[str, Any]:
        blocks = read_blocks(request.user)
        same = blocks["candidate"].strip() == blocks["reference"].strip()
        return {"agrees": {"rationale": "compared", "verdict": "pass" if same else "fail"}}

    batch, recorder = _run(pack_factory, agrees, components, [
        sample("cap liability", sid="a", reference_answer="cap liability",
               contract="Clause 9", jurisdiction={"country": "DE"}),
        sample("do nothing", sid="b", reference_answer="cap liability",
               contract="Clause 9", jurisdiction="FR"),
        sample("cap liability", sid="c", contract="Clause 9", jurisdiction="FR"),
        sample("cap liability", sid="d", reference_answer="x", jurisdiction="FR"),
    ])
    a, b, c, d = (r.components["review"] for r in batch.results)
    assert (a.value, b.value) == (1.0, 0.0)
    assert c.error_kind == d.error_kind == "missing_context"
    assert "'contract'" in (d.error or "")
    blocks = read_blocks(recorder.requests[0].user)
    assert list(blocks) == ["prompt", "reference", "contract", "jurisdiction", "candidate"]
    assert blocks["prompt"] == "Review the contract."
    assert '"country": "DE"' in blocks["jurisdiction"]
    system = recorder.requests[0].system
    assert "- `contract`: the contract under review" in system
    assert "- `jurisdiction`: material from the sample's metadata" in system
    assert "- `candidate`: the response to evaluate" in system


def test_oversized_input_fails_instead_of_truncating(pack_factory) -> None:
    components = TWO_CRITERIA.replace('type = "rubric-judge"',
                                      'type = "rubric-judge"\nmax_data_chars = 50')
    batch, recorder = _run(pack_factory, rubric_policy(RULES), components, [sample("x" * 51)])
    assert batch.results[0].components["review"].error_kind == "judge_input_too_large"
    assert recorder.requests == []


def test_criteria_file_is_shared_and_hashed(tmp_path, pack_factory) -> None:
    (tmp_path / "criteria.toml").write_text(
        '[[criteria]]\nid = "grounded"\npass_if = "Quotes a clause."\n', encoding="utf-8")
    components = """
    [[components]]
    id = "review"
    type = "rubric-judge"
    criteria_file = "criteria.toml"
    criteria = [{ id = "actionable", pass_if = "Says what to do." }]
    """
    batch, recorder = _run(pack_factory, rubric_policy(RULES), components,
                           [sample("Clause 1, you should sign")])
    assert batch.results[0].components["review"].value == 1.0
    schema = recorder.requests[0].json_schema
    assert schema is not None and schema["required"] == ["grounded", "actionable"]


@pytest.mark.parametrize(("components", "message"), [
    ('criteria = [{ id = "a", pass_if = "x" }, { id = "a", pass_if = "y" }]', "used twice"),
    ('criteria = [{ id = "cost_usd", pass_if = "x" }]', "reserved"),
    ('criteria = [{ id = "a", pass_if = "x", pass_at = 2 }]', "pass_at needs levels"),
    ('criteria = [{ id = "a", pass_if = "x", levels = [{ score = 1, description = "d" }] }]',
     "at least two levels"),
    ('aggregation = "implicit"\nscale = [5, 1]\ncriteria = [{ id = "a", pass_if = "x" }]',
     "low < high"),
    ("include_reference = true", "needs criteria"),
    ('criteria_file = "missing.toml"', "missing.toml"),
    ('criteria = [{ id = "a", pass_if = "x" }]\ncontext_keys = ["candidate"]', "clash"),
    ('criteria = [{ id = "a", pass_if = "x" }]\ncontext_keys = ["c", "c"]', "twice"),
    ('criteria = [{ id = "a", pass_if = "x" }]\ncontext_notes = { contract = "c" }',
     "not in context_keys"),
])
def test_bad_rubric_configs_fail_at_load(pack_factory, components: str, message: str) -> None:
    text = f'[[components]]\nid = "review"\ntype = "rubric-judge"\n{components}\n'
    with pytest.raises(PackError, match=message):
        pack_factory(rubric_policy(RULES), text)


def test_judge_overrides_are_validated_against_the_backend(pack_factory) -> None:
    text = TWO_CRITERIA + 'judge = { max_concurrency = 0 }\n'
    with pytest.raises(PackError, match="max_concurrency"):
        pack_factory(rubric_policy(RULES), text)
