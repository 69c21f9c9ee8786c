"""The monitor's dashboard rendered by headless Chromium: plots over steps, the alarms,
no script, no network."""

from __future__ import annotations

import re

from tests.support.browser import dump_dom, needs_chromium
from tests.support.monitor_runs import write_gap_run, write_run

from rewardsmith.monitor import monitor
from rewardsmith.monitor.dashboard import write_dashboard

pytestmark = needs_chromium


def test_the_dashboard_renders_plots_and_alarms(tmp_path):
    result = monitor(write_run(tmp_path / "run", steps=14, signature="length_padding",
                               inject_at=9))
    page = write_dashboard(tmp_path / "dash.html", result.steps, result.alarms, result.rules,
                           title="Monitor <check>")
    dom = dump_dom(tmp_path, page)
    assert "<title>Monitor &lt;check&gt;</title>" in dom
    # reward, length, judge-check, spread, swap, failures, cost, components, saturation,
    # criteria: one chart each
    assert dom.count("<svg") == 10
    assert dom.count("<polyline") >= 10
    alarm_text = re.findall(r'<div class="alarm">(.*?)</div>', dom)
    assert any("length_padding" in a for a in alarm_text)
    assert 'stroke-dasharray="4 3"' in dom  # the alarm step is marked on its plot
    assert "judge.accurate" in dom and "judge.concise" in dom
    assert dom.count("<tr>") >= 14 + len(result.rules)
    assert "<script" not in dom.lower() and "http://" not in dom and "https://" not in dom


def test_the_dashboard_shows_each_gap_and_each_rule_not_evaluated(tmp_path):
    result = monitor(write_gap_run(tmp_path / "run", gap="absent"))
    page = write_dashboard(tmp_path / "dash.html", result.steps, result.alarms, result.rules,
                           missing=result.missing, not_evaluated=result.not_evaluated)
    dom = dump_dom(tmp_path, page)
    assert '<h2 id="missing">Missing values</h2>' in dom
    gaps = re.findall(r'<div class="gap">(.*?)</div>', dom)
    assert len(gaps) == len(result.missing) + len(result.not_evaluated)
    assert ("step <b>5</b> · <b>missing</b> · <code>components.j.saturated_share</code> · "
            '<span class="sub">components.j.saturated_share is undefined at this step: no row '
            "of this step has component 'j'") in gaps[1]
    assert any("rule <code>swap_inconsistency_rising</code> · <b>not evaluated</b>" in g
               for g in gaps)
    assert f"{len(result.missing)} gap(s)" in dom
    assert dom.count('class="alarm"') == 1  # the saturation, once
