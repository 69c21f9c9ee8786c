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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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


def resolve_converse_target(profile: str | None, region: str | None,
                            endpoint_url: str | None) -> ConverseTarget | None:
    """The target a ``bedrock-runtime`` client would use, or None (see the module
    docstring). Never raises for configuration problems: those are left to the client."""
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
