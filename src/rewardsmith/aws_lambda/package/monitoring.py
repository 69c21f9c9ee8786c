"""CloudWatch alarms and a dashboard for the reward Lambda, from the EMF metrics its handler
writes (:mod:`rewardsmith.aws_lambda.observability`): same namespace, same metric names,
same dimension set and values, so each alarm watches exactly the series the function
publishes.

The dimension values are known when the template is written: ``FunctionName`` is the
function's name, ``Pack``/``PackVersion``/``PackHash`` are the packaged pack's, static
``Key=Value`` dimensions are copied; ``FunctionVersion`` is ``$LATEST`` (what an
unpublished function reports). The first dimension set of
``REWARDSMITH_METRICS_DIMENSIONS`` is used.

Alarm rates use CloudWatch metric math (``IF(calls > 0, failures / calls, 0)``, see
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html);
missing data is not breaching (no invocations is not an incident). Thresholds are
template parameters; ``AlarmTopicArn`` (optional) receives alarm and OK notifications.
Resource shapes: AWS::CloudWatch::Alarm and AWS::CloudWatch::Dashboard
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html,
dashboard body: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rewardsmith.aws_lambda.observability import DIMENSIONS_ENV, NAMESPACE_ENV, MetricsConfig

PERIOD_S = 300
# (parameter, default, description) of each alarm threshold.
THRESHOLDS: tuple[tuple[str, float, str], ...] = (
    ("JudgeFailureRateThreshold", 0.1,
     "Alarm when more than this share of judge calls fail in a 5-minute period"),
    ("GateRateThreshold", 0.5,
     "Alarm when more than this share of samples is decided by a gate in a 5-minute period"),
    ("FailedSampleRateThreshold", 0.05,
     "Alarm when more than this share of samples cannot be scored in a 5-minute period"),
)


def metric_dimensions(function_name: str, pack_ref: Mapping[str, str],
                      environment: Mapping[str, str]) -> tuple[str, list[dict[str, str]]]:
    """The namespace and the ``[{"Name", "Value"}]`` dimensions of the function's EMF
    metrics, as the handler will fill them in. Raises
    :class:`~rewardsmith.aws_lambda.observability.MetricsConfigError` for settings the
    handler would reject too."""
    config = MetricsConfig.parse(environment.get(NAMESPACE_ENV),
                                 environment.get(DIMENSIONS_ENV))
    known = {"FunctionName": function_name, "FunctionVersion": "$LATEST",
             "Pack": pack_ref.get("name") or "unloaded", "PackVersion": pack_ref.get("version"),
             "PackHash": pack_ref.get("hash"), **dict(config.static_dimensions)}
    names = config.dimension_sets[0] if config.dimension_sets else ()
    return config.namespace, [{"Name": n, "Value": str(known.get(n) or "unknown")}
                              for n in names]


def _stat(ident: str, namespace: str, name: str, dims: list[dict[str, str]]) -> dict[str, Any]:
    return {"Id": ident, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
        "Period": PERIOD_S, "Stat": "Sum"}}


def _rate_alarm(function_name: str, title: str, what: str, numerator: str, denominator: str,
                threshold_param: str, namespace: str, dims: list[dict[str, str]]
                ) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": f"{function_name}-{title}",
        "AlarmDescription": f"rewardsmith reward Lambda {function_name}: {what}",
        "Metrics": [
            _stat("num", namespace, numerator, dims),
            _stat("den", namespace, denominator, dims),
            {"Id": "rate", "Label": title, "ReturnData": True,
             "Expression": "IF(den > 0, num / den, 0)"},
        ],
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": {"Ref": threshold_param},
        "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
        "TreatMissingData": "notBreaching",
        **_actions()}}


def _count_alarm(function_name: str, title: str, what: str, metric: str, namespace: str,
                 dims: list[dict[str, str]]) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": f"{function_name}-{title}",
        "AlarmDescription": f"rewardsmith reward Lambda {function_name}: {what}",
        "Namespace": namespace, "MetricName": metric, "Dimensions": dims,
        "Statistic": "Sum", "Period": PERIOD_S,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1,
        "EvaluationPeriods": 1, "TreatMissingData": "notBreaching",
        **_actions()}}


def _actions() -> dict[str, Any]:
    topic = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    return {"AlarmActions": topic, "OKActions": topic}


def _widget(x: int, y: int, title: str, metrics: list[list[Any]], stat: str,
            namespace: str, dims: list[dict[str, str]]) -> dict[str, Any]:
    flat_dims = [part for d in dims for part in (d["Name"], d["Value"])]
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": {
        "title": title, "region": "${AWS::Region}", "stat": stat, "period": PERIOD_S,
        "view": "timeSeries",
        "metrics": [[namespace, name, *flat_dims, *([opts] if opts else [])]
                    for name, opts in metrics]}}


def dashboard_body(namespace: str, dims: list[dict[str, str]]) -> str:
    """The dashboard's JSON body (``${AWS::Region}`` left for ``Fn::Sub``)."""
    specs = [
        ("Reward mean and std", [("RewardMean", {}), ("RewardStd", {})], "Average"),
        ("Samples: scored, failed, gated",
         [("Samples", {}), ("FailedSamples", {}), ("GatedSamples", {})], "Sum"),
        ("Judge calls, failures, cache hits",
         [("JudgeCalls", {}), ("JudgeFailures", {}), ("CacheHits", {})], "Sum"),
        ("Judge latency (ms)", [("JudgeLatencyP50", {}), ("JudgeLatencyP95", {})], "Average"),
        ("Deadline hits, judge outages, errors",
         [("DeadlineHit", {}), ("JudgeUnavailable", {}), ("EngineError", {}),
          ("PackUnavailable", {}), ("EventRejected", {})], "Sum"),
        ("Duration (ms) and budget used (%)",
         [("Duration", {}), ("BudgetUsedPercent", {"yAxis": "right"})], "Average"),
        ("Judge tokens and estimated cost (USD)",
         [("InputTokens", {}), ("OutputTokens", {}),
          ("EstimatedCostUSD", {"yAxis": "right"})], "Sum"),
        ("Cold starts and init duration (ms)",
         [("ColdStart", {}), ("InitDuration", {"yAxis": "right", "stat": "Average"})], "Sum"),
    ]
    widgets = [_widget(12 * (i % 2), 6 * (i // 2), title,
                       [[name, opts] for name, opts in metrics], stat, namespace, dims)
               for i, (title, metrics, stat) in enumerate(specs)]
    return json.dumps({"widgets": widgets}, separators=(",", ":"))


def monitoring_resources(function_name: str, pack_ref: Mapping[str, str],
                         environment: Mapping[str, str]) -> dict[str, Any]:
    """``{"Parameters", "Conditions", "Resources"}`` to merge into the SAM template: the
    alarms (judge failure rate, deadline hits, gate rate, failed-sample rate, judge
    unavailable) and the dashboard."""
    namespace, dims = metric_dimensions(function_name, pack_ref, environment)
    parameters: dict[str, Any] = {
        name: {"Type": "Number", "Default": default, "MinValue": 0, "MaxValue": 1,
               "Description": description}
        for name, default, description in THRESHOLDS}
    parameters["AlarmTopicArn"] = {
        "Type": "String", "Default": "",
        "Description": "SNS topic notified when an alarm fires or clears (empty: none)"}
    resources = {
        "JudgeFailureRateAlarm": _rate_alarm(
            function_name, "judge-failure-rate", "share of judge calls that failed",
            "JudgeFailures", "JudgeCalls", "JudgeFailureRateThreshold", namespace, dims),
        "GateRateAlarm": _rate_alarm(
            function_name, "gate-rate", "share of samples whose reward a gate decided",
            "GatedSamples", "Samples", "GateRateThreshold", namespace, dims),
        "FailedSampleRateAlarm": _rate_alarm(
            function_name, "failed-sample-rate", "share of samples that could not be scored",
            "FailedSamples", "Samples", "FailedSampleRateThreshold", namespace, dims),
        "DeadlineHitAlarm": _count_alarm(
            function_name, "deadline-hits", "invocations cut short by the time budget",
            "DeadlineHit", namespace, dims),
        "JudgeUnavailableAlarm": _count_alarm(
            function_name, "judge-unavailable",
            "a judge could not run at all: rewards came from the other components",
            "JudgeUnavailable", namespace, dims),
        "RewardDashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
            "DashboardName": f"{function_name}-rewards",
            "DashboardBody": {"Fn::Sub": dashboard_body(namespace, dims)}}},
    }
    return {"Parameters": parameters,
            "Conditions": {"HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [
                {"Ref": "AlarmTopicArn"}, ""]}]}},
            "Resources": resources}
