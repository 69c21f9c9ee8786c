"""``kind = "http"``: ask a product-metrics service for the number.

The scorer POSTs ``{"id", "response", "metadata": {path: value}}`` (plus ``"prompt"``
when asked) as JSON and reads a number at ``value_path`` in the JSON reply. Uses httpx
(``pip install 'rewardsmith[openai]'``), imported when a pack first uses this source.
Secrets never live in the pack: header values are read from environment variables named
in ``headers_from_env``, and URLs are shown without credentials or query strings.

The host and the variables must be granted by the operator (:mod:`rewardsmith.core.trust`,
checked when the pack loads); every connection is checked again by peer address; the
whole request (connect, send, every read) runs under ``request_timeout_s`` and the reply
is read up to ``max_response_bytes``; a server's error text is redacted before it is kept.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import Field, field_validator

from rewardsmith.core import trust
from rewardsmith.core.component import ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.logs import redact
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.metrics.base import MetricSource, SourceConfig
from rewardsmith.plugins.metrics.values import (
    MISSING,
    KeyPath,
    checked_key_path,
    format_key_path,
    lookup,
    number_at,
    parse_key_path,
)

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_BACKOFF_BASE_S = 0.05
_EXCERPT_CHARS = 200


class HttpSourceConfig(SourceConfig):
    kind: Literal["http"] = "http"
    url: str = Field(description="http:// or https:// endpoint that answers a POST with JSON.")
    value_path: str | list[str] = Field(
        description="Key path of the number in the JSON reply, e.g. 'metrics.ctr'."
    )
    send_metadata: list[str] = Field(
        default_factory=list,
        description="Metadata key paths sent along, as {path: value} under 'metadata'.",
    )
    include_prompt: bool = Field(default=False, description="Also send the prompt turns.")
    headers_from_env: dict[str, str] = Field(
        default_factory=dict,
        description="Header name -> environment variable holding its value (tokens stay "
        "out of pack files).",
    )
    request_timeout_s: float = Field(
        default=10.0, gt=0,
        description="Time limit of one whole request (connect, send, the whole reply).")
    max_response_bytes: int = Field(
        default=1_048_576, ge=1, le=trust.MAX_REPLY_BYTES,
        description="Largest reply read; a longer one fails the sample (metric_http).")
    retries: int = Field(
        default=0, ge=0, le=5,
        description="Retries on connection errors, timeouts and HTTP 429/502/503/504, with "
        "exponential backoff and full jitter.",
    )
    max_connections: int = Field(default=32, ge=1, le=10_000)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http:// or https:// URL, got {display_url(url)!r}")
        return url

    @field_validator("value_path")
    @classmethod
    def _valid_value_path(cls, value: str | Sequence[str]) -> str | list[str]:
        return checked_key_path(value)

    @field_validator("send_metadata")
    @classmethod
    def _valid_metadata_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            parse_key_path(path)
        return paths

    def build(self, context: ComponentContext | None = None) -> MetricSource:
        trust.check_url(self.url, "metric url")
        for header, variable in self.headers_from_env.items():
            trust.check_env(variable, f"headers_from_env[{header!r}]")
        return HttpSource(self)


def display_url(url: str) -> str:
    """The URL without credentials or query string, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _import_httpx() -> Any:
    try:
        import httpx
    except ImportError:
        raise ValueError(
            "the 'http' metric source needs httpx: pip install 'rewardsmith[openai]'"
        ) from None
    return httpx


class HttpSource(MetricSource):
    def __init__(self, config: HttpSourceConfig) -> None:
        self.config = config
        self._httpx = _import_httpx()  # fail at pack load, not at the first sample
        self._value_path: KeyPath = parse_key_path(config.value_path)
        self._metadata_paths = [(p, parse_key_path(p)) for p in config.send_metadata]
        self._where = f"metric endpoint {display_url(config.url)}"
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def _get_client(self) -> Any:
        # An httpx client is bound to the event loop it first ran on; the scorer keeps
        # one loop for its life, but a direct caller may use several.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            httpx = self._httpx
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.request_timeout_s),
                transport=trust.guard_transport(
                    httpx, limits=httpx.Limits(max_connections=self.config.max_connections)),
            )
            self._client_loop = loop
        return self._client

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        for header, env_var in self.config.headers_from_env.items():
            value = trust.read_secret(env_var, f"headers_from_env[{header!r}]")
            if value is None:
                raise ComponentError(
                    f"{self._where}: header {header!r} needs environment variable "
                    f"{env_var!r}, which is not set",
                    kind=ErrorKind.METRIC_HTTP,
                )
            headers[header] = value
        return headers

    def _body(self, sample: Sample) -> bytes:
        body: dict[str, Any] = {"id": sample.id, "response": sample.response}
        if self._metadata_paths:
            selected = {}
            for label, path in self._metadata_paths:
                value = lookup(sample.metadata, path)
                if value is not MISSING:
                    selected[label] = value
            body["metadata"] = selected
        if self.config.include_prompt:
            body["prompt"] = [{"role": m.role, "content": m.content} for m in sample.prompt]
        return orjson.dumps(body, default=str)

    async def read(self, sample: Sample) -> float:
        client = self._get_client()
        headers = self._headers()
        content = self._body(sample)
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                reply = await trust.bounded_request(
                    client, "POST", self.config.url, content=content, headers=headers,
                    timeout_s=self.config.request_timeout_s,
                    max_bytes=self.config.max_response_bytes)
            except trust.ReplyTooLarge as exc:
                raise ComponentError(f"{self._where}: {exc}",
                                     kind=ErrorKind.METRIC_HTTP) from None
            except (self._httpx.TimeoutException, TimeoutError):
                if last:
                    raise ComponentError(
                        f"{self._where} did not answer within {self.config.request_timeout_s}s"
                        + (f" ({attempts} attempts)" if attempts > 1 else ""),
                        kind=ErrorKind.METRIC_TIMEOUT,
                    ) from None
            except self._httpx.HTTPError as exc:
                if last:
                    raise ComponentError(f"{self._where}: {type(exc).__name__}: "
                                         f"{redact(str(exc))}",
                                         kind=ErrorKind.METRIC_HTTP) from None
            else:
                if reply.status_code not in _RETRY_STATUSES or last:
                    return self._number_from(reply)
            await asyncio.sleep(random.uniform(0, _BACKOFF_BASE_S * 2**attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _number_from(self, reply: Any) -> float:
        if not 200 <= reply.status_code < 300:
            excerpt = redact(reply.text)[:_EXCERPT_CHARS]
            raise ComponentError(
                f"{self._where} answered HTTP {reply.status_code}"
                + (f": {excerpt}" if excerpt else ""),
                kind=ErrorKind.METRIC_HTTP,
            )
        try:
            data = orjson.loads(reply.content)
        except orjson.JSONDecodeError:
            raise ComponentError(f"{self._where} did not reply with JSON",
                                 kind=ErrorKind.METRIC_INVALID) from None
        where = f"{self._where} reply at {format_key_path(self._value_path)!r}"
        return number_at(data, self._value_path, where)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
