"""Per-step statistics: Spearman, score rows, the reward Lambda's log lines, bad files."""

from __future__ import annotations

import io
import json
import math
import random

import pytest
from tests.support.monitor_runs import write_lambda_step, write_run

from rewardsmith.aws_lambda.observability import InvocationRecord, log_invocation
from rewardsmith.monitor import monitor
from rewardsmith.monitor.steps import MonitorInputError, read_step, spearman


def test_spearman_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(5)
    for n in (8, 30, 200):
        x = [rng.randint(0, 9) for _ in range(n)]  # many ties
        y = [v + rng.gauss(0, 3) for v in x]
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert spearman(list(range(10)), [x * x for x in range(10)]) == pytest.approx(1.0)
    assert spearman([1] * 10, list(range(10))) is None  # constant side
    assert spearman([1, 2, 3], [1, 2, 3]) is None  # too few pairs


def test_rows_give_every_statistic(tmp_path):
    judge_errors = [{"id": f"e{i}", "messages": [
        {"role": "user", "content": "Question 0 of step 1"},
        {"role": "assistant", "content": "short"}],
        "metadata": {"scores": {"format_ok": 1.0, "correct": 0.5},
                     "errors": {"judge": kind}, "judge_usage": {"judge_calls": 1}}}
        for i, kind in enumerate(["judge_parse"] * 3 + ["judge_refused"] * 2)]
    paths = write_run(tmp_path, steps=1, extra={1: judge_errors})
    st = monitor(paths).steps[0]
    assert st.source == "rows" and st.samples == 133
    assert st.groups == 16 and st.zero_variance_group_share == 0.0
    assert st.judge_outcomes == 133
    assert st.parse_failure_rate == pytest.approx(3 / 133)
    assert st.refusal_rate == pytest.approx(2 / 133)
    assert st.components["judge"].judge and not st.components["correct"].judge
    assert st.components["judge"].errors == {"judge_parse": 3, "judge_refused": 2}
    assert set(st.criteria_pass_rates) == {"judge.accurate", "judge.concise"}
    assert 0 < st.swap_inconsistency < 0.2
    assert st.judge_calls == 128 * 2  # errored calls reported no usage
    assert st.judge_cost_usd == pytest.approx(128 * 0.0004)
    assert st.judge_check_corr > 0.6 and abs(st.length_reward_corr) < 0.3
    assert st.reward.n == 133 and 0 < st.reward.mean < 1
    doc = st.to_json()
    json.dumps(doc, allow_nan=False)
    assert doc["components"]["format_ok"]["saturated_share"] > 0.85


def test_lambda_log_lines_give_the_invocation_statistics(tmp_path):
    path = write_lambda_step(tmp_path / "step.log", [
        {"samples": 10, "reward_mean": 0.5, "reward_std": 0.1, "judge_calls": 40,
         "cost_usd": 0.02, "failures": {"judge_parse": 4, "judge_refused": 1},
         "failed_samples": 1, "deadline_hit": True},
        {"samples": 30, "reward_mean": 0.7, "reward_std": 0.2, "judge_calls": 60,
         "cost_usd": 0.03, "failures": {"judge_parse": 1}},
    ])
    st, skipped = read_step(path, 1)
    assert skipped == []  # START/END platform lines are the Lambda's own, passed over
    assert st.source == "lambda" and st.samples == 40 and st.failed == 1
    assert st.reward.mean == pytest.approx((10 * 0.5 + 30 * 0.7) / 40)
    pooled = (10 * (0.01 + 0.25) + 30 * (0.04 + 0.49)) / 40 - 0.65 ** 2
    assert st.reward.std == pytest.approx(math.sqrt(pooled))
    assert st.judge_calls == 100 and st.judge_cost_usd == pytest.approx(0.05)
    assert st.parse_failure_rate == pytest.approx(5 / 100)
    assert st.refusal_rate == pytest.approx(1 / 100)
    assert st.deadline_hits == 1
    assert st.length_reward_corr is None and st.zero_variance_group_share is None


def test_lambda_log_without_emf_uses_the_invocation_lines(tmp_path):
    out = io.StringIO()
    log_invocation(InvocationRecord(samples=8, summary={
        "reward_mean": 0.25, "reward_std": 0.0, "judge_calls": 8,
        "failures": {"judge_parse": 2}}), stream=out)
    path = tmp_path / "step.log"
    path.write_text(out.getvalue(), encoding="utf-8")
    st, _ = read_step(path, 1)
    assert st.samples == 8 and st.reward.mean == 0.25 and st.parse_failure_rate == 0.25


def test_lambda_rates_are_per_judge_call_from_the_call_counters(tmp_path):
    # Since issue 14 a failed call is counted once as a call (judge_call_failures) and the
    # samples it cost apart (failures): rates per call read the former, from EMF or lines.
    summary = {"samples": 10, "reward_mean": 0.5, "reward_std": 0.1, "judge_calls": 20,
               "failures": {"judge_parse": 9}, "judge_call_failures": {"judge_parse": 3,
                                                                       "judge_refused": 1}}
    st, _ = read_step(write_lambda_step(tmp_path / "emf.log", [dict(summary)]), 1)
    assert st.parse_failure_rate == pytest.approx(3 / 20)
    assert st.refusal_rate == pytest.approx(1 / 20)
    out = io.StringIO()
    log_invocation(InvocationRecord(samples=summary.pop("samples"), summary=summary),
                   stream=out)
    (tmp_path / "lines.log").write_text(out.getvalue(), encoding="utf-8")
    st, _ = read_step(tmp_path / "lines.log", 1)
    assert st.parse_failure_rate == pytest.approx(3 / 20)


def test_a_parse_failure_storm_in_the_lambda_is_an_alarm(tmp_path):
    steps = [write_lambda_step(tmp_path / f"s{i}.log", [
        {"samples": 50, "reward_mean": 0.6, "reward_std": 0.2, "judge_calls": 100,
         "failures": {"judge_parse": 20 if i >= 4 else 1}}]) for i in range(1, 7)]
    alarms = monitor(steps).alarms
    assert [(a["step"], a["signal"]) for a in alarms] == [(4, "judge_parse_failures")]


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty: no score rows and no reward-Lambda log lines"),
    ("\n  \n", "is empty: no score rows and no reward-Lambda log lines"),
    ('{"hello": 1}\n{not json\nSTART RequestId: x\n',
     "(3 unusable line(s): line 1: a JSON object of another kind (keys 'hello'): neither a "
     "score row"),
    ('{"hello": 1}\n{not json\nSTART RequestId: x\n',
     "line 2: not valid JSON (Expecting property name enclosed in double quotes at column 2); "
     "line 3: not JSON)"),
])
def test_an_unusable_step_file_is_named(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MonitorInputError, match=r"step 3: .*bad\.jsonl") as info:
        read_step(path, 3)
    assert message in str(info.value)


def test_mixed_rows_and_lambda_lines_are_refused(tmp_path):
    rows = write_run(tmp_path / "run", steps=1)[0].read_text(encoding="utf-8")
    lam = write_lambda_step(tmp_path / "l.log", [{"samples": 1, "reward_mean": 1.0}])
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(rows + lam.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(MonitorInputError,
                       match=r"mixes score rows \(line 1\) and Lambda log lines \(line 130\)"):
        read_step(mixed, 1)


def test_malformed_lines_are_counted_not_fatal(tmp_path):
    path = write_run(tmp_path, steps=1)[0]
    path.write_text(path.read_text(encoding="utf-8") + "{broken\n", encoding="utf-8")
    result = monitor([path])
    assert result.skipped_lines == {1: 1} and result.steps[0].samples == 128
