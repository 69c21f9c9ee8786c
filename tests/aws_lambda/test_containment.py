"""Issue 10, kind B: SystemExit, KeyboardInterrupt and GeneratorExit from plugin code are a
named error of that sample (or a named load error), at every edge; they never stop the
event loop, the warm handler or the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support import toy_plugin
from tests.support.aws_lambda import (
    FakeContext,
    metrics_of,
    sample,
    test_plugin,
    validate_answer,
)

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.aws_lambda import make_handler
from rewardsmith.core.errors import PluginError
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.plugins import PluginHost


def _host() -> PluginHost:
    return make_plugin_host(load_entry_points=False,
                            plugins=[("lambda-test", test_plugin), ("toy", toy_plugin)])


def _twice(handler: Any, batch: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A warm Lambda invoked twice; both answers validated."""
    answers = []
    for _ in range(2):
        out = handler(batch, FakeContext(5000))
        validate_answer(out, [s["id"] for s in batch])
        answers.append(out)
    return answers


PACKS = {
    # 3.11: wait_for runs the coroutine as a task of its own; a task ending in SystemExit
    # is re-raised out of the event loop (asyncio Task.__step).
    "async component with timeout_s": ("async-raiser", "timeout_s = 5", "SystemExit"),
    "sync check": ("raiser", "", "KeyboardInterrupt"),
    "sync check, GeneratorExit": ("raiser", "", "GeneratorExit"),
    "gather sub-task of a plugin": ("t-gather-exits", "timeout_s = 5", "exit"),
}


@pytest.mark.parametrize("case", list(PACKS))
def test_a_plugin_raising_base_exceptions_costs_only_its_sample_on_every_call(
    write_pack: Callable[..., Path], case: str,
) -> None:
    ctype, extra, trigger = PACKS[case]
    pack = write_pack(f"""
[pack]
name = "raising"
version = "1"
[[components]]
id = "c"
type = "{ctype}"
{extra}
""")
    scorer = Scorer(load_pack(pack, _host()))
    handler = make_handler(scorer)
    batch = [sample("bad", trigger), sample("good", "fine")]
    for out in _twice(handler, batch):
        bad, good = out
        assert metrics_of(bad)["c.failed"] == 1.0
        assert metrics_of(good)["c"] == 1.0 and good["aggregate_reward_score"] == 1.0
    result = scorer.score(batch, timeout_s=5).results[0].components["c"]
    assert result.error_kind == "plugin_exit", result.error
    scorer.close()


def test_a_pack_naming_sys_exit_as_a_metric_function(
    write_pack: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", "sys")  # the operator allows it here
    for run_in_thread in ("true", "false"):
        pack = write_pack(f"""
[pack]
name = "sys-exit"
version = "1"
[[components]]
id = "m"
type = "product-metric"
metric = "value"
timeout_s = 5
source = {{ kind = "function", ref = "sys:exit", run_in_thread = {run_in_thread} }}
transform = {{ kind = "identity" }}
""")
        scorer = Scorer(load_pack(pack, make_plugin_host()))
        handler = make_handler(scorer)
        for out in _twice(handler, [sample("a", "x"), sample("b", "y")]):
            assert all(metrics_of(row)["m.failed"] == 1.0 for row in out)
        outcome = scorer.score([sample("a", "x")]).results[0].components["m"]
        assert outcome.error_kind == "plugin_exit", outcome.error
        scorer.close()


def _exiting_plugin(where: str) -> types.SimpleNamespace:
    plugin = types.SimpleNamespace()

    @hookimpl
    def register_components(register: Callable[[type[Any]], None]) -> None:
        if where == "hook":
            raise SystemExit("plugin says bye")

    plugin.register_components = register_components
    return plugin


def test_a_plugin_raising_system_exit_in_a_hook_is_a_named_load_error() -> None:
    with pytest.raises(PluginError, match=r"'exits'.*SystemExit"):
        make_plugin_host(load_entry_points=False, plugins=[("exits", _exiting_plugin("hook"))])


def test_the_handler_answers_when_loading_raises_system_exit(
    write_pack: Callable[..., Path],
) -> None:
    def host() -> PluginHost:
        raise SystemExit(1)  # e.g. a plugin's import calling sys.exit

    handler = make_handler(str(write_pack('[pack]\nname = "p"\nversion = "1"\n')), host=host)
    for out in _twice(handler, [sample("a", "x")]):
        assert metrics_of(out[0])["pack_unavailable"] == 1.0
    assert "SystemExit" in (handler.load_error or "")


SIGINT_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from rewardsmith.core.errors import PluginError
    from rewardsmith.core.plugins import PluginInfo, blame
    from rewardsmith.core.workers import install_interrupt_marker
    install_interrupt_marker()
    info = PluginInfo("kb", "kb-dist", None)
    try:
        with blame(info, "to load"):
            raise KeyboardInterrupt  # plugin code, no signal
    except PluginError as exc:
        print("plugin:", exc)
    try:
        with blame(info, "to load"):
            os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C
            signal.pause() if hasattr(signal, "pause") else None
    except KeyboardInterrupt:
        print("user: stopped")
        sys.exit(130)
""")


def test_the_users_ctrl_c_stops_while_a_plugins_keyboard_interrupt_is_its_error() -> None:
    proc = subprocess.run([sys.executable, "-c", SIGINT_SCRIPT], capture_output=True, check=False,
                          text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("plugin: plugin 'kb' from distribution 'kb-dist' failed to "
                               "load: KeyboardInterrupt")
    assert lines[1] == "user: stopped"
