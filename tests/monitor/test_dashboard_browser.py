"""The monitor's dashboard rendered by headless Chromium: plots over steps, the alarms,
no script, no network."""

from __future__ import annotations

import re

from tests.support.browser import dump_dom, needs_chromium
from tests.support.monitor_runs import write_run

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
