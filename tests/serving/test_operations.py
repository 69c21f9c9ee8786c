"""Running ``rewardsmith serve`` as an operator would: groups kept whole across requests,
back-pressure, size caps, malformed requests, auth, deadlines, judge outages, metrics and
graceful shutdown — all through real HTTP (httpx) against a real uvicorn server.

The trainer call shapes are those of OpenRLHF 0.11.0 (``openrlhf/utils/agent.py``: one
``{"query", "prompts", "labels"}`` per rollout, the rollouts of a prompt in concurrent
requests) and NeMo Gym (``nemo_gym/base_resources_server.py``); see test_protocols.py.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.support import serving
from tests.support.serving import (
    GROUP_PACK,
    HELD_PACK,
    JUDGE_PACK,
    TOY_PACK,
    chat,
    make_scorer,
    running,
)

from rewardsmith.serving.app import ServeConfig


def _metrics(client: httpx.Client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                         float]:
    text = client.get("/metrics", headers=headers).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _wait_until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    give_up = time.monotonic() + 60  # a hang guard, not an assertion about speed
    while not condition():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.01)


def _openrlhf(prompt: str, responses: list[str]) -> dict[str, list[str | None]]:
    return {"query": [prompt + r for r in responses], "prompts": [prompt] * len(responses),
            "labels": [None] * len(responses)}


# -- groups ----------------------------------------------------------------------------------
async def test_a_group_split_over_two_requests_is_scored_as_one_group(tmp_path: Path) -> None:
    """OpenRLHF sends each rollout of a prompt in its own request; the group component must
    see all four. Lengths 1..4 rank 0, 1/3, 2/3, 1 within the group of four; scored per
    request they would rank 0, 1 and 0, 1."""
    scorer = make_scorer(tmp_path, GROUP_PACK)
    config = ServeConfig(group_window_s=30.0, group_size=4)
    with running(scorer, config) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            first, second = await asyncio.gather(
                client.post("/get_reward", json=_openrlhf("P: ", ["a", "ccc"])),
                client.post("/get_reward", json=_openrlhf("P: ", ["bb", "dddd"])))
            assert first.json()["rewards"] == pytest.approx([0.0, 2 / 3])
            assert second.json()["rewards"] == pytest.approx([1 / 3, 1.0])
            # another prompt in the same request forms its own group
            mixed = await asyncio.gather(
                client.post("/get_reward", json=_openrlhf("Q: ", ["x", "xx"])),
                client.post("/get_reward", json=_openrlhf("Q: ", ["xxx", "xxxx"])))
            assert [r.json()["rewards"] for r in mixed] == [
                pytest.approx([0.0, 1 / 3]), pytest.approx([2 / 3, 1.0])]
    assert serving.toy_plugin.CALLS["rank"] == 2  # one call per group, not per request


def test_the_window_alone_scores_an_incomplete_group(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, GROUP_PACK)
    with running(scorer, ServeConfig(group_window_s=0.05, group_size=8)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        body = client.post("/get_reward", json=_openrlhf("P: ", ["a", "bbb", "cc"])).json()
        assert body["rewards"] == pytest.approx([0.0, 1.0, 0.5])
        health = client.get("/healthz").json()
        assert health["group_window_s"] == 0.05 and health["group_size"] == 8


def test_group_window_defaults_on_only_for_group_packs(tmp_path: Path) -> None:
    with running(make_scorer(tmp_path, GROUP_PACK)) as live:
        assert live.server.service.group_window_s == 0.1
    with running(make_scorer(tmp_path, TOY_PACK, "toy.toml")) as live:
        assert live.server.service.group_window_s == 0.0
        assert not live.server.service.coalescing


# -- back-pressure ---------------------------------------------------------------------------
async def test_back_pressure_under_ten_times_the_concurrency(tmp_path: Path) -> None:
    """20 concurrent requests against max_inflight=2: two are scored, eighteen get 503 with
    Retry-After at once (they do not wait for a timeout); once the two finish, a retry is
    served."""
    scorer = make_scorer(tmp_path, HELD_PACK)
    config = ServeConfig(max_inflight=2, retry_after_s=3)
    with running(scorer, config) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            tasks = [asyncio.ensure_future(
                client.post("/slime", json={"prompt": f"p{i}", "response": "r"}))
                for i in range(20)]
            give_up = time.monotonic() + 60
            while sum(t.done() for t in tasks) < 18 or serving.HELD["waiting"] < 2:
                assert time.monotonic() < give_up, "the rejections did not arrive"
                await asyncio.sleep(0.01)
            rejected = [t.result() for t in tasks if t.done()]
            assert len(rejected) == 18
            for answer in rejected:
                assert answer.status_code == 503
                assert answer.headers["retry-after"] == "3"
                assert "the limit is 2" in answer.json()["error"]
            health = (await client.get("/healthz")).json()
            assert health["inflight"] == 2 and health["status"] == "ok"

            held = [t for t in tasks if not t.done()]
            serving.RELEASE.set()
            served = await asyncio.gather(*held)
            assert [a.status_code for a in served] == [200, 200]
            assert all(a.json()["reward"] == 1.0 for a in served)
            retry = await client.post("/slime", json={"prompt": "p", "response": "r"})
            assert retry.status_code == 200
        with httpx.Client(base_url=live.url) as sync_client:
            metrics = _metrics(sync_client)
    assert metrics[("rewardsmith_serve_rejected_total", (("reason", "overloaded"),))] == 18
    assert metrics[("rewardsmith_serve_samples_total", (("status", "ok"),))] == 3


# -- malformed requests and size caps --------------------------------------------------------
@pytest.mark.parametrize(("route", "body", "status", "where", "words"), [
    ("/get_reward", b"{not json", 400, "body", "not valid JSON"),
    ("/get_reward", b"", 400, "body", "empty request body"),
    ("/get_reward", b"[1, 2]", 422, "body", "expects a JSON object, got list"),
    ("/get_reward", b'{"prompts": []}', 422, "body.query", "missing 'query'"),
    ("/get_reward", b'{"query": "x"}', 422, "body.query", "must be a list of strings, got str"),
    ("/get_reward", b'{"query": ["a", "b"], "prompts": ["p"]}', 422, "body.prompts",
     "has 1 items for 2 queries"),
    ("/slime", b'{"prompt": "p"}', 422, "body.response", "missing 'response'"),
    ("/slime", b'{"prompt": 5, "response": "r"}', 422, "body.prompt", "got int"),
    ("/slime?reply=text", b'{"prompt": "p", "response": "r"}', 422, "query.reply", "'text'"),
    ("/verify", b'{"responses_create_params": {"input": "hi"}}', 422, "body.response",
     "'response' must be an object, got null"),
    ("/verify", b'{"responses_create_params": {"input": 3}, "response": {"output": []}}', 422,
     "body.responses_create_params.input", "got int"),
    ("/verify", b'{"responses_create_params": {"input": "q"}, "response": {"output": [1]}}',
     422, "body.response.output[0]", "output item must be an object"),
    ("/v1/score", b'{"Records": []}', 422, "event", "event-source batch"),
    ("/v1/score", b"null", 422, "event", "is null"),
])
def test_a_malformed_request_gets_a_clear_4xx(tmp_path: Path, route: str, body: bytes,
                                              status: int, where: str, words: str) -> None:
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        answer = client.post(route, content=body,
                             headers={"content-type": "application/json"})
        assert answer.status_code == status
        assert answer.json()["where"] == where
        assert words in answer.json()["error"]
        metrics = _metrics(client)
        assert metrics[("rewardsmith_serve_rejected_total", (("reason", "malformed"),))] == 1
        assert not any(name == "rewardsmith_serve_samples_total" for name, _ in metrics)


async def test_a_malformed_request_costs_nothing_else(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            good = _openrlhf("", ["yes", "no"])
            answers = await asyncio.gather(*[
                client.post("/get_reward", json=good) if i % 2 else
                client.post("/get_reward", content=b'{"query": [')
                for i in range(8)])
            assert [a.status_code for a in answers] == [400, 200] * 4
            assert all(a.json()["rewards"] == [0.5, -0.5] for a in answers[1::2])
            health = (await client.get("/healthz")).json()
            assert health["inflight"] == 0 and health["status"] == "ok"
        with httpx.Client(base_url=live.url) as sync_client:
            metrics = _metrics(sync_client)
    # only the good requests' samples were scored
    assert metrics[("rewardsmith_serve_samples_total", (("status", "ok"),))] == 8
    assert metrics[("rewardsmith_serve_rejected_total", (("reason", "malformed"),))] == 4


def test_request_size_cap(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer, ServeConfig(max_body_bytes=200)) as live, \
            httpx.Client(base_url=live.url) as client:
        big = {"query": ["yes" * 100]}
        answer = client.post("/get_reward", json=big)
        assert answer.status_code == 413
        assert "over the limit of 200 bytes" in answer.json()["error"]

        def chunks():  # no Content-Length: the cap applies to the bytes read
            yield b'{"query": ["'
            for _ in range(50):
                yield b"yesyesyes"
            yield b'"]}'

        answer = client.post("/get_reward", content=chunks())
        assert answer.status_code == 413
        assert client.post("/get_reward", json=_openrlhf("", ["yes"])).json()["rewards"] == [0.5]
        metrics = _metrics(client)
        assert metrics[("rewardsmith_serve_rejected_total", (("reason", "too_large"),))] == 2


def _stalled_upload(url: str, route: str = "/slime") -> socket.socket:
    """A connection that announces a 100-byte body and sends only ``{`` of it."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)  # a hang guard
    sock.sendall(f"POST {route} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
                 "\r\nContent-Length: 100\r\n\r\n{".encode())
    return sock


def _answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status code and raw bytes of the answer on ``sock``, read until the server closes."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return int(data.split(b" ", 2)[1]), data


def test_a_stalled_upload_holds_no_scoring_slot_and_gets_408(tmp_path: Path) -> None:
    """Tester report: two connections sending ``Content-Length: 100`` and only ``{`` held
    both slots of ``--max-inflight 2`` (every valid request 503) with no read timeout.
    The slot is taken only once the body is read, and the body must arrive within the
    deadline."""
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer, ServeConfig(max_inflight=2, deadline_s=2.0)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        stalled = [_stalled_upload(live.url) for _ in range(2)]
        for _ in range(3):
            answer = client.post("/slime", json={"prompt": "p", "response": "yes"})
            assert answer.status_code == 200
            assert answer.json()["reward"] == 0.5
        assert client.get("/healthz").json()["inflight"] == 0
        for sock in stalled:
            status, raw = _answer(sock)
            assert status == 408
            assert b"did not all arrive within the deadline of 2s" in raw
        metrics = _metrics(client)
        assert metrics[("rewardsmith_serve_rejected_total", (("reason", "body_timeout"),))] == 2


def test_shutdown_ends_a_stalled_upload_at_once(tmp_path: Path) -> None:
    """On SIGTERM a connection stalled mid-upload gets 503 and the server stops without
    waiting out the graceful timeout (which would cancel the task with a traceback)."""
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer, ServeConfig(deadline_s=600.0), graceful_timeout_s=600.0) as live:
        sock = _stalled_upload(live.url)
        _wait_until(lambda: len(live.uvicorn.server_state.tasks) == 1,
                    "the request to be read")
        live.uvicorn.should_exit = True  # what uvicorn's SIGTERM handler does
        status, raw = _answer(sock)
        assert status == 503
        assert b"the request body had not all arrived" in raw
        live.thread.join(60)
        assert not live.thread.is_alive()


def test_a_client_that_disconnects_mid_upload_is_counted_not_an_error(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        _stalled_upload(live.url).close()
        key = ("rewardsmith_serve_rejected_total", (("reason", "client_disconnected"),))
        _wait_until(lambda: _metrics(client).get(key) == 1, "the disconnect to be counted")
        assert ("rewardsmith_serve_requests_total", (("code", "500"), ("route", "/slime"))) \
            not in _metrics(client)


# -- auth ------------------------------------------------------------------------------------
def test_bearer_token(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, TOY_PACK)
    token = "s3cret-token"
    with running(scorer, ServeConfig(token=token)) as live, \
            httpx.Client(base_url=live.url) as client:
        payload = _openrlhf("", ["yes"])
        missing = client.post("/get_reward", json=payload)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert token not in missing.text
        wrong = client.post("/get_reward", json=payload,
                            headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.post("/get_reward", json=payload,
                            headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200 and right.json()["rewards"] == [0.5]
        assert client.get("/healthz").status_code == 200  # for load balancers
        assert client.get("/metrics").status_code == 401
        metrics = _metrics(client, Authorization=f"Bearer {token}")
        assert metrics[("rewardsmith_serve_rejected_total", (("reason", "unauthorized"),))] == 3


# -- metrics ---------------------------------------------------------------------------------
def test_metrics_scrape(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, TOY_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        client.post("/get_reward", json={"query": ["yes", "  ", 3], "prompts": ["", "", ""]})
        client.post("/slime", json={"prompt": "p", "response": "no"})
        answer = client.get("/metrics")
        assert answer.headers["content-type"].startswith("text/plain")
        metrics = _metrics(client)
    ref = scorer.pack.ref
    assert metrics[("rewardsmith_serve_pack_info", (("hash", ref.hash), ("name", "serve-toy"),
                                                     ("version", "1.0.0")))] == 1
    assert metrics[("rewardsmith_serve_requests_total",
                    (("code", "200"), ("route", "/get_reward")))] == 1
    assert metrics[("rewardsmith_serve_requests_total",
                    (("code", "200"), ("route", "/slime")))] == 1
    assert metrics[("rewardsmith_serve_samples_total", (("status", "ok"),))] == 2
    assert metrics[("rewardsmith_serve_samples_total", (("status", "gated"),))] == 1
    assert metrics[("rewardsmith_serve_samples_total", (("status", "failed"),))] == 1
    assert metrics[("rewardsmith_serve_batches_total", ())] == 2
    assert metrics[("rewardsmith_serve_max_inflight_requests", ())] == 64
    assert metrics[("rewardsmith_serve_request_duration_seconds_count",
                    (("route", "/get_reward"),))] == 1


# -- deadline and judge outages --------------------------------------------------------------
def test_the_per_request_deadline_applies_failure_policies(tmp_path: Path) -> None:
    pack = """
[pack]
name = "serve-slow"
version = "1.0.0"

[[components]]
id = "slow"
type = "sleepy"
on_error = "zero"

[[components]]
id = "yes"
type = "contains"
needle = "yes"
"""
    scorer = make_scorer(tmp_path, pack)
    with running(scorer, ServeConfig(deadline_s=2.0)) as live, \
            httpx.Client(base_url=live.url, timeout=60) as client:
        body = client.post("/get_reward", json=_openrlhf("", ["yes hang", "yes"])).json()
        # the hanging judge-like call is abandoned at the deadline and scored 0 by its
        # policy; the other sample is unaffected
        assert body["rewards"] == pytest.approx([0.5, 0.9])
        metrics = _metrics(client)
        assert metrics[("rewardsmith_serve_deadline_hits_total", ())] == 1
        assert metrics[("rewardsmith_serve_component_failures_total",
                        (("component", "slow"), ("kind", "deadline")))] == 1


def test_a_judge_outage_is_counted_and_visible_never_silent(tmp_path: Path) -> None:
    """As in the Lambda: the rewards come from the other components under the judge's
    failure policy, and the outage is visible in the answer, /healthz and /metrics."""
    scorer = make_scorer(tmp_path, JUDGE_PACK)
    with running(scorer) as live, httpx.Client(base_url=live.url) as client:
        healthy = client.post("/get_reward", json=_openrlhf("", ["yes"]))
        assert healthy.json()["rewards"] == pytest.approx([0.9])
        assert "x-rewardsmith-judge-unavailable" not in healthy.headers
        assert client.get("/healthz").json()["status"] == "ok"

        down = client.post("/get_reward", json=_openrlhf("", ["yes judge-down",
                                                             "no judge-down"]))
        assert down.status_code == 200
        assert down.json()["rewards"] == [1.0, 0.0]
        assert down.headers["x-rewardsmith-judge-unavailable"] == "judge"
        assert down.json()["extra_logs"]["judge_unavailable"] == [1.0, 1.0]

        verify = client.post("/verify", json={
            "responses_create_params": {"input": "Say yes."},
            "response": {"output": [{"type": "message", "role": "assistant",
                                     "content": [{"type": "output_text",
                                                  "text": "yes judge-down"}]}]}}).json()
        assert verify["mask_sample"] is True and verify["failure_kind"] == "judge_failed"

        health = client.get("/healthz").json()
        assert health["status"] == "degraded"
        assert health["judge_outages"]["judge"]["kind"] == "judge_unavailable"
        assert health["judge_outages"]["judge"]["batches"] == 2
        assert "connection refused" in health["judge_outages"]["judge"]["cause"]
        metrics = _metrics(client)
        assert metrics[("rewardsmith_serve_judge_unavailable_total",
                        (("component", "judge"), ("kind", "judge_unavailable")))] == 2

        rows = client.post("/v1/score", json=[chat("q", "yes judge-down", "a")]).json()
        names = {m["name"]: m["value"] for m in rows[0]["metrics_list"]}
        assert names["judge_failed"] == 1.0


# -- graceful shutdown -----------------------------------------------------------------------
def test_graceful_shutdown_finishes_in_flight_requests(tmp_path: Path) -> None:
    scorer = make_scorer(tmp_path, HELD_PACK)
    with running(scorer) as live:
        answers: list[httpx.Response] = []

        def post() -> None:
            with httpx.Client(base_url=live.url, timeout=60) as client:
                answers.append(client.post("/slime", json={"prompt": "p", "response": "r"}))

        worker = threading.Thread(target=post)
        worker.start()
        _wait_until(lambda: serving.HELD["waiting"] == 1, "the request to be in flight")
        live.uvicorn.should_exit = True  # what uvicorn's SIGTERM handler does
        _wait_until(lambda: live.server.app is not None and not _accepts(live.url),
                    "the listener to close")
        assert live.thread.is_alive()  # still waiting for the admitted request
        serving.RELEASE.set()
        worker.join(60)
        live.thread.join(60)
        assert not live.thread.is_alive()
        assert [a.status_code for a in answers] == [200]
        assert answers[0].json()["reward"] == 1.0


def _accepts(url: str) -> bool:
    try:
        httpx.get(url + "/healthz", timeout=5)
    except httpx.TransportError:
        return False
    return True
