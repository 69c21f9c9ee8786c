"""The report's views: rubric criteria, group spread, contributions, verdict labels, the
context of shown samples, redaction, and the sortable, filterable table of every sample,
rendered by headless Chromium with its script running."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.support import metadata_plugin
from tests.support.browser import dump_dom, needs_chromium

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.rollouts import response_excerpt
from rewardsmith.core.wire import jsonl_row, pack_ref_json
from rewardsmith.report import write_html_report
from rewardsmith.report.views import (
    contributions,
    criterion_rates,
    group_spreads,
    sample_context,
    verdict_label,
)

PACK = """
[pack]
name = "views-demo"
version = "2.0.0"

[[components]]
id = "format"
type = "metadata-score"
usage_key = "none"
weight = 1

[[components]]
id = "pairwise"
type = "metadata-score"
usage_key = "pair"
weight = 1

[[components]]
id = "rubric"
type = "metadata-score"
weight = 2

[[components]]
id = "grounded"
type = "metadata-score"
usage_key = "none"
weight = 1
"""
SECRET = "sk-live0123456789abcdefXYZ"
PAIR = {"tie": {"wins": 0, "ties": 2, "losses": 0, "comparisons": 2},
        "win": {"wins": 2, "ties": 0, "losses": 0, "comparisons": 2},
        "loss": {"wins": 0, "ties": 0, "losses": 2, "comparisons": 2}}


def _sample(g: int, r: int, fmt: float, pair: str, rubric: float,
            grounded: float | None) -> dict[str, Any]:
    scores = {"format": fmt, "pairwise": {"tie": 0.5, "win": 1.0, "loss": 0.0}[pair],
              "rubric": rubric}
    if grounded is not None:
        scores["grounded"] = grounded
    return {
        "id": f"g{g}-r{r}",
        "messages": [{"role": "system", "content": "You answer contract questions."},
                     {"role": "user", "content": f"Question {g}: is clause {g} binding? "
                                                 f"(my key is {SECRET})"},
                     {"role": "assistant", "content": f"Answer {g}.{r} " + "y" * (10 * r)}],
        "reference_answer": f"Clause {g} is binding.",
        "metadata": {"scores": scores, "pair": PAIR[pair], "customer": f"acme-{g}",
                     "judge_usage": {"judge_calls": 1, "cost_usd": 0.001},
                     "details": {"rubric": {"criteria": {
                         "cites_clause": {"passed": rubric >= 0.5},
                         "no_legal_advice": {"passed": r != 3}}}}},
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("views")
    samples = []
    for g in range(3):
        for r in range(4):
            if g == 2:  # a group whose rollouts all got the same reward
                samples.append(_sample(g, r, 1.0, "tie", 0.5, 0.5))
                continue
            samples.append(_sample(g, r, 1.0 if r else 0.0, ("tie", "win", "loss", "win")[r],
                                   r / 3, None if r == 1 else 0.25 * r))
    pack_path = tmp / "views-demo.toml"
    pack_path.write_text(PACK, encoding="utf-8")
    host = make_plugin_host(load_entry_points=False, plugins=[("fixture", metadata_plugin)])
    pack = load_pack(pack_path, host)
    scorer = Scorer(pack)
    try:
        results = scorer.score(samples).results
    finally:
        scorer.close()
    rows = [jsonl_row(r) for r in results]
    page = write_html_report(
        tmp / "report.html", pack_ref=pack_ref_json(pack.ref), results=rows, title="Views",
        responses={s["id"]: response_excerpt(s) for s in samples},
        contexts={s["id"]: sample_context(s) for s in samples})
    return {"rows": rows, "page": page, "tmp": tmp}


def test_labels_tell_a_tie_an_abstention_and_a_pass_apart(run):
    by_id = {r["id"]: r["components"] for r in run["rows"]}
    assert verdict_label(by_id["g0-r0"]["pairwise"])[0] == "tie"
    assert verdict_label(by_id["g0-r1"]["pairwise"])[0] == "win"
    assert verdict_label(by_id["g0-r2"]["pairwise"])[0] == "loss"
    assert verdict_label(by_id["g0-r1"]["grounded"])[0] == "abstained"
    assert verdict_label(by_id["g0-r1"]["format"])[0] == "pass"
    assert verdict_label(by_id["g0-r0"]["format"])[0] == "fail"


def test_contributions_add_up_to_the_reward(run):
    row = next(r for r in run["rows"] if r["id"] == "g0-r2")
    shares = contributions(row)
    assert shares is not None
    assert sum(shares.values()) == pytest.approx(row["aggregate_reward_score"])
    # weights 1, 1, 2, 1 over format 1.0, pairwise 0.0, rubric 2/3, grounded 0.5
    assert shares == pytest.approx({"format": 1 / 5, "pairwise": 0.0,
                                    "rubric": 2 * (2 / 3) / 5, "grounded": 0.5 / 5})
    # An abstaining component drops out and the weights renormalise.
    abstained = contributions(next(r for r in run["rows"] if r["id"] == "g0-r1"))
    assert set(abstained) == {"format", "pairwise", "rubric"}
    assert contributions({**row, "aggregate_reward_score": 0.99}) is None  # not additive


def test_criteria_and_groups(run):
    rates = {(c.component, c.criterion): (c.passed, c.total)
             for c in criterion_rates(run["rows"])}
    assert rates == {("rubric", "cites_clause"): (8, 12),
                     ("rubric", "no_legal_advice"): (9, 12)}
    spreads = group_spreads(run["rows"])
    assert [g.n for g in spreads] == [4, 4, 4]
    assert spreads[0].spread == 0.0 and spreads[1].spread > 0


def test_context_is_kept_and_cut():
    ctx = sample_context(_sample(0, 1, 1, "tie", 1, 1))
    assert ctx["prompt"].startswith("[system] You answer") and "[user] Question 0" in ctx["prompt"]
    assert ctx["reference"] == "Clause 0 is binding."
    assert '"customer": "acme-0"' in ctx["metadata"]
    long = _sample(0, 1, 1, "tie", 1, 1)
    long["messages"][1]["content"] = "z" * 5000 + " the end"
    cut = sample_context(long)["prompt"]
    assert cut.startswith("…") and cut.endswith("the end") and len(cut) == 2001
    assert sample_context({"messages": "nope"}) is None


@needs_chromium
def test_the_rendered_page_shows_the_views(run):
    dom = dump_dom(run["tmp"], run["page"], run_scripts=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
    # criteria table
    assert "Rubric criteria" in dom
    assert "rubric cites_clause 8 12 67%" in text
    assert "rubric no_legal_advice 9 12 75%" in text
    # group spread: three groups, one without spread
    assert "Spread within each group" in dom
    assert "3 prompt groups of two or more rollouts; 1 (33%) gave every rollout the same " \
           "reward" in text
    assert text.count("no spread") == 1
    # contributions: the summary chart and each shown sample's split
    assert "What makes up the reward" in dom and "component contributions" in dom
    assert "contribution" in text
    # context of the shown samples, redacted
    assert "Clause 1 is binding." in text and "acme-1" in text
    assert SECRET not in dom and "[REDACTED]" in dom
    # verdict labels
    assert '<span class="pill tie">tie</span>' in dom
    assert '<span class="pill gated">abstained</span>' in dom
    assert '<span class="pill ok">pass</span>' in dom
    # the table of every sample, its script ran under the page's CSP
    assert dom.count('<tr data-status="ok">') == 12
    assert "12 of 12 samples" in text


@needs_chromium
def test_the_table_sorts_and_filters_from_the_fragment(run, tmp_path):
    page: Path = run["page"]
    sorted_page = tmp_path / "sorted.html"
    sorted_page.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    url = sorted_page.as_uri() + "#sort=reward&dir=desc"
    from tests.support.browser import chromium

    dom = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", url).stdout
    table = dom[dom.index('id="all-samples"'):]
    rewards = [float(v) for v in re.findall(r'<td class="num" data-v="([0-9.]+)">[0-9.]+</td>'
                                            r'<td data-v="ok">', table)]
    assert len(rewards) == 12 and rewards == sorted(rewards, reverse=True)
    assert 'aria-sort="descending"' in table
    filtered = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom",
                        sorted_page.as_uri() + "#q=g2-").stdout
    assert "4 of 12 samples" in filtered
    assert filtered.count("<tr hidden") + filtered.count('hidden=""') >= 8
