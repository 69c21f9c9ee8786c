"""A loopback server speaking the Amazon Bedrock Converse wire format.

``POST /model/{modelId}/converse`` with a JSON body; errors come back as the service sends
them (status code, ``x-amzn-ErrorType`` header, ``{"message": ...}`` body) so a real boto3
client parses, retries and raises exactly as against AWS. Point a client at it with
``endpoint_url=sim.endpoint_url`` or ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` and any dummy
credentials::

    with ConverseSimulator(faults=FaultPolicy(latency_s=0.01)) as sim:
        sim.script("throttle", "ok")
        ...  # call bedrock-runtime converse against sim.endpoint_url
        assert sim.request_count == 2

The request is checked the way Bedrock checks it where that matters to a judge backend
(alternating roles starting with ``user``, no blank text blocks, a forced tool that
exists, ``outputConfig`` schema given as a JSON string), so a malformed request fails
here as it would in production.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import unquote

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.simulators._server import Response, SimulatorServer
from rewardsmith.simulators.faults import (
    VerdictRequest,
    estimate_tokens,
    malformed_text,
    schema_from_prompt,
)

_PATH_RE = re.compile(r"^/model/(?P<model>[^/]+)/converse/?$")
_ERRORS = {
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "server_error": (503, "ServiceUnavailableException", "Service is temporarily unavailable."),
    "model_timeout": (408, "ModelTimeoutException", "Model has timed out in processing the "
                                                     "request."),
    "model_error": (424, "ModelErrorException", "The model encountered an error processing "
                                                "the request."),
    "validation": (400, "ValidationException", "Malformed input request, please reformat "
                                               "your input and try again."),
    "access_denied": (403, "AccessDeniedException", "You don't have access to the model with "
                                                    "the specified model ID."),
    "not_found": (404, "ResourceNotFoundException", "The provided model identifier is invalid."),
}
_DECOY = '{"decoy": true, "note": "reasoning, not the verdict"}'


class _Invalid(RewardsmithError):
    """A request the real service answers with 400 ValidationException; the message is its."""


def error_response(status: int, code: str, message: str) -> Response:
    """A Bedrock error reply: HTTP ``status``, body ``{"message"}``, and the
    ``x-amzn-ErrorType`` header botocore reads the error ``code`` from."""
    return Response(status, {"message": message}, {
        "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "x-amzn-RequestId": str(uuid.uuid4()),
    })


def _texts(content: Any, where: str) -> str:
    if not isinstance(content, list) or not content:
        raise _Invalid(f"{where}.content must be a non-empty list")
    parts = []
    for block in content:
        if not isinstance(block, dict):
            raise _Invalid(f"{where}.content has a non-object block")
        if "text" in block:
            if not isinstance(block["text"], str) or not block["text"].strip():
                raise _Invalid("The text field in the ContentBlock object is blank. Add text "
                               "to the text field, and try again.")
            parts.append(block["text"])
        elif "toolUse" in block:
            parts.append(json.dumps(block["toolUse"].get("input")))
        elif "toolResult" in block:
            parts.append(json.dumps(block["toolResult"].get("content")))
    return "\n".join(parts)


class ConverseSimulator(SimulatorServer):
    """Bedrock Converse on 127.0.0.1 (see module docstring)."""

    def model_of(self, path: str, body: Any) -> str | None:
        match = _PATH_RE.match(path.split("?", 1)[0])
        return unquote(match.group("model")) if match else None

    def internal_error(self, message: str) -> Response:
        return error_response(500, "InternalServerException", message)

    def handle(self, path: str, headers: dict[str, str], body: Any, fault: str) -> Response:
        model = self.model_of(path, body)
        if model is None:
            return error_response(404, "UnknownOperationException", f"no operation at {path}")
        if fault in _ERRORS:
            return error_response(*_ERRORS[fault])
        if not isinstance(body, dict):
            return error_response(400, "SerializationException", "request body is not JSON")
        try:
            request = self._parse(model, body)
        except _Invalid as exc:
            return error_response(400, "ValidationException", str(exc))
        rejected = self._rejected_mode(request)
        if rejected is not None:
            return error_response(400, "ValidationException", rejected)
        return Response(200, self._answer(request, body, fault))

    # -- request ----------------------------------------------------------------------
    def _parse(self, model: str, body: dict[str, Any]) -> VerdictRequest:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Invalid("messages must be a non-empty list")
        turns: list[tuple[str, str]] = []
        for i, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            expected = "user" if i % 2 == 0 else "assistant"
            if role != expected:
                raise _Invalid("A conversation must alternate between user and assistant "
                               f"roles, starting with user; messages[{i}] is {role!r}")
            turns.append((role, _texts(message.get("content"), f"messages[{i}]")))
        system = ""
        if "system" in body:
            system = _texts(body["system"], "system")
        inference = body.get("inferenceConfig") or {}
        max_tokens = inference.get("maxTokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise _Invalid("inferenceConfig.maxTokens must be a positive integer")

        schema: dict[str, Any] | None = None
        mode = "none"
        output_config = body.get("outputConfig")
        tool_config = body.get("toolConfig")
        if output_config is not None:
            mode = "output_config"
            try:
                fmt = output_config["textFormat"]
                if fmt.get("type") != "json_schema":
                    raise _Invalid("outputConfig.textFormat.type must be json_schema")
                raw_schema = fmt["structure"]["jsonSchema"]["schema"]
            except (KeyError, TypeError):
                raise _Invalid("outputConfig.textFormat.structure.jsonSchema.schema is "
                               "required") from None
            if not isinstance(raw_schema, str):
                raise _Invalid("outputConfig ... jsonSchema.schema must be a JSON string")
            try:
                schema = json.loads(raw_schema)
            except ValueError:
                raise _Invalid("outputConfig ... jsonSchema.schema is not valid JSON") from None
        elif tool_config is not None:
            tools = {t["toolSpec"]["name"]: t["toolSpec"] for t in tool_config.get("tools", [])
                     if isinstance(t, dict) and "toolSpec" in t}
            forced = ((tool_config.get("toolChoice") or {}).get("tool") or {}).get("name")
            if forced is not None and forced not in tools:
                raise _Invalid(f"toolChoice names tool {forced!r}, which is not in tools")
            if forced is not None:
                mode = "tool"
                schema = tools[forced].get("inputSchema", {}).get("json")
        if mode == "none":
            schema = schema_from_prompt(system)
            mode = "prompt" if schema is not None else "none"
        return VerdictRequest(model, system, tuple(turns), schema, mode, body)

    def _rejected_mode(self, request: VerdictRequest) -> str | None:
        unsupported = self.plan.policy.unsupported_modes
        if request.mode == "output_config" and "output_config" in unsupported:
            return ("This model doesn't support the outputConfig field (structured output). "
                    "Remove it and try again.")
        if "toolConfig" in request.body and "tool" in unsupported:
            return "This model doesn't support tool use."
        return None

    # -- response ---------------------------------------------------------------------
    def _tool_use(self, body: dict[str, Any], tool_input: Any) -> dict[str, Any]:
        """A block calling the tool the request forced, with ``tool_input``."""
        name = body["toolConfig"]["toolChoice"]["tool"]["name"]
        return {"toolUse": {"toolUseId": f"tooluse_sim{self.next_id()}", "name": name,
                            "input": tool_input}}

    def _answer(self, request: VerdictRequest, body: dict[str, Any], fault: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if self.plan.policy.reasoning:
            content.append({"reasoningContent": {"reasoningText": {
                "text": f"Let me weigh the response. Draft: {_DECOY}", "signature": "sim"}}})
        stop_reason = "end_turn"
        if fault == "refuse":
            content.append({"text": "I can't help with that."})
            stop_reason = "content_filtered"
        elif fault == "malformed":
            if request.mode == "tool":
                content.append(self._tool_use(body, {"unexpected": "shape"}))
                stop_reason = "tool_use"
            else:
                content.append({"text": malformed_text(request.mode)})
        else:
            verdict = self.policy(request)
            if isinstance(verdict, str):
                content.append({"text": verdict})
            elif request.mode == "tool":
                content.append(self._tool_use(body, verdict))
                stop_reason = "tool_use"
            elif request.mode == "prompt":
                content.append({"text": "Here is my assessment.\n```json\n"
                                        f"{json.dumps(verdict, indent=2)}\n```"})
            else:
                content.append({"text": json.dumps(verdict)})
        output_text = json.dumps(content)
        input_tokens = estimate_tokens(request.text)
        output_tokens = estimate_tokens(output_text)
        return {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
            "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                      "totalTokens": input_tokens + output_tokens},
            "metrics": {"latencyMs": int(self.plan.policy.latency_s * 1000)},
        }
