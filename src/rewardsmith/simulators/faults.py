"""Fault injection and the verdict policy shared by the judge-service simulators.

A simulator draws one *fault* per request: first from a timed outage
(``plan.outage("throttle", 3.0)`` serves ``throttle`` to every request for 3 s counted
from the first request that sees it — a burst, for tests of backoff), then from a script
(``plan.script("throttle", "ok")`` makes the next two requests throttled, then fine —
exact, for tests), then at random from the configured rates (seeded, for benches). Faults:

``ok``             answer normally
``throttle``       429 ThrottlingException / rate_limit_exceeded
``server_error``   503 ServiceUnavailableException / server_error
``model_timeout``  408 ModelTimeoutException (OpenAI simulator: 504)
``model_error``    424 ModelErrorException (OpenAI simulator: 500)
``validation``     400 ValidationException / invalid_request_error
``access_denied``  403 AccessDeniedException (OpenAI simulator: 401)
``not_found``      404 ResourceNotFoundException / model_not_found
``malformed``      200, but the verdict is not valid JSON / does not match the schema
``refuse``         200 with stopReason ``content_filtered`` (OpenAI: ``content_filter``)
``hang``           answer only after ``hang_s`` (client read timeouts)

The *verdict policy* is a callable ``VerdictRequest -> dict | str``: a dict is the verdict
(sent as the mode requires: JSON text, tool input ...), a string is sent as the raw text
answer. :func:`default_verdict` answers any schema deterministically and obeys markers in
the prompt text, so tests steer verdicts through the candidate text they score:

``[[PASS]]`` / ``[[FAIL]]``
    every boolean true/false, enums pick a pass-like/fail-like value ("pass", "yes",
    "true", "good" / "fail", "no", "false", "bad"), bounded numbers their max/min;
``[[PASS:name]]`` / ``[[FAIL:name]]``
    the same, only for the property ``name`` and everything inside it (wins over the
    global markers);
``[[CHOOSE:value]]``
    any enum that contains ``value`` picks it (e.g. ``[[CHOOSE:B]]`` for a pairwise winner);
``[[SCORE:n]]``
    numbers and integers take ``n`` (clamped into their bounds).

Without markers, values come from a hash of the prompt text and the property path: the
same request always gets the same verdict.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

FAULT_KINDS = ("ok", "throttle", "server_error", "model_timeout", "model_error", "validation",
               "access_denied", "not_found", "malformed", "refuse", "hang")


@dataclass(frozen=True)
class FaultPolicy:
    """Latency and random fault rates (each in [0, 1]; they add up to at most 1)."""

    latency_s: float = 0.0
    latency_jitter_s: float = 0.0
    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    model_timeout_rate: float = 0.0
    model_error_rate: float = 0.0
    validation_error_rate: float = 0.0
    malformed_rate: float = 0.0
    refuse_rate: float = 0.0
    hang_rate: float = 0.0
    hang_s: float = 30.0
    #: Put reasoning before the answer (a reasoningContent block / a <think> section),
    #: holding a decoy JSON object that a careless parser would take for the verdict.
    reasoning: bool = False
    #: Structured-output modes the simulated model rejects with a ValidationException:
    #: "output_config", "tool" (Converse) or "json_schema" (OpenAI).
    unsupported_modes: frozenset[str] = frozenset()
    #: Retry-After hint sent with throttling responses (OpenAI simulator), seconds.
    retry_after_s: float | None = None
    #: A request quota, requests per second (0: none): requests beyond it are throttled,
    #: as a Bedrock account's requests-per-minute quota does (a token bucket holding one
    #: second of requests).
    quota_rps: float = 0.0
    #: How the OpenAI simulator rejects an unsupported mode: (HTTP status, message). The
    #: default is OpenAI's 400; llama-cpp-python answers 500 with a pydantic message, FastAPI
    #: servers 422.
    mode_rejection: tuple[int, str] = (
        400, "response_format {mode} is not supported by this model")
    seed: int | None = 0

    def __post_init__(self) -> None:
        rates = self._rates()
        for name, rate in rates:
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name}_rate must be within [0, 1], got {rate}")
        total = sum(rate for _, rate in rates)
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:.3f}, more than 1")
        if self.latency_s < 0 or self.latency_jitter_s < 0 or self.hang_s < 0:
            raise ValueError("latencies must not be negative")

    def _rates(self) -> list[tuple[str, float]]:
        return [
            ("throttle", self.throttle_rate), ("server_error", self.server_error_rate),
            ("model_timeout", self.model_timeout_rate), ("model_error", self.model_error_rate),
            ("validation", self.validation_error_rate), ("malformed", self.malformed_rate),
            ("refuse", self.refuse_rate), ("hang", self.hang_rate),
        ]


class FaultPlan:
    """Decides the fault of each request: the script first, then the random rates."""

    def __init__(self, policy: FaultPolicy | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._script: deque[str] = deque()
        self.policy = policy or FaultPolicy()
        self._rng = random.Random(self.policy.seed)
        self._clock = clock
        # A timed outage: (fault, length in seconds, clock reading of its first request).
        self._outage: tuple[str, float, float | None] | None = None
        self._quota_tokens = self.policy.quota_rps
        self._quota_at = clock()

    def configure(self, policy: FaultPolicy | None = None, **changes: Any) -> FaultPolicy:
        """Replace the policy (or change some fields of it); returns the new policy."""
        with self._lock:
            self.policy = replace(policy or self.policy, **changes)
            self._rng = random.Random(self.policy.seed)
            self._quota_tokens, self._quota_at = self.policy.quota_rps, self._clock()
            return self.policy

    def script(self, *faults: str) -> None:
        """Make the next requests fail (or not) exactly as listed, in order."""
        unknown = [f for f in faults if f not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._script.extend(faults)

    def outage(self, fault: str, seconds: float) -> None:
        """Serve ``fault`` to every request for ``seconds``, counted from the first request
        that arrives after this call (so client start-up is not part of the window); then
        the script and the rates apply again. A new outage replaces one not yet over."""
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULT_KINDS)}")
        if not seconds > 0:
            raise ValueError(f"an outage lasts a positive number of seconds, got {seconds}")
        with self._lock:
            self._outage = (fault, float(seconds), None)

    def clear(self) -> None:
        """Forget the script and any outage."""
        with self._lock:
            self._script.clear()
            self._outage = None

    def _outage_fault(self) -> str | None:
        """The outage's fault if one is on now (call with the lock held)."""
        if self._outage is None:
            return None
        fault, seconds, started = self._outage
        now = self._clock()
        if started is None:
            self._outage = (fault, seconds, now)
            return fault
        if now - started < seconds:
            return fault
        self._outage = None
        return None

    def _take_quota(self, rate: float) -> bool:
        """One request's token from the quota bucket (call with the lock held)."""
        now = self._clock()
        self._quota_tokens = min(rate, self._quota_tokens + (now - self._quota_at) * rate)
        self._quota_at = now
        if self._quota_tokens >= 1.0:
            self._quota_tokens -= 1.0
            return True
        return False

    def draw(self) -> tuple[str, float]:
        """(fault, latency in seconds) for the next request."""
        with self._lock:
            policy = self.policy
            outage = self._outage_fault()
            if outage is not None:
                fault = outage
            elif self._script:
                fault = self._script.popleft()
            elif policy.quota_rps > 0 and not self._take_quota(policy.quota_rps):
                fault = "throttle"
            else:
                fault = "ok"
                roll = self._rng.random()
                for name, rate in policy._rates():
                    if roll < rate:
                        fault = name
                        break
                    roll -= rate
            jitter = self._rng.uniform(0, policy.latency_jitter_s) if policy.latency_jitter_s else 0
        return fault, policy.latency_s + jitter


# -- verdicts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class VerdictRequest:
    """What the verdict policy sees of one request."""

    model: str
    system: str
    messages: tuple[tuple[str, str], ...]  # (role, text)
    schema: dict[str, Any] | None
    mode: str  # output_config | tool | json_schema | prompt | none
    body: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def text(self) -> str:
        """System prompt and every message, where markers are looked for."""
        return "\n".join([self.system, *(text for _, text in self.messages)])

    @property
    def last_user_text(self) -> str:
        for role, text in reversed(self.messages):
            if role == "user":
                return text
        return ""


VerdictPolicy = Callable[[VerdictRequest], "dict[str, Any] | str"]

_SCHEMA_TAG_RE = re.compile(r"<verdict_schema>(.*?)</verdict_schema>", re.DOTALL)
_MARK_RE = re.compile(r"\[\[(PASS|FAIL)(?::([^\]]+))?\]\]")
_CHOOSE_RE = re.compile(r"\[\[CHOOSE:([^\]]+)\]\]")
_SCORE_RE = re.compile(r"\[\[SCORE:(-?\d+(?:\.\d+)?)\]\]")
_PASS_WORDS = ("pass", "passed", "yes", "true", "good", "correct", "met", "satisfied")
_FAIL_WORDS = ("fail", "failed", "no", "false", "bad", "incorrect", "not_met", "unsatisfied")


def schema_from_prompt(system: str) -> dict[str, Any] | None:
    """The schema a backend put between ``<verdict_schema>`` tags in prompted-JSON mode."""
    import json

    found = _SCHEMA_TAG_RE.findall(system)
    if not found:
        return None
    try:
        schema = json.loads(found[-1])
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


class _Markers:
    def __init__(self, text: str) -> None:
        self.named: dict[str, bool] = {}
        self.global_: bool | None = None
        for kind, name in _MARK_RE.findall(text):
            if name:
                self.named[name.strip()] = kind == "PASS"
            else:
                self.global_ = kind == "PASS"
        self.choices = [c.strip() for c in _CHOOSE_RE.findall(text)]
        scores = _SCORE_RE.findall(text)
        self.score = float(scores[-1]) if scores else None

    def decide(self, path: tuple[str, ...]) -> bool | None:
        for segment in reversed(path):
            if segment in self.named:
                return self.named[segment]
        return self.global_


class _Builder:
    def __init__(self, root: dict[str, Any], text: str) -> None:
        self.root = root
        self.text = text
        self.markers = _Markers(text)

    def _hash_bit(self, path: tuple[str, ...], salt: str = "") -> int:
        digest = hashlib.sha256(("/".join(path) + "|" + salt + "|" + self.text).encode())
        return int.from_bytes(digest.digest()[:8], "big")

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        seen = 0
        while isinstance(ref, str) and ref.startswith("#/") and seen < 16:
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
            ref = node.get("$ref") if isinstance(node, dict) else None
            seen += 1
        return schema

    def build(self, schema: Any, path: tuple[str, ...] = ()) -> Any:
        if not isinstance(schema, dict):
            return None
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self._enum(list(schema["enum"]), path)
        for combinator in ("oneOf", "anyOf", "allOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options:
                merged = {k: v for k, v in schema.items() if k != combinator}
                return self.build({**merged, **options[0]}, path)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            props = schema.get("properties") or {}
            return {name: self.build(sub, (*path, name)) for name, sub in props.items()}
        if kind == "array":
            count = max(int(schema.get("minItems", 1)), 1)
            if "maxItems" in schema:
                count = min(count, int(schema["maxItems"]))
            return [self.build(schema.get("items", {}), (*path, str(i))) for i in range(count)]
        if kind == "boolean":
            decision = self.markers.decide(path)
            return bool(self._hash_bit(path) % 2) if decision is None else decision
        if kind in ("integer", "number"):
            return self._number(schema, path, integer=kind == "integer")
        if kind == "null":
            return None
        return self._string(schema, path)

    def _enum(self, values: list[Any], path: tuple[str, ...]) -> Any:
        for choice in self.markers.choices:
            for value in values:
                if str(value) == choice:
                    return value
        decision = self.markers.decide(path)
        if decision is not None:
            words = _PASS_WORDS if decision else _FAIL_WORDS
            for value in values:
                if str(value).lower() in words:
                    return value
            return values[0] if decision else values[-1]
        return values[self._hash_bit(path) % len(values)]

    def _number(self, schema: dict[str, Any], path: tuple[str, ...], *, integer: bool) -> Any:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        low = 0 if low is None else low
        high = (low + 10 if integer else low + 1) if high is None else high
        if "exclusiveMinimum" in schema:
            low = low + (1 if integer else 1e-6)
        if "exclusiveMaximum" in schema:
            high = high - (1 if integer else 1e-6)
        decision = self.markers.decide(path)
        if self.markers.score is not None:
            value: float = min(max(self.markers.score, low), high)
        elif decision is not None:
            value = high if decision else low
        else:
            fraction = (self._hash_bit(path) % 10_001) / 10_000
            value = low + (high - low) * fraction
        return round(value) if integer else value

    def _string(self, schema: dict[str, Any], path: tuple[str, ...]) -> str:
        name = path[-1] if path else "answer"
        text = f"simulated {name}"
        minimum = int(schema.get("minLength", 0))
        if len(text) < minimum:
            text = text + "." * (minimum - len(text))
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])]
        return text


def schema_instance(schema: dict[str, Any], text: str) -> Any:
    """A deterministic instance of ``schema`` steered by markers in ``text``."""
    return _Builder(schema, text).build(schema)


def default_verdict(request: VerdictRequest) -> dict[str, Any] | str:
    """The default policy: an instance of the request's schema, or a fixed text answer."""
    if request.schema is None:
        return "Simulated judge answer."
    value = schema_instance(request.schema, request.text)
    return value if isinstance(value, dict) else {"value": value}


def malformed_text(mode: str) -> str:
    """What a confused model writes instead of a verdict."""
    if mode in ("output_config", "json_schema", "json_object"):
        return '{"verdict": "pass", "reason": "truncated'  # cut off mid-object
    return "The response looks reasonable overall, but I will not commit to a verdict."


def estimate_tokens(text: str) -> int:
    """Rough token count (4 characters a token), enough for cost and usage plumbing."""
    return max(1, len(text) // 4)
