"""A hostile judge server for both wire formats: OpenAI-compatible chat completions and
Bedrock Converse, each reply chosen by the first segment of the URL path (the *mode*).

Adapted from the s4 tester's ``tester-hostile-server.py``: ``base_url =
f"{server.url}/<mode>/v1"`` for the ``openai`` backend, ``endpoint_url =
f"{server.url}/<mode>"`` for ``bedrock`` (``POST /<mode>/model/<id>/converse``).
``server.calls[mode]`` counts the calls each mode got; ``server.bodies`` keeps the
request bodies. Modes: ``ok`` (a passing verdict for whatever schema was asked), ``fail``,
``think`` (a failing verdict inside ``<think>`` then a passing one: ambiguous), ``e500``,
``wrongschema``, ``schema500`` (a plain 500 naming a *database* schema), ``t429inf``/
``t429nan``/``t429neg`` (throttled with a bad hint), ``lpbad`` (malformed logprobs), and
``raw:<name>`` bodies from :data:`RAW_BODIES` (wrong JSON types, top level and nested).
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Bodies answered with HTTP 200 as they are: the JSON types a judge reply must not have.
RAW_BODIES: dict[str, bytes] = {
    "null": b"null", "list": b"[]", "string": b'"ok"', "number": b"42", "true": b"true",
    # OpenAI chat completions, nested
    "choices_str": b'{"choices": "abc"}',
    "choices_obj": b'{"choices": {"message": {"content": "x"}}}',
    "choices_null_item": b'{"choices": [null]}',
    "choices_num_item": b'{"choices": [7]}',
    "message_str": b'{"choices": [{"message": "hi", "finish_reason": "stop"}]}',
    "message_list": b'{"choices": [{"message": [], "finish_reason": "stop"}]}',
    "content_num": b'{"choices": [{"message": {"content": 5}, "finish_reason": "stop"}]}',
    "content_obj": b'{"choices": [{"message": {"content": {"a": 1}}, "finish_reason": '
                   b'"stop"}]}',
    # Bedrock Converse, nested
    "output_str": b'{"output": "abc", "stopReason": "end_turn"}',
    "output_list": b'{"output": [], "stopReason": "end_turn"}',
    "bmessage_str": b'{"output": {"message": "hi"}, "stopReason": "end_turn"}',
    "bcontent_str": b'{"output": {"message": {"role": "assistant", "content": "x"}}, '
                    b'"stopReason": "end_turn"}',
}


def verdict_for(schema: dict[str, Any] | None, value: str = "pass") -> dict[str, Any]:
    """A verdict matching a rubric, pairwise or listwise judge's ``schema``."""
    props = (schema or {}).get("properties") or {"correct": {}}
    out: dict[str, Any] = {}
    for key, spec in props.items():
        if key == "rationale":
            out[key] = "r"
        elif key == "score":
            out[key] = spec.get("maximum", 5)
        elif key == "winner":
            out[key] = "A"
        elif key == "scores":
            out[key] = dict.fromkeys(spec.get("properties") or {}, 5)
        elif spec.get("type") == "boolean":
            out[key] = value == "pass"
        elif spec.get("type") == "string":
            out[key] = "r"
        elif "level" in json.dumps(spec):
            out[key] = {"rationale": "r", "level": spec["properties"]["level"]["enum"][-1]}
        else:
            out[key] = {"rationale": "r", "verdict": value}
    return out


def _schema_in_prompt(system: str) -> dict[str, Any] | None:
    start = system.find("{", system.find("schema"))
    if start < 0:
        return None
    try:
        found, _ = json.JSONDecoder().raw_decode(system[start:])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _openai_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_schema":
        return rf["json_schema"]["schema"]
    if rf.get("type") == "json_object" and rf.get("schema"):
        return rf["schema"]
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    return _schema_in_prompt(system)


def _converse_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    config = (body.get("outputConfig") or {}).get("textFormat") or {}
    if config:
        return json.loads(config["structure"]["jsonSchema"]["schema"])
    return _schema_in_prompt("".join(b.get("text", "") for b in body.get("system") or []))


def completion(content: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    choice = {"index": 0, "message": {"role": "assistant", "content": content},
              "finish_reason": "stop", **(extra or {})}
    return {"id": "x", "object": "chat.completion", "model": "judge", "choices": [choice],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}


def converse(text: str) -> dict[str, Any]:
    return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn", "usage": {"inputTokens": 100, "outputTokens": 20,
                                                "totalTokens": 120},
            "metrics": {"latencyMs": 5}}


@dataclass
class HostileServer:
    url: str
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def send(self, status: int, payload: Any, headers: dict[str, str] | None = None
                 ) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            mode = self.path.split("/")[1]
            is_converse = self.path.endswith("/converse")
            with server.lock:
                server.calls[mode] += 1
                server.bodies.append((mode, body))
            if mode.startswith("raw:"):
                return self.send(200, RAW_BODIES[mode[4:]])
            schema = _converse_schema(body) if is_converse else _openai_schema(body)

            def reply(text: str, extra: dict[str, Any] | None = None) -> None:
                self.send(200, converse(text) if is_converse else completion(text, extra))

            if mode == "ok":
                return reply(json.dumps(verdict_for(schema)))
            if mode == "fail":
                return reply(json.dumps(verdict_for(schema, "fail")))
            if mode == "think":
                return reply("<think>" + json.dumps(verdict_for(schema, "fail")) + "</think>"
                             + json.dumps(verdict_for(schema)))
            if mode == "wrongschema":
                return reply('{"foo": 1}')
            if mode == "e500":
                return self.send(500, {"error": {"message": "model crashed: CUDA OOM"}})
            if mode == "schema500":  # a 500 that names a schema, but not the output format
                return self.send(500, {"error": {"message": "database schema error: "
                                                            "relation missing"}})
            if mode.startswith("t429"):
                hint = {"t429inf": "inf", "t429nan": "nan", "t429neg": "-5"}[mode]
                return self.send(429, {"error": {"message": "rate limited"}},
                                 {"Retry-After": hint, "retry-after-ms": hint})
            if mode == "lpbad":  # logprobs of the wrong shapes
                return reply(json.dumps(verdict_for(schema)),
                             {"logprobs": {"content": ["a", 1, None]}})
            return self.send(400, {"error": {"message": f"unknown mode {mode}"}})

    return Handler


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    """Run the server on a free loopback port for the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    server = HostileServer(f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = _handler(server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
