"""Where and as whom to send Converse, from the AWS configuration chain, without a client.

The asyncio transport (``_converse_http``) signs and sends requests itself, so it needs
only credentials, a region and an endpoint. Building a ``bedrock-runtime`` client for
them costs ~0.5 s at cold start (``import boto3`` pulls in s3transfer; the client loads
the service model and the endpoint rule set from JSON). This module resolves the same
three things with ``botocore.session.Session`` alone, as botocore 1.44 does when it
builds a client:

* region: the session's ``region`` config variable (profile, ``AWS_DEFAULT_REGION``), or
  the pack's ``region`` (``botocore/session.py`` ``_resolve_region_name``);
* endpoint: the pack's ``endpoint_url``, else the configured endpoint URL
  (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, ``AWS_ENDPOINT_URL``, the profile's ``services``
  section; ``botocore/configprovider.py`` ``ConfiguredEndpointProvider``) unless
  ``ignore_configured_endpoint_urls``, else ``https://bedrock-runtime.{region}.amazonaws.com``
  (the ``aws`` partition's rule in ``botocore/data/bedrock-runtime/*/endpoint-rule-set-1``);
* credentials: the session's provider chain (``Session.get_credentials``), refreshed by
  botocore as a client's would be.

Anything this does not reproduce exactly — FIPS or dual-stack endpoints, a region outside
the commercial ``aws`` partition, no region, a malformed endpoint, a profile or config
botocore rejects — returns None, and the backend builds a client as before (which also
reports configuration errors in botocore's words).
``tests/plugins/backends/test_aws_target.py`` compares the result with a client's.

When the environment alone decides all three — credentials in ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` (the first provider of botocore's chain, ``EnvProvider`` in
``botocore/credentials.py`` ``create_credential_resolver``), no profile named, no shared
config file (or an empty one) — they are read from the environment without importing
botocore at all (``botocore.session`` imports ``botocore.client``, its waiters and docs,
and urllib3: ~0.1 s of a cold start). That is the reward Lambda's case: the runtime puts
the execution role's keys and ``AWS_DEFAULT_REGION`` in the environment and there is no
``~/.aws/config``. Every other configuration goes through the session as above.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from rewardsmith.core import settings

SIGNING_NAME = "bedrock"  # bedrock-runtime's service model: signingName "bedrock"
_CLIENT_NAME = "bedrock-runtime"
# Regions of the commercial partition (botocore/data/partitions.json "regionRegex").
_AWS_REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$")


@dataclass(frozen=True)
class ConverseTarget:
    """``endpoint_url`` (``https://host[:port][/base]``), ``region``, botocore
    ``credentials`` (None when the chain found none: the first call reports it) and the
    CA bundle path for https."""

    endpoint_url: str
    region: str
    credentials: Any
    cafile: str | None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class FrozenCredentials(NamedTuple):
    """The shape of botocore's ``ReadOnlyCredentials``."""

    access_key: str
    secret_key: str
    token: str | None
    account_id: str | None


class EnvironmentCredentials:
    """Static keys from the environment, as botocore's ``EnvProvider`` returns them when
    ``AWS_CREDENTIAL_EXPIRATION`` is not set (a plain ``Credentials``, never refreshed):
    the token from ``AWS_SECURITY_TOKEN``, else ``AWS_SESSION_TOKEN``; the account from
    ``AWS_ACCOUNT_ID``."""

    method = "env"

    def __init__(self, access_key: str, secret_key: str, token: str | None,
                 account_id: str | None = None) -> None:
        self._frozen = FrozenCredentials(access_key, secret_key, token, account_id)
        self.access_key, self.secret_key, self.token, self.account_id = self._frozen

    def get_frozen_credentials(self) -> FrozenCredentials:
        return self._frozen


_PROFILE_VARS = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")  # botocore's 'profile' variable


def _environment_decides(profile: str | None) -> bool:
    """Whether botocore would take everything from the environment: keys present, no
    expiry (that makes refreshable credentials), no profile, no (or an empty) config
    file. ``AWS_SHARED_CREDENTIALS_FILE`` does not matter: the environment comes first."""
    env = settings.environment()  # botocore's variables, read as botocore reads them
    if profile is not None or any(name in env for name in _PROFILE_VARS):
        return False
    if not env.get("AWS_ACCESS_KEY_ID") or not env.get("AWS_SECRET_ACCESS_KEY") or \
            "AWS_CREDENTIAL_EXPIRATION" in env:
        return False
    # botocore.configloader.raw_config_parse: expandvars, expanduser, then isfile.
    path = os.path.expanduser(os.path.expandvars(env.get("AWS_CONFIG_FILE", "~/.aws/config")))
    try:
        return not os.path.isfile(path) or os.path.getsize(path) == 0
    except OSError:  # vanished in between: as absent
        return True


def _environment_target(region: str | None, endpoint_url: str | None
                        ) -> ConverseTarget | bool | None:
    """The target from the environment alone (see the module docstring), None where the
    session path would defer to a client too, or False when the session must decide."""
    env = settings.environment()  # botocore's variables, read as botocore reads them
    region_name = region or env.get("AWS_DEFAULT_REGION")
    if not region_name:
        return None
    url = endpoint_url
    if url is None and not _truthy(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        # ConfiguredEndpointProvider: the service's variable, then the global one.
        url = env.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME") or env.get("AWS_ENDPOINT_URL") or None
    if url is None:
        if _truthy(env.get("AWS_USE_FIPS_ENDPOINT")) or \
                _truthy(env.get("AWS_USE_DUALSTACK_ENDPOINT")) or \
                not _AWS_REGION.match(region_name):
            return None
        url = f"https://{_CLIENT_NAME}.{region_name}.amazonaws.com"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not hostname or parts.query:
        return None
    cafile = env.get("AWS_CA_BUNDLE")
    if cafile is None and parts.scheme == "https":
        try:  # botocore.httpsession.get_cert_path(True) is certifi's bundle when installed
            import certifi
        except ImportError:
            return False
        cafile = certifi.where()
    token = env.get("AWS_SECURITY_TOKEN") or env.get("AWS_SESSION_TOKEN") or None
    credentials = EnvironmentCredentials(env["AWS_ACCESS_KEY_ID"],
                                         env["AWS_SECRET_ACCESS_KEY"], token,
                                         env.get("AWS_ACCOUNT_ID") or None)
    return ConverseTarget(url, region_name, credentials, cafile)


def resolve_converse_target(profile: str | None, region: str | None,
                            endpoint_url: str | None) -> ConverseTarget | None:
    """The target a ``bedrock-runtime`` client would use, or None (see the module
    docstring). Never raises for configuration problems: those are left to the client."""
    if _environment_decides(profile):
        target = _environment_target(region, endpoint_url)
        if target is not False:
            return target  # type: ignore[return-value]
    return _session_target(profile, region, endpoint_url)


def _session_target(profile: str | None, region: str | None,
                    endpoint_url: str | None) -> ConverseTarget | None:
    """``resolve_converse_target`` through ``botocore.session.Session``."""
    from botocore.exceptions import BotoCoreError
    from botocore.session import Session

    try:
        session = Session(profile=profile)
        if region:
            session.set_config_variable("region", region)
        region_name = session.get_config_variable("region")
        if not region_name:
            return None
        url = endpoint_url
        if url is None and not _truthy(
                session.get_config_variable("ignore_configured_endpoint_urls")):
            from botocore.configprovider import ConfiguredEndpointProvider

            url = ConfiguredEndpointProvider(
                full_config=session.full_config, scoped_config=session.get_scoped_config(),
                client_name=_CLIENT_NAME).provide()
        if url is None:
            if _truthy(session.get_config_variable("use_fips_endpoint")) or \
                    _truthy(session.get_config_variable("use_dualstack_endpoint")) or \
                    not _AWS_REGION.match(region_name):
                return None
            url = f"https://{_CLIENT_NAME}.{region_name}.amazonaws.com"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            return None
        credentials = session.get_credentials()
        cafile = session.get_config_variable("ca_bundle")
        if cafile is None and parts.scheme == "https":
            from botocore.httpsession import get_cert_path

            cafile = get_cert_path(True)
    except (BotoCoreError, ValueError):
        return None
    return ConverseTarget(url, region_name, credentials, cafile)
