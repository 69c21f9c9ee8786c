from __future__ import annotations

import asyncio
import math
import time

import pytest
from tests.support.toy_plugin import sample

from rewardsmith.core.errors import SampleError
from rewardsmith.core.wire import lambda_row, metrics_list

GATED = """
[pack]
name = "gated"
version = "1"

[[components]]
id = "nonempty"
type = "non-empty"
gate = { fail_reward = 0.05 }

[[components]]
id = "yes"
type = "contains"
needle = "yes"

[[components]]
id = "judge"
type = "sleepy"
"""


def test_failed_gate_stops_later_components(make_scorer, calls) -> None:
    scorer = make_scorer(GATED)
    batch = scorer.score([sample(1, "yes"), sample(2, "   "), sample(3, "")])
    assert calls["nonempty"] == 3
    assert calls["yes"] == 1 and calls["judge"] == 1  # only the sample that passed the gate
    first, second, third = batch.results
    assert first.status == "ok" and second.status == "gated" and third.status == "gated"
    assert second.reward == 0.05 and second.gate == "nonempty"
    assert second.components["judge"].skipped and second.components["judge"].value is None


def test_rewards_in_input_order_one_per_input(make_scorer) -> None:
    scorer = make_scorer(GATED)
    raw = [sample(i, "yes" if i % 2 else "no") for i in range(50)]
    batch = scorer.score(raw)
    assert [r.id for r in batch.results] == list(range(50))
    # yes: mean of contains=1 and sleepy=0.8; no: mean of 0 and 0.8
    assert batch.rewards[1] == pytest.approx(0.9) and batch.rewards[0] == pytest.approx(0.4)


def test_malformed_samples_never_cost_the_batch(make_scorer) -> None:
    scorer = make_scorer(GATED)
    raw = [
        sample("good", "yes"),
        {"id": "no-messages"},
        {"id": "no-assistant", "messages": [{"role": "user", "content": "q"}]},
        {"id": "wrong-types", "messages": [{"role": "assistant", "content": 42}]},
        SampleError("line 5: not valid JSON", kind="invalid_json", sample_id=5),
        sample("huge", "y" * 5_000_000),
        sample("binary", "\x00\x01\xff\ufffd" * 1000 + "yes"),
        None,
        ["not", "a", "dict"],
    ]
    batch = scorer.score(raw)
    assert len(batch.results) == len(raw)
    assert all(math.isfinite(r) for r in batch.rewards)
    by_id = {r.id: r for r in batch.results}
    assert by_id["good"].status == "ok" and by_id["good"].reward > 0.5
    assert by_id["binary"].status == "ok"
    for bad, fragment in [("no-messages", "missing 'messages'"),
                          ("no-assistant", "no assistant turn"),
                          ("wrong-types", "'content' must be"), (5, "not valid JSON")]:
        assert by_id[bad].status == "failed"
        assert fragment in (by_id[bad].error or "")
        assert by_id[bad].reward == 0.0
    assert batch.results[7].id == 7 and batch.results[7].status == "failed"
    # 5,000,000 chars exceed the pack's default 1,000,000 limit: failed, named, not lost
    assert by_id["huge"].status == "failed" and by_id["huge"].error_kind == "oversized_response"


@pytest.mark.parametrize(
    ("policy", "expected_value", "status"),
    [("abstain", None, "ok"), ("neutral", 0.25, "ok"), ("zero", 0.0, "ok"),
     ("fail", None, "failed")],
)
def test_failure_policies(make_scorer, policy, expected_value, status) -> None:
    scorer = make_scorer(GATED.replace('type = "sleepy"', f'type = "sleepy"\non_error = "{policy}"'
                                       "\nneutral_value = 0.25"))
    result = scorer.score([sample(1, "yes judge-down")]).results[0]
    assert result.status == status
    outcome = result.components["judge"]
    assert outcome.error_kind == "judge_unavailable" and outcome.policy == policy
    assert outcome.value == expected_value
    if policy == "abstain":
        assert result.reward == 1.0  # renormalised over 'yes' alone
    if policy == "zero":
        assert result.reward == 0.5
    if policy == "fail":
        assert result.reward == 0.0 and "judge" in (result.error or "")


def test_group_mean_policy_borrows_the_groups_mean(make_scorer) -> None:
    scorer = make_scorer(GATED.replace('type = "sleepy"', 'type = "sleepy"\non_error = '
                                       '"group_mean"'))
    batch = scorer.score([sample(1, "yes", "p1"), sample(2, "yes judge-down", "p1"),
                          sample(3, "yes judge-down", "p2")])
    assert batch.results[1].components["judge"].value == pytest.approx(0.8)
    # no successful peer in its group: nothing to borrow, and abstaining would leave the
    # reward to the other components (issue 14), so the sample fails, loudly
    assert batch.results[2].components["judge"].value is None
    assert batch.results[2].status == "failed"
    assert "on every sample of its group" in (batch.results[2].error or "")


def test_component_exception_and_invalid_scores_are_contained(make_scorer) -> None:
    scorer = make_scorer("""
[pack]
name = "r"
version = "1"
[[components]]
id = "ratio"
type = "ratio"
[[components]]
id = "boom"
type = "contains"
needle = "x"
""")
    batch = scorer.score([sample(1, "nan"), sample(2, "7"), sample(3, "not-a-score"),
                          sample(4, "0.5 explode"), sample(5, "-1")])
    kinds = [r.components["ratio"].error_kind for r in batch.results]
    assert kinds[:3] == ["invalid_score"] * 3
    assert batch.results[3].components["boom"].error_kind == "exception"
    assert "component blew up" in (batch.results[3].components["boom"].error or "")
    assert batch.results[4].components["ratio"].value == -1.0
    # ratio's range is [-1, 1]: -1 normalises to 0 before weighting
    assert batch.results[4].reward == 0.0
    assert all(math.isfinite(r) for r in batch.rewards)


def test_deadline_abandons_pending_work_and_applies_policy(make_scorer) -> None:
    scorer = make_scorer(GATED.replace('type = "sleepy"', 'type = "sleepy"\non_error = "zero"'))
    started = time.monotonic()
    batch = scorer.score([sample(1, "yes hang"), sample(2, "yes")], timeout_s=0.3)
    assert time.monotonic() - started < 30  # a hang of one hour was cut short
    assert batch.deadline_hit
    hung, fine = batch.results
    assert hung.components["judge"].error_kind == "deadline" and hung.components["judge"].value == 0
    assert fine.components["judge"].value == 0.8
    assert batch.telemetry.failures["deadline"] == 1


def test_per_component_timeout(make_scorer) -> None:
    scorer = make_scorer(GATED.replace('type = "sleepy"', 'type = "sleepy"\ntimeout_s = 0.05'))
    result = scorer.score([sample(1, "yes hang")]).results[0]
    assert result.components["judge"].error_kind == "timeout"
    assert result.reward == 1.0


def test_blocking_and_group_components(make_scorer, calls) -> None:
    scorer = make_scorer("""
[pack]
name = "g"
version = "1"
[[components]]
id = "work"
type = "blocking-work"
[[components]]
id = "rank"
type = "length-rank"
weight = 3
""")
    raw = [sample(i, "x" * (i + 1), prompt="p" if i < 4 else "q") for i in range(6)]
    batch = scorer.score(raw)
    assert calls["work"] == 6 and calls["rank"] == 2  # one call per prompt group
    ranks = [r.components["rank"].value for r in batch.results]
    assert ranks == pytest.approx([0, 1 / 3, 2 / 3, 1, 0, 1])
    assert batch.results[0].components["rank"].measurements["group_size"] == 4


def test_formula_aggregation_with_abstained_component(make_scorer) -> None:
    scorer = make_scorer(GATED + '\n[aggregate]\nmethod = "formula"\n'
                         'formula = "yes * judge"\n')
    ok, down = scorer.score([sample(1, "yes"), sample(2, "yes judge-down")]).results
    assert ok.reward == pytest.approx(0.8)
    assert down.reward == pytest.approx(0.5)  # neutral stands in


async def test_async_api_and_sync_facade_inside_a_running_loop(make_scorer) -> None:
    scorer = make_scorer(GATED)
    batch = await scorer.ascore([sample(1, "yes")])
    assert batch.rewards == [pytest.approx(0.9)]
    # the sync facade runs on its own loop thread, so it works under a running loop too
    assert scorer.score([sample(1, "yes")]).rewards == [pytest.approx(0.9)]
    await asyncio.sleep(0)
    scorer.close()


def test_metrics_list_is_the_nova_shape(make_scorer) -> None:
    scorer = make_scorer(GATED)
    row = lambda_row(scorer.score([sample("a", "yes")]).results[0], failure_reward=0.0)
    assert row["id"] == "a" and isinstance(row["aggregate_reward_score"], float)
    names = {m["name"]: m for m in row["metrics_list"]}
    assert names["yes"]["type"] == "Reward" and names["judge.tokens"]["type"] == "Metric"
    assert all(set(m) == {"name", "value", "type"} for m in row["metrics_list"])


def test_measurements_of_a_failed_component_are_kept(make_scorer, monkeypatch) -> None:
    from tests.support import toy_plugin

    from rewardsmith.core.errors import ComponentError

    async def failing(self, sample):  # type: ignore[no-untyped-def]
        raise ComponentError("value 7 outside [0, 1]", kind="metric_out_of_range",
                             measurements={"raw": 7.0})

    monkeypatch.setattr(toy_plugin.Sleepy, "score", failing)
    result = make_scorer(GATED).score([sample(1, "yes")]).results[0]
    outcome = result.components["judge"]
    assert outcome.error_kind == "metric_out_of_range" and outcome.measurements["raw"] == 7.0
    names = {m["name"]: m["value"] for m in metrics_list(result)}
    assert names["judge.raw"] == 7.0 and names["judge.failed"] == 1.0


RAISERS = """
[pack]
name = "raisers"
version = "1"
[[components]]
id = "sync"
type = "raiser"
[[components]]
id = "async_"
type = "async-raiser"
"""


@pytest.mark.parametrize("name", ["KeyboardInterrupt", "SystemExit", "CancelledError",
                                  "GeneratorExit"])
def test_base_exceptions_from_plugins_are_contained(make_scorer, name) -> None:
    scorer = make_scorer(RAISERS)
    batch = scorer.score([sample(1, name), sample(2, "fine")], timeout_s=30)
    bad, good = batch.results
    # CancelledError is an ordinary component error; the others are named plugin_exit
    expected = "exception" if name == "CancelledError" else "plugin_exit"
    assert bad.components["sync"].error_kind == expected
    assert bad.components["async_"].error_kind == expected
    assert name in (bad.components["sync"].error or "")
    assert good.reward == 1.0
    # the scorer's loop survived: the next batch is scored normally
    assert scorer.score([sample(3, "fine")]).rewards == [1.0]
    scorer.close()


def test_a_formula_error_costs_only_its_sample(make_scorer) -> None:
    scorer = make_scorer(GATED + '\n[aggregate]\nmethod = "formula"\n'
                         'formula = "(yes - 1) ** 0.5"\n')
    ok, complex_result = scorer.score([sample(1, "yes"), sample(2, "no")]).results
    assert ok.status == "ok" and ok.reward == 0.0
    assert complex_result.status == "failed" and "formula" in (complex_result.error or "")


def test_parser_bug_keeps_the_samples_id(make_scorer, monkeypatch) -> None:
    from rewardsmith.core import engine

    def broken(raw, index, **_):  # type: ignore[no-untyped-def]
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(engine, "parse_sample", broken)
    result = make_scorer(GATED).score([sample("keep-me", "yes")]).results[0]
    assert result.id == "keep-me" and result.error_kind == "internal_error"


ERRING_GATE = """
[pack]
name = "erring-gate"
version = "1"

[[components]]
id = "ratio"
type = "ratio"
gate = {{ fail_reward = 0.1{gate_extra} }}
{component_extra}

[[components]]
id = "yes"
type = "contains"
needle = "yes"
"""


def test_a_gate_that_errors_fails_closed(make_scorer, calls) -> None:
    scorer = make_scorer(ERRING_GATE.format(gate_extra="", component_extra=""))
    broken, fine = scorer.score([sample(1, "yes, not a number"), sample(2, "1.0")]).results
    assert broken.status == "gated" and broken.gate == "ratio"
    assert broken.reward == 0.1
    assert broken.components["ratio"].error_kind == "exception"
    assert broken.components["yes"].skipped
    assert fine.status == "ok"
    assert calls["yes"] == 1  # only the sample whose gate could check


def test_a_gate_can_be_told_to_let_errors_through(make_scorer) -> None:
    scorer = make_scorer(ERRING_GATE.format(gate_extra=', on_error = "pass"',
                                            component_extra='on_error = "zero"'))
    (broken,) = scorer.score([sample(1, "yes, not a number")]).results
    assert broken.status == "ok" and broken.gate is None
    assert broken.components["ratio"].error_kind == "exception"
    assert broken.components["ratio"].policy == "zero"
    assert broken.reward == 1.0  # the gate's weight is 0; 'yes' decides


ABSTAINING_GATE = """
[pack]
name = "abstaining-gate"
version = "1"

[[components]]
id = "check"
type = "kind-raiser"
gate = { fail_reward = 0.1 }

[[components]]
id = "yes"
type = "contains"
needle = "yes"
"""


@pytest.mark.parametrize("kind", ["undetermined", "not_compared", "group_too_small"])
def test_a_gate_that_abstains_never_decides_the_sample(make_scorer, kind) -> None:
    (result,) = make_scorer(ABSTAINING_GATE).score([sample(1, f"kind:{kind}")]).results
    assert result.status == "ok" and result.gate is None
    assert result.components["check"].error_kind == kind
    assert result.components["check"].value is None  # on_error 'abstain': drops out
    assert result.reward == 0.0  # 'yes' decides: the text has no "yes"


@pytest.mark.parametrize("kind", ["regex_timeout", "exception", "timeout", "invalid_score",
                                  "missing_metadata", "error"])
def test_a_gate_with_a_real_error_still_fails_closed(make_scorer, kind) -> None:
    (result,) = make_scorer(ABSTAINING_GATE).score([sample(1, f"kind:{kind}")]).results
    assert result.status == "gated" and result.gate == "check"
    assert result.reward == 0.1
    assert result.components["check"].error_kind == kind


def test_a_failing_gate_with_on_error_fail_fails_the_sample(make_scorer) -> None:
    scorer = make_scorer(ERRING_GATE.format(gate_extra="", component_extra='on_error = "fail"')
                         .replace('version = "1"', 'version = "1"\nfailure_reward = 0.0'))
    (broken,) = scorer.score([sample(1, "yes, not a number")]).results
    assert broken.status == "failed" and broken.reward == 0.0


def test_a_gate_abandoned_at_the_deadline_lets_no_check_score_the_sample(
    make_scorer, calls,
) -> None:
    scorer = make_scorer("""
[pack]
name = "slow-gate"
version = "1"

[[components]]
id = "judge_gate"
type = "sleepy"
gate = { fail_reward = 0.2 }

[[components]]
id = "yes"
type = "contains"
needle = "yes"
""")
    (hung,) = scorer.score([sample(1, "yes hang")], timeout_s=0.3).results
    # Not gated (nothing was checked) but not through either: the sample fails.
    assert hung.status == "failed" and hung.reward == 0.0
    assert hung.components["judge_gate"].error_kind == "deadline"
    assert calls["yes"] == 0  # no check scored a sample its gate did not clear


def test_a_batch_too_large_for_its_deadline_is_answered_whole_without_reading_it_all(
    make_scorer,
) -> None:
    # Issue 10: reading stops while the results still fit; the rest is answered, by id,
    # as not read (deadline), and counted.
    scorer = make_scorer(RAISERS)
    batch = [sample(f"s{i}", "fine") for i in range(3000)]
    result = scorer.score(batch, timeout_s=0.0005)
    assert [r.id for r in result.results] == [f"s{i}" for i in range(3000)]
    unread = [r for r in result.results if r.error == "not read: the batch deadline came first"]
    assert unread and all(r.error_kind == "deadline" and r.status == "failed" for r in unread)
    assert result.deadline_hit
    assert result.telemetry.failures["deadline"] >= len(unread)
    scorer.close()


@pytest.mark.parametrize("timeout_s", [0, -1, 0.0, math.nan, math.inf, -math.inf])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused(make_scorer,
                                                                   timeout_s: float) -> None:
    """timeout_s=0, -1 or nan used to return the failure reward for every sample, silently."""
    scorer = make_scorer(GATED)
    with pytest.raises(ValueError, match=r"Scorer\.score: timeout_s .* got"):
        scorer.score([sample(1, "yes")], timeout_s=timeout_s)
    with pytest.raises(ValueError, match=r"Scorer\.ascore: timeout_s"):
        asyncio.run(scorer.ascore([sample(1, "yes")], timeout_s=timeout_s))
    with pytest.raises(TypeError, match="timeout_s must be a number"):
        scorer.score([sample(1, "yes")], timeout_s="5")  # type: ignore[arg-type]
    assert scorer.score([sample(1, "yes")], timeout_s=30).results[0].status == "ok"


def test_a_non_finite_deadline_is_refused(make_scorer) -> None:
    scorer = make_scorer(GATED)
    with pytest.raises(ValueError, match="deadline must be a finite"):
        asyncio.run(scorer.ascore([sample(1, "yes")], deadline=math.nan))


def test_duplicate_ids_are_scored_counted_and_logged(make_scorer) -> None:
    """Ids are echoed as given, so duplicates are scored, but never silently."""
    from structlog.testing import capture_logs

    scorer = make_scorer(GATED)
    with capture_logs() as logs:
        batch = scorer.score([sample("dup", "yes"), sample("dup", "yes"), sample(1, "yes"),
                              sample("1", "yes"), sample("dup", "no")])
    assert [r.id for r in batch.results] == ["dup", "dup", 1, "1", "dup"]
    assert all(r.status == "ok" for r in batch.results)
    assert batch.summary()["duplicate_ids"] == 2  # 1 and "1" are different ids
    [warning] = [e for e in logs if e["event"] == "duplicate_ids"]
    assert warning["log_level"] == "warning" and warning["count"] == 2
    assert warning["ids"] == ["dup"]


def test_unique_ids_report_no_duplicates(make_scorer) -> None:
    from structlog.testing import capture_logs

    scorer = make_scorer(GATED)
    with capture_logs() as logs:
        batch = scorer.score([sample(1, "yes"), sample(2, "yes")])
    assert batch.summary()["duplicate_ids"] == 0
    assert not [e for e in logs if e["event"] == "duplicate_ids"]
