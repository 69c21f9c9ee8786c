"""``rewardsmith monitor`` as the tester ran it (findings 7, 8 and the input-message LOW
item): a rules file that could never fire exits 2 naming file, rule, bad name and the
closest name; rules no step can evaluate are warned about; a gap is reported per step in
the table, in ``--json`` and in the dashboard, and does not raise an alarm again; skipped
lines are named by file and line with what is wrong."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from tests.support.monitor_runs import write_gap_run, write_lambda_step, write_run

from rewardsmith.cli.main import build_cli
from rewardsmith.core.plugins import make_plugin_host


def _run(*args: str):
    cli = build_cli(make_plugin_host(load_entry_points=False))
    return CliRunner().invoke(cli, ["monitor", *args], catch_exceptions=False)


@pytest.fixture
def lambda_steps(tmp_path):
    """lam_ok.log and lam_refusal.log of the tester: two judge calls each, every call
    refused in the second."""
    return [str(write_lambda_step(tmp_path / f"lam_{name}.log", [
        {"samples": 2, "reward_mean": 1.0, "reward_std": 0.0, "judge_calls": 2,
         "failures": {"judge_refused": refused}}]))
        for name, refused in (("ok", 0), ("refusal", 2))]


@pytest.mark.parametrize(("metric", "hint"), [
    ("refusal_rte", "unknown metric 'refusal_rte' (did you mean 'refusal_rate'?)"),
    ("components.*.saturation", "unknown component statistic 'saturation' in "
     "'components.*.saturation' (did you mean 'components.*.saturated_share'?)"),
])
def test_the_testers_rules_file_exits_two_naming_file_rule_and_name(tmp_path, lambda_steps,
                                                                     metric, hint):
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[[rule]]\nname = "refusals"\nsignal = "judge_refusals"\n'
                     f'metric = "{metric}"\nabove = 0.0\n', encoding="utf-8")
    result = _run("--rules", str(rules), *lambda_steps)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: rules file {rules}, rule 1 ('refusals'): "
                                    f"metric: {hint}")


def test_the_corrected_rules_file_fires(tmp_path, lambda_steps):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "refusals"\nsignal = "judge_refusals"\n'
                     'metric = "refusal_rate"\nabove = 0.0\n', encoding="utf-8")
    result = _run("--rules", str(rules), *lambda_steps)
    assert result.exit_code == 1
    assert "ALARM step 2: judge_refusals: refusal_rate = 1.000" in result.stdout


def test_a_rule_no_step_can_evaluate_is_a_warning_and_in_the_json(tmp_path, lambda_steps):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "correct"\nsignal = "criterion"\n'
                     'metric = "criteria.q.correct"\nbelow = 0.5\n', encoding="utf-8")
    result = _run("--rules", str(rules), *lambda_steps)
    assert result.exit_code == 0 and "no alarms" in result.stdout
    assert result.stderr == (
        "warning: rule 'correct' (criteria.q.correct) was not evaluated: no step has "
        "criterion 'q.correct': the step is reward-Lambda log lines, which carry "
        "per-invocation figures only (no samples, components or criteria)\n")
    doc = json.loads(_run("--json", "--rules", str(rules), *lambda_steps).stdout)
    assert [e["rule"] for e in doc["not_evaluated"]] == ["correct"]


class _Sections(HTMLParser):
    """The text of the dashboard's gap boxes and the 'missing' cells of its step table."""

    def __init__(self) -> None:
        super().__init__()
        self.gaps: list[str] = []
        self.rows: list[list[str]] = []
        self._in_gap = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "div" and ("class", "gap") in attrs:
            self._in_gap = 1
            self.gaps.append("")
        elif tag == "div" and self._in_gap:
            self._in_gap += 1
        if tag == "tr":
            self.rows.append([])
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "div" and self._in_gap:
            self._in_gap -= 1
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._in_gap:
            self.gaps[-1] += data
        if self._cell is not None:
            self._cell.append(data)


def test_a_gap_is_reported_per_step_and_raises_no_second_alarm(tmp_path):
    paths = [str(p) for p in write_gap_run(tmp_path / "run", gap="absent")]
    html = tmp_path / "dash.html"
    table = _run("--html", str(html), *paths)
    assert table.exit_code == 1
    assert [line for line in table.stdout.splitlines() if line.startswith("ALARM")] == [
        "ALARM step 4: component_saturation [j]: components.j.saturated_share = 1.000 "
        "(baseline 0.000 over the first 3 steps): A component gives its top value to almost "
        "every sample, and did not at the start: it no longer separates responses (a "
        "loophole?)."]
    assert ("MISSING step 5: components.j.saturated_share is undefined at this step: no row "
            "of this step has component 'j' (watched by component_saturation; alarm state "
            "carried across the gap)") in table.stdout.splitlines()
    doc = json.loads(_run("--json", *paths).stdout)
    assert [(a["step"], a["signal"]) for a in doc["alarms"]] == [(4, "component_saturation")]
    assert {(m["step"], m["signal"], m["metric"]) for m in doc["missing"] if m["step"] == 5} \
        == {(5, "missing", "components.j.saturated_share"), (5, "missing", "judge_check_corr"),
            (5, "missing", "parse_failure_rate"), (5, "missing", "refusal_rate")}
    page = _Sections()
    page.feed(html.read_text(encoding="utf-8"))
    assert any(g.startswith("step 5 · missing · components.j.saturated_share · ")
               for g in page.gaps), page.gaps
    # and the two swap rules, which this run (no pairwise judge) cannot evaluate
    assert len(page.gaps) == len(doc["missing"]) + 2
    assert [e["rule"] for e in doc["not_evaluated"]] == ["swap_inconsistency_rising",
                                                         "swap_inconsistency_high"]
    assert page.gaps[-1].startswith("rule swap_inconsistency_high · not evaluated · "
                                    "swap_inconsistency · undefined in all 7 steps: needs a "
                                    "pairwise judge")
    step_rows = [r for r in page.rows if r and r[0].isdigit() and len(r) == 15]
    assert [r[0] for r in step_rows] == ["1", "2", "3", "4", "5", "6", "7"]
    assert step_rows[4][-1] == ("components.j.saturated_share, judge_check_corr, "
                                "parse_failure_rate, refusal_rate")
    assert step_rows[0][-1] == "" and step_rows[5][-1] == "judge_check_corr"


def test_skipped_lines_are_named_by_file_and_line(tmp_path):
    paths = write_run(tmp_path / "run", steps=2)
    rows = paths[1].read_text(encoding="utf-8")
    paths[1].write_text(rows + "{not json\n[1, 2]\n" + '{"hello": 1}\n' * 5, encoding="utf-8")
    result = _run(*map(str, paths))
    assert result.exit_code == 0
    assert [line for line in result.stderr.splitlines()
            if line.startswith("warning: step")] == [
        f"warning: step 2: {paths[1]} line 129 skipped: not valid JSON (Expecting property "
        "name enclosed in double quotes at column 2)",
        f"warning: step 2: {paths[1]} line 130 skipped: a JSON array of 2 item(s), not an "
        "object",
        *[f"warning: step 2: {paths[1]} line {n} skipped: a JSON object of another kind "
          "(keys 'hello'): neither a score row (with 'aggregate_reward_score' and "
          "'components' or 'status') nor a reward-Lambda line (an EMF document or a "
          "'reward_invocation' line)" for n in (131, 132, 133)],
        f"warning: step 2: {paths[1]}: 2 more line(s) skipped (7 in all; --json lists them)"]


def test_a_file_of_malformed_lines_exits_two_with_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    result = _run(str(bad))
    assert result.exit_code == 2
    assert result.stderr == (f"error: step 1: {bad} has no score rows and no reward-Lambda "
                             "log lines (1 unusable line(s): line 1: not valid JSON "
                             "(Expecting property name enclosed in double quotes at column "
                             "2))\n")


def test_rules_not_evaluated_for_one_reason_share_a_warning(tmp_path):
    paths = [str(p) for p in write_run(tmp_path / "run", steps=2)]
    result = _run(*paths)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "warning: rules 'length_padding' (length_reward_corr), 'judge_check_divergence' "
        "(judge_check_corr), 'component_saturation' (components.*.saturated_share), "
        "'group_spread_collapse' (zero_variance_group_share), 'swap_inconsistency_rising' "
        "(swap_inconsistency) were not evaluated: the run has 2 step(s): a rise/fall rule is "
        "evaluated only after its baseline, the first 3 steps"]
    assert _run(*paths, paths[0], paths[1]).stderr == ""  # four steps: every rule runs
