"""A calibration result as a table for the terminal (``rewardsmith calibrate``)."""

from __future__ import annotations

from typing import Any


def _ci_text(corr: Any) -> str:
    if corr.value is None:
        return f"undefined ({corr.reason})"
    if corr.ci_low is None:
        return f"{corr.value:+.3f} (no CI)" if corr.reason else f"{corr.value:+.3f}"
    return f"{corr.value:+.3f} [{corr.ci_low:+.3f}, {corr.ci_high:+.3f}]"


def calibration_table(result: Any) -> str:
    """The human summary: correlations with CIs, then previous vs fitted weights."""
    lines = [f"pack {result.pack['name']} {result.pack['version']} ({result.pack['hash']}): "
             f"{result.n_matched} samples joined with outcomes "
             f"({', '.join(f'{n} {s}' for s, n in sorted(result.statuses.items()))})"]
    lines.extend(f"warning: {w}" for w in result.warnings)
    confidence = next(iter(result.reward_correlation.values())).confidence
    names = ["reward", *result.component_correlations]
    width = max(10, *(len(n) + 2 for n in names))
    lines += ["", "rank correlation with the outcome:"]
    lines.append(f"{'score':<{width}}  {'n':>6}  "
                 f"{f'spearman [{confidence:.0%} CI]':<28}  kendall [{confidence:.0%} CI]")
    rows = [("reward", result.reward_correlation),
            *((f"  {cid}", by) for cid, by in result.component_correlations.items())]
    for label, by_method in rows:
        s, k = by_method["spearman"], by_method["kendall"]
        if s.value is None:
            lines.append(f"{label:<{width}}  {s.n:>6}  {_ci_text(s)}")
        else:
            lines.append(f"{label:<{width}}  {s.n:>6}  {_ci_text(s):<28}  {_ci_text(k)}")
    no_ci = [f"{label.strip()} ({by['spearman'].reason.removeprefix('no interval: ')})"
             for label, by in rows
             if by["spearman"].value is not None and by["spearman"].ci_low is None
             and by["spearman"].reason]
    if no_ci:
        lines.append("no CI: " + "; ".join(no_ci))
    fit = result.fit
    if fit is not None:
        refit = "-" if fit.spearman_refit is None else f"{fit.spearman_refit:+.3f}"
        before = "-" if fit.spearman_previous is None else f"{fit.spearman_previous:+.3f}"
        lines += ["", f"weights (non-negative least squares on {fit.n} ungated samples): "
                      f"R² {fit.r_squared:.3f}; spearman of reward with outcome {before} with "
                      f"current weights, {refit} with fitted weights (in-sample)",
                  f"{'component':<{width}}  {'current':>8}  {'fitted':>8}  "
                  f"{f'{fit.confidence:.0%} CI':>17}  {'imputed':>7}"]
        for c in fit.components:
            ci = "" if c.ci_low is None else f"[{c.ci_low:.3f}, {c.ci_high:.3f}]"
            lines.append(f"  {c.id:<{width - 2}}  {c.previous:>8.3f}  {c.fitted:>8.3f}  "
                         f"{ci:>17}  {c.imputed:>7}" + (f"  {c.note}" if c.note else ""))
        lines.extend(f"note: {n}" for n in fit.notes)
    return "\n".join(lines)
