"""The operator's grants: which network hosts, environment variables and importable code a
pack may name. The one place every such decision is made (docs/security.md).

A pack is data. It may choose components, weights, prompts, schemas and files inside its
own folder; it may *name* a host (``url``, ``base_url``, ``endpoint_url``), an environment
variable (``headers_from_env``, ``api_key_env``) or a function (``module:function``), but
only the operator decides whether that name is honoured, through three settings:

- ``REWARDSMITH_ALLOWED_HOSTS``: hosts (``api.example.com``, ``*.example.com`` for its
  subdomains, an IP literal) a pack may send requests to;
- ``REWARDSMITH_ALLOWED_ENV``: environment variables a pack may read secrets from;
- ``REWARDSMITH_METRIC_MODULES``: modules a pack's ``module:function`` may import.

Each is a comma-separated list; ``*`` grants anything (the always-refused items below
stay refused). When a setting is **unset**, the default depends on where we run:

- in the AWS Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set), nothing is granted;
- elsewhere (CLI, trainers, library use) the *local defaults* are granted: loopback hosts
  and the built-in default ``api.openai.com``; the default ``OPENAI_API_KEY`` variable;
  any module outside the standard library. Anything else needs the setting, and the
  refusal names the setting and the value to add.

Always refused, whatever the settings say: link-local and cloud metadata addresses
(``169.254.0.0/16`` including ``169.254.169.254`` and ``169.254.170.2``, ``fe80::/10``,
``fd00:ec2::254``), the unspecified address, the Lambda Runtime API host
(``AWS_LAMBDA_RUNTIME_API``), AWS credential variables, and the standard library and
builtins as metric modules unless named one by one (``builtins:print`` is never a metric).
Addresses are checked twice: the URL's host when the pack loads, and the peer address of
every connection after DNS resolution (:func:`guard_transport`), so a name that resolves
to a metadata address, or a redirect to one, is refused too (redirects are not followed
by the clients here in any case).
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rewardsmith.core import settings
from rewardsmith.core.errors import RewardsmithError

HOSTS_SETTING = "REWARDSMITH_ALLOWED_HOSTS"
ENV_SETTING = "REWARDSMITH_ALLOWED_ENV"
MODULES_SETTING = "REWARDSMITH_METRIC_MODULES"

#: Granted outside the Lambda when the setting is unset.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "api.openai.com"})
LOCAL_ENV = frozenset({"OPENAI_API_KEY"})

#: Never a pack's to read, even when the operator grants ``*``.
REFUSED_ENV = frozenset({
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
})
_METADATA = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local: EC2 IMDS .169.254, ECS/Lambda .170.2
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),  # EC2 IMDS over IPv6
    ipaddress.ip_network("0.0.0.0/32"),
    ipaddress.ip_network("::/128"),
)
#: Default cap on a reply body read from a pack-named endpoint or a judge server.
MAX_REPLY_BYTES = 8 * 1024 * 1024


class TrustError(RewardsmithError, ValueError):
    """A pack named a host, environment variable or module the operator has not granted
    (or that is never grantable); the message says which and what setting grants it."""


class ReplyTooLarge(RewardsmithError):
    """An outbound request's reply exceeded its byte cap; the read stopped there."""


@dataclass(frozen=True)
class Grants:
    """What the operator allows. ``None`` for a field means "anything" (``*``)."""

    hosts: frozenset[str] | None
    env: frozenset[str] | None
    modules: frozenset[str] | None
    in_lambda: bool
    #: Which fields came from the local defaults (for the refusal message).
    local_default: frozenset[str] = frozenset()


@dataclass
class Needs:
    """What a pack asked for and was granted while it loaded: the values a deployment must
    grant (``lambda package`` writes them into the template)."""

    hosts: set[str] = field(default_factory=set)
    env: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)

    def settings(self) -> dict[str, str]:
        """The three settings granting exactly these (``""``: nothing)."""
        return {HOSTS_SETTING: ",".join(sorted(self.hosts)),
                ENV_SETTING: ",".join(sorted(self.env)),
                MODULES_SETTING: ",".join(sorted(self.modules))}


_RECORDING: contextvars.ContextVar[Needs | None] = contextvars.ContextVar(
    "rewardsmith_trust_needs", default=None)


@contextmanager
def recording() -> Iterator[Needs]:
    """Collect every grant checked (and passed) inside the block, e.g. a pack load."""
    needs = Needs()
    token = _RECORDING.set(needs)
    try:
        yield needs
    finally:
        _RECORDING.reset(token)


def in_lambda(environ: Mapping[str, str] | None = None) -> bool:
    """True in an AWS Lambda process (the runtime sets ``AWS_LAMBDA_FUNCTION_NAME``)."""
    return bool(settings.get("AWS_LAMBDA_FUNCTION_NAME", environ))


def _granted(name: str, environ: Mapping[str, str] | None) -> frozenset[str] | bool | None:
    raw = settings.get_list(name, environ)
    if raw is None:
        return False  # unset: the caller applies the default
    if "*" in raw:
        return None
    return frozenset(raw)


def grants(environ: Mapping[str, str] | None = None) -> Grants:
    """The grants from the settings in ``environ`` (the process environment when None)."""
    lam = in_lambda(environ)
    local: set[str] = set()

    def pick(setting: str, default: frozenset[str] | None, field: str) -> frozenset[str] | None:
        value = _granted(setting, environ)
        if value is False:
            if lam:
                return frozenset()
            local.add(field)
            return default
        return value  # type: ignore[return-value]

    hosts = pick(HOSTS_SETTING, LOCAL_HOSTS, "hosts")
    env = pick(ENV_SETTING, LOCAL_ENV, "env")
    modules = pick(MODULES_SETTING, None, "modules")
    return Grants(hosts, env, modules, lam, frozenset(local))


def _refusal(what: str, setting: str, value: str, g: Grants, field: str) -> TrustError:
    where = ("in the Lambda nothing is granted unless the template sets it"
             if g.in_lambda else
             "outside the Lambda only the local defaults are granted while it is unset"
             if field in g.local_default else f"{setting} does not list it")
    return TrustError(f"{what} is not allowed by {setting}, an operator grant ({where}); to "
                      f"allow it, add {value!r} to {setting} (docs/security.md)")


# -- hosts -----------------------------------------------------------------------------
def _runtime_api_host(environ: Mapping[str, str] | None) -> str | None:
    raw = settings.environment(environ).get("AWS_LAMBDA_RUNTIME_API")
    if not raw:
        return None
    return (urlsplit(f"//{raw}").hostname or "").lower() or None


def refused_address(ip: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the IP address ``ip`` is never a pack's to reach, or None when it is not one
    of the always-refused addresses (link-local, metadata, unspecified, runtime API)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)
    if mapped is not None:
        addr = mapped
    for net in _METADATA:
        if addr.version == net.version and addr in net:
            return f"{addr} is a link-local, metadata or unspecified address"
    runtime = _runtime_api_host(environ)
    if runtime is not None and runtime.strip("[]") == str(addr):
        return f"{addr} is the Lambda Runtime API host"
    return None


def _host_matches(host: str, allowed: frozenset[str]) -> bool:
    for raw in allowed:
        entry = raw.lower().strip("[]")
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


def check_url(url: str, what: str, environ: Mapping[str, str] | None = None) -> str:
    """``url`` when a pack may send requests to it, else :class:`TrustError`.

    ``what`` names the field in messages (``"metric url"``). The host must be granted
    (``REWARDSMITH_ALLOWED_HOSTS``) and not an always-refused address.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise TrustError(f"{what}: only http:// and https:// URLs with a host may be named")
    runtime = _runtime_api_host(environ)
    why = refused_address(host, environ) or (
        "it is the Lambda Runtime API host" if runtime is not None and host == runtime else None)
    if why is not None:
        raise TrustError(f"{what}: host {host!r} is always refused: {why}")
    g = grants(environ)
    if g.hosts is not None and not _host_matches(host, g.hosts):
        raise _refusal(f"{what}: host {host!r}", HOSTS_SETTING, host, g, "hosts")
    needs = _RECORDING.get()
    if needs is not None:
        needs.hosts.add(host)
    return url


# -- environment variables ---------------------------------------------------------------
def check_env(variable: str, what: str, environ: Mapping[str, str] | None = None) -> str:
    """``variable`` when a pack may read a secret from it, else :class:`TrustError`."""
    if variable.upper() in REFUSED_ENV or variable.upper().startswith("REWARDSMITH_"):
        raise TrustError(f"{what}: environment variable {variable!r} is never a pack's to read")
    g = grants(environ)
    if g.env is not None and variable not in g.env:
        raise _refusal(f"{what}: environment variable {variable!r}", ENV_SETTING, variable,
                       g, "env")
    needs = _RECORDING.get()
    if needs is not None:
        needs.env.add(variable)
    return variable


def read_secret(variable: str, what: str,
                environ: Mapping[str, str] | None = None) -> str | None:
    """The value of the granted ``variable`` (None when unset), remembered for redaction:
    every sink masks it from then on (:func:`rewardsmith.core.logs.redact`)."""
    check_env(variable, what, environ)
    value = settings.secret(variable, environ)
    if value:
        from rewardsmith.core.logs import remember_secret

        remember_secret(value)
    return value


# -- modules ---------------------------------------------------------------------------
def _within(module: str, allowed: frozenset[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def _stdlib(module: str) -> bool:
    top = module.partition(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


def check_module(module: str, what: str, environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`TrustError` unless a pack may import (or call into) ``module``.

    The standard library and builtins are granted only when named one by one in
    ``REWARDSMITH_METRIC_MODULES`` (``*`` does not cover them): ``builtins:print`` or
    ``sys:exit`` is never a metric.
    """
    g = grants(environ)
    if _stdlib(module):
        if g.modules is None or not _within(module, g.modules):
            raise TrustError(f"{what}: module {module!r} is part of the Python standard "
                             "library or builtins, which a pack may not name unless the "
                             f"operator lists it in {MODULES_SETTING}")
    elif g.modules is not None and not _within(module, g.modules):
        raise _refusal(f"{what}: module {module!r}", MODULES_SETTING, module, g, "modules")
    needs = _RECORDING.get()
    if needs is not None:
        needs.modules.add(module)


# -- paths a pack names ----------------------------------------------------------------------
def confine(base: Any, relative: str, what: str, *, within: Any = None) -> Any:
    """``base / relative`` when it stays inside the pack folder ``base``, else
    :class:`TrustError` naming ``what``.

    The one confinement rule for every path a pack names (``extends``, ``criteria_file``,
    schema files, ``[judge] cache_path``, ``[tests] suite``): relative, no ``..``, and
    for a local folder the real path (symlinks resolved) must be inside the real folder,
    so a symlink that leads out is refused as well. ``base`` is a ``pathlib.Path`` or an
    ``importlib.resources`` Traversable (a pack inside a wheel, checked by shape only).
    The target need not exist; the path returned is ``base / relative`` as written.

    ``within`` (a local folder that contains ``base``) widens the folder the real path
    must stay in and then admits ``..``: ``extends`` uses the folder above the pack the
    operator named, so ``calibrated/pack.toml`` may extend ``../pack.toml``.
    """
    from pathlib import Path, PurePosixPath, PureWindowsPath

    text = relative.replace("\\", "/")
    pure = PurePosixPath(text)
    if not text or "\x00" in text or pure.is_absolute() or PureWindowsPath(relative).drive \
            or (".." in pure.parts and not (isinstance(within, Path)
                                            and isinstance(base, Path))):
        raise TrustError(f"{what}: {relative!r} must be a relative path inside the pack's "
                         "folder (no absolute path, no '..')")
    target = base / text
    if isinstance(base, Path):
        root = (within if isinstance(within, Path) else base).resolve()
        try:
            real = target.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise TrustError(f"{what}: {relative!r} cannot be resolved: {exc}") from None
        if not real.is_relative_to(root):
            raise TrustError(f"{what}: {relative!r} leads outside the pack's folder"
                             + (f" tree ({root})" if within is not None else ""))
    return target


# -- judge backend configs ----------------------------------------------------------------
#: Fields of a judge backend config that name a destination or a secret's variable.
URL_FIELDS = ("base_url", "endpoint_url")
ENV_FIELDS = ("api_key_env",)


def check_backend_config(config: Any, what: str,
                         environ: Mapping[str, str] | None = None) -> None:
    """Check the destination and secret variable a judge backend config names (any
    backend: the fields in :data:`URL_FIELDS` and :data:`ENV_FIELDS`). Raises
    :class:`TrustError`."""
    for name in URL_FIELDS:
        value = getattr(config, name, None)
        if isinstance(value, str) and value:
            check_url(value, f"{what}.{name}", environ)
    for name in ENV_FIELDS:
        value = getattr(config, name, None)
        if isinstance(value, str) and value:
            check_env(value, f"{what}.{name}", environ)


# -- outbound connections -------------------------------------------------------------------
async def _resolves_to_refused(host: str, port: int) -> str | None:
    """Why ``host`` resolves to an always-refused address (any of its addresses), or None.
    Checked before connecting, since connecting to a metadata address may hang rather than
    fail; the peer check after connecting covers a name whose answer changed in between."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port)
    except OSError:
        return None  # the connection attempt reports the resolution failure itself
    for info in infos:
        why = refused_address(str(info[4][0]))
        if why is not None:
            return f"{host!r} resolves to {why}"
    return None


class _GuardedBackend:
    """An httpcore network backend that refuses a connection whose peer address is an
    always-refused one, after DNS resolution (a name that resolves to 169.254.169.254)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> Any:
        import httpcore

        why = refused_address(host) or await _resolves_to_refused(host, port)
        if why is None:
            stream = await self._inner.connect_tcp(host, port, timeout=timeout,
                                                   local_address=local_address,
                                                   socket_options=socket_options)
            peer = stream.get_extra_info("server_addr")
            why = refused_address(str(peer[0])) if peer else \
                "the connection's peer address is unknown"
            if why is None:
                return stream
            await stream.aclose()
        raise httpcore.ConnectError(f"connection to {host!r} refused: {why}")

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        import httpcore

        raise httpcore.ConnectError("unix sockets are not a pack's to name")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guard_transport(httpx: Any, **transport_kwargs: Any) -> Any:
    """An ``httpx.AsyncHTTPTransport(**transport_kwargs)`` whose connections are checked
    by peer address (:func:`refused_address`). Pass it as ``transport=`` (then ``limits``
    belong here, not to the client). Fails closed: if httpx's internals moved, raises
    ``RuntimeError`` rather than returning an unguarded transport.
    """
    transport = httpx.AsyncHTTPTransport(**transport_kwargs)
    pool = getattr(transport, "_pool", None)
    if pool is None or not hasattr(pool, "_network_backend"):
        raise RuntimeError("cannot guard httpx connections: httpx internals changed "
                           "(rewardsmith.core.trust.guard_transport)")
    pool._network_backend = _GuardedBackend(pool._network_backend)
    return transport


async def read_capped(response: Any, max_bytes: int) -> bytes:
    """The body of a streamed httpx ``response``, at most ``max_bytes``; raises
    :class:`ReplyTooLarge` (and stops reading) past that."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ReplyTooLarge(f"the reply declares {int(declared):,} bytes, over the "
                            f"{max_bytes:,}-byte cap")
    chunks: list[bytes] = []
    size = 0
    # Decoded bytes (gzip expanded), so a small compressed bomb is capped as well.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise ReplyTooLarge(f"the reply is over the {max_bytes:,}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


async def bounded_request(client: Any, method: str, url: str, *, timeout_s: float | None,
                          max_bytes: int = MAX_REPLY_BYTES, **kwargs: Any) -> Any:
    """One httpx request under a *total* time limit (connect, send, every read: the whole
    exchange, so a server that drips a byte a second cannot stretch it) and a reply size
    cap. Returns an ``httpx.Response`` whose body is read.

    ``timeout_s=None`` leaves the limit to the caller's own enclosing total limit.
    Raises ``TimeoutError`` past ``timeout_s`` seconds, :class:`ReplyTooLarge` past
    ``max_bytes``, and httpx's own errors.
    """
    import httpx

    async with asyncio.timeout(timeout_s):
        request = client.build_request(method, url, **kwargs)
        response = await client.send(request, stream=True)
        try:
            raw = await read_capped(response, max_bytes)
        finally:
            await response.aclose()
    # A fresh response over the bytes read (already decoded, so no content-encoding).
    headers = [(k, v) for k, v in response.headers.items()
               if k.lower() not in ("content-length", "content-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=raw, request=request)
