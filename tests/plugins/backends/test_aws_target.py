"""The client-free Converse target equals what a real boto3 ``bedrock-runtime`` client
resolves from the same AWS configuration, or defers to the client."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from rewardsmith.plugins.backends._aws_target import SIGNING_NAME, resolve_converse_target


def _client_view(profile: str | None, region: str | None, endpoint_url: str | None
                 ) -> tuple[str, str, str, str, str]:
    session = boto3.session.Session(profile_name=profile, region_name=region)
    client = session.client("bedrock-runtime", endpoint_url=endpoint_url)
    frozen = session.get_credentials().get_frozen_credentials()
    return (client.meta.endpoint_url, client.meta.region_name,
            client.meta.service_model.signing_name, frozen.access_key, frozen.secret_key)


def _target_view(profile: str | None, region: str | None, endpoint_url: str | None
                 ) -> tuple[str, str, str, str, str]:
    target = resolve_converse_target(profile, region, endpoint_url)
    assert target is not None
    frozen = target.credentials.get_frozen_credentials()
    return (target.endpoint_url, target.region, SIGNING_NAME, frozen.access_key,
            frozen.secret_key)


@pytest.mark.parametrize(("env", "region", "endpoint_url"), [
    ({}, None, None),
    ({}, "eu-west-3", None),
    ({}, None, "http://127.0.0.1:9000"),
    ({"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9001"}, None, None),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9002"}, "ap-south-1", None),
    ({"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9001",
      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, None, None),
])
def test_target_is_the_clients(aws_dummy_env: None, monkeypatch: pytest.MonkeyPatch,
                               env: dict[str, str], region: str | None,
                               endpoint_url: str | None) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _target_view(None, region, endpoint_url) == _client_view(None, region, endpoint_url)


def test_profile_region_endpoint_and_keys_are_the_clients(
    aws_dummy_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile judge]\nregion = eu-central-1\nservices = judge-services\n"
                      "aws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile-secret\n"
                      "\n[services judge-services]\nbedrock_runtime =\n"
                      "  endpoint_url = http://127.0.0.1:9100\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    view = _target_view("judge", None, None)
    assert view == _client_view("judge", None, None)
    assert view[:2] == ("http://127.0.0.1:9100", "eu-central-1")
    assert view[3] == "AKIAPROFILE"


@pytest.mark.parametrize(("env", "region", "endpoint_url"), [
    ({"AWS_USE_FIPS_ENDPOINT": "true"}, None, None),
    ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, None, None),
    ({}, "cn-north-1", None),
    ({}, None, "not a url"),
])
def test_what_it_cannot_reproduce_is_left_to_a_client(
    aws_dummy_env: None, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
    region: str | None, endpoint_url: str | None,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve_converse_target(None, region, endpoint_url) is None


def test_no_region_and_unknown_profile_are_left_to_a_client(
    aws_dummy_env: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert resolve_converse_target(None, None, None) is None
    assert resolve_converse_target("no-such-profile", "us-east-1", None) is None


def test_no_credentials_are_left_to_the_first_call(
    aws_dummy_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """As with a client: a target without credentials; the signer reports it per call."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing"))
    target = resolve_converse_target(None, "us-east-1", None)
    assert target is not None and target.credentials is None  # reported by the first call
