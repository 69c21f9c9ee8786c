"""Cassettes: the judge exchanges of a test run, recorded once and replayed offline.

A cassette is a JSONL file, one exchange per line::

    {"key": "<sha256>", "backend": "bedrock", "model": "...", "schema_name": "rubric_verdict",
     "system_sha256": "...", "user_excerpt": "...", "reply": {<JudgeReply fields>}}

or, for a call that failed with a judge error, ``"error": {"kind": ..., "message": ...}``
instead of ``reply`` — a replay raises the same error, so it reproduces the run's failures
(a parse failure stays a parse failure) as well as its verdicts.

``key`` is :func:`rewardsmith.core.judge_cache.request_key` — the same key as the verdict
cache (answer-shaping settings plus the full request), so a replay matches exactly the
requests the recording saw. Replay answers every judge call from the cassette and never
touches the network; a request the cassette does not hold raises
``ComponentError(kind="cassette_miss")`` naming its key (the pack, its prompt or the
suite changed since recording: re-record). Entries no request asked for are reported as
stale, never guessed at.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.core.errors import ComponentError, ErrorKind, RewardsmithError
from rewardsmith.core.judge_cache import request_key
from rewardsmith.core.judging import JudgeBackend, JudgeReply, JudgeRequest, WrappingBackend

_FORMAT = 1


class CassetteError(RewardsmithError, ValueError):
    """A cassette file cannot be read; names the file and line."""


class Cassette:
    """Exchanges by request key; thread-safe, written as JSONL."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.used: set[str] = set()
        self.misses: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        cassette = cls()
        file = Path(path)
        if not file.is_file():
            raise CassetteError(f"cassette {file} does not exist (record it with --record)")
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise CassetteError(f"{file}:{number}: not valid JSON: {exc}") from None
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not (
                    isinstance(entry.get("reply"), dict) or _valid_error(entry.get("error"))):
                raise CassetteError(f"{file}:{number}: an entry needs 'key' and 'reply' (or "
                                    "'error' with 'kind' and 'message')")
            if entry.get("format", _FORMAT) != _FORMAT:
                raise CassetteError(f"{file}:{number}: cassette format {entry.get('format')} "
                                    f"is not supported (expected {_FORMAT}); re-record")
            cassette.entries[entry["key"]] = entry
        return cassette

    def save(self, path: str | Path) -> Path:
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            rows = [self.entries[k] for k in sorted(self.entries)]
        file.write_bytes(b"".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n"
                                  for r in rows))
        return file

    def put(self, key: str, backend: JudgeBackend, request: JudgeRequest,
            reply: JudgeReply | ComponentError) -> None:
        outcome: dict[str, Any]
        if isinstance(reply, ComponentError):
            outcome = {"error": {"kind": reply.kind, "message": str(reply)}}
        else:
            row = asdict(reply)
            row.pop("cached", None)
            outcome = {"reply": row}
        entry = {
            "format": _FORMAT,
            "key": key,
            "backend": backend.config.backend,
            "model": backend.config.model,
            "schema_name": request.schema_name,
            "system_sha256": hashlib.sha256(request.system.encode()).hexdigest(),
            "user_excerpt": request.user[-400:],
            **outcome,
        }
        with self._lock:
            self.entries[key] = entry

    def get(self, key: str) -> JudgeReply | None:
        """The recorded reply; raises the recorded error; None when not recorded."""
        with self._lock:
            entry = self.entries.get(key)
            if entry is None:
                self.misses.append(key)
                return None
            self.used.add(key)
        if "reply" not in entry:
            error = entry["error"]
            raise ComponentError(f"(replayed) {error['message']}", kind=error["kind"])
        fields = {k: v for k, v in entry["reply"].items() if k in JudgeReply.__slots__}
        reply = JudgeReply(**fields)
        reply.extra = {**reply.extra, "cassette": True}
        return reply

    def stale(self) -> list[str]:
        """Keys recorded but not asked for in this run."""
        with self._lock:
            return sorted(set(self.entries) - self.used)


class RecordingBackend(WrappingBackend):
    """Passes calls to the real backend and records each successful exchange."""

    def __init__(self, inner: JudgeBackend, cassette: Cassette) -> None:
        super().__init__(inner)
        self.cassette = cassette

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        key = request_key(self.config, request)
        try:
            reply = await self.inner.complete(request)
        except ComponentError as exc:
            self.cassette.put(key, self, request, exc)
            raise
        self.cassette.put(key, self, request, reply)
        return reply


class ReplayBackend(JudgeBackend):
    """Answers from a cassette only. The real backend is never called (nor its client made)."""

    def __init__(self, inner: JudgeBackend, cassette: Cassette) -> None:
        super().__init__(inner.config)
        self.Config = type(inner.config)  # type: ignore[misc]
        self.cassette = cassette

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        key = request_key(self.config, request)
        reply = self.cassette.get(key)
        if reply is None:
            raise ComponentError(
                f"cassette miss: no recorded reply for judge request {key} "
                f"({self.config.backend}/{self.config.model}, {request.schema_name}); the pack, "
                "its prompts or the suite changed since recording — re-record the cassette",
                kind=ErrorKind.CASSETTE_MISS)
        return reply


def _valid_error(error: Any) -> bool:
    return isinstance(error, dict) and isinstance(error.get("kind"), str) \
        and isinstance(error.get("message"), str)


def recording(cassette: Cassette) -> Any:
    """A ``BackendPool.wrapper`` recording into ``cassette``."""
    return lambda inner: RecordingBackend(inner, cassette)


def replaying(cassette: Cassette) -> Any:
    """A ``BackendPool.wrapper`` answering from ``cassette``."""
    return lambda inner: ReplayBackend(inner, cassette)
