"""Function sources: real modules on sys.path and a real installed entry point."""

from __future__ import annotations

import importlib
import sys

import pytest

from rewardsmith.core.errors import PackError, PluginError
from rewardsmith.core.wire import metrics_list
from rewardsmith.plugins.metrics.functions import MetricFunctionError, resolve_metric_function


def component(ref: str, transform: str = '{ kind = "linear", lo = 0, hi = 10 }',
              extra: str = "") -> str:
    return f"""
    [[components]]
    id = "m"
    type = "product-metric"
    metric = "value"
    source = {{ kind = "function", ref = "{ref}"{extra} }}
    transform = {transform}
    """


def test_dotted_function_scores_and_keeps_the_raw_metric(score_with, make_sample,
                                                         metric_module):
    batch = score_with(component(f"{metric_module.name}:reply_length"), [
        make_sample("short", "hi"), make_sample("five", "abcde"), make_sample("long", "x" * 40),
    ])
    assert batch.rewards == pytest.approx([0.2, 0.5, 1.0])
    long = batch.results[2].components["m"]
    assert long.measurements["value"] == 40.0  # clipped to 1.0, raw still recorded
    assert {"name": "m.value", "value": 40.0, "type": "Metric"} in \
        metrics_list(batch.results[2])


def test_async_function_is_awaited(score_with, make_sample, metric_module):
    batch = score_with(component(f"{metric_module.name}:async_length", '{ kind = "identity" }'),
                       [make_sample("a", "abcdefg")])
    assert batch.rewards == pytest.approx([0.7])


def test_sync_function_runs_in_a_worker_thread_unless_told_not_to(score_with, make_sample,
                                                                  metric_module):
    ref = f"{metric_module.name}:records_thread"
    score_with(component(ref, '{ kind = "identity" }'), [make_sample("a")])
    module = importlib.import_module(metric_module.name)
    threads = list(module.CALL_THREADS)
    score_with(component(ref, '{ kind = "identity" }', ", run_in_thread = false"),
               [make_sample("a")])
    inline = module.CALL_THREADS[len(threads):]
    assert threads and "rewardsmith-loop" not in threads[0]  # a worker, not the loop
    assert inline == ["rewardsmith-loop"]  # the scorer's event-loop thread


def test_function_raising_is_a_component_error_naming_the_function(score_with, make_sample,
                                                                   metric_module):
    batch = score_with(component(f"{metric_module.name}:explodes") + 'on_error = "zero"\n',
                       [make_sample("a")])
    outcome = batch.results[0].components["m"]
    assert outcome.error_kind == "metric_function_error"
    assert f"{metric_module.name}:explodes" in (outcome.error or "")
    assert "RuntimeError: metrics warehouse unavailable" in (outcome.error or "")
    assert outcome.value == 0.0 and outcome.policy == "zero"
    assert batch.results[0].status == "ok"


@pytest.mark.parametrize(
    ("function", "kind", "fragment"),
    [("text", "metric_invalid", "str '0.5', not a number"),
     ("not_a_number", "metric_invalid", "nan, not a finite number"),
     ("accepted", "metric_invalid", "NoneType")],
)
def test_bad_return_values(score_with, make_sample, metric_module, function, kind, fragment):
    batch = score_with(component(f"{metric_module.name}:{function}"), [make_sample("a")])
    outcome = batch.results[0].components["m"]
    assert outcome.error_kind == kind
    assert fragment in (outcome.error or "")
    assert f"metric function '{metric_module.name}:{function}'" in (outcome.error or "")


def test_missing_module_fails_at_pack_load_naming_the_path(pack_from):
    with pytest.raises(PackError) as info:
        pack_from(component("no_such_pkg.metrics:ctr"))
    text = str(info.value)
    assert "'no_such_pkg.metrics:ctr'" in text
    assert "cannot import module 'no_such_pkg.metrics'" in text
    assert "must be installed code" in text
    assert "id='m'" in text


@pytest.mark.parametrize(
    ("attr", "fragment"),
    [("nope", "has no attribute 'nope'"), ("NOT_CALLABLE", "is a int, not a callable"),
     ("two_args", "exactly one positional argument")],
)
def test_bad_function_targets_fail_at_pack_load(pack_from, metric_module, attr, fragment):
    with pytest.raises(PackError, match=fragment):
        pack_from(component(f"{metric_module.name}:{attr}"))


def test_malformed_ref_is_a_validation_error(pack_from):
    with pytest.raises(PackError, match=r"'package\.module:function'"):
        pack_from(component("os.path:join:x"))


def test_module_allowlist_blocks_before_importing(pack_from, metric_module, monkeypatch):
    monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", "company_metrics, other.pkg")
    with pytest.raises(PackError) as info:
        pack_from(component(f"{metric_module.name}:reply_length"))
    assert "not allowed by REWARDSMITH_METRIC_MODULES" in str(info.value)
    assert metric_module.name not in sys.modules  # refused without importing it

    monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", f"company_metrics,{metric_module.name}")
    pack_from(component(f"{metric_module.name}:reply_length"))


@pytest.mark.parametrize(
    "attr", ["reply_length.__globals__", "reply_length.__code__", "_hidden", "Scorers.__init__"]
)
def test_underscore_names_are_refused_before_importing(pack_from, metric_module, attr):
    with pytest.raises(PackError, match="names starting with '_' are not allowed"):
        pack_from(component(f"{metric_module.name}:{attr}"))
    assert metric_module.name not in sys.modules


def test_private_module_is_refused_before_importing(monkeypatch):
    monkeypatch.delitem(sys.modules, "this", raising=False)
    with pytest.raises(MetricFunctionError, match="'_thread'"):
        resolve_metric_function("_thread:start_new_thread")
    # The reviewer's probe: a dunder path is refused by shape, so 'this' never runs.
    with pytest.raises(MetricFunctionError, match="'__len__'"):
        resolve_metric_function("this:s.__len__")
    assert "this" not in sys.modules


@pytest.mark.parametrize("allowlist", [None, "rewardsmith"])
def test_attribute_path_through_a_module_is_refused(monkeypatch, allowlist):
    if allowlist is None:
        monkeypatch.delenv("REWARDSMITH_METRIC_MODULES", raising=False)
    else:
        monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", allowlist)
    for ref in ["rewardsmith.core.settings:os.system",
                "rewardsmith.plugins.metrics.functions:importlib.import_module"]:
        with pytest.raises(MetricFunctionError, match="is a module; name the module"):
            resolve_metric_function(ref)


def test_allowlist_checks_where_the_function_is_defined(pack_from, metric_module, monkeypatch):
    ref = f"{metric_module.name}:reexported_basename"
    monkeypatch.delenv("REWARDSMITH_METRIC_MODULES", raising=False)
    # Unset: any installed code outside the standard library, wherever it is re-exported.
    with pytest.raises(MetricFunctionError, match="'posixpath' is part of the Python standard"):
        resolve_metric_function(ref)

    monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", metric_module.name)
    with pytest.raises(PackError, match=r"where the function is defined.*'posixpath'"):
        pack_from(component(ref))
    # A function really defined in the allowed module resolves, also through its class.
    pack_from(component(f"{metric_module.name}:reply_length"))
    pack_from(component(f"{metric_module.name}:Scorers.length"))


def test_empty_allowlist_refuses_every_module(pack_from, metric_module, monkeypatch):
    monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", "")
    with pytest.raises(PackError, match="not allowed by REWARDSMITH_METRIC_MODULES"):
        pack_from(component(f"{metric_module.name}:reply_length"))
    assert metric_module.name not in sys.modules


def test_entry_points_ignore_the_allowlist(score_with, make_sample, metric_module, monkeypatch,
                                           install_metric_entry_points):
    # A registered name is an explicit opt-in by an installed distribution.
    monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", "company_metrics")
    install_metric_entry_points("acme-metrics",
                                {"reply_len": f"{metric_module.name}:reply_length"})
    batch = score_with(component("reply_len"), [make_sample("a", "abcd")])
    assert batch.rewards == pytest.approx([0.4])


def test_entry_point_name_resolves_through_installed_distribution(
    score_with, make_sample, metric_module, install_metric_entry_points, make_host
):
    install_metric_entry_points("acme-metrics",
                                {"reply_len": f"{metric_module.name}:reply_length"})
    batch = score_with(component("reply_len"), [make_sample("a", "abc")])
    assert batch.rewards == pytest.approx([0.3])

    entry = make_host().metric_functions["reply_len"]
    assert entry.distribution == "acme-metrics"


def test_unknown_entry_point_name_lists_the_installed_ones(
    pack_from, metric_module, install_metric_entry_points
):
    install_metric_entry_points("acme-metrics",
                                {"reply_len": f"{metric_module.name}:reply_length"})
    with pytest.raises(PackError) as info:
        pack_from(component("ctr"))
    assert "'ctr' is not registered by any plugin" in str(info.value)
    assert "reply_len" in str(info.value)


def test_broken_entry_point_names_its_distribution(pack_from, install_metric_entry_points):
    install_metric_entry_points("broken-metrics", {"ctr": "rs_missing_module_xyz:ctr"})
    # The plugin fails while the host collects registrations, before any pack loads.
    with pytest.raises(PluginError) as info:
        pack_from(component("ctr"))
    assert "from distribution 'broken-metrics' failed in register_metric_functions" \
        in str(info.value)
    assert "ModuleNotFoundError" in str(info.value)


def test_same_metric_name_from_two_distributions_is_refused(
    pack_from, metric_module, install_metric_entry_points
):
    install_metric_entry_points("acme-metrics", {"ctr": f"{metric_module.name}:reply_length"})
    install_metric_entry_points("other-metrics", {"ctr": f"{metric_module.name}:accepted"})
    with pytest.raises(PluginError) as info:
        pack_from(component("ctr"))
    text = str(info.value)
    assert "'ctr' is registered twice" in text
    assert "'acme-metrics'" in text and "'other-metrics'" in text
