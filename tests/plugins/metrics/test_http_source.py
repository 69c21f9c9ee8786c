"""HTTP sources against a real loopback metrics service."""

from __future__ import annotations

import asyncio
import sys

import pytest

from rewardsmith.core.errors import ComponentError, PackError
from rewardsmith.core.sample import parse_sample
from rewardsmith.core.wire import jsonl_row, metrics_list
from rewardsmith.plugins.metrics.http import HttpSourceConfig


def component(url: str, extra: str = "", transform: str = '{ kind = "identity" }') -> str:
    return f"""
    [[components]]
    id = "ctr"
    type = "product-metric"
    metric = "ctr"
    source = {{ kind = "http", url = "{url}", value_path = "metrics.ctr"{extra} }}
    transform = {transform}
    """


def test_posts_the_sample_and_reads_the_number(score_with, make_sample, metrics_service):
    extra = ', send_metadata = ["user.segment", "absent"]'
    batch = score_with(component(metrics_service.url + "/ctr", extra), [
        make_sample("a", "x" * 25, user={"segment": "pro", "email": "secret@example.com"}),
        make_sample(7, "x" * 80),
    ])
    assert batch.rewards == pytest.approx([0.25, 0.8])
    assert batch.results[0].components["ctr"].measurements["ctr"] == pytest.approx(0.25)
    bodies = sorted((r["body"] for r in metrics_service.requests), key=lambda b: str(b["id"]))
    assert bodies[0] == {"id": 7, "response": "x" * 80, "metadata": {}}
    assert bodies[1] == {"id": "a", "response": "x" * 25,
                         "metadata": {"user.segment": "pro"}}  # only what was selected


def test_http_500_is_metric_http_and_the_policy_applies(score_with, make_sample,
                                                        metrics_service):
    batch = score_with(component(metrics_service.url + "/boom") + 'on_error = "zero"\n',
                       [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_http"
    assert "answered HTTP 500: internal error: warehouse down" in (outcome.error or "")
    assert outcome.value == 0.0
    assert {"name": "ctr.failed", "value": 1.0, "type": "Metric"} in \
        metrics_list(batch.results[0])


def test_timeout_is_metric_timeout(score_with, make_sample, metrics_service):
    batch = score_with(component(metrics_service.url + "/slow", ", request_timeout_s = 0.1"),
                       [make_sample("a"), make_sample("b")])
    for result in batch.results:
        outcome = result.components["ctr"]
        assert outcome.error_kind == "metric_timeout"
        assert "did not answer within 0.1s" in (outcome.error or "")


@pytest.mark.parametrize(
    ("route", "kind", "fragment"),
    [("/html", "metric_invalid", "did not reply with JSON"),
     ("/string", "metric_invalid", "str '0.5', not a number"),
     ("/unknown", "metric_http", "HTTP 404")],
)
def test_bad_replies(score_with, make_sample, metrics_service, route, kind, fragment):
    batch = score_with(component(metrics_service.url + route), [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == kind
    assert fragment in (outcome.error or "")


def test_missing_value_in_reply_is_metric_missing(score_with, make_sample, metrics_service):
    pack = component(metrics_service.url + "/ctr").replace('"metrics.ctr"', '"metrics.cvr"')
    batch = score_with(pack, [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_missing"
    assert "reply at 'metrics.cvr' is missing" in (outcome.error or "")


def test_connection_refused_is_metric_http(score_with, make_sample, metrics_service):
    # A port that was just free: bind, read the port, close.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    batch = score_with(component(f"http://127.0.0.1:{port}/ctr"), [make_sample("a")])
    assert batch.results[0].components["ctr"].error_kind == "metric_http"


def test_retries_transient_statuses(score_with, make_sample, metrics_service):
    metrics_service.fail_next.extend([503, 502])
    batch = score_with(component(metrics_service.url + "/ctr", ", retries = 2"),
                       [make_sample("a", "x" * 50)])
    assert batch.rewards == pytest.approx([0.5])
    assert len(metrics_service.requests) == 3

    metrics_service.fail_next.extend([503, 503])
    batch = score_with(component(metrics_service.url + "/ctr", ", retries = 1"),
                       [make_sample("a", "x" * 50)])
    assert "HTTP 503" in (batch.results[0].components["ctr"].error or "")


def test_headers_come_from_the_environment(score_with, make_sample, metrics_service,
                                           monkeypatch):
    extra = ', headers_from_env = { authorization = "METRICS_TOKEN_FOR_TEST" }'
    monkeypatch.delenv("METRICS_TOKEN_FOR_TEST", raising=False)
    monkeypatch.setenv("REWARDSMITH_ALLOWED_ENV", "METRICS_TOKEN_FOR_TEST")  # the operator's
    batch = score_with(component(metrics_service.url + "/ctr", extra), [make_sample("a")])
    outcome = batch.results[0].components["ctr"]
    assert outcome.error_kind == "metric_http"
    assert "'METRICS_TOKEN_FOR_TEST', which is not set" in (outcome.error or "")
    assert metrics_service.requests == []  # nothing sent without the credential

    monkeypatch.setenv("METRICS_TOKEN_FOR_TEST", "Bearer s3cret")
    batch = score_with(component(metrics_service.url + "/ctr", extra), [make_sample("a")])
    assert batch.results[0].components["ctr"].error is None
    assert metrics_service.requests[0]["headers"]["authorization"] == "Bearer s3cret"
    assert "s3cret" not in str(jsonl_row(batch.results[0]))


def test_credentials_in_the_url_never_reach_messages(score_with, make_sample,
                                                     metrics_service):
    url = metrics_service.url.replace("http://", "http://user:hunter2@") + "/boom?key=abc"
    batch = score_with(component(url), [make_sample("a")])
    error = batch.results[0].components["ctr"].error or ""
    assert "HTTP 500" in error
    assert "hunter2" not in error and "key=abc" not in error


@pytest.mark.parametrize("url", ["ftp://host/x", "file:///etc/passwd", "not a url"])
def test_only_http_urls_are_accepted(pack_from, url):
    with pytest.raises(PackError, match="must be an http:// or https:// URL"):
        pack_from(component(url))


async def test_source_works_across_event_loops_and_closes(metrics_service):
    """Called directly (outside a Scorer) from two loops, the client is rebuilt per loop."""
    config = HttpSourceConfig(kind="http", url=metrics_service.url + "/ctr",
                              value_path="metrics.ctr")
    source = config.build()
    sample = parse_sample({"id": 1, "messages": [{"role": "assistant", "content": "x" * 10}]}, 0)
    assert await source.read(sample) == pytest.approx(0.1)
    other = await asyncio.to_thread(asyncio.run, source.read(sample))
    assert other == pytest.approx(0.1)
    await source.aclose()
    with pytest.raises(ComponentError):  # /boom still reports, with a fresh client
        bad = HttpSourceConfig(kind="http", url=metrics_service.url + "/boom",
                               value_path="v").build()
        try:
            await bad.read(sample)
        finally:
            await bad.aclose()


def test_missing_httpx_fails_at_pack_load_with_the_install_hint(pack_from, monkeypatch):
    monkeypatch.setitem(sys.modules, "httpx", None)  # what an uninstalled module looks like
    with pytest.raises(PackError) as info:
        pack_from(component("http://127.0.0.1:9/ctr"))
    assert "needs httpx: pip install 'rewardsmith[openai]'" in str(info.value)
    assert "id='ctr'" in str(info.value)
