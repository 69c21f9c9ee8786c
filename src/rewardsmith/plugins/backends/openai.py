"""The ``openai`` judge backend: any OpenAI-compatible ``/v1/chat/completions`` server
(OpenAI, vLLM, SGLang, Ollama, LiteLLM ...).

Needs the ``openai`` extra (``pip install 'rewardsmith[openai]'``), which brings httpx;
it is imported on first use only, so the core install and a Lambda bundle stay small.

Structured verdicts: ``response_format = "auto"`` (default) tries ``json_schema``, then
``json_object`` (with the schema inside ``response_format`` where ``json_object_schema`` is
on: llama.cpp and llama-cpp-python enforce it as a grammar), then ``prompt``; it steps down
at the first rejection of a mode, an HTTP 400, 422 or 500 whose message names the format
(llama-cpp-python answers ``json_schema`` with a 500 "Input should be 'text' or
'json_object'"), and remembers the mode per endpoint (``base_url`` and model) for the
process. A rejection is not a failure of the service: it is never retried and never
counts toward the circuit breaker. With an explicit mode it is a ``judge_config`` error,
named once in the log and in the run's summary. ``json_schema`` sends
``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``; ``json_object``
and ``prompt`` also put the schema in the system prompt. Either way the verdict is
extracted from the text (reasoning and fences skipped) and validated.
Throttling (429), timeouts and other 5xx are retried with full-jitter backoff, honouring
``Retry-After``/``retry-after-ms``. The API key is read from the environment variable
named by ``api_key_env`` at call time and never logged. docs/judges.md has every setting
and a server compatibility table.

Sources: the ``json_object`` + ``schema`` form is llama.cpp's (``tools/server/
server-common.cpp``, "Handle response_format", as vendored in llama-cpp-python 0.3.36) and
llama-cpp-python's (``llama_cpp/llama_types.py`` ``ChatCompletionRequestResponseFormat``,
``llama_chat_format.py`` ``_grammar_for_response_format``); OpenAI's is
https://platform.openai.com/docs/api-reference/chat/create (``response_format``).
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import math
import threading
import time
from typing import Any, ClassVar, Literal

from pydantic import Field

from rewardsmith.core import settings, trust
from rewardsmith.core.errors import ErrorKind
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.json_text import json_type
from rewardsmith.core.judging import (
    JudgeRequest,
    judge_error,
)
from rewardsmith.core.logs import redact
from rewardsmith.plugins.backends import _verdict
from rewardsmith.plugins.backends._base import (
    ModelAnswer,
    ModeRejected,
    ResilientJudgeBackend,
    token_count,
)
from rewardsmith.plugins.backends._resilience import CallFailed, ResilientBackendConfig

INSTALL_HINT = "pip install 'rewardsmith[openai]'"
_CONNECTIONS_PER_CLIENT = 8
_REFUSAL_FINISH = frozenset({"content_filter"})
# Statuses servers use to reject a structured-output mode: 400 (OpenAI, vLLM), 422 (FastAPI
# validation: SGLang, LiteLLM), 500 (llama-cpp-python's pydantic error).
_MODE_REJECTION_STATUSES = frozenset({400, 422, 500})
# Words of such a rejection's message; the message must name the format, so a plain 500
# ("model crashed", or "database schema error": the bare word "schema" is not enough)
# stays a transient failure.
_FORMAT_WORDS = ("response_format", "response format", "json_schema", "json schema",
                 "json_object", "grammar", "structured output", "guided_json", "guided_grammar",
                 "guided decoding")
# (base_url, model) -> the mode that endpoint accepted; shared by every backend of the process
# so that a second pack on the same server does not rediscover its rejection.
_ENDPOINT_MODES: dict[tuple[str, str], str] = {}
_SETTLED: set[tuple[str, str]] = set()  # endpoints whose mode a call has found out
_ENDPOINT_LOCK = threading.Lock()


def forget_endpoint_modes() -> None:
    """Forget every endpoint's remembered mode (a server was reconfigured; tests)."""
    with _ENDPOINT_LOCK:
        _ENDPOINT_MODES.clear()
        _SETTLED.clear()


def names_the_format(message: str) -> bool:
    """Whether a server's error message is about the structured-output format."""
    lowered = message.lower()
    return any(word in lowered for word in _FORMAT_WORDS)


class OpenAIConfig(ResilientBackendConfig):
    operational_fields: ClassVar[frozenset[str]] = ResilientBackendConfig.operational_fields | {
        "api_key_env",
    }

    backend: Literal["openai"] = "openai"
    base_url: str = Field(default="https://api.openai.com/v1",
                          description="Server root including /v1 (vLLM: http://host:8000/v1).")
    api_key_env: str = Field(default="OPENAI_API_KEY",
                             description="Environment variable holding the API key.")
    response_format: Literal["auto", "json_schema", "json_object", "prompt"] = Field(
        default="auto",
        description="Structured-output mode; 'auto' steps down json_schema -> json_object -> "
        "prompt at the server's first rejection, remembered per endpoint.",
    )
    json_object_schema: bool = Field(
        default=True,
        description="Send the verdict schema inside a json_object response_format "
        "({'type': 'json_object', 'schema': ...}), which llama.cpp and llama-cpp-python "
        "enforce as a grammar.",
    )
    strict_schema: bool = Field(default=True, description="json_schema 'strict' flag.")
    stop: tuple[str, ...] = ()
    logprobs: bool = Field(default=False, description="Ask for the log-probability of each "
                           "output token (judges with score_from = 'distribution').")
    top_logprobs: int | None = Field(default=None, ge=0, le=20, description="With logprobs: "
                                     "how many alternatives per token to return.")
    extra_body: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra request fields, e.g. {reasoning_effort = 'low'} or vLLM options.",
    )


def _token_logprobs(value: Any) -> list[dict[str, Any]] | None:
    """``choices[0].logprobs.content`` when it has OpenAI's shape (an array of objects
    with a string ``token``), else None: the distribution scorer then falls back to the
    sampled verdict and says so (``score_source = "sampled_fallback"``)."""
    content = value.get("content") if isinstance(value, dict) else None
    if not isinstance(content, list) or not all(
            isinstance(t, dict) and isinstance(t.get("token"), str) for t in content):
        return None
    return content


def _seconds(text: str, scale: float = 1.0) -> float | None:
    """A header's non-negative, finite number of seconds (``text`` times ``scale``), else
    None: ``inf``, ``nan`` and negative delays are no hint (RFC 9110, section 10.2.3:
    delay-seconds is a non-negative integer)."""
    try:
        value = float(text) * scale
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date); None
    without a usable one (absent, not a number or a date, negative, ``inf``, ``nan``)."""
    millis = headers.get("retry-after-ms")
    if millis:
        seconds = _seconds(millis, 1 / 1000)
        if seconds is not None:
            return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        float(value)
    except ValueError:
        pass  # not a number: perhaps an HTTP date
    else:
        return _seconds(value)  # a number, usable or not
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_message(response: Any) -> str:
    """The server's error text on one line (pydantic's runs over several), secrets
    redacted (a server may echo the API key)."""
    return redact(" ".join(_raw_error_message(response).split()))


def _raw_error_message(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    if isinstance(data, dict) and "detail" in data:  # FastAPI's validation errors
        return str(data["detail"])[:600]
    return str(data)[:300]


class OpenAIBackend(ResilientJudgeBackend):
    Config = OpenAIConfig
    summary = "OpenAI-compatible chat completions via httpx (OpenAI, vLLM, SGLang, Ollama)"
    # "auto" starts with json_schema; each rejection steps down one (see module docstring).
    fallback_order = ("json_schema", "json_object", "prompt")
    structured_text_modes = frozenset({"json_schema", "json_object"})

    config: OpenAIConfig

    def __init__(self, config: OpenAIConfig) -> None:
        super().__init__(config)
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, list[Any]]] = {}
        self._next = itertools.count()
        self._lock = threading.Lock()

    # -- client -----------------------------------------------------------------------
    def _client(self) -> Any:
        """An httpx.AsyncClient of this event loop (a client is bound to its loop).

        The loop gets several clients of at most ``_CONNECTIONS_PER_CLIENT`` connections,
        used in turn: httpcore's pool does work per request that grows with the number of
        connections it holds, and with 100 in one pool the client alone burnt ~13 ms of CPU
        per call (0.18 of ideal throughput in bench/judge_throughput.py; cf.
        encode/httpx#3215). Pools of 8 bring that to ~2 ms.
        """
        try:
            import httpx
        except ImportError:
            raise CallFailed(ErrorKind.JUDGE_CONFIG, f"the openai judge backend needs httpx: "
                                           f"{INSTALL_HINT}", code="missing_httpx") from None
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._clients.get(id(loop))
            if entry is None or entry[0] is not loop:
                cfg = self.config
                shards = -(-cfg.max_concurrency // _CONNECTIONS_PER_CLIENT)
                per_client = -(-cfg.max_concurrency // shards)
                clients = [httpx.AsyncClient(
                    base_url=cfg.base_url.rstrip("/"),
                    # No read limit here: Resilience bounds each attempt with a limit sized
                    # to the judge's measured speed, which httpx's would undercut.
                    timeout=httpx.Timeout(None, connect=cfg.connect_timeout_s),
                    transport=trust.guard_transport(httpx, limits=httpx.Limits(
                        max_connections=per_client, max_keepalive_connections=per_client)),
                ) for _ in range(shards)]
                entry = (loop, clients)
                self._clients[id(loop)] = entry
            clients = entry[1]
        return clients[next(self._next) % len(clients)]

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            entries, self._clients = self._clients, {}
        for owner, clients in entries.values():
            if owner is loop:
                for client in clients:
                    await client.aclose()
            # clients of other (finished) loops hold no live connections worth closing

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        try:
            key = trust.read_secret(self.config.api_key_env, "judge.api_key_env")
        except trust.TrustError as exc:
            raise CallFailed(ErrorKind.JUDGE_CONFIG, str(exc), code="not_granted") from None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    # -- one exchange -----------------------------------------------------------------
    def _endpoint(self) -> tuple[str, str]:
        return (self.config.base_url.rstrip("/"), self.config.model)

    def structured_mode(self) -> str:
        """The response format the next call will use."""
        if self.config.response_format != "auto":
            return self.config.response_format
        with _ENDPOINT_LOCK:
            return _ENDPOINT_MODES.get(self._endpoint(), "json_schema")

    def mode_unsettled(self) -> bool:
        if self.config.response_format != "auto":
            return False
        with _ENDPOINT_LOCK:
            return self._endpoint() not in _SETTLED

    def settle_mode(self) -> None:
        with _ENDPOINT_LOCK:
            _SETTLED.add(self._endpoint())

    def remember_mode(self, mode: str) -> None:
        """Use ``mode`` for this endpoint from now on (after a rejection of the one before)."""
        if self.config.response_format == "auto":
            with _ENDPOINT_LOCK:
                _ENDPOINT_MODES[self._endpoint()] = mode

    def _rejection(self, status: int, message: str, body: dict[str, Any],
                   mode: str) -> Exception | None:
        """The error for a server's rejection of ``mode``, or None if it is not one."""
        if status not in _MODE_REJECTION_STATUSES or mode not in ("json_schema", "json_object") \
                or "response_format" not in body or not names_the_format(message):
            return None
        if self.config.response_format == "auto":
            return ModeRejected(message)
        return CallFailed(ErrorKind.JUDGE_CONFIG, f"the server rejects response_format "
                          f"{mode!r}: {message} [model {self.config.model}, "
                          f"{self.config.base_url}]; set response_format = \"auto\" (or one the "
                          f"server accepts, docs/judges.md)", code=f"mode_rejected:{mode}")

    async def _attempt(self, body: dict[str, Any], mode: str) -> dict[str, Any]:
        client = self._client()  # first: names the extra to install when httpx is missing
        import httpx

        try:
            response = await trust.bounded_request(
                client, "POST", "/chat/completions", json=body, headers=self._headers(),
                # Resilience.run bounds the whole attempt with a limit sized to the judge's
                # measured speed (adaptive_timeout); a fixed one here would undercut it.
                timeout_s=None)
        except trust.ReplyTooLarge as exc:
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, f"openai reply refused: {exc}",
                             code="reply_too_large") from None
        except TimeoutError:
            raise CallFailed(ErrorKind.JUDGE_TIMEOUT, "openai call timed out",
                             code="TimeoutError") from None
        except httpx.TimeoutException as exc:
            raise CallFailed(ErrorKind.JUDGE_TIMEOUT,
                             f"openai call timed out: {type(exc).__name__}",
                             code=type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, f"openai endpoint unreachable: "
                                                f"{type(exc).__name__}: {redact(str(exc))}",
                             code=type(exc).__name__) from None
        status = response.status_code
        if status == 200:
            try:
                data: dict[str, Any] = response.json()
            except ValueError:
                raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE,
                                 "the server answered 200 with a non-JSON body",
                                 code="bad_body") from None
            return data
        message = f"HTTP {status}: {_error_message(response)}"
        rejection = self._rejection(status, message, body, mode)
        if rejection is not None:
            raise rejection
        if status == 429:
            raise CallFailed(ErrorKind.JUDGE_THROTTLED, message, code="429",
                             retry_after_s=_retry_after(response.headers))
        if status in (408, 504):
            raise CallFailed(ErrorKind.JUDGE_TIMEOUT, message, code=str(status))
        if status >= 500:
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, message, code=str(status),
                             retry_after_s=_retry_after(response.headers))
        if status in (401, 403) and not settings.secret(self.config.api_key_env):
            message += f" (environment variable {self.config.api_key_env} is not set)"
        raise CallFailed(ErrorKind.JUDGE_CONFIG, f"{message} [model {self.config.model}, "
                                       f"{self.config.base_url}]", code=str(status))

    @staticmethod
    def _token_counts(response: dict[str, Any]) -> tuple[int, int]:
        tokens = response.get("usage")
        if not isinstance(tokens, dict):
            return 0, 0
        return token_count(tokens.get("prompt_tokens")), token_count(
            tokens.get("completion_tokens"))

    def _body(self, request: JudgeRequest, messages: list[dict[str, Any]],
              mode: str) -> dict[str, Any]:
        cfg = self.config
        schema = request.json_schema
        system = request.system
        if schema is not None and mode in ("prompt", "json_object"):
            # json_object: OpenAI requires the word JSON in the messages, and a server that
            # ignores the schema in response_format still needs to tell the model the shape.
            wording = _verdict.active_wording()
            text = wording.render(schema, request.schema_name)
            if wording.turn == "user" and messages and isinstance(messages[0].get("content"),
                                                                  str):
                messages = [{**messages[0], "content": messages[0]["content"] + text},
                            *messages[1:]]
            else:
                system += text
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": ([{"role": "system", "content": system}] if system else []) + messages,
            "max_tokens": cfg.max_tokens,
        }
        if cfg.temperature is not None:
            body["temperature"] = cfg.temperature
        if cfg.top_p is not None:
            body["top_p"] = cfg.top_p
        if cfg.stop:
            body["stop"] = list(cfg.stop)
        if cfg.logprobs:
            body["logprobs"] = True
            if cfg.top_logprobs is not None:
                body["top_logprobs"] = cfg.top_logprobs
        if schema is not None and mode == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": request.schema_name, "schema": schema, "strict": cfg.strict_schema}}
        elif schema is not None and mode == "json_object":
            body["response_format"] = ({"type": "json_object", "schema": schema}
                                       if cfg.json_object_schema else {"type": "json_object"})
        body.update(cfg.extra_body)
        return body

    # -- reading the answer -------------------------------------------------------------
    @staticmethod
    def _turn(role: str, text: str) -> dict[str, Any]:
        return {"role": role, "content": text}

    def _read(self, request: JudgeRequest, response: dict[str, Any]) -> ModelAnswer:
        """The answer in a chat completion; every part of the wrong JSON type is a
        ``judge_parse`` error naming it (``choices`` must be a non-empty array of objects,
        ``message`` an object or null, ``content`` a string, null or an array of parts)."""
        choices = response.get("choices")
        if not isinstance(choices, list) or not choices:
            what = "none" if choices is None or choices == [] else json_type(choices)
            raise judge_error(ErrorKind.JUDGE_PARSE, f"the server's reply has no choices "
                              f"(choices: {what}, expected a non-empty array)")
        choice = choices[0]
        if not isinstance(choice, dict):
            raise judge_error(ErrorKind.JUDGE_PARSE, f"the server's reply has no choices "
                              f"(choices[0] is {json_type(choice)}, expected an object)")
        message = choice.get("message")
        if message is None:
            message = {}
        elif not isinstance(message, dict):
            raise judge_error(ErrorKind.JUDGE_PARSE, f"the server's reply is not a chat "
                              f"completion (choices[0].message is {json_type(message)}, "
                              f"expected an object)")
        finish = choice.get("finish_reason")
        if message.get("refusal") or finish in _REFUSAL_FINISH:
            raise judge_error(ErrorKind.JUDGE_REFUSED, f"the judge model refused (finish_reason="
                                             f"{finish!r})")
        content = message.get("content")
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p["text"] for p in content
                              if isinstance(p, dict) and isinstance(p.get("text"), str))
        elif content is None:
            content = ""  # e.g. cut off before any text: the verdict parse says so
        elif not isinstance(content, str):
            raise judge_error(ErrorKind.JUDGE_PARSE, f"the server's reply is not a chat "
                              f"completion (choices[0].message.content is "
                              f"{json_type(content)}, expected a string)")
        return ModelAnswer(content, None, finish if isinstance(finish, str) else None,
                           logprobs=_token_logprobs(choice.get("logprobs")))


@hookimpl
def register_judge_backends(register: Any) -> None:
    register(OpenAIBackend)
