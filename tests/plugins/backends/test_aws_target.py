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


# -- the environment-only path (no botocore import) against botocore's session ---------------
def _view(target: object) -> tuple[object, ...] | None:
    if target is None:
        return None
    credentials = target.credentials  # type: ignore[attr-defined]
    frozen = credentials and tuple(credentials.get_frozen_credentials())
    return (target.endpoint_url, target.region, target.cafile,  # type: ignore[attr-defined]
            frozen)


@pytest.mark.parametrize(("env", "region", "endpoint_url"), [
    ({}, None, None),  # https, certifi's bundle
    ({"AWS_SESSION_TOKEN": "session-token", "AWS_ACCOUNT_ID": "123456789012"},
     "eu-west-3", None),
    ({"AWS_SECURITY_TOKEN": "security-token", "AWS_SESSION_TOKEN": "session-token"},
     None, None),
    ({"AWS_CA_BUNDLE": "/etc/ssl/custom.pem"}, None, None),
    ({"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9001",
      "AWS_ENDPOINT_URL": "http://127.0.0.1:9002"}, None, None),
    ({"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "", "AWS_ENDPOINT_URL": "http://127.0.0.1:9002"},
     None, None),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9002",
      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"}, None, None),
    ({"AWS_USE_FIPS_ENDPOINT": "true"}, None, None),
    ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, None, "http://127.0.0.1:9000"),
    ({"AWS_DEFAULT_REGION": ""}, None, None),
    ({}, "cn-north-1", None),
    ({}, None, "ftp://127.0.0.1"),
    ({}, None, "http://[::1"),
])
def test_environment_path_equals_the_sessions(
    aws_dummy_env: None, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
    region: str | None, endpoint_url: str | None,
) -> None:
    """Where the environment decides, the botocore-free result is the session's."""
    from rewardsmith.plugins.backends import _aws_target

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _aws_target._environment_decides(None)
    fast = _aws_target._environment_target(region, endpoint_url)
    assert fast is not False
    assert _view(fast) == _view(_aws_target._session_target(None, region, endpoint_url))
    assert _view(resolve_converse_target(None, region, endpoint_url)) == _view(fast)


def test_missing_config_file_is_an_empty_one(
    aws_dummy_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    from rewardsmith.plugins.backends import _aws_target

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    assert _aws_target._environment_decides(None)


@pytest.mark.parametrize("case", ["profile", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "config",
                                  "expiration", "no_secret", "no_key"])
def test_the_session_decides_everything_else(
    aws_dummy_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str,
) -> None:
    """A profile, a non-empty config file, expiring or partial environment keys: botocore's
    chain may answer differently from the environment, so it is asked."""
    from rewardsmith.plugins.backends import _aws_target

    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-central-1\n[profile judge]\nregion = eu-west-1\n")
    profile = None
    if case == "profile":
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        profile = "judge"
    elif case in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        monkeypatch.setenv(case, "judge")
    elif case == "config":
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    elif case == "expiration":
        monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "2099-01-01T00:00:00Z")
    elif case == "no_secret":
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    else:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    assert not _aws_target._environment_decides(profile)
    assert _view(resolve_converse_target(profile, None, "http://127.0.0.1:9000")) == \
        _view(_aws_target._session_target(profile, None, "http://127.0.0.1:9000"))
    if case in ("profile", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):  # the profile's region
        target = resolve_converse_target(profile, None, None)
        assert target is not None and target.region == "eu-west-1"
    if case == "config":
        target = resolve_converse_target(profile, None, None)
        assert target is not None and target.region == "eu-central-1"
