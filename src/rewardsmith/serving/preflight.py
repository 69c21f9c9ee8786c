"""Judge configuration checked when ``rewardsmith serve`` starts, before the first request.

A judge whose client cannot be set up (no AWS region, no AWS credentials, an endpoint
botocore refuses) fails every call with ``judge_config``; retrying does not fix it.
Served anyway, every batch would be scored by the checks alone while ``/healthz`` still
said ``ok`` until the first batch. So the
server checks each judge's configuration up front, without calling the model, and the CLI
refuses to start unless the operator allows judge failures (``--allow-judge-failures``;
docs/decisions.md, "Fix-serve — judge configuration at startup").

What is checked, per backend, with the backend's own libraries:

* ``bedrock`` — ``boto3.session.Session(profile_name=, region_name=)`` resolves a region
  (``NoRegionError`` otherwise) and credentials (``Session.get_credentials()``, the
  standard provider chain: environment, shared files, container and instance roles), and
  ``Session.client("bedrock-runtime", endpoint_url=)`` accepts the endpoint
  (https://boto3.amazonaws.com/v1/documentation/api/latest/reference/core/session.html).
* ``openai`` — nothing more than the pack load checks already (``base_url`` is
  ``http(s)`` with a host; ``api_key_env`` is granted): a missing key is allowed, since a
  self-hosted server often needs none, and the first call reports a ``401`` as
  ``judge_config``.

Other backends (plugins, the bundled simulator) are not checked here: their first call
reports a configuration problem, as before.
"""

from __future__ import annotations

from typing import Any

from rewardsmith.core.engine import Scorer


def judge_config_problems(scorer: Scorer) -> dict[str, str]:
    """``{component id: cause}`` for every judge component of ``scorer``'s pack whose
    backend cannot be set up; empty when all can. Never calls a model and never raises
    for a judge's sake (a check that itself fails is reported as that judge's problem).
    Causes name the setting to fix and never include secrets."""
    problems: dict[str, str] = {}
    seen: dict[str, str | None] = {}
    for component in scorer.pack.components:
        if not getattr(component, "uses_judge", False):
            continue
        cid = component.config.id
        try:
            config = component.context.judge_backend().config
            key = config.model_dump_json()
            if key not in seen:
                seen[key] = _problem(config)
            cause = seen[key]
        except Exception as exc:  # an invalid [judge] table: the pack names it
            cause = f"the judge backend cannot be created: {type(exc).__name__}: {exc}"
        if cause is not None:
            problems[cid] = cause
    return problems


def _problem(config: Any) -> str | None:
    backend = getattr(config, "backend", None)
    if backend == "bedrock":
        return _bedrock_problem(config)
    return None


def _bedrock_problem(config: Any) -> str | None:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError
    except ImportError as exc:
        return f"the bedrock judge backend needs boto3 ({exc})"
    where = f"bedrock judge (model {config.model})"
    try:
        session = boto3.session.Session(profile_name=config.profile, region_name=config.region)
        if session.region_name is None:
            return (f"{where}: no AWS region: set 'region' in the pack's [judge] table, or "
                    "AWS_REGION / AWS_DEFAULT_REGION")
        session.client("bedrock-runtime", endpoint_url=config.endpoint_url)
        if session.get_credentials() is None:
            return (f"{where}: no AWS credentials found (environment, shared credentials "
                    "file, profile, container or instance role)")
    except ValueError as exc:  # botocore's "Invalid endpoint: ..."
        return f"{where}: {exc} (the [judge] table's endpoint_url)"
    except BotoCoreError as exc:
        return f"{where}: {type(exc).__name__}: {exc}"
    return None
