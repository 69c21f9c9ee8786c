"""Bedrock Converse over asyncio: boto3's credentials and SigV4, without botocore's request
pipeline or a worker thread per call.

Issue 13's profile of one judge call: ~70% of the CPU was botocore's ``_make_api_call``
(parameter validation, the event system, serialisation, the ``AWSRequest`` →
``http.client`` → ``urllib3`` stack, response parsing against the service model), plus
the hop of every call to a worker thread. Converse is a plain REST-JSON operation
(``POST /model/{modelId}/converse``, the request body is the API's JSON minus
``modelId``, the response body is the API's JSON), so this module:

* takes **credentials, region and endpoint from the boto3 client** the backend builds from
  the standard AWS configuration chain (profiles, environment, SSO, container and
  instance roles; refreshed as boto3 refreshes them);
* signs each request with **AWS Signature Version 4** — the algorithm of
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
  as botocore 1.44 implements it in ``botocore.auth.SigV4Auth`` (canonical URI quoted with
  ``safe='/~'``, signed headers ``content-type;host;x-amz-date[;x-amz-security-token]``,
  the signing key cached per day); ``tests/plugins/backends/test_converse_http.py`` checks
  the ``Authorization`` header against botocore's for the same request and instant;
* sends it on a kept-alive HTTP/1.1 connection from a per-event-loop pool
  (``asyncio.open_connection``, TLS with boto3's CA bundle), reads ``Content-Length`` or
  chunked bodies, and decodes JSON with orjson.

Errors come back as botocore would raise them (``x-amzn-ErrorType`` / ``__type`` code,
``message``), so the backend classifies them the same way. The backend falls back to
boto3's own transport when an HTTP proxy applies to the endpoint (this module speaks
directly to the endpoint) or when asked (``transport = "boto3"``).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import os
import ssl
import sys
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from rewardsmith.core import settings
from rewardsmith.core.errors import ErrorKind, RewardsmithError
from rewardsmith.plugins.backends._resilience import CallFailed

_SERVICE_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_MAX_HEADER_BYTES = 64 * 1024
_IDLE_PER_LOOP = 1024  # kept-alive connections kept per event loop
# Header names as botocore writes them on the wire (signed in lower case).
_WIRE_NAMES = {"content-type": "Content-Type", "host": "Host", "x-amz-date": "X-Amz-Date",
               "x-amz-security-token": "X-Amz-Security-Token", "authorization": "Authorization"}


class HttpError(RewardsmithError):
    """A response with status >= 400: ``status``, the service's error ``code`` and
    ``message`` (the shape botocore's ``ClientError.response`` carries)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def as_boto_response(self) -> dict[str, Any]:
        return {"Error": {"Code": self.code, "Message": self.message},
                "ResponseMetadata": {"HTTPStatusCode": self.status}}


class SigV4Signer:
    """AWS Signature Version 4 for one service and region (see the module docstring).

    ``credentials`` is a botocore credentials object (``get_frozen_credentials()`` gives
    access key, secret key and token, refreshed when due).
    """

    def __init__(self, credentials: Any, region: str, service: str) -> None:
        self.credentials = credentials
        self.region = region
        self.service = service
        self._keys: dict[tuple[str, str], bytes] = {}  # (secret, date) -> signing key
        self._paths: dict[str, str] = {}  # request path -> canonical URI (one per model)
        self._lock = threading.Lock()

    def _signing_key(self, secret: str, datestamp: str) -> bytes:
        cached = self._keys.get((secret, datestamp))
        if cached is not None:
            return cached
        key = hmac.new(f"AWS4{secret}".encode(), datestamp.encode(), hashlib.sha256).digest()
        for part in (self.region, self.service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        with self._lock:
            self._keys = {(secret, datestamp): key}  # one day's key is all that is needed
        return key

    def headers(self, host: str, path: str, body: bytes,
                now: datetime.datetime | None = None) -> list[tuple[str, str]]:
        """The headers of a signed ``POST`` of JSON ``body`` to ``path`` on ``host``.

        Raises CallFailed (``judge_config``) when there are no credentials.
        """
        if self.credentials is None:
            raise CallFailed(ErrorKind.JUDGE_CONFIG, "NoCredentialsError: Unable to locate "
                             "credentials", code="NoCredentialsError")
        frozen = self.credentials.get_frozen_credentials()
        stamp = (now or datetime.datetime.now(datetime.UTC)).strftime(_SERVICE_TIMESTAMP)
        datestamp = stamp[:8]
        headers = [("content-type", "application/json"), ("host", host),
                   ("x-amz-date", stamp)]
        if frozen.token:
            headers.append(("x-amz-security-token", frozen.token))
        signed = ";".join(name for name, _ in headers)
        canonical_path = self._paths.get(path)
        if canonical_path is None:
            canonical_path = self._paths[path] = quote(path, safe="/~")
        canonical = "\n".join((
            "POST", canonical_path, "",
            "".join(f"{name}:{value}\n" for name, value in headers), signed,
            hashlib.sha256(body).hexdigest(),
        ))
        scope = f"{datestamp}/{self.region}/{self.service}/aws4_request"
        to_sign = (f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n"
                   f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        signature = hmac.new(self._signing_key(frozen.secret_key, datestamp),
                             to_sign.encode(), hashlib.sha256).hexdigest()
        headers.append(("authorization", f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/"
                                         f"{scope}, SignedHeaders={signed}, "
                                         f"Signature={signature}"))
        return headers


class _Pool:
    """Idle kept-alive connections of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []


class ConverseHttp:
    """``converse(body)`` over asyncio for one endpoint; see the module docstring.

    ``endpoint_url`` is ``http(s)://host[:port][/base]``; ``cafile`` the CA bundle for
    https (None: the system's); timeouts in seconds.
    """

    def __init__(self, endpoint_url: str, signer: SigV4Signer, *, connect_timeout_s: float,
                 read_timeout_s: float, cafile: str | None = None,
                 user_agent: str = "rewardsmith") -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint {endpoint_url!r} is not an http(s) URL")
        self.scheme = parts.scheme
        self.hostname = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        default_port = (parts.scheme == "https" and self.port == 443) or \
                       (parts.scheme == "http" and self.port == 80)
        self.host_header = self.hostname if default_port else f"{self.hostname}:{self.port}"
        self.base_path = parts.path.rstrip("/")
        self.signer = signer
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._ssl: ssl.SSLContext | None = (ssl.create_default_context(cafile=cafile)
                                            if parts.scheme == "https" else None)
        self._user_agent = user_agent
        self._pools: dict[int, _Pool] = {}
        self._lock = threading.Lock()
        self._model_paths: dict[str, str] = {}

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(id(loop))
        if pool is None or pool.loop is not loop:
            with self._lock:
                self._pools = {k: p for k, p in self._pools.items() if not p.loop.is_closed()}
                pool = self._pools[id(loop)] = _Pool(loop)
        return pool

    async def converse(self, body: dict[str, Any]) -> dict[str, Any]:
        """One Converse call; the decoded response. Raises :class:`HttpError` for an error
        response, CallFailed for a connection failure, timeout or unreadable response."""
        payload = dict(body)
        model = str(payload.pop("modelId"))
        path = self._model_paths.get(model)
        if path is None:
            path = self._model_paths[model] = \
                f"{self.base_path}/model/{quote(model, safe='-_.~')}/converse"
        data = orjson.dumps(payload)
        headers = self.signer.headers(self.host_header, path, data)
        head = "".join(f"{_WIRE_NAMES.get(name, name)}: {value}\r\n" for name, value in headers)
        request = (f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(data)}\r\n"
                   f"User-Agent: {self._user_agent}\r\n\r\n").encode() + data
        pool = self._pool()
        while True:
            reused = bool(pool.idle)
            connection = pool.idle.pop() if reused else await self._connect()
            try:
                status, reply_headers, raw = await self._exchange(connection, request)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                connection[1].close()
                if reused:
                    continue  # the server closed a kept-alive connection: take another
                raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, f"bedrock endpoint "
                                 f"connection failed: {type(exc).__name__}: {exc}",
                                 code="ConnectionClosedError") from None
            except TimeoutError:
                connection[1].close()
                raise CallFailed(ErrorKind.JUDGE_TIMEOUT, f"bedrock call timed out: no "
                                 f"answer within {self.read_timeout_s:g}s",
                                 code="ReadTimeoutError") from None
            except BaseException:
                connection[1].close()  # cancelled mid-exchange: the connection is spoilt
                raise
            if reply_headers.get("connection", "").lower() == "close":
                connection[1].close()
            elif len(pool.idle) < _IDLE_PER_LOOP:
                pool.idle.append(connection)
            else:
                connection[1].close()
            break
        return self._decode(status, reply_headers, raw)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(self.hostname, self.port, ssl=self._ssl,
                                        limit=_MAX_HEADER_BYTES * 4),
                self.connect_timeout_s)
        except TimeoutError:
            raise CallFailed(ErrorKind.JUDGE_TIMEOUT, f"bedrock endpoint connect timed out "
                             f"after {self.connect_timeout_s:g}s",
                             code="ConnectTimeoutError") from None
        except ssl.SSLError as exc:
            raise CallFailed(ErrorKind.JUDGE_CONFIG, f"TLS to the bedrock endpoint failed: "
                             f"{exc}", code="SSLError") from None
        except OSError as exc:
            # botocore's EndpointConnectionError wording, which users' alerts may match.
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, f"bedrock endpoint unreachable: "
                             f"Could not connect to the endpoint URL: "
                             f"\"{self.scheme}://{self.host_header}{self.base_path}\" ({exc})",
                             code="EndpointConnectionError") from None

    async def _exchange(self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                        request: bytes) -> tuple[int, dict[str, str], bytes]:
        reader, writer = connection
        writer.write(request)
        async with asyncio.timeout(self.read_timeout_s):
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status_line = lines[0].split(" ", 2)
            if len(status_line) < 2 or not status_line[1].isdigit():
                raise ConnectionError(f"not an HTTP response: {lines[0][:80]!r}")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                raw = await reader.readexactly(int(headers["content-length"]))
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                raw = await self._chunks(reader)
            else:
                raw = await reader.read()
                headers["connection"] = "close"
        return int(status_line[1]), headers, raw

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are sent by Bedrock
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    @staticmethod
    def _decode(status: int, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            data = None
        if status >= 400:
            fields = data if isinstance(data, dict) else {}
            # botocore's rest-json error code: the x-amzn-ErrorType header, else __type /
            # code in the body, the part before any ':' or after any '#'.
            code = (headers.get("x-amzn-errortype") or str(fields.get("__type") or "")
                    or str(fields.get("code") or "") or str(status))
            code = code.split(":", 1)[0].rsplit("#", 1)[-1]
            message = str(fields.get("message") or fields.get("Message") or
                          raw[:200].decode("utf-8", "replace"))
            raise HttpError(status, code, message)
        if not isinstance(data, dict):
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, f"bedrock returned a response that "
                             f"is not a JSON object (status {status})", code="ResponseParserError")
        return data

    async def aclose(self) -> None:
        """Close this event loop's idle connections."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools = {}
        for pool in pools:
            for _, writer in pool.idle:
                writer.close()
            pool.idle.clear()


def proxy_applies(endpoint_url: str, getproxies: Callable[[], dict[str, str]] | None = None
                  ) -> bool:
    """Whether an HTTP(S) proxy from the environment applies to ``endpoint_url`` (as it
    would for botocore, which reads the same variables through urllib)."""
    if getproxies is None and os.name == "posix" and sys.platform != "darwin" and \
            not any(name.lower().endswith("_proxy") for name in settings.environment()):
        # urllib.request.getproxies() is getproxies_environment() here, which reads only
        # *_proxy variables: none, no proxy, and no urllib.request import (http.client,
        # email: a few ms of a cold start, issue 13).
        return False
    import urllib.request

    parts = urlsplit(endpoint_url)
    proxies = (getproxies or urllib.request.getproxies)()
    if not proxies.get(parts.scheme) and not proxies.get("all"):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")
