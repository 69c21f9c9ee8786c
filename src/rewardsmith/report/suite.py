"""Suite reports for people: a plain-text table, and the per-case section of the HTML report."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from rewardsmith.packtest.runner import SuiteReport


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rewards(rewards: dict[str, float]) -> str:
    if "reward" in rewards:
        return f"{rewards['reward']:.3f}"
    return f"{rewards['better']:.3f} > {rewards['worse']:.3f}"


def text_report(report: SuiteReport) -> str:
    """A pack test run as plain text: one line a case, the failures, reward distributions
    by case kind and the judge's agreement with the suite's labels."""
    pack = report.pack
    lines = [f"pack {pack['name']} {pack['version']} ({pack['hash']}), backend {report.backend}",
             ""]
    width = max([len(c.name) for c in report.cases] + [4])
    lines.append(f"  {'case':<{width}}  {'kind':<6}  {'category':<17}  {'reward':<15}  result")
    for case in report.cases:
        lines.append(f"  {case.name:<{width}}  {case.kind:<6}  {case.category or '':<17}  "
                     f"{_rewards(case.rewards):<15}  {'PASS' if case.passed else 'FAIL'}")
    failed = report.failed_cases
    if failed:
        lines += ["", "failures:"]
        for case in failed:
            lines.append(f"  {case.name} ({case.kind}, {case.where}):")
            lines += [f"    - {f}" for f in case.failures]
    lines += ["", "reward distributions:"]
    for kind, dist in report.distributions.items():
        lines.append(f"  {kind:<12} n={dist['n']:<3} mean={_num(dist['mean'])} "
                     f"min={_num(dist['min'])} median={_num(dist['median'])} "
                     f"max={_num(dist['max'])}")
    agreement = report.agreement
    lines += ["", f"judge agreement with labels: n={agreement.n} "
                  f"accuracy={_num(agreement.accuracy)} kappa={_num(agreement.kappa)}"
                  + (f" (no verdict for {report.unanswered_labels})"
                     if report.unanswered_labels else "")]
    for label, value in sorted(report.agreement_by_label.items()):
        lines.append(f"  {label:<40} n={value.n:<3} accuracy={_num(value.accuracy)} "
                     f"kappa={_num(value.kappa)}")
    judges = report.judges
    lines.append(f"judge parse-failure rate: {_num(judges['parse_failure_rate'])}; "
                 f"estimated cost per sample: ${_num(judges['cost_per_sample_usd'], 6)}")
    for cid, stats in judges["components"].items():
        extra = ""
        if stats["position_inconsistency"] is not None:
            extra = f" position_inconsistency={_num(stats['position_inconsistency'])}"
        errors = f" errors={stats['errors']}" if stats["errors"] else ""
        lines.append(f"  {cid:<24} scored={stats['scored']} "
                     f"parse_failures={stats['parse_failures']}{extra}{errors}")
        bias = stats.get("position_bias")
        if bias is not None:
            lines.append(f"    position bias: first slot {_num(bias['first_slot_mean'])} vs "
                         f"last {_num(bias['last_slot_mean'])}, correlation of score with "
                         f"position {_num(bias['position_correlation'])}")
        for pair, agree in ((stats.get("jury") or {}).get("pairs") or {}).items():
            lines.append(f"    jurors {pair}: agreement={_num(agree['agreement'])} "
                         f"kappa={_num(agree['kappa'])} "
                         f"error_correlation={_num(agree['error_correlation'])}")
    if report.cassette:
        cassette = report.cassette
        if "recorded" in cassette:
            lines.append(f"cassette: recorded {cassette['entries']} exchanges to "
                         f"{cassette['recorded']}")
        else:
            lines.append(f"cassette: replayed {cassette['used']} of {cassette['entries']} "
                         f"exchanges from {cassette['replayed']}; misses "
                         f"{len(cassette['misses'])}, stale entries {len(cassette['stale'])}")
            lines += [f"  miss  {k}" for k in cassette["misses"]]
            lines += [f"  stale {k}" for k in cassette["stale"][:10]]
            if len(cassette["stale"]) > 10:
                lines.append(f"  ... and {len(cassette['stale']) - 10} more stale entries")
    causes = [str(o["cause"]) for o in report.judge_outages.values()]
    lines += [f"judge: {message}" for message in report.judge_notices.values()
              if not any(message in cause for cause in causes)]  # else said just below
    for cid, outage in report.judge_outages.items():
        prefix = "warning" if outage.get("allowed") else "error"
        lines.append(f"{prefix}: judge component {cid!r} judged no case ({outage['kind']} "
                     f"x{outage['failed']}): {outage['cause']}")
    lines += ["", f"{len(report.cases) - len(failed)} passed, {len(failed)} failed"]
    return "\n".join(lines)


def cases_section(report: SuiteReport) -> tuple[str, str]:
    """The per-case table for ``write_html_report(extra_sections=...)``; all text escaped."""
    e = html.escape
    rows = []
    for case in report.cases:
        failures = "<br>".join(e(f) for f in case.failures)
        rows.append(
            f"<tr><td>{e(case.name)}</td><td>{e(case.kind)}</td><td>{e(case.category or '')}"
            f"</td><td>{e(_rewards(case.rewards))}</td><td>{'PASS' if case.passed else 'FAIL'}"
            f"</td><td>{failures}</td></tr>")
    agreement = report.agreement
    summary = (f"<p>{len(report.cases) - len(report.failed_cases)} passed, "
               f"{len(report.failed_cases)} failed; backend {e(report.backend)}; judge "
               f"agreement n={agreement.n}, accuracy {e(_num(agreement.accuracy))}, kappa "
               f"{e(_num(agreement.kappa))}; parse-failure rate "
               f"{e(_num(report.judges['parse_failure_rate']))}</p>")
    table = ("<table><thead><tr><th>case</th><th>kind</th><th>category</th><th>reward</th>"
             "<th>result</th><th>expected vs observed</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>")
    notices = "".join(f"<p class=\"notice\">judge: {e(m)}</p>"
                      for m in report.judge_notices.values())
    notices += "".join(f"<p class=\"notice\">judge component {e(cid)} judged no case "
                       f"({e(o['kind'])}): {e(o['cause'])}</p>"
                       for cid, o in report.judge_outages.items())
    return "Test suite cases", summary + notices + table


def judge_notices_section(notices: Mapping[str, str]) -> tuple[str, str]:
    """The run's judge notices (permanent errors with the server's message, structured-output
    step-downs) for ``write_html_report(extra_sections=...)``; all text escaped."""
    items = "".join(f"<li>{html.escape(message)}</li>" for message in notices.values())
    return "Judge notices", f"<ul>{items}</ul>"
