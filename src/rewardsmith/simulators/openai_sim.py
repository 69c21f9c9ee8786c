"""A loopback server speaking the OpenAI chat-completions wire format.

``POST /v1/chat/completions`` (also ``/chat/completions``). ``response_format``
``json_schema`` (and ``json_object``, its schema read from the ``schema`` key as llama.cpp
does, else from the prompt) gets the verdict as the whole content; an unsupported mode is
rejected with ``FaultPolicy.mode_rejection`` (status and message); otherwise the schema is read from
the ``<verdict_schema>`` tags of the system prompt and the verdict comes back inside prose
and a code fence. With ``FaultPolicy(reasoning=True)`` the content starts with a
``<think>`` section holding a decoy JSON object, as a reasoning model served by vLLM
without a reasoning parser writes it. Errors use OpenAI's body shape
``{"error": {"message", "type", "code"}}``; throttling sends ``retry-after`` headers when
``FaultPolicy.retry_after_s`` is set.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

from rewardsmith.simulators._server import Response, SimulatorServer
from rewardsmith.simulators.faults import (
    VerdictRequest,
    estimate_tokens,
    malformed_text,
    schema_from_prompt,
)

_PATHS = ("/v1/chat/completions", "/chat/completions")
_ERRORS = {
    "throttle": (429, "rate_limit_exceeded", "Rate limit reached, please try again later."),
    "server_error": (503, "server_error", "The server is overloaded."),
    "model_timeout": (504, "timeout", "The model timed out."),
    "model_error": (500, "server_error", "The model produced an error."),
    "validation": (400, "invalid_request_error", "Invalid request."),
    "access_denied": (401, "invalid_api_key", "Incorrect API key provided."),
    "not_found": (404, "model_not_found", "The model does not exist."),
}
_DECOY = '{"decoy": true}'
# A rough stand-in for a BPE tokenizer: numbers of up to three digits, words, runs of
# spaces and single punctuation marks are one token each (as in cl100k/o200k).
_TOKEN_RE = re.compile(r"\d{1,3}|[A-Za-z]+|\s+|[^\w\s]")


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    """An OpenAI-style error reply: HTTP ``status`` and body
    ``{"error": {"message", "type", "code"}}`` (type ``invalid_request_error`` for a 4xx
    other than 429, else ``code``), with ``headers`` (e.g. ``retry-after``)."""
    kind = "invalid_request_error" if 400 <= status < 500 and status != 429 else code
    return Response(status, {"error": {"message": message, "type": kind, "code": code}},
                    headers or {})


class OpenAISimulator(SimulatorServer):
    """OpenAI chat completions on 127.0.0.1 (see module docstring).

    A request with ``"logprobs": true`` gets ``choices[0].logprobs.content``: the content
    split into tokens (numbers of up to three digits, words, spaces, punctuation), each
    with logprob 0 unless :attr:`token_distributions` maps the token's text to a
    distribution ``{token: probability}``; then its ``top_logprobs`` are the
    ``top_logprobs`` most likely of those and its own logprob that of its entry.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Sampled token text -> the distribution it was drawn from (tests set this).
        self.token_distributions: dict[str, dict[str, float]] = {}

    @property
    def base_url(self) -> str:
        """What an OpenAI client's ``base_url`` should be."""
        return f"{self.endpoint_url}/v1"

    def model_of(self, path: str, body: Any) -> str | None:
        return body.get("model") if isinstance(body, dict) else None

    def internal_error(self, message: str) -> Response:
        return error_response(500, "server_error", message)

    def handle(self, path: str, headers: dict[str, str], body: Any, fault: str) -> Response:
        if path.split("?", 1)[0].rstrip("/") not in _PATHS:
            return error_response(404, "not_found", f"no route {path}")
        if fault in _ERRORS:
            extra: dict[str, str] = {}
            after = self.plan.policy.retry_after_s
            if fault == "throttle" and after is not None:
                extra = {"retry-after": f"{after:g}", "retry-after-ms": f"{after * 1000:g}"}
            return error_response(*_ERRORS[fault], headers=extra)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) \
                or not body["messages"]:
            return error_response(400, "invalid_request_error", "'messages' is required")
        if not isinstance(body.get("model"), str):
            return error_response(400, "invalid_request_error", "'model' is required")
        request = self._parse(body)
        fmt = (body.get("response_format") or {}).get("type")
        if fmt in self.plan.policy.unsupported_modes:
            status, message = self.plan.policy.mode_rejection
            return error_response(status, "invalid_request_error" if status < 500
                                  else "server_error", message.format(mode=fmt))
        return Response(200, self._answer(request, fault))

    def _parse(self, body: dict[str, Any]) -> VerdictRequest:
        system_parts: list[str] = []
        turns: list[tuple[str, str]] = []
        for message in body["messages"]:
            role = message.get("role")
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            text = content if isinstance(content, str) else ""
            if role in ("system", "developer"):
                system_parts.append(text)
            else:
                turns.append((str(role), text))
        system = "\n".join(system_parts)
        response_format = body.get("response_format") or {}
        schema: dict[str, Any] | None = None
        mode = "none"
        if response_format.get("type") == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema")
            mode = "json_schema"
        elif response_format.get("type") == "json_object":
            # llama.cpp's extension: the schema inside json_object is enforced as a grammar
            schema = response_format.get("schema") or schema_from_prompt(system)
            mode = "json_object"
        else:
            schema = schema_from_prompt(system)
            if schema is not None:
                mode = "prompt"
        return VerdictRequest(body["model"], system, tuple(turns), schema, mode, body)

    def _answer(self, request: VerdictRequest, fault: str) -> dict[str, Any]:
        finish = "stop"
        refusal = None
        if fault == "refuse":
            content: str | None = None
            refusal = "I can't help with that."
            finish = "content_filter"
        elif fault == "malformed":
            content = malformed_text(request.mode)
        else:
            verdict = self.policy(request)
            if isinstance(verdict, str):
                content = verdict
            elif request.mode in ("json_schema", "json_object"):
                content = json.dumps(verdict)
            else:
                content = f"Assessment follows.\n```json\n{json.dumps(verdict, indent=2)}\n```"
        if content is not None and self.plan.policy.reasoning:
            content = f"<think>First thought: {_DECOY}. Let me check again.</think>\n{content}"
        prompt_tokens = estimate_tokens(request.text)
        completion_tokens = estimate_tokens(content or "")
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish, "message": {
            "role": "assistant", "content": content, "refusal": refusal}}
        if request.body.get("logprobs") and content is not None:
            top = int(request.body.get("top_logprobs") or 0)
            choice["logprobs"] = {"content": self._token_logprobs(content, top)}
        return {
            "id": f"chatcmpl-sim{self.next_id()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [choice],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def _token_logprobs(self, content: str, top: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for token in _TOKEN_RE.findall(content):
            spread = self.token_distributions.get(token)
            if spread is None:
                alternatives = [(token, 0.0)]
            else:
                alternatives = sorted(((t, math.log(p)) for t, p in spread.items() if p > 0),
                                      key=lambda item: -item[1])
            own = dict(alternatives).get(token, 0.0)
            out.append({"token": token, "logprob": own, "bytes": list(token.encode()),
                        "top_logprobs": [{"token": t, "logprob": lp,
                                          "bytes": list(t.encode())}
                                         for t, lp in alternatives[:top]]})
        return out
