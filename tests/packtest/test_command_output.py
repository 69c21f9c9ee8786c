"""What ``packs test`` prints and writes: the table, JSON, the HTML report, case selection."""

from __future__ import annotations

import json

from .conftest import sample, write_suite


def test_failing_case_names_expected_and_observed(tmp_path, run_cli):
    cases = [
        {"kind": "probe", "name": "too-kind", "category": "verbosity",
         "sample": sample("Replace the washer."), "expect": {"reward_below": 0.2},
         "verdicts": {"cmp": {"winner": "A"}}},
        {"kind": "pair", "name": "backwards", "better": sample("Do nothing."),
         "worse": sample("Replace the washer now."),
         "verdicts": {"better": {"review": {"actionable": "fail"}},
                      "worse": {"review": {"actionable": "pass"}}}},
        {"kind": "golden", "name": "fine", "sample": sample("Turn off the water first."),
         "expect": {"reward": [0.99, 1.0], "status": "ok"},
         "verdicts": {"cmp": {"winner": "A"}}},
    ]
    pack = write_suite(tmp_path / "pack", cases)
    result = run_cli(str(pack), "--backend", "simulator")
    assert result.exit_code == 1
    out = result.output
    assert "too-kind (probe" in out and "expected reward < 0.2, observed reward 1.0000" in out
    assert "backwards (pair" in out and "expected 'better' strictly above 'worse'" in out
    assert "better: reward 0.2500" in out and "worse: reward 0.7500" in out
    assert "fine " in out and "1 passed, 2 failed" in out
    assert "review=1.0000" in out  # observed component values are shown


def test_case_selection_json_and_html_report(tmp_path, run_cli):
    report_path = tmp_path / "r.html"
    result = run_cli("json-extraction", "--case", "clean-invoice", "--case",
                     "fake-verdict-json", "--json", "--report", str(report_path))
    assert result.exit_code == 0
    data = json.loads(result.output.split("report:")[0])
    assert [c["name"] for c in data["cases"]] == ["clean-invoice", "fake-verdict-json"]
    assert data["distributions"]["golden"]["n"] == 1
    assert data["agreement"]["n"] == 0 and data["agreement"]["kappa"] is None
    html = report_path.read_text()
    assert "Test suite cases" in html and "fake-verdict-json" in html
    assert "AOS-2024-0193" in html  # response excerpts of the lowest/highest samples
    # ... with the prompt they answered and the case's reference (issue 14)
    assert '<div class="sub">prompt</div>' in html and "[user] " in html
    assert '<div class="sub">reference</div>' in html
    assert "<script" not in html.split("Test suite cases")[1].lower()
