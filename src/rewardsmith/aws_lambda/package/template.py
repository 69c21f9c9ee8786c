"""The AWS SAM template for a reward Lambda, written as YAML without a YAML library.

Every scalar is emitted as a JSON string or number, which YAML reads unchanged, so the
output is valid YAML by construction (and what ``cfn-lint``/``sam`` expect).
"""

from __future__ import annotations

import json
import re
from typing import Any

HANDLER = "rewardsmith.aws_lambda.handler"
RUNTIME = "python3.12"
# Foundation models and (cross-region) inference profiles the judge may call. Converse
# is authorised by bedrock:InvokeModel.
BEDROCK_RESOURCES = (
    "arn:aws:bedrock:*::foundation-model/*",
    "arn:aws:bedrock:*:*:inference-profile/*",
)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def validate_function_name(name: str) -> list[str]:
    """Errors for a name Lambda rejects; a warning-level note is left to the caller."""
    if not _FUNCTION_NAME.match(name):
        return [f"function name {name!r} must be 1-64 letters, digits, '-' or '_'"]
    return []


def sam_template(
    *,
    function_name: str,
    code_uri: str,
    pack_env: str,
    pack_label: str,
    memory_mb: int,
    timeout_s: int,
    architecture: str,
    environment: dict[str, str] | None = None,
    runtime: str = RUNTIME,
    pack_ref: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A SAM template with one function, its Bedrock permission and its ARN as output;
    with ``pack_ref`` (``{"name", "version", "hash"}`` of the packaged pack), also the
    CloudWatch alarms and dashboard on the function's EMF metrics
    (:mod:`~rewardsmith.aws_lambda.package.monitoring`).

    ``runtime`` must match the wheels in the zip (``python3.13`` for a build with
    ``--python-version 3.13``); ``environment`` carries the operator grants
    (``REWARDSMITH_ALLOWED_HOSTS`` …, deny by default) besides ``REWARDSMITH_PACK``.
    """
    variables = {"REWARDSMITH_PACK": pack_env, **(environment or {})}
    document: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"rewardsmith reward Lambda for {pack_label}",
        "Resources": {
            "RewardFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "FunctionName": function_name,
                    "CodeUri": code_uri,
                    "Handler": HANDLER,
                    "Runtime": runtime,
                    "Architectures": [architecture],
                    "MemorySize": memory_mb,
                    "Timeout": timeout_s,
                    "Environment": {"Variables": variables},
                    "Policies": [{
                        "Statement": [{
                            "Effect": "Allow",
                            "Action": ["bedrock:InvokeModel"],
                            "Resource": list(BEDROCK_RESOURCES),
                        }],
                    }],
                },
            },
        },
        "Outputs": {
            "RewardFunctionArn": {
                "Description": "Use as reward_lambda_arn (Nova recipe) or "
                               "lambdaGrader.lambdaArn (Bedrock RFT job)",
                "Value": {"Fn::GetAtt": ["RewardFunction", "Arn"]},
            },
        },
    }
    if pack_ref is not None:
        from rewardsmith.aws_lambda.package.monitoring import monitoring_resources

        extra = monitoring_resources(function_name, pack_ref, variables)
        document = {"AWSTemplateFormatVersion": document.pop("AWSTemplateFormatVersion"),
                    "Transform": document.pop("Transform"),
                    "Description": document.pop("Description"),
                    "Parameters": extra["Parameters"], "Conditions": extra["Conditions"],
                    **document}
        document["Resources"].update(extra["Resources"])
    return document


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else json.dumps(key)


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{_key(key)}:")
                _emit(item, indent + 1, lines)
            elif isinstance(item, dict | list):
                lines.append(f"{pad}{_key(key)}: {'{}' if isinstance(item, dict) else '[]'}")
            else:
                lines.append(f"{pad}{_key(key)}: {_scalar(item)}")
        return
    for item in value:
        if isinstance(item, dict | list) and item:
            nested: list[str] = []
            _emit(item, indent + 1, nested)
            first = nested[0]
            nested[0] = f"{pad}- {first[len(pad) + 2:]}"
            lines.extend(nested)
        else:
            lines.append(f"{pad}- {_scalar(item)}")


def to_yaml(document: dict[str, Any]) -> str:
    """``document`` (nested dicts, lists, strings, numbers, booleans) as block-style YAML
    text, two spaces an indent level, ending in a newline."""
    lines: list[str] = []
    _emit(document, 0, lines)
    return "\n".join(lines) + "\n"
