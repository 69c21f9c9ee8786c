"""One self-contained HTML page about a scored run (and, optionally, its calibration).

Inline CSS, inline SVG and one inline script of our own (sorting and filtering the table
of every sample, :mod:`.views`): no external resource, so the file can be mailed,
archived as a CI artefact and opened offline. A Content-Security-Policy forbids network
loads and every script but that one (pinned by its SHA-256) as a second line of defence;
the first is that every piece of sample-derived text (ids, prompts, references,
metadata, rationales, errors, responses) is redacted and goes through ``html.escape``,
because candidate text is untrusted.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from rewardsmith.core.logs import redact
from rewardsmith.core.telemetry import quantile
from rewardsmith.core.wire import REWARD_KEY
from rewardsmith.report import svg, views
from rewardsmith.report.digest import RunDigest, digest, extremes

EXTREME_COUNT = 5
RATIONALE_PREVIEW = 280
RESPONSE_PREVIEW = 400

_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'")
_CSP_WITH_TABLE = _CSP + f"; script-src {views.script_hash()}"

_CSS = """
:root{--ink:#1f2933;--muted:#5f6b7a;--line:#e3e7ec;--bg:#f6f8fa;--card:#fff;
--accent:#3d6fb6;--good:#2f8f5b;--bad:#c0473a;--warn:#c98a1b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 28px 60px}
header h1{font-size:24px;margin:0 0 4px}
header p{margin:0;color:var(--muted)}
code,.mono{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,monospace;
font-size:12.5px}
h2{font-size:17px;margin:34px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:0 0 6px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(118px,1fr));gap:10px;
margin-top:18px}
.card,.panel{background:var(--card);border:1px solid var(--line);border-radius:8px}
.card{padding:10px 14px}
.card .k{color:var(--muted);font-size:12px}
.card .v{font-size:19px;font-weight:600;white-space:nowrap}
.panel{padding:14px 16px;margin:10px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:10px}
.grid .panel{margin:0}
.sub{color:var(--muted);font-size:12px}
.stats{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px;color:var(--muted);
margin-top:4px}
.stats b{color:var(--ink);font-weight:600}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);
vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;background:#fbfcfd}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;
font-weight:600;background:#e8eef7;color:var(--accent)}
.pill.ok{background:#e3f3ea;color:var(--good)}
.pill.failed{background:#f8e4e1;color:var(--bad)}
.pill.gated{background:#f8efdc;color:var(--warn)}
.sample{background:var(--card);border:1px solid var(--line);border-radius:8px;
margin:10px 0;overflow:hidden}
.sample>.head{display:flex;gap:12px;align-items:baseline;padding:8px 14px;
background:#fbfcfd;border-bottom:1px solid var(--line)}
.sample>.head .reward{font-size:18px;font-weight:700}
.sample .body{padding:6px 14px 10px}
.text{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f5f8;border-radius:6px;
padding:6px 8px;margin:4px 0;font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;
font-size:12px}
.err{color:var(--bad)}
.warn{color:var(--warn)}
details summary{cursor:pointer;color:var(--accent);font-size:12px}
.empty{color:var(--muted);font-style:italic}
footer{margin-top:40px;color:var(--muted);font-size:12px}
.pill.tie{background:#ece8f6;color:#6a4fb0}
.pill.muted{background:#eef0f3;color:var(--muted)}
.controls{display:flex;gap:8px;align-items:center;margin:6px 0}
.controls input{flex:1;max-width:360px;padding:4px 8px}
.scroll{max-height:640px;overflow:auto;border:1px solid var(--line);border-radius:8px}
table.sortable th{cursor:pointer;position:sticky;top:0}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
.ctx{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:8px}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _f(value: float | None, digits: int = 3) -> str:
    return "\u2013" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.0%}"


def _card(key: str, value: str) -> str:
    return f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div></div>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """A table; cells are already-escaped HTML."""
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{_e(h)}</th>'
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if i in numeric else ""}">{cell}</td>'
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- sections ---------------------------------------------------------------------------
def _overview(d: RunDigest) -> str:
    cards = [_card("samples", f"{d.n:,}")]
    if d.rewards:
        ordered = sorted(d.rewards)
        cards += [_card("mean reward", f"{statistics.fmean(ordered):.3f}"),
                  _card("std", f"{statistics.pstdev(ordered):.3f}"),
                  _card("median", f"{quantile(ordered, 0.5):.3f}"),
                  _card("p10 \u2013 p90", f"{quantile(ordered, 0.1):.2f}\u2013"
                                           f"{quantile(ordered, 0.9):.2f}")]
    for status in ("ok", "gated", "failed"):
        cards.append(_card(status, f"{d.statuses.get(status, 0):,}"))
    if d.statuses.get("judge_unavailable"):  # an outage batch: its rows lack the judge
        cards.append(_card("judge_unavailable", f"{d.statuses['judge_unavailable']:,}"))
    if d.has_usage:
        cards.append(_card("judge calls", f"{d.usage_total('judge_calls'):,.0f}"))
        cards.append(_card("judge cost", f"${d.usage_total('cost_usd'):,.4f}"))
    return f'<div class="cards">{"".join(cards)}</div>'


def _reward_section(d: RunDigest) -> str:
    if not d.rewards:
        return '<h2>Reward distribution</h2><p class="empty">No rewards.</p>'
    lo, hi = svg.nice_range(d.rewards)
    chart = svg.histogram(d.rewards, lo=lo, hi=hi, bins=25, width=1000, height=230,
                          mean=statistics.fmean(d.rewards), label="reward distribution")
    return f'<h2>Reward distribution</h2><div class="panel">{chart}</div>'


def _component_section(d: RunDigest) -> str:
    if not d.components:
        return ""
    cards = []
    for comp in d.components.values():
        lo, hi = svg.nice_range(comp.values)
        chart = (svg.histogram(comp.values, lo=lo, hi=hi, bins=12, width=250, height=92,
                               mean=comp.mean, compact=True, label=f"{comp.id} values")
                 if comp.values else '<p class="empty">no values</p>')
        weight = "" if comp.weight is None else f" · weight {svg.fmt(comp.weight)}"
        errors = sum(comp.errors.values())
        stats = [f"mean <b>{_f(comp.mean)}</b>", f"scored <b>{len(comp.values):,}</b>"]
        if comp.verdicts:
            stats.append(f"pass <b>{_pct(comp.pass_rate)}</b>")
        if comp.abstained:
            stats.append(f"abstained <b>{comp.abstained:,}</b>")
        if comp.skipped:
            stats.append(f"skipped <b>{comp.skipped:,}</b>")
        if errors:
            stats.append(f'<span class="err">errors <b>{errors:,}</b> '
                         f'(<b>{_pct(comp.failure_rate)}</b> failed)</span>')
        cards.append(f'<div class="panel"><h3>{_e(comp.id)}</h3>'
                     f'<div class="sub">{_e(comp.type)}{_e(weight)}</div>{chart}'
                     f'<div class="stats">{" ".join(stats)}</div></div>')
    bars = [svg.Bar(c.id, c.pass_rate or 0.0, f"{_pct(c.pass_rate)} ({c.passed:,}/{c.verdicts:,})",
                    svg.GOOD if (c.pass_rate or 0) >= 0.5 else svg.WARN)
            for c in d.components.values() if c.verdicts]
    pass_rates = (f'<h2>Pass rates</h2><div class="panel">'
                  f'{svg.rate_bars(bars, width=760, label="pass rates")}</div>' if bars else "")
    return f'<h2>Components</h2><div class="grid">{"".join(cards)}</div>{pass_rates}'


def _criteria_section(rows: Sequence[dict[str, Any]]) -> str:
    rates = views.criterion_rates(rows)
    if not rates:
        return ""
    table = _table(["component", "criterion", "passed", "judged", "pass rate"],
                   [[f"<code>{_e(r.component)}</code>", _e(r.criterion), f"{r.passed:,}",
                     f"{r.total:,}", _pct(r.rate)] for r in rates], {2, 3, 4})
    bars = [svg.Bar(f"{r.component}.{r.criterion}", r.rate,
                    f"{_pct(r.rate)} ({r.passed:,}/{r.total:,})",
                    svg.GOOD if r.rate >= 0.5 else svg.WARN) for r in rates]
    return (f'<h2 id="criteria">Rubric criteria</h2><div class="panel">'
            f'{svg.rate_bars(bars, width=760, label="criterion pass rates")}{table}</div>')


def _group_section(rows: Sequence[dict[str, Any]]) -> str:
    groups = views.group_spreads(rows)
    if not groups:
        return ""
    flat = sum(g.spread <= 1e-9 for g in groups)
    table = _table(["group", "rollouts", "mean", "std", "min", "max", "spread"],
                   [[f"<code>{_e(g.key[:12])}</code>", f"{g.n:,}", _f(g.mean), _f(g.std),
                     _f(min(g.rewards)), _f(max(g.rewards)),
                     _f(g.spread) + (' <span class="pill gated">no spread</span>'
                                     if g.spread <= 1e-9 else "")]
                    for g in groups], {1, 2, 3, 4, 5, 6})
    return (f'<h2 id="groups">Spread within each group</h2><div class="panel"><div class="sub">'
            f"{len(groups):,} prompt groups of two or more rollouts; {flat:,} "
            f"({_pct(flat / len(groups))}) gave every rollout the same reward (no GRPO "
            f"signal); least spread first</div>{table}</div>")


def _contribution_section(rows: Sequence[dict[str, Any]]) -> str:
    per_component: dict[str, list[float]] = {}
    explained = 0
    for row in rows:
        shares = views.contributions(row)
        if shares is None:
            continue
        explained += 1
        for cid, share in shares.items():
            per_component.setdefault(cid, []).append(share)
    if not explained:
        return ""
    means = {cid: sum(v) / explained for cid, v in per_component.items()}
    total = sum(means.values()) or 1.0
    bars = [svg.Bar(cid, m / total, f"{m:.3f} ({m / total:.0%})")
            for cid, m in means.items()]
    return ('<h2 id="contributions">What makes up the reward</h2><div class="panel">'
            '<div class="sub">mean contribution of each component to the reward (weight '
            f"\u00d7 value / sum of weights) and its share of the mean reward, over the "
            f"{explained:,} ok samples whose reward is that weighted mean; each sample's "
            "split is in its card</div>"
            f'{svg.rate_bars(bars, width=760, label="component contributions")}</div>')


def _all_samples_section(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    return ('<h2 id="samples">Every sample</h2><div class="sub">click a column to sort; '
            "type to filter</div>" + views.samples_table(rows))


def _failure_section(d: RunDigest) -> str:
    rows = [[f'<span class="pill {_e(s)}">{_e(s)}</span>', f"{n:,}",
             _pct(n / d.n if d.n else None)] for s, n in sorted(d.statuses.items())]
    parts = ["<h2>Status and failures</h2>", '<div class="panel">',
             _table(["status", "samples", "share"], rows, {1, 2})]
    kinds = [["sample", f"<code>{_e(kind)}</code>", f"{n:,}"]
             for kind, n in d.sample_failures.most_common()]
    kinds = [[*row, ""] for row in kinds]
    # A component's failure rate is over the samples it ran on (gated ones excluded).
    kinds += [[f"<code>{_e(c.id)}</code>", f"<code>{_e(kind)}</code>", f"{n:,}",
               _pct(n / c.ran if c.ran else None)]
              for c in d.components.values() for kind, n in c.errors.most_common()]
    parts.append('<h3 style="margin-top:14px">Failures by kind</h3>')
    parts.append(_table(["where", "kind", "count", "failure rate"], kinds, {2, 3}) if kinds
                 else '<p class="empty">No failures.</p>')
    if d.gates:
        parts.append('<h3 style="margin-top:14px">Gates that decided the reward</h3>')
        parts.append(_table(["gate", "samples"], [[f"<code>{_e(g)}</code>", f"{n:,}"]
                                                  for g, n in d.gates.most_common()], {1}))
    parts.append("</div>")
    return "".join(parts)


def _usage_section(d: RunDigest) -> str:
    if not d.has_usage:
        return ""
    rows = []
    for c in d.components.values():
        if not (c.usage or c.latencies):
            continue
        latency = statistics.fmean(c.latencies) if c.latencies else None
        rows.append([f"<code>{_e(c.id)}</code>",
                     f"{c.usage.get('judge_calls', 0):,.0f}",
                     f"{c.usage.get('cached', 0):,.0f}",
                     f"{c.usage.get('input_tokens', 0):,.0f}",
                     f"{c.usage.get('output_tokens', 0):,.0f}",
                     f"${c.usage.get('cost_usd', 0):,.4f}",
                     _f(latency, 0)])
    table = _table(["component", "calls", "cached", "input tokens", "output tokens",
                    "cost", "mean latency ms"], rows, {1, 2, 3, 4, 5, 6})
    return f'<h2>Judge usage</h2><div class="panel">{table}</div>'


def _sample_card(row: Mapping[str, Any], responses: Mapping[Any, str],
                 contexts: Mapping[Any, Mapping[str, str]]) -> str:
    status = str(row.get("status", "ok"))
    head = [f'<span class="reward">{_f(row.get(REWARD_KEY))}</span>',
            f'<span class="mono">id {views.safe(row.get("id"))}</span>',
            f'<span class="pill {_e(status)}">{_e(status)}</span>']
    if row.get("gate"):
        head.append(f'<span class="sub">gate <code>{_e(row["gate"])}</code></span>')
    body = []
    if row.get("error"):
        body.append(f'<p class="err">{_e(row.get("error_kind") or "error")}: '
                    f'{views.safe(row["error"])}</p>')
    context = _lookup(contexts, row.get("id")) or {}
    blocks = [f'<div><div class="sub">{name}</div>'
              f'{_long_text(context[name], RESPONSE_PREVIEW)}</div>'
              for name in ("prompt", "reference", "metadata") if context.get(name)]
    if blocks:
        body.append(f'<div class="ctx">{"".join(blocks)}</div>')
    response = _lookup(responses, row.get("id"))
    if response is not None:
        body.append('<div class="sub">response</div>' + _long_text(response, RESPONSE_PREVIEW))
    shares = views.contributions(row)
    comp_rows = []
    for cid, outcome in (row.get("components") or {}).items():
        if not isinstance(outcome, dict):
            continue
        value = outcome.get("value")
        shown = ("\u2013" if outcome.get("skipped") or not isinstance(value, int | float)
                 else _f(value))
        label, css = views.verdict_label(outcome)
        share = "" if shares is None or cid not in shares else _f(shares[cid])
        notes = []
        if outcome.get("rationale"):
            notes.append(_long_text(str(outcome["rationale"]), RATIONALE_PREVIEW))
        if outcome.get("error"):
            notes.append(f'<span class="err">{_e(outcome.get("error_kind") or "error")}: '
                         f'{views.safe(outcome["error"])}</span>')
        comp_rows.append([f"<code>{_e(cid)}</code>", _e(shown),
                          f'<span class="pill {css}">{label}</span>', share, "".join(notes)])
    if comp_rows:
        body.append(_table(["component", "value", "verdict", "contribution",
                            "rationale / error"], comp_rows, {1, 3}))
    return (f'<div class="sample"><div class="head">{"".join(head)}</div>'
            f'<div class="body">{"".join(body)}</div></div>')


def _lookup(responses: Mapping[Any, str], sample_id: Any) -> str | None:
    try:
        return responses.get(sample_id)
    except TypeError:  # an unhashable id (a JSON object or list)
        return None


def _long_text(text: str, preview: int) -> str:
    text = redact(text)
    if len(text) <= preview:
        return f'<div class="text">{_e(text)}</div>'
    return (f'<div class="text">{_e(text[:preview])}…</div>'
            f'<details><summary>full text ({len(text):,} characters)</summary>'
            f'<div class="text">{_e(text)}</div></details>')


def _samples_section(rows: Sequence[dict[str, Any]], responses: Mapping[Any, str],
                     contexts: Mapping[Any, Mapping[str, str]]) -> str:
    low, high = extremes(rows, EXTREME_COUNT)
    parts = []
    for heading, chosen in (("Lowest-scored samples", low), ("Highest-scored samples", high)):
        anchor = "lowest" if chosen is low else "highest"
        parts.append(f'<h2 id="{anchor}">{heading}</h2>')
        parts.extend(_sample_card(r, responses, contexts) for r in chosen)
        if not chosen:
            parts.append('<p class="empty">None.</p>')
    return "".join(parts)


# -- calibration ------------------------------------------------------------------------
_STATUS_COLORS = {"ok": svg.ACCENT, "gated": svg.WARN, "failed": svg.BAD}


def _corr_text(entry: Mapping[str, Any] | None) -> str:
    if not entry or entry.get("value") is None:
        return "undefined" + (f" ({entry['reason']})" if entry and entry.get("reason") else "")
    text = f"{entry['value']:+.3f}"
    if entry.get("ci"):
        low, high = entry["ci"]
        text += f" [{low:+.3f}, {high:+.3f}]"
    elif entry.get("reason"):
        text += f" ({entry['reason']})"
    return text


def _legend(colors: Mapping[str, str]) -> str:
    return " ".join(f'<span style="color:{c}">\u25cf</span> {_e(name)}'
                    for name, c in colors.items())


def _calibration_section(cal: Mapping[str, Any]) -> str:
    correlations = cal.get("correlations") or {}
    reward = (correlations.get("reward") or {})
    spearman = reward.get("spearman") or {}
    confidence = spearman.get("confidence", 0.95)
    unmatched_scored = (cal.get("unmatched_scored") or {}).get("count", 0)
    parts = ['<h2 id="calibration">Calibration against observed outcomes</h2>',
             '<div class="cards">',
             _card("samples joined", f"{cal.get('n_matched', 0):,}"),
             _card("scored, no outcome", f"{unmatched_scored:,}"),
             _card("outcome, not scored",
                   f"{(cal.get('unmatched_outcomes') or {}).get('count', 0):,}"),
             _card("Spearman \u03c1", _f(spearman.get("value"))),
             _card("Kendall \u03c4", _f((reward.get("kendall") or {}).get("value")))]
    fit = cal.get("fit")
    if fit:
        parts.append(_card("R² of fitted weights", _f(fit.get("r_squared"))))
    parts.append("</div>")
    for warning in cal.get("warnings") or []:
        parts.append(f'<p class="warn">⚠ {_e(warning)}</p>')

    points = [svg.Point(float(p["reward"]), float(p["outcome"]),
                        _STATUS_COLORS.get(str(p.get("status")), svg.MUTED),
                        f"id {p.get('id')}: reward {p['reward']:.3f}, outcome {p['outcome']:.3g}")
              for p in cal.get("points") or []]
    if points:
        parts.append('<div class="panel"><h3>Reward vs outcome</h3><div class="sub">'
                     f"each point a sample ({_legend(_STATUS_COLORS)}); Spearman \u03c1 "
                     f"{_e(_corr_text(spearman))} ({confidence:.0%} bootstrap CI)</div>"
                     + svg.scatter(points, x_label="reward", y_label="observed outcome",
                                   width=1000, height=380, label="reward versus outcome")
                     + "</div>")

    rows = [svg.Interval("reward (aggregate)", spearman.get("value"),
                         *(spearman.get("ci") or (None, None)), spearman.get("reason") or "")]
    for cid, by_method in (correlations.get("components") or {}).items():
        s = by_method.get("spearman") or {}
        rows.append(svg.Interval(cid, s.get("value"), *(s.get("ci") or (None, None)),
                                 s.get("reason") or ""))
    parts.append('<div class="panel"><h3>Rank correlation with the outcome</h3>'
                 f'<div class="sub">Spearman \u03c1 with {confidence:.0%} bootstrap interval '
                 "(whiskers); undefined where a score is constant</div>"
                 + svg.interval_bars(rows, width=1000, label="correlations with outcome")
                 + "</div>")
    table_rows = [[_e(label), f"{(by.get('spearman') or {}).get('n', 0):,}",
                   _e(_corr_text(by.get("spearman"))), _e(_corr_text(by.get("kendall")))]
                  for label, by in [("reward", reward),
                                    *(correlations.get("components") or {}).items()]]
    parts.append('<div class="panel">' + _table(
        ["score", "n", f"Spearman \u03c1 [{confidence:.0%} CI]",
         f"Kendall \u03c4 [{confidence:.0%} CI]"],
        table_rows, {1}) + "</div>")

    if fit:
        weights = fit.get("weights") or {}
        ids = list(weights)
        chart = svg.grouped_bars(
            ids, [("current", svg.MUTED, [weights[c]["previous"] for c in ids]),
                  ("fitted", svg.ACCENT, [weights[c]["fitted"] for c in ids])],
            width=1000, label="current versus fitted weights")
        weight_rows = []
        for cid in ids:
            w = weights[cid]
            ci = w.get("ci")
            weight_rows.append([
                f"<code>{_e(cid)}</code>", _f(w.get("previous")), _f(w.get("fitted")),
                "\u2013" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]", f"{w.get('imputed', 0):,}",
                _e(w.get("note") or "")])
        refit, before = fit.get("spearman_refit"), fit.get("spearman_previous")
        parts.append(
            '<div class="panel"><h3>Weights: current vs fitted</h3>'
            f'<div class="sub">non-negative least squares on {fit.get("n", 0):,} ungated '
            f"samples, normalised to sum 1; R² {_f(fit.get('r_squared'))}; Spearman of the "
            f"reward with the outcome {_f(before)} with current weights, {_f(refit)} with "
            "fitted weights (in-sample)</div>" + chart
            + _table(["component", "current", "fitted", f"{fit.get('confidence', 0.95):.0%} CI",
                      "imputed", "note"], weight_rows, {1, 2, 4})
            + "".join(f'<p class="sub">{_e(n)}</p>' for n in fit.get("notes") or [])
            + "</div>")
    return "".join(parts)


# -- the page ---------------------------------------------------------------------------
def render_html_report(
    *,
    pack_ref: Mapping[str, Any],
    results: Sequence[dict[str, Any]],
    title: str,
    calibration: Mapping[str, Any] | None = None,
    extra_sections: Sequence[tuple[str, str]] = (),
    responses: Mapping[Any, str] | None = None,
    generated_at: datetime | None = None,
    contexts: Mapping[Any, Mapping[str, str]] | None = None,
) -> str:
    """The report as one HTML string. See :func:`write_html_report`."""
    d = digest(results)
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    pack_line = (f"pack <b>{_e(pack_ref.get('name', '?'))}</b> "
                 f"{_e(pack_ref.get('version', ''))} "
                 f"<code>{_e(pack_ref.get('hash', ''))}</code> · {d.n:,} samples · {when}")
    body = [f"<header><h1>{_e(title)}</h1><p>{pack_line}</p></header>", _overview(d)]
    if calibration:  # when given, it is what the reader came for
        body.append(_calibration_section(calibration))
    body += [_reward_section(d), _component_section(d), _criteria_section(results),
             _contribution_section(results), _group_section(results), _failure_section(d),
             _usage_section(d)]
    body.append(_samples_section(results, responses or {}, contexts or {}))
    body.append(_all_samples_section(results))
    for heading, section_html in extra_sections:
        body.append(f"<h2>{_e(heading)}</h2>{section_html}")
    body.append("<footer>Written by rewardsmith. Self-contained: no external resources; "
                "one inline script of its own sorts and filters the sample table. Sample "
                "text is shown as inert, escaped, redacted text.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP_WITH_TABLE}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")


def write_html_report(
    path: str | Path,
    *,
    pack_ref: Mapping[str, Any],
    results: Sequence[dict[str, Any]],
    title: str,
    calibration: Mapping[str, Any] | None = None,
    extra_sections: Sequence[tuple[str, str]] = (),
    responses: Mapping[Any, str] | None = None,
    contexts: Mapping[Any, Mapping[str, str]] | None = None,
) -> Path:
    """Write one self-contained HTML report and return its path.

    ``results`` are rows in the ``core.wire.jsonl_row`` shape (in memory or read back
    from JSONL); ``pack_ref`` is ``{"name", "version", "hash"}``; ``calibration`` is
    ``CalibrationResult.to_json(include_points=True)``; ``responses`` maps sample ids to
    response text for the lowest/highest samples and ``contexts`` maps them to
    ``report.views.sample_context`` (prompt, reference, metadata). ``extra_sections`` are
    ``(heading, html)`` pairs whose html is the caller's own trusted markup — never put
    sample text there unescaped.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html_report(pack_ref=pack_ref, results=results, title=title,
                                      calibration=calibration, extra_sections=extra_sections,
                                      responses=responses, contexts=contexts),
                   encoding="utf-8")
    return out
