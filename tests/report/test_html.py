from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import orjson
from tests.support.report import XSS

from rewardsmith.report import render_html_report, write_html_report
from rewardsmith.report.views import TABLE_SCRIPT

WHEN = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def _render(scored, **kwargs):
    return render_html_report(pack_ref=scored["pack_ref"], results=scored["rows"],
                              title="Run <1>", responses=scored["responses"],
                              generated_at=WHEN, **kwargs)


class _Tags(HTMLParser):
    """Every tag and attribute as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_report_shows_distributions_rates_failures_and_usage(scored):
    html = _render(scored)
    text = _text(html)
    for heading in ("Reward distribution", "Components", "Pass rates", "Status and failures",
                    "Failures by kind", "Gates that decided the reward", "Judge usage",
                    "Lowest-scored samples", "Highest-scored samples"):
        assert f">{heading}<" in html, heading
    statuses = {s: sum(r["status"] == s for r in scored["rows"])
                for s in ("ok", "gated", "failed")}
    assert statuses == {"ok": 35, "gated": 4, "failed": 1}
    assert "gated 4 " in text and "failed 1 " in text and "ok 35 " in text
    # Judge usage: the judge and grounded components each made one call per sample
    # they scored; the summary sums them.
    judge_runs = sum("measurements" in r["components"].get("judge", {}) for r in scored["rows"])
    calls = sum(o.get("measurements", {}).get("judge_calls", 0)
                for r in scored["rows"] for o in r["components"].values())
    assert calls > judge_runs  # the gate and grounded record usage too
    assert f"judge calls {calls:,}" in text
    assert f"judge {judge_runs} 0 {judge_runs * 120:,} {judge_runs * 30:,}" in text
    # Failure kinds: the malformed sample and the abstaining component.
    assert "no_score" in text and "malformed_sample" in text
    # One histogram for rewards, one per component, plus the pass-rate bars.
    # ... plus the bars of each component's contribution to the reward.
    assert html.count("<svg") == 1 + 3 + 1 + 1
    assert "Run &lt;1&gt;" in html


def test_candidate_text_is_inert(scored):
    html = _render(scored)
    lowered = html.lower()
    # The one script is the report's own table script; the candidate's became text.
    assert lowered.count("<script") == 1
    assert "<img" not in lowered and "<h1>fake" not in lowered
    tags = _tags(html)
    assert [a for t, a in tags if t == "script"] == [{}]
    assert f"<script>{TABLE_SCRIPT}</script>" in html
    assert "img" not in {t for t, _ in tags}
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert [t for t, _ in tags].count("h1") == 1  # the page's own title only
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in html
    assert "onerror=&quot;document.title" in html
    # Both places the text reaches: the response excerpt and the judge's rationale.
    assert html.count("&lt;script&gt;") >= 2
    assert XSS not in html


def test_the_report_is_self_contained(scored, tmp_path):
    path = write_html_report(tmp_path / "sub" / "r.html", pack_ref=scored["pack_ref"],
                             results=scored["rows"], title="t")
    html = path.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    tags = _tags(html)
    assert not [t for t, attrs in tags if {"src", "href", "srcset", "action"} & set(attrs)]
    assert {t for t, _ in tags}.isdisjoint({"link", "img", "iframe", "object"})
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # Only the report's own script may run: the CSP pins its hash, nothing else.
    (csp,) = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv")]
    digest = base64.b64encode(hashlib.sha256(TABLE_SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "unsafe-inline' " not in csp.split(
        "script-src")[1]
    assert [a for t, a in tags if t == "script"] == [{}]


def test_rows_read_back_from_jsonl_give_the_same_report(scored, tmp_path):
    path = tmp_path / "scored.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in scored["rows"]))
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    again = render_html_report(pack_ref=scored["pack_ref"], results=rows, title="Run <1>",
                               responses=scored["responses"], generated_at=WHEN)
    assert again == _render(scored)


def test_sparse_rows_and_extra_sections_still_render():
    rows = [{"id": 1, "aggregate_reward_score": 0.25}, {"id": [1, 2]},
            {"id": 3, "aggregate_reward_score": 0.75, "status": "ok",
             "components": {"c": {"type": "t", "value": None, "weight": 1, "passed": None,
                                  "error": "boom <b>", "error_kind": "judge_timeout"}}}]
    html = render_html_report(pack_ref={}, results=rows, title="sparse",
                              extra_sections=[("Notes <x>", "<p>trusted markup</p>")],
                              responses={1: "hi"})
    assert "boom &lt;b&gt;" in html and "judge_timeout" in html
    assert "<h2>Notes &lt;x&gt;</h2><p>trusted markup</p>" in html
    assert "abstained" in html


def test_calibration_plots_appear_with_undefined_correlations_explained(scored):
    rows = [r for r in scored["rows"] if r["status"] == "ok"]
    calibration = {
        "n_matched": len(rows),
        "unmatched_scored": {"count": 2, "ids": ["a", "b"]},
        "unmatched_outcomes": {"count": 0, "ids": []},
        "correlations": {
            "reward": {"spearman": {"method": "spearman", "n": 35, "value": 0.61,
                                    "ci": [0.4, 0.77], "confidence": 0.95},
                       "kendall": {"method": "kendall", "n": 35, "value": 0.45,
                                   "ci": [0.3, 0.6], "confidence": 0.95}},
            "components": {
                "judge": {"spearman": {"n": 35, "value": 0.7, "ci": [0.5, 0.85]},
                          "kendall": {"n": 35, "value": 0.5, "ci": [0.35, 0.65]}},
                "format_ok": {"spearman": {"n": 35, "value": None,
                                           "reason": "the score is constant <zero variance>"},
                              "kendall": {"n": 35, "value": None}}}},
        "fit": {"n": 35, "r_squared": 0.42, "spearman_refit": 0.66, "spearman_previous": 0.61,
                "confidence": 0.95, "notes": ["a note <i>"],
                "weights": {"judge": {"fitted": 0.8, "previous": 0.667, "ci": [0.6, 1.0],
                                      "imputed": 0},
                            "grounded": {"fitted": 0.2, "previous": 0.333, "imputed": 5}}},
        "points": [{"id": r["id"], "reward": r["aggregate_reward_score"],
                    "outcome": i * 0.1, "status": "ok"} for i, r in enumerate(rows)],
        "warnings": ["not joined: 2 scored samples <x>"],
    }
    html = _render(scored, calibration=calibration)
    assert ">Calibration against observed outcomes<" in html
    assert html.count("<circle") == len(rows)
    assert "the score is constant &lt;zero variance&gt;" in html
    assert "not joined: 2 scored samples &lt;x&gt;" in html and "a note &lt;i&gt;" in html
    assert html.count("<svg") == 6 + 3  # scatter, correlation bars, weight bars
    assert "0.800" in html and "[0.600, 1.000]" in html
