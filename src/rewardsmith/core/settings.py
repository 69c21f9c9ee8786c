"""Every environment variable rewardsmith reads, read here and nowhere else.

Each ``REWARDSMITH_*`` setting (and the AWS Lambda runtime's own variables) is declared
once in :data:`SETTINGS` with its default and meaning; ``docs/settings.md`` is the same
table, kept true by a test. Callers that need a typed value parse the raw string where
they can say what a bad value means (e.g. the Lambda falls back to a default and logs it).

Tests and the Lambda pass an ``environ`` mapping instead of mutating the process
environment; ``None`` means the real one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, the default its reader applies when it is unset
    (``None``: no default, the feature is off), and its meaning."""

    name: str
    default: str | None
    description: str


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("REWARDSMITH_PLUGINS", None,
            "Comma-separated plugin (entry-point) or distribution names to load; unset loads "
            "every installed plugin."),
    Setting("REWARDSMITH_METRIC_MODULES", None,
            "Comma-separated modules a product metric's `module:function` ref may import and "
            "call into (`*`: any outside the standard library, which must be listed module "
            "by module); unset grants none in the Lambda, any non-stdlib module elsewhere."),
    Setting("REWARDSMITH_ALLOWED_HOSTS", None,
            "Comma-separated hosts (`*.example.com` for subdomains, `*` for any) a pack may "
            "send requests to (HTTP metric `url`, judge `base_url`/`endpoint_url`); unset "
            "grants none in the Lambda, loopback and api.openai.com elsewhere. Link-local, "
            "metadata and Lambda Runtime API addresses are always refused."),
    Setting("REWARDSMITH_ALLOWED_ENV", None,
            "Comma-separated environment variables a pack may read secrets from "
            "(`headers_from_env`, `api_key_env`; `*` for any); unset grants none in the "
            "Lambda, `OPENAI_API_KEY` elsewhere. AWS credential variables are never granted."),
    Setting("REWARDSMITH_JUDGE_CACHE", None,
            "SQLite file caching judge verdicts across runs when a pack sets no `cache_path`; "
            "unset or empty means no persistent cache."),
    Setting("REWARDSMITH_PACK", None,
            "The pack the reward Lambda scores with (registered name or path), and the "
            "default of `rewardsmith lambda invoke --pack`."),
    Setting("REWARDSMITH_DEADLINE_MARGIN_MS", "2000",
            "Milliseconds the Lambda keeps in reserve before its own timeout to answer."),
    Setting("REWARDSMITH_MIN_BUDGET_MS", "250",
            "The least time budget (ms) the Lambda gives a batch, however late it starts."),
    Setting("REWARDSMITH_TIMEOUT_S", "300",
            "Batch deadline (s) when the Lambda context gives no remaining time."),
    Setting("REWARDSMITH_SYNC_LIMIT_S", "10",
            "Per-sample time limit (s) of a synchronous component without its own "
            "`timeout_s`; past it the sample gets a `worker_overrun` error and its worker "
            "thread is abandoned."),
    Setting("REWARDSMITH_MAX_ABANDONED_WORKERS", "4",
            "Abandoned worker threads still running that a scorer tolerates; beyond it "
            "synchronous work fails with `workers_exhausted` until some finish."),
    Setting("REWARDSMITH_FAILURE_REWARD", None,
            "Reward for a sample that cannot be scored at all; unset uses the pack's, else 0.0."),
    Setting("REWARDSMITH_METRICS", "1",
            "`0`, `false`, `no` or `off` turns off the Lambda's CloudWatch EMF metrics."),
    Setting("REWARDSMITH_METRICS_NAMESPACE", "rewardsmith",
            "CloudWatch namespace of the Lambda's EMF metrics."),
    Setting("REWARDSMITH_METRICS_DIMENSIONS", "FunctionName,Pack",
            "EMF dimension sets separated by `;`, each a comma-separated list of FunctionName, "
            "FunctionVersion, Pack, PackVersion, PackHash or `Key=Value`; `none` for none."),
    Setting("REWARDSMITH_LOG_LEVEL", "warning", "Log level of the Lambda's structured logs."),
    Setting("REWARDSMITH_DEBUG", None,
            "`1` lets sample text (error messages, ids) into logs; never in production."),
    Setting("REWARDSMITH_SERVE_TOKEN", None,
            "Bearer token `rewardsmith serve` requires on every route but `/healthz`; unset "
            "means no authentication (bind to loopback or a private network)."),
    Setting("REWARDSMITH_JUDGE_MODEL_DIR", None,
            "Folder of the real local judge (`rewardsmith judge-model`): model wheels, the "
            "joined model, the llama-server build; unset uses ~/.cache/rewardsmith/judge-model."),
    Setting("REWARDSMITH_JUDGE_SERVER_URL", None,
            "`base_url` of a running OpenAI-compatible judge server for the `real_judge` tests "
            "(e.g. http://127.0.0.1:8080/v1); unset starts one from the judge-model folder, or "
            "skips them."),
    Setting("AWS_LAMBDA_FUNCTION_NAME", None,
            "Set by the Lambda runtime: marks a Lambda process and names its metrics."),
    Setting("AWS_LAMBDA_RUNTIME_API", None,
            "Set by the Lambda runtime: the Runtime API's host, which a pack may never reach."),
    Setting("AWS_LAMBDA_FUNCTION_VERSION", None,
            "Set by the Lambda runtime: the FunctionVersion metric dimension."),
    Setting("LAMBDA_TASK_ROOT", None,
            "Set by the Lambda runtime: the folder a packaged pack is looked for in."),
    Setting("AWS_EXECUTION_ENV", None,
            "Set by the Lambda runtime: names the runtime (AWS_Lambda_python3.12 and later "
            "encode the answer unescaped), so the answer's encoding is timed as it will be."),
)}


def environment(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """``environ``, or the process environment when ``None``.

    For code that must see every variable, e.g. secret redaction, which masks the values
    of all secret-looking variables whatever their name.
    """
    return environ if environ is not None else os.environ


def get(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The raw value of the declared setting ``name``; ``None`` when unset (the reader
    applies the documented default, where it can also say what a bad value means).

    Raises ``KeyError`` naming ``name`` if it is not declared in :data:`SETTINGS`, so
    every setting read is documented.
    """
    try:
        setting = SETTINGS[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a declared setting (rewardsmith.core.settings)") \
            from None
    return environment(environ).get(setting.name)


def default(name: str) -> str:
    """The default declared for setting ``name``, as its reader applies it when unset.

    Raises ``KeyError`` if ``name`` is not declared, ``ValueError`` if it declares no
    default (unset means "off" for it).
    """
    declared = SETTINGS[name].default
    if declared is None:
        raise ValueError(f"{name} declares no default (rewardsmith.core.settings)")
    return declared


def get_list(name: str, environ: Mapping[str, str] | None = None) -> list[str] | None:
    """A comma-separated setting as its non-empty stripped parts; ``None`` when unset."""
    raw = get(name, environ)
    return None if raw is None else [part.strip() for part in raw.split(",") if part.strip()]


def get_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """A boolean setting: ``1``, ``true``, ``yes`` or ``on`` (any case) is true."""
    return (get(name, environ) or "").strip().lower() in _TRUE


def secret(variable: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A variable a pack or backend config names for a secret (an API key, a header
    token): its value, or ``None`` when unset. Such names are the user's, not settings."""
    return environment(environ).get(variable)
