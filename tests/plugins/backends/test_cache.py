"""De-duplication of identical in-flight requests and the SQLite verdict cache."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from tests.support.judges import VERDICT_SCHEMA

from rewardsmith.core.backend_pool import BackendPool
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judge_cache import CACHE_ENV, SqliteVerdictCache, request_key
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.telemetry import BatchTelemetry
from rewardsmith.plugins.backends.bedrock import BedrockConfig
from rewardsmith.plugins.judges.calling import CallStats
from rewardsmith.simulators import ConverseSimulator
from rewardsmith.simulators.wiring import bedrock_settings

REQUEST = JudgeRequest("Grade it. template v3", "Candidate: ok [[PASS]]", VERDICT_SCHEMA)


async def test_concurrent_identical_requests_share_one_call(
    pool: BackendPool, converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    converse_simulator.configure(latency_s=0.1)
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url))
    replies = await asyncio.gather(*(backend.complete(REQUEST) for _ in range(10)))
    assert converse_simulator.request_count == 1
    assert all(r.parsed == replies[0].parsed for r in replies)
    assert sum(bool(r.extra.get("deduplicated")) for r in replies) == 9
    assert sum(r.cost_usd for r in replies) == pytest.approx(telemetry.cost_usd)
    assert telemetry.cost_usd > 0  # gpt-oss is in the price table
    assert telemetry.deduplicated == 9
    assert telemetry.judge_calls == 1


async def test_different_requests_are_not_merged(
    pool: BackendPool, converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    converse_simulator.configure(latency_s=0.05)
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url))
    requests = [JudgeRequest("s", f"candidate {i}", VERDICT_SCHEMA) for i in range(5)]
    await asyncio.gather(*(backend.complete(r) for r in [*requests, *requests]))
    assert converse_simulator.request_count == 5
    assert telemetry.deduplicated == 5


async def test_followers_share_the_leaders_failure(
    pool: BackendPool, converse_simulator: ConverseSimulator,
) -> None:
    converse_simulator.configure(latency_s=0.05)
    converse_simulator.script("validation")
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url))
    results = await asyncio.gather(*(backend.complete(REQUEST) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, ComponentError) and r.kind == "judge_config" for r in results)
    assert converse_simulator.request_count == 1


async def test_a_shared_failure_is_the_leaders_call_and_the_followers_dedup(
    pool: BackendPool, converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    # s5 tester F1: each follower fails with the leader's kind, but spent nothing; only
    # the leader's error carries the call, its attempts and tokens.
    converse_simulator.configure(latency_s=0.05, malformed_rate=1.0)
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url))
    results = await asyncio.gather(*(backend.complete(REQUEST) for _ in range(4)),
                                   return_exceptions=True)
    assert all(isinstance(r, ComponentError) and r.kind == "judge_parse" for r in results)
    leaders = [r for r in results if "judge_calls" in r.measurements]
    followers = [r for r in results if r not in leaders]
    assert len(leaders) == 1 and leaders[0].measurements["judge_attempts"] == 2
    assert leaders[0].measurements["input_tokens"] > 0
    assert [f.measurements for f in followers] == [{"deduplicated": 1}] * 3
    assert telemetry.judge_calls == telemetry.judge_failures == 1
    assert telemetry.deduplicated == 3
    assert converse_simulator.request_count == 2  # the call and its repair turn
    stats = CallStats()
    for result in results:
        stats.add_failure(result)
    assert (stats.calls, stats.failed, stats.deduplicated) == (1, 1, 3)
    assert stats.input_tokens == telemetry.input_tokens


async def test_dedup_can_be_switched_off(
    pool: BackendPool, converse_simulator: ConverseSimulator,
) -> None:
    converse_simulator.configure(latency_s=0.05)
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url, dedup=False))
    await asyncio.gather(*(backend.complete(REQUEST) for _ in range(3)))
    assert converse_simulator.request_count == 3


async def test_cache_hit_across_two_pools(
    host: PluginHost, converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
    tmp_path: Path,
) -> None:
    settings = bedrock_settings(converse_simulator.endpoint_url,
                                cache_path=str(tmp_path / "verdicts.sqlite"))
    first_pool = BackendPool(host)
    first = await first_pool.get(settings).complete(REQUEST)
    await first_pool.aclose()
    assert first.cached is False

    second_pool = BackendPool(host)
    second = await second_pool.get(settings).complete(REQUEST)
    await second_pool.aclose()
    assert second.cached is True
    assert second.parsed == first.parsed
    assert second.cost_usd == 0.0
    assert converse_simulator.request_count == 1
    assert telemetry.cache_hits == 1
    assert telemetry.judge_calls == 1


async def test_cache_path_from_the_environment(
    host: PluginHost, converse_simulator: ConverseSimulator, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "env-cache.sqlite"
    monkeypatch.setenv(CACHE_ENV, str(path))
    settings = bedrock_settings(converse_simulator.endpoint_url)
    for _ in range(2):
        pool = BackendPool(host)
        await pool.get(settings).complete(REQUEST)
        await pool.aclose()
    assert converse_simulator.request_count == 1
    assert SqliteVerdictCache(path).count() == 1


async def test_failures_are_not_cached(
    pool: BackendPool, converse_simulator: ConverseSimulator, tmp_path: Path,
) -> None:
    settings = bedrock_settings(converse_simulator.endpoint_url,
                                cache_path=str(tmp_path / "c.sqlite"))
    converse_simulator.script("malformed", "malformed")
    backend = pool.get(settings)
    with pytest.raises(ComponentError):
        await backend.complete(REQUEST)
    reply = await backend.complete(REQUEST)
    assert reply.cached is False and reply.parsed is not None
    assert converse_simulator.request_count == 3


def test_cache_key_covers_what_shapes_the_answer() -> None:
    base = BedrockConfig(model="openai.gpt-oss-120b-1:0")
    key = request_key(base, REQUEST)
    # Operational settings do not change the answer: same key.
    assert request_key(base.model_copy(update={"max_concurrency": 99, "timeout_s": 5,
                                               "endpoint_url": "http://x"}), REQUEST) == key
    # Model, sampling, mode and every part of the request do.
    changed_configs = [
        base.model_copy(update={"model": "openai.gpt-oss-20b-1:0"}),
        base.model_copy(update={"temperature": 0.7}),
        base.model_copy(update={"structured_output": "prompt"}),
        base.model_copy(update={"additional_model_request_fields": {"reasoning_effort": "high"}}),
    ]
    changed_requests = [
        JudgeRequest("Grade it. template v4", REQUEST.user, VERDICT_SCHEMA),
        JudgeRequest(REQUEST.system, "Candidate: ok [[FAIL]]", VERDICT_SCHEMA),
        JudgeRequest(REQUEST.system, REQUEST.user, {**VERDICT_SCHEMA, "required": ["passed"]}),
        JudgeRequest(REQUEST.system, REQUEST.user, VERDICT_SCHEMA, schema_name="other"),
    ]
    keys = {request_key(c, REQUEST) for c in changed_configs}
    keys |= {request_key(base, r) for r in changed_requests}
    assert key not in keys and len(keys) == len(changed_configs) + len(changed_requests)


async def test_concurrent_writers_on_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        async def run() -> None:
            cache = SqliteVerdictCache(path)
            for i in range(50):
                await cache.put(f"{worker}-{i}", "bedrock", "m", {"text": str(i)})
                assert await cache.get(f"{worker}-{i}") == {"text": str(i)}
            await cache.aclose()

        try:
            asyncio.run(run())
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert SqliteVerdictCache(path).count() == 200


async def test_unreadable_row_is_a_miss(tmp_path: Path) -> None:
    cache = SqliteVerdictCache(tmp_path / "c.sqlite")
    await cache.put("k", "bedrock", "m", {"text": "x"})
    await cache.aclose()
    import sqlite3

    with sqlite3.connect(tmp_path / "c.sqlite") as conn:
        conn.execute("UPDATE judge_cache SET reply = ? WHERE key = 'k'", (b"{not json",))
    reopened = SqliteVerdictCache(tmp_path / "c.sqlite")
    assert await reopened.get("k") is None
    await reopened.aclose()


async def test_an_unusable_cache_never_costs_a_verdict(
    host: PluginHost, converse_simulator: ConverseSimulator, tmp_path: Path,
) -> None:
    not_a_database = tmp_path / "cache.sqlite"
    not_a_database.write_bytes(b"this is not an SQLite file" * 100)
    pool = BackendPool(host)
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url,
                                        cache_path=str(not_a_database)))
    with capture_logs() as logs:
        first = await backend.complete(REQUEST)
        second = await backend.complete(JudgeRequest("s", "other", VERDICT_SCHEMA))
    await pool.aclose()
    assert first.parsed is not None and second.parsed is not None
    assert converse_simulator.request_count == 2
    warnings = [e for e in logs if e["event"] == "judge_cache_unusable"]
    assert {w["action"] for w in warnings} == {"read", "write"}  # once each, not per call
    assert len(warnings) == 2


async def test_follower_survives_its_leader_being_cancelled(
    pool: BackendPool, converse_simulator: ConverseSimulator, telemetry: BatchTelemetry,
) -> None:
    converse_simulator.configure(latency_s=0.3)
    backend = pool.get(bedrock_settings(converse_simulator.endpoint_url))
    backend.warm()  # the client exists, so the leader's request leaves at once
    leader = asyncio.create_task(backend.complete(REQUEST))
    await asyncio.sleep(0.05)  # the leader's request is in flight
    follower = asyncio.create_task(backend.complete(REQUEST))
    await asyncio.sleep(0.05)
    leader.cancel()  # e.g. its sample hit the batch deadline
    reply = await follower
    assert reply.parsed is not None
    assert leader.cancelled()
    assert converse_simulator.request_count == 2  # the follower asked for itself
    # no answer was shared: the follower made a call, counted as one (not deduplicated),
    # and the leader's abandoned call, which the server received, is a failed call
    assert "deduplicated" not in reply.extra
    assert telemetry.deduplicated == 0
    assert telemetry.judge_calls == 2 and telemetry.judge_call_failures == {"timeout": 1}
