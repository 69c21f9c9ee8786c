"""The monitor's self-contained HTML dashboard: plots over steps, the alarms, a table.

Same rules as the scored-run report (:mod:`rewardsmith.report.html`): inline CSS and
inline SVG (:mod:`rewardsmith.report.svg`), no script, no external resource, a
Content-Security-Policy that forbids both, and every text from the inputs (paths,
component ids, criterion names) escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from rewardsmith.monitor.rules import Rule
from rewardsmith.monitor.steps import StepStats
from rewardsmith.report import svg
from rewardsmith.report.html import _CSS

_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'")
_PALETTE = (svg.ACCENT, svg.GOOD, svg.WARN, svg.BAD, "#7a5cb8", "#2b9aa0", svg.MUTED,
            "#b5651d")
_MORE_CSS = """
.alarm{border-left:4px solid var(--bad);padding:6px 10px;margin:6px 0;background:#fff}
.alarm b{color:var(--bad)}
.gap{border-left:4px solid var(--warn);padding:6px 10px;margin:6px 0;background:#fff}
.ok-banner{border-left:4px solid var(--good);padding:6px 10px;background:#fff}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:10px}
.plots .panel{margin:0}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _f(value: float | None, digits: int = 3) -> str:
    return "\u2013" if value is None else f"{value:.{digits}f}"


def _panel(title: str, sub: str, chart: str) -> str:
    return (f'<div class="panel"><h3>{_e(title)}</h3><div class="sub">{_e(sub)}</div>'
            f"{chart}</div>")


def _marks(alarms: Sequence[Mapping[str, Any]], signals: set[str]) -> list[int]:
    return [int(a["step"]) for a in alarms if a["signal"] in signals]


def render_dashboard(steps: Sequence[StepStats], alarms: Sequence[Mapping[str, Any]],
                     rules: Sequence[Rule], *, title: str = "rewardsmith monitor",
                     generated_at: datetime | None = None,
                     missing: Sequence[Mapping[str, Any]] = (),
                     not_evaluated: Sequence[Mapping[str, Any]] = ()) -> str:
    """The dashboard as one HTML string: alarms first, then the gaps (``missing``: a
    watched value undefined at a step) and the rules never evaluated, then one plot per
    statistic over the steps (dashed red rules where that statistic's alarms fired), then
    the per-step table (with each step's gaps) and the rules in force."""
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<header><h1>{_e(title)}</h1><p>{len(steps)} steps · {len(alarms)} alarm(s)"
            f" · {len(missing)} gap(s) · {when}</p></header>", '<h2 id="alarms">Alarms</h2>']
    if alarms:
        body += [f'<div class="alarm">step <b>{a["step"]}</b> · <b>{_e(a["signal"])}</b>'
                 + (f' · <code>{_e(a["key"])}</code>' if a.get("key") else "")
                 + f' · <span class="sub">{_e(a["message"])}</span></div>' for a in alarms]
    else:
        body.append('<div class="ok-banner">No alarm fired.</div>')
    if missing or not_evaluated:
        body.append('<h2 id="missing">Missing values</h2>')
        body += [f'<div class="gap">step <b>{m["step"]}</b> · <b>missing</b> · '
                 f'<code>{_e(m["metric"])}</code> · <span class="sub">{_e(m["message"])}'
                 "</span></div>" for m in missing]
        body += [f'<div class="gap">rule <code>{_e(r["rule"])}</code>'
                 + (f' [<code>{_e(r["key"])}</code>]' if r.get("key") else "")
                 + f' · <b>not evaluated</b> · <code>{_e(r["metric"])}</code> · '
                 f'<span class="sub">{_e(r["reason"])}</span></div>' for r in not_evaluated]

    def series(name: str, getter: Any, color: str = svg.ACCENT) -> svg.Series:
        return svg.Series(name, [getter(s) for s in steps], color)

    plots = [
        _panel("Reward", "mean, p10 and p90 per step",
               svg.line_chart([series("mean", lambda s: s.reward.mean),
                               series("p10", lambda s: s.reward.p10, svg.MUTED),
                               series("p90", lambda s: s.reward.p90, svg.MUTED)],
                              label="reward over steps")),
        _panel("Length\u2013reward correlation", "Spearman \u03c1 of response length and reward",
               svg.line_chart([series("\u03c1", lambda s: s.length_reward_corr)],
                              marks=_marks(alarms, {"length_padding"}), y_range=(-1, 1),
                              label="length-reward correlation over steps")),
        _panel("Judge\u2013check correlation",
               "Spearman \u03c1 of mean judge and mean check values",
               svg.line_chart([series("\u03c1", lambda s: s.judge_check_corr)],
                              marks=_marks(alarms, {"judge_check_divergence"}),
                              y_range=(-1, 1), label="judge-check correlation over steps")),
        _panel("Group spread", "share of prompt groups whose rollouts all got one reward",
               svg.line_chart([series("zero-variance groups",
                                      lambda s: s.zero_variance_group_share)],
                              marks=_marks(alarms, {"group_spread_collapse"}),
                              y_range=(0, 1), label="zero-variance group share over steps")),
        _panel("Swap inconsistency", "pairwise verdicts that flip with the order",
               svg.line_chart([series("inconsistency", lambda s: s.swap_inconsistency)],
                              marks=_marks(alarms, {"swap_inconsistency"}), y_range=(0, 1),
                              label="swap inconsistency over steps")),
        _panel("Judge parse failures and refusals", "share of judge outcomes",
               svg.line_chart([series("parse failures", lambda s: s.parse_failure_rate,
                                      svg.BAD),
                               series("refusals", lambda s: s.refusal_rate, svg.WARN)],
                              marks=_marks(alarms, {"judge_parse_failures",
                                                    "judge_refusals"}),
                              y_range=(0, 1), label="judge failure rates over steps")),
        _panel("Judge cost", "estimated US dollars per step",
               svg.line_chart([series("cost", lambda s: s.judge_cost_usd)],
                              label="judge cost over steps")),
    ]
    component_ids = list(dict.fromkeys(c for s in steps for c in s.components))
    if component_ids:
        colors = {cid: _PALETTE[i % len(_PALETTE)] for i, cid in enumerate(component_ids)}
        plots.append(_panel(
            "Components", "mean value per step",
            svg.line_chart([svg.Series(cid, [s.components[cid].values.mean
                                             if cid in s.components else None
                                             for s in steps], colors[cid])
                            for cid in component_ids], y_range=(0, 1),
                           label="component means over steps")))
        plots.append(_panel(
            "Component saturation", "share of samples at the component's top value",
            svg.line_chart([svg.Series(cid, [s.components[cid].saturated_share
                                             if cid in s.components else None
                                             for s in steps], colors[cid])
                            for cid in component_ids], y_range=(0, 1),
                           marks=_marks(alarms, {"component_saturation"}),
                           label="component saturation over steps")))
    criteria = list(dict.fromkeys(c for s in steps for c in s.criteria_pass_rates))
    if criteria:
        plots.append(_panel(
            "Rubric criteria", "pass rate per criterion",
            svg.line_chart([svg.Series(c, [s.criteria_pass_rates.get(c) for s in steps],
                                       _PALETTE[i % len(_PALETTE)])
                            for i, c in enumerate(criteria)], y_range=(0, 1),
                           label="criterion pass rates over steps")))
    body += ['<h2 id="plots">Over steps</h2>', f'<div class="plots">{"".join(plots)}</div>']
    body += ['<h2 id="steps">Steps</h2>', _step_table(steps, missing)]
    body += ['<h2 id="rules">Rules in force</h2>', _rules_table(rules)]
    body.append("<footer>Written by rewardsmith monitor. Self-contained: no scripts, no "
                "external resources.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}{_MORE_CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")


def _step_table(steps: Sequence[StepStats], missing: Sequence[Mapping[str, Any]]) -> str:
    head = ["step", "file", "source", "samples", "failed", "reward mean", "reward std",
            "zero-var groups", "len\u2013reward \u03c1", "judge\u2013check \u03c1",
            "swap incons.", "parse fail", "refusals", "judge cost $", "missing"]
    gaps: dict[int, list[str]] = {}
    for m in missing:
        gaps.setdefault(int(m["step"]), []).append(str(m["metric"]))
    rows = [[str(s.step), f"<code>{_e(Path(s.path).name)}</code>", _e(s.source),
             f"{s.samples:,}", f"{s.failed:,}", _f(s.reward.mean), _f(s.reward.std),
             _f(s.zero_variance_group_share, 2), _f(s.length_reward_corr, 2),
             _f(s.judge_check_corr, 2), _f(s.swap_inconsistency, 2),
             _f(s.parse_failure_rate, 3), _f(s.refusal_rate, 3), f"{s.judge_cost_usd:.4f}",
             ", ".join(f"<code>{_e(g)}</code>" for g in gaps.get(s.step, []))]
            for s in steps]
    return _table(head, rows)


def _rules_table(rules: Sequence[Rule]) -> str:
    rows = []
    for r in rules:
        conds = [f"{k} {getattr(r, k)}" for k in ("above", "below", "rise", "fall")
                 if getattr(r, k) is not None]
        rows.append([f"<code>{_e(r.name)}</code>", _e(r.signal), f"<code>{_e(r.metric)}</code>",
                     _e(", ".join(conds)), str(r.baseline_steps), str(r.window),
                     _e(r.description)])
    return _table(["rule", "signal", "metric", "conditions", "baseline steps", "window",
                   "meaning"], rows)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="panel"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>' \
           "</table></div>"


def write_dashboard(path: str | Path, steps: Sequence[StepStats],
                    alarms: Sequence[Mapping[str, Any]], rules: Sequence[Rule], *,
                    title: str = "rewardsmith monitor",
                    missing: Sequence[Mapping[str, Any]] = (),
                    not_evaluated: Sequence[Mapping[str, Any]] = ()) -> Path:
    """Write :func:`render_dashboard` to ``path`` (parents created) and return it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_dashboard(steps, alarms, rules, title=title, missing=missing,
                                    not_evaluated=not_evaluated), encoding="utf-8")
    return out
