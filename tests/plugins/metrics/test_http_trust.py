"""Issue 10, kinds D and E for the HTTP metric: a pack cannot choose where secrets go, and
every request has a total time limit and a reply cap. Against a real loopback sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.sinks import Sink, loopback_sink

from rewardsmith.core.errors import PackError


def component(url: str, extra: str = "") -> str:
    return f"""
    [[components]]
    id = "ctr"
    type = "product-metric"
    metric = "ctr"
    source = {{ kind = "http", url = "{url}", value_path = "metrics.ctr"{extra} }}
    transform = {{ kind = "identity" }}
    """


@pytest.fixture
def sink() -> Iterator[Sink]:
    with loopback_sink() as served:
        yield served


@pytest.fixture(autouse=True)
def _no_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REWARDSMITH_ALLOWED_HOSTS", "REWARDSMITH_ALLOWED_ENV",
                 "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_RUNTIME_API"):
        monkeypatch.delenv(name, raising=False)


# -- D: destinations and secrets are the operator's ---------------------------------------------
@pytest.mark.parametrize("variable", ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"])
def test_aws_credentials_never_reach_a_pack_named_url(pack_from, sink, monkeypatch, variable):
    monkeypatch.setenv(variable, "aws-secret-value-1234567890")
    monkeypatch.setenv("REWARDSMITH_ALLOWED_ENV", "*")  # even when the operator grants any
    extra = f', headers_from_env = {{ "x-leak" = "{variable}" }}'
    with pytest.raises(PackError, match=f"{variable}' is never a pack's to read"):
        pack_from(component(sink.url + "/record", extra))
    assert sink.requests == []


def test_an_ungranted_variable_is_refused_naming_the_setting(pack_from, sink, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-metrics-0123456789abcdef")
    monkeypatch.setenv("METRICS_TOKEN", "metrics-token-value")
    extra = ', headers_from_env = { authorization = "METRICS_TOKEN" }'
    with pytest.raises(PackError, match="add 'METRICS_TOKEN' to REWARDSMITH_ALLOWED_ENV"):
        pack_from(component(sink.url + "/record", extra))
    monkeypatch.setenv("REWARDSMITH_ALLOWED_ENV", "METRICS_TOKEN")
    pack_from(component(sink.url + "/record", extra))  # granted: loads


def test_in_the_lambda_nothing_is_granted_by_default(pack_from, sink, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "reward-SageMaker-fn")
    with pytest.raises(PackError, match=r"host '127\.0\.0\.1' is not allowed by "
                                        r"REWARDSMITH_ALLOWED_HOSTS"):
        pack_from(component(sink.url + "/record"))
    monkeypatch.setenv("REWARDSMITH_ALLOWED_HOSTS", "127.0.0.1")
    pack_from(component(sink.url + "/record"))


def test_a_host_outside_the_allowlist_is_refused(pack_from, monkeypatch):
    with pytest.raises(PackError, match=r"host 'collector\.example\.net' is not allowed"):
        pack_from(component("https://collector.example.net/ctr"))
    monkeypatch.setenv("REWARDSMITH_ALLOWED_HOSTS", "*.example.net")
    pack_from(component("https://collector.example.net/ctr"))


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://169.254.170.2/v2/credentials",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
])
def test_metadata_addresses_are_always_refused(pack_from, monkeypatch, url):
    monkeypatch.setenv("REWARDSMITH_ALLOWED_HOSTS", "*")
    with pytest.raises(PackError, match="always refused"):
        pack_from(component(url))


def test_the_runtime_api_host_is_always_refused(pack_from, sink, monkeypatch):
    monkeypatch.setenv("REWARDSMITH_ALLOWED_HOSTS", "*")
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    with pytest.raises(PackError, match="Lambda Runtime API"):
        pack_from(component(sink.url + "/record"))


def test_a_name_resolving_to_metadata_is_refused_before_connecting(score_with, make_sample,
                                                                   monkeypatch):
    # 2852039166 is 169.254.169.254 written as one number: not an IP literal to a URL
    # parser, but the resolver turns it into the metadata address.
    monkeypatch.setenv("REWARDSMITH_ALLOWED_HOSTS", "*")
    batch = score_with(component("http://2852039166/latest/meta-data/",
                                 ", request_timeout_s = 5"), [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_http"
    assert "link-local, metadata or unspecified address" in (outcome.error or "")


def test_the_runtime_api_after_resolution_is_refused(score_with, make_sample, sink,
                                                     monkeypatch):
    # "localhost" passes the host check, but resolves to the Runtime API's address.
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    url = sink.url.replace("127.0.0.1", "localhost") + "/record"
    batch = score_with(component(url), [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_http"
    assert "Lambda Runtime API" in (outcome.error or "")
    assert sink.requests == []


def test_a_redirect_to_metadata_is_not_followed(score_with, make_sample, sink):
    batch = score_with(component(sink.url + "/redirect"), [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_http"
    assert "answered HTTP 302" in (outcome.error or "")
    assert [r["path"] for r in sink.requests] == ["/redirect"]


# -- E: total time limit, reply cap ---------------------------------------------------------
def test_a_slow_drip_reply_hits_the_total_time_limit(score_with, make_sample, sink):
    # Each byte arrives well within the limit; the whole reply takes 20 s.
    batch = score_with(component(sink.url + "/drip", ", request_timeout_s = 1"),
                       [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_timeout"
    assert "did not answer within 1.0s" in (outcome.error or "")


@pytest.mark.parametrize("path", ["/huge", "/huge-declared"])
def test_a_300_mb_reply_is_not_read_whole(score_with, make_sample, sink, path):
    batch = score_with(component(sink.url + path), [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_http"
    assert "1,048,576-byte cap" in (outcome.error or "")
