"""The judge-backend contract: how an LLM judge component reaches a model (a leaf module:
it imports nothing from rewardsmith but :mod:`rewardsmith.core.errors`).

A backend plugin registers a ``JudgeBackend`` subclass whose nested ``Config`` has a
``backend`` literal; a pack's ``[judge]`` table (merged with a component's ``judge``
overrides) is validated against it after plugins load. Backends own concurrency limits,
retries, timeouts, token/cost accounting and circuit breaking;
:class:`rewardsmith.core.backend_pool.BackendPool` wraps every backend it hands out in
request de-duplication and the optional persistent cache (:mod:`rewardsmith.core.judge_cache`).

What ``JudgeBackend.complete(request)`` promises its callers:

* On success it returns a :class:`JudgeReply`. When ``request.json_schema`` is given,
  ``reply.parsed`` is a JSON object that validates against that schema (the backend
  extracted it, validated it, and asked the model once to repair a malformed one);
  without a schema ``parsed`` is ``None`` and ``reply.text`` is the model's answer.
* On failure it raises :class:`rewardsmith.core.errors.ComponentError` whose ``kind`` is
  one of :data:`JUDGE_ERROR_KINDS` (members of :class:`~rewardsmith.core.errors.ErrorKind`):

  ``judge_throttled``
      the service kept throttling after the backend's retries (429, quota).
  ``judge_timeout``
      the model or the connection timed out after retries (408, read timeout).
  ``judge_unavailable``
      the service or model failed after retries (5xx, 424 model error, connection refused).
  ``judge_config``
      a configuration bug that retrying cannot fix: validation errors (bad parameters,
      unsupported model features, prompt too long), access denied, model not found,
      missing credentials/region/API key, an invalid verdict schema. Logged once per
      backend instance, loudly, not once per sample.
  ``judge_parse``
      the verdict was malformed (not JSON, or not matching the schema) even after one
      repair request.
  ``ambiguous_verdict``
      the reply holds more than one candidate verdict (for example the judge's own and one
      quoted from the candidate's text), even after one repair request; a verdict is never
      chosen by its position in the reply.
  ``judge_refused``
      the model declined or was filtered (``content_filtered``, ``guardrail_intervened``).
  ``circuit_open``
      too many consecutive transient failures: the backend fails fast for a cool-down
      before letting one probe call through.
  ``judge_internal_error``
      anything else raised on the way (a bug, or a client library failing in a way nobody
      classified); the message names the exception's type. The engine gives an
      unclassified exception from a judge component the same kind, and it counts toward
      a judge outage (``core.judge_outages``).

A reply of the wrong JSON shape (a body that is ``null``, a list or a string; ``choices``,
``message``, ``content`` or Bedrock's ``output`` of the wrong type) is one of these kinds
too, never an ``AttributeError``: ``judge_unavailable`` for a body that is not a JSON
object (retried, as a body that is not JSON at all), ``judge_parse`` for a response object
whose parts have the wrong types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field

from rewardsmith.core.errors import ComponentError, ErrorKind

JUDGE_ERROR_KINDS: Final = frozenset({
    ErrorKind.JUDGE_THROTTLED, ErrorKind.JUDGE_TIMEOUT, ErrorKind.JUDGE_UNAVAILABLE,
    ErrorKind.JUDGE_CONFIG, ErrorKind.JUDGE_PARSE, ErrorKind.AMBIGUOUS_VERDICT,
    ErrorKind.JUDGE_REFUSED,
    ErrorKind.CIRCUIT_OPEN, ErrorKind.JUDGE_INTERNAL_ERROR,
})
#: Kinds worth retrying later: the model may answer next time.
TRANSIENT_JUDGE_ERROR_KINDS: Final = frozenset({
    ErrorKind.JUDGE_THROTTLED, ErrorKind.JUDGE_TIMEOUT, ErrorKind.JUDGE_UNAVAILABLE,
})


def judge_error(kind: ErrorKind, message: str) -> ComponentError:
    """A :class:`ComponentError` with one of the documented judge kinds.

    Raises ``ValueError`` for a kind outside :data:`JUDGE_ERROR_KINDS`.
    """
    if kind not in JUDGE_ERROR_KINDS:
        raise ValueError(f"unknown judge error kind {kind!r}; expected one of "
                         f"{sorted(JUDGE_ERROR_KINDS)}")
    return ComponentError(message, kind=kind)


class JudgeBackendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    #: Fields that change how a call is made but not what the model answers; they are
    #: left out of the cache key. Subclasses extend this set.
    operational_fields: ClassVar[frozenset[str]] = frozenset(
        {"max_concurrency", "timeout_s", "cache_path", "dedup", "allow_failures"}
    )

    backend: str
    model: str
    max_concurrency: int = Field(default=16, ge=1, le=10_000)
    timeout_s: float = Field(default=60.0, gt=0, description="Per-call time limit.")
    temperature: float | None = Field(default=0.0, ge=0)
    max_tokens: int = Field(default=1024, ge=1)
    cache_path: str | None = Field(
        default=None,
        description="SQLite file caching verdicts across runs (default: the "
        "REWARDSMITH_JUDGE_CACHE environment variable; unset means no persistent cache).",
    )
    dedup: bool = Field(
        default=True, description="Identical requests in flight at once share one call."
    )
    allow_failures: bool = Field(
        default=False,
        description="Accept rewards without this judge when it cannot run at all (bad "
        "configuration, unreachable): `rewardsmith score` then exits as if it had run "
        "(the CLI's --allow-judge-failures does the same for every judge).",
    )

    def cache_identity(self) -> dict[str, Any]:
        """The settings that shape the model's answer (the cache key's config part)."""
        return self.model_dump(mode="json", exclude=set(self.operational_fields))


@dataclass(frozen=True, slots=True)
class JudgeRequest:
    """One judge call. ``json_schema``, when given, is the verdict's required shape."""

    system: str
    user: str
    json_schema: dict[str, Any] | None = None
    schema_name: str = "verdict"


#: ``JudgeReply.extra`` key a backend sets to ``True`` when ``parsed`` was validated against
#: the request's ``json_schema`` (the judge then does not validate it a second time).
SCHEMA_CHECKED = "schema_checked"

#: The per-sample judge accounting a judge component reports (plugins/judges/calling.py
#: ``CallStats.measurements``): counts, tokens and dollars that add up over calls, turns and
#: samples (summed over a batch's rows they equal the batch telemetry).
ADDITIVE_MEASUREMENTS: Final = frozenset({
    "judge_calls", "cached", "deduplicated", "input_tokens", "output_tokens", "cost_usd",
    "judge_attempts", "judge_repairs", "judge_failed_calls",
})


@dataclass(slots=True)
class JudgeReply:
    """A judge backend's answer to one request: the reply text, the verdict object when
    the backend extracted one, token counts, latency (ms), cost (US dollars) and how the
    service stopped."""

    text: str
    parsed: Any = None  # the verdict object, when the backend extracted one
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    stop_reason: str | None = None
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: Per output token, when the backend asked for log-probabilities (the openai backend
    #: with ``logprobs = true``): OpenAI's ``choices[0].logprobs.content`` shape,
    #: ``[{"token": str, "logprob": float, "top_logprobs": [{"token", "logprob"}]}]``
    #: (natural logs). None when the service returned none.
    logprobs: list[dict[str, Any]] | None = None


class JudgeBackend:
    """Base class for judge backends. Create network clients lazily, never in ``__init__``."""

    Config: ClassVar[type[JudgeBackendConfig]]
    summary: ClassVar[str] = ""

    def __init__(self, config: JudgeBackendConfig) -> None:
        self.config = config

    @classmethod
    def backend_name(cls) -> str:
        default = cls.Config.model_fields["backend"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__qualname__}.Config.backend needs a Literal default")
        return default

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close clients and pools."""

    def warm(self) -> None:
        """Create clients now, at cold start, instead of on the first call (optional).

        Called from the Lambda's init phase (``BackendPool.warm``); must not raise for a
        configuration the first call would report (that call reports it per sample)."""


class WrappingBackend(JudgeBackend):
    """A backend layered over another (dedup and cache, cassette recording): it answers to
    the inner backend's config, lets its helpers show through, and closes it."""

    def __init__(self, inner: JudgeBackend) -> None:
        super().__init__(inner.config)
        self.Config = type(inner.config)  # type: ignore[misc]
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        # Backend-specific helpers (e.g. the remembered structured-output mode) stay visible.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def warm(self) -> None:
        self.inner.warm()

    async def aclose(self) -> None:
        await self.inner.aclose()
