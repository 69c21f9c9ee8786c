"""Request de-duplication and the persistent verdict cache, around any judge backend.

:class:`BackendPool` wraps every backend it hands out in :class:`CachingBackend`:

* identical requests (same backend settings, same full request) in one batch share one
  call, whatever their order: one in flight is joined, one already answered in the batch
  is answered again from memory — the engine scores groups of rollouts concurrently,
  trainers send several identical rollouts per prompt, and pairwise judges ask the same
  comparison from several places; each follower that receives the shared outcome (a reply,
  or the failure of the shared call, which it raises with the same kind) records
  ``record_dedup()`` in the batch telemetry and costs nothing; a follower whose shared
  call is abandoned makes the call itself, or is abandoned with it, and is no dedup;
* with a cache path (config ``cache_path`` or ``REWARDSMITH_JUDGE_CACHE``) successful
  replies are stored in SQLite and reused across runs and processes; each hit records
  ``record_cache_hit()``.

The key is the sha256 of the backend's answer-shaping settings
(:meth:`JudgeBackendConfig.cache_identity`: backend, model, sampling parameters, output
mode — not concurrency or timeouts) plus the full request: system prompt (which carries
the template version and rubric), user prompt (the normalised candidate text) and schema.
Failures are never cached.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from rewardsmith.core import settings
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judging import (
    JudgeBackend,
    JudgeBackendConfig,
    JudgeReply,
    JudgeRequest,
    WrappingBackend,
)
from rewardsmith.core.logs import library_logger
from rewardsmith.core.telemetry import BatchTelemetry, bound_telemetry, current_telemetry

if TYPE_CHECKING:  # imported where a cache file is used: most runs have none (~2.5 ms)
    import sqlite3

CACHE_ENV = "REWARDSMITH_JUDGE_CACHE"
_SETUP_ATTEMPTS = 6
log = library_logger("rewardsmith.judge")
_SCHEMA_VERSION = 1  # bump when the stored reply layout changes; old rows stop matching
# Batches whose answered requests are remembered at once (a warm process may interleave a
# few; older ones are forgotten first).
_BATCHES_REMEMBERED = 4


def request_key(config: JudgeBackendConfig, request: JudgeRequest) -> str:
    """The sha256 naming one (settings, request) pair."""
    return keyed_by(config)(request)


def keyed_by(config: JudgeBackendConfig) -> Callable[[JudgeRequest], str]:
    """:func:`request_key` for one ``config``, its settings identity serialised once.

    The hashed bytes are those of ``{"config": ..., "request": ..., "v": ...}`` dumped with
    sorted keys, so keys stay those of earlier versions (stored caches keep matching).
    """
    head = (b'{"config":' + orjson.dumps(config.cache_identity(), option=orjson.OPT_SORT_KEYS)
            + b',"request":')
    tail = b',"v":' + str(_SCHEMA_VERSION).encode() + b"}"

    def key(request: JudgeRequest) -> str:
        body = orjson.dumps({"json_schema": request.json_schema,
                             "schema_name": request.schema_name,
                             "system": request.system, "user": request.user},
                            option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(head + body + tail).hexdigest()

    return key


class SqliteVerdictCache:
    """Replies by key in one SQLite file, safe with several writers (threads or processes).

    All access goes through one worker thread owning one connection, so the event loop
    never blocks on disk; WAL mode and a busy timeout let other processes write the same
    file at the same time.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 10_000) -> None:
        self.path = Path(path).expanduser()
        self._busy_timeout_ms = busy_timeout_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-cache")
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        import sqlite3

        # Runs on the worker thread only, so the connection is used by one thread.
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Several processes opening a new file at once can get "database is locked"
            # from the switch to WAL without the busy handler being consulted: retry the
            # set-up a few times, with growing pauses, before giving up.
            for attempt in range(_SETUP_ATTEMPTS):
                try:
                    self._connection = self._set_up()
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == _SETUP_ATTEMPTS - 1:
                        raise
                    time.sleep(0.02 * 2**attempt)
        assert self._connection is not None
        return self._connection

    def _set_up(self) -> sqlite3.Connection:
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=self._busy_timeout_ms / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS judge_cache ("
                " key TEXT PRIMARY KEY, backend TEXT NOT NULL, model TEXT NOT NULL,"
                " reply BLOB NOT NULL, created_at REAL NOT NULL)"
            )
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _get(self, key: str) -> dict[str, Any] | None:
        row = self._connect().execute(
            "SELECT reply FROM judge_cache WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        try:
            data: dict[str, Any] = orjson.loads(row[0])
        except orjson.JSONDecodeError:
            return None  # a torn or foreign row is a miss, not a crash
        return data

    def _put(self, key: str, backend: str, model: str, reply: dict[str, Any]) -> None:
        conn = self._connect()
        conn.execute(
            "INSERT OR REPLACE INTO judge_cache (key, backend, model, reply, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key, backend, model, orjson.dumps(reply), time.time()),
        )
        conn.commit()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def get(self, key: str) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._get, key)

    async def put(self, key: str, backend: str, model: str, reply: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._put, key, backend, model, reply)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)

    def count(self) -> int:
        """Rows stored (for tests and ``rewardsmith`` diagnostics)."""
        import sqlite3

        with sqlite3.connect(self.path, timeout=self._busy_timeout_ms / 1000) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM judge_cache").fetchone()[0])


def _reply_to_row(reply: JudgeReply) -> dict[str, Any]:
    row = asdict(reply)
    row.pop("cached", None)
    return row


def _reply_from_row(row: dict[str, Any]) -> JudgeReply:
    reply = JudgeReply(**{k: v for k, v in row.items() if k in JudgeReply.__slots__})
    reply.cached = True
    reply.latency_ms = 0.0
    reply.cost_usd = 0.0  # nothing was spent this time
    return reply


#: Set in the measurements of a failure that a de-duplicated request received from the
#: identical call it joined: the sample fails with that call's kind, but the call (its
#: tokens, cost, attempts, repair turn) is counted on the row that made it only.
SHARED_FAILURE = "deduplicated"


def shared_failure(error: ComponentError) -> ComponentError:
    """The failure a follower of a failed shared call raises: ``error``'s message and kind,
    measurements ``{"deduplicated": 1}`` (no call, nothing spent; ``CallStats.add_failure``
    counts it as a deduplicated request), so that rows sum to the batch telemetry."""
    return ComponentError(str(error), kind=error.kind, measurements={SHARED_FAILURE: 1})


def _copy(reply: JudgeReply, **changes: Any) -> JudgeReply:
    data = asdict(reply)
    data.update(changes)
    return JudgeReply(**data)


class CachingBackend(WrappingBackend):
    """Wraps a backend with in-flight de-duplication and an optional SQLite cache."""

    Config = JudgeBackendConfig

    def __init__(self, inner: JudgeBackend, cache: SqliteVerdictCache | None) -> None:
        super().__init__(inner)
        self.cache = cache
        # Futures belong to one event loop: key them by loop so two loops never share.
        self._in_flight: dict[tuple[int, str], asyncio.Future[JudgeReply]] = {}
        self._lock = threading.Lock()
        self._cache_warned: set[str] = set()
        self._key = keyed_by(self.config)
        # Replies already answered in each recent batch, by request key: an identical
        # request later in the same batch is answered from here (issue 13, fix 5).
        self._answered: OrderedDict[int, tuple[BatchTelemetry, dict[str, JudgeReply]]] = \
            OrderedDict()

    @classmethod
    def backend_name(cls) -> str:
        return "caching"

    def _batch_answers(self) -> dict[str, JudgeReply] | None:
        """The replies answered so far in the current batch (None outside a batch)."""
        batch = bound_telemetry()
        if batch is None:
            return None
        with self._lock:
            entry = self._answered.get(id(batch))
            if entry is None or entry[0] is not batch:
                entry = (batch, {})
                self._answered[id(batch)] = entry
                while len(self._answered) > _BATCHES_REMEMBERED:
                    self._answered.popitem(last=False)
            return entry[1]

    async def shares_reply(self, request: JudgeRequest) -> bool:
        """Whether ``request`` would be answered without a call of its own: an identical
        request answered earlier in this batch or in flight now (de-duplication), or a
        cache hit. Such a request spends nothing, so a budget admits it without a
        reservation (plugins/judges/budget.py). If the identical call in flight is then
        cancelled, :meth:`complete` makes the call itself and its spend is counted."""
        key = self._key(request)
        if self.config.dedup:
            answers = self._batch_answers()
            if answers is not None and key in answers:
                return True
            slot = (id(asyncio.get_running_loop()), key)
            with self._lock:
                if slot in self._in_flight:
                    return True
        return self.cache is not None and await self._cache_get(key) is not None

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        key = self._key(request)
        answers = self._batch_answers() if self.config.dedup else None
        if answers is not None:
            earlier = answers.get(key)
            if earlier is not None:
                # Answered earlier in this batch: the same verdict, and nothing spent again.
                current_telemetry().record_dedup()
                return _copy(earlier, cost_usd=0.0,
                             extra={**earlier.extra, "deduplicated": True})
        if self.cache is not None:
            row = await self._cache_get(key)
            if row is not None:
                current_telemetry().record_cache_hit()
                return _reply_from_row(row)
        if not self.config.dedup:
            return await self._call(key, request)

        loop = asyncio.get_running_loop()
        slot = (id(loop), key)
        with self._lock:
            leader_future = self._in_flight.get(slot)
            if leader_future is None:
                future: asyncio.Future[JudgeReply] = loop.create_future()
                self._in_flight[slot] = future
        if leader_future is not None:
            try:
                reply = await asyncio.shield(leader_future)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if leader_future.cancelled() and task is not None and not task.cancelling():
                    # The leader's sample gave up (its own timeout); this one has not: it
                    # makes the call itself, counted as a call, never as deduplicated.
                    return await self._call(key, request)
                raise  # this sample was abandoned: no answer was shared with it
            except ComponentError as exc:
                # The leader's call failed: this sample fails with the same kind, but the
                # call and what it spent are the leader's row's alone (s5 tester F1).
                current_telemetry().record_dedup()
                raise shared_failure(exc) from exc
            # Counted once the answer is shared, not when joining: a follower of a call
            # that is then abandoned got nothing (s5 tester F3).
            current_telemetry().record_dedup()
            # The leader's reply carries the cost; a follower's is free, so per-sample sums
            # match what was actually spent (as for cache hits).
            return _copy(reply, cost_usd=0.0, extra={**reply.extra, "deduplicated": True})
        try:
            reply = await self._call(key, request)
        except BaseException as exc:
            if not future.done():
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # followers may be gone: don't warn "never retrieved"
            raise
        else:
            if answers is not None and (request.json_schema is None or reply.parsed is not None):
                answers[key] = reply
            future.set_result(reply)
            return reply
        finally:
            with self._lock:
                self._in_flight.pop(slot, None)

    async def _call(self, key: str, request: JudgeRequest) -> JudgeReply:
        reply = await self.inner.complete(request)
        if self.cache is not None and (request.json_schema is None or reply.parsed is not None):
            await self._cache_put(key, reply)
        return reply

    # The cache is an optimisation: a full disk, a locked or corrupt file, or a reply that
    # cannot be serialised must never cost a verdict that was already paid for.
    async def _cache_get(self, key: str) -> dict[str, Any] | None:
        assert self.cache is not None
        import sqlite3  # loaded by the cache already

        try:
            return await self.cache.get(key)
        except (sqlite3.Error, OSError) as exc:
            self._cache_failed("read", exc)
            return None

    async def _cache_put(self, key: str, reply: JudgeReply) -> None:
        assert self.cache is not None
        import sqlite3  # loaded by the cache already

        try:
            await self.cache.put(key, self.config.backend, self.config.model,
                                 _reply_to_row(reply))
        except (sqlite3.Error, OSError, TypeError) as exc:
            self._cache_failed("write", exc)

    def _cache_failed(self, action: str, exc: BaseException) -> None:
        if action not in self._cache_warned:
            self._cache_warned.add(action)
            log.warning("judge_cache_unusable", action=action, path=str(self.cache.path)
                        if self.cache else None, error=f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            if self.cache is not None:
                await self.cache.aclose()


def cache_path_for(config: JudgeBackendConfig) -> str | None:
    """The configured cache file, falling back to ``REWARDSMITH_JUDGE_CACHE``."""
    if config.cache_path is not None:
        return config.cache_path or None  # "" switches the cache off explicitly
    return settings.get(CACHE_ENV) or None


def wrap_backend(backend: JudgeBackend) -> CachingBackend:
    """What :class:`BackendPool` hands out: ``backend`` plus dedup and the cache."""
    path = cache_path_for(backend.config)
    return CachingBackend(backend, SqliteVerdictCache(path) if path else None)
