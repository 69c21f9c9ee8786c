"""The SAM template's CloudWatch alarms and dashboard watch exactly the EMF metrics the
handler writes: every metric, the namespace and the dimensions are cross-checked against
what :mod:`rewardsmith.aws_lambda.observability` emits."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rewardsmith.aws_lambda.observability import (
    InvocationRecord,
    MetricsConfig,
    MetricsConfigError,
    emf_document,
)
from rewardsmith.aws_lambda.package.template import sam_template, to_yaml

PACK_REF = {"name": "json-extraction", "version": "1.2.0", "hash": "sha256:abc123"}
FULL_SUMMARY = {
    "failed_samples": 1, "gated_samples": 2, "judge_calls": 10, "judge_failures": 1,
    "cache_hits": 3, "deduplicated": 1, "input_tokens": 100, "output_tokens": 20,
    "cost_usd": 0.01, "judge_latency_p50_ms": 100.0, "judge_latency_p95_ms": 300.0,
    "reward_mean": 0.5, "reward_std": 0.1, "deadline_hit": True,
    "failures": {"judge_parse": 1},
}


def _template(env: dict[str, str] | None = None) -> dict[str, Any]:
    return sam_template(function_name="reward-SageMaker-x", code_uri="r.zip",
                        pack_env="json-extraction", pack_label="json-extraction 1.2.0",
                        memory_mb=1024, timeout_s=600, architecture="arm64",
                        environment=env, pack_ref=PACK_REF)


def _emitted(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The EMF document the handler writes for an invocation of this function and pack,
    with every metric present (a cold start within a budget, after a deadline hit)."""
    record = InvocationRecord(
        function_name="reward-SageMaker-x", function_version="$LATEST",
        pack_name=PACK_REF["name"], pack_version=PACK_REF["version"],
        pack_hash=PACK_REF["hash"], samples=10, cold_start=True, init_ms=900.0,
        budget_ms=60_000.0, elapsed_ms=1_000.0, summary=dict(FULL_SUMMARY))
    return emf_document(record, MetricsConfig.from_env(env or {}))


def _metric_refs(template: dict[str, Any]) -> list[tuple[str, str, list[dict[str, str]]]]:
    """(namespace, metric name, dimensions) of every metric an alarm or widget names."""
    refs = []
    for resource in template["Resources"].values():
        props = resource["Properties"]
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            if "MetricName" in props:
                refs.append((props["Namespace"], props["MetricName"], props["Dimensions"]))
            for entry in props.get("Metrics", []):
                if "MetricStat" in entry:
                    m = entry["MetricStat"]["Metric"]
                    refs.append((m["Namespace"], m["MetricName"], m["Dimensions"]))
        elif resource["Type"] == "AWS::CloudWatch::Dashboard":
            body = json.loads(props["DashboardBody"]["Fn::Sub"])
            for widget in body["widgets"]:
                assert widget["properties"]["region"] == "${AWS::Region}"
                for line in widget["properties"]["metrics"]:
                    parts = [p for p in line if not isinstance(p, dict)]
                    namespace, name, flat = parts[0], parts[1], parts[2:]
                    dims = [{"Name": flat[i], "Value": flat[i + 1]}
                            for i in range(0, len(flat), 2)]
                    refs.append((namespace, name, dims))
    return refs


@pytest.mark.parametrize("env", [
    {},
    {"REWARDSMITH_METRICS_NAMESPACE": "team/rewards",
     "REWARDSMITH_METRICS_DIMENSIONS": "Pack,PackVersion,Team=legal;FunctionName"},
    {"REWARDSMITH_METRICS_DIMENSIONS": "FunctionName,FunctionVersion,PackHash"},
])
def test_every_referenced_metric_is_one_the_handler_emits(env):
    template = _template(env)
    doc = _emitted(env)
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    emitted_names = {m["Name"] for m in directive["Metrics"]}
    first_set = directive["Dimensions"][0]
    expected_dims = [{"Name": n, "Value": doc[n]} for n in first_set]
    refs = _metric_refs(template)
    assert len(refs) >= 20
    for namespace, name, dims in refs:
        assert namespace == directive["Namespace"], name
        assert name in emitted_names, f"{name} is not a metric the handler emits"
        assert dims == expected_dims, name


def test_the_alarms_cover_judge_failures_deadlines_and_gates():
    resources = _template()["Resources"]
    alarms = {k: v["Properties"] for k, v in resources.items()
              if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"JudgeFailureRateAlarm", "GateRateAlarm", "FailedSampleRateAlarm",
                           "DeadlineHitAlarm", "JudgeUnavailableAlarm"}
    judge = alarms["JudgeFailureRateAlarm"]
    assert [m["Id"] for m in judge["Metrics"]] == ["num", "den", "rate"]
    assert judge["Metrics"][0]["MetricStat"]["Metric"]["MetricName"] == "JudgeFailures"
    assert judge["Metrics"][1]["MetricStat"]["Metric"]["MetricName"] == "JudgeCalls"
    assert judge["Threshold"] == {"Ref": "JudgeFailureRateThreshold"}
    assert alarms["DeadlineHitAlarm"]["MetricName"] == "DeadlineHit"
    assert all(a["TreatMissingData"] == "notBreaching" for a in alarms.values())
    params = _template()["Parameters"]
    assert params["GateRateThreshold"]["Default"] == 0.5
    assert params["AlarmTopicArn"]["Default"] == ""


def test_without_a_pack_ref_the_template_is_unchanged():
    plain = sam_template(function_name="f", code_uri="r.zip", pack_env="p", pack_label="p",
                         memory_mb=512, timeout_s=60, architecture="x86_64")
    assert set(plain["Resources"]) == {"RewardFunction"} and "Parameters" not in plain


def test_metrics_settings_the_handler_rejects_are_refused():
    with pytest.raises(MetricsConfigError, match="unknown dimension 'Region'"):
        _template({"REWARDSMITH_METRICS_DIMENSIONS": "Region"})


def test_the_template_passes_cfn_lint(tmp_path: Path):
    cfn_lint = shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.skip("cfn-lint is not installed")
    path = tmp_path / "template.yaml"
    path.write_text(to_yaml(_template()), encoding="utf-8")
    (tmp_path / "r.zip").write_bytes(b"")
    lint = subprocess.run([cfn_lint, str(path)], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
