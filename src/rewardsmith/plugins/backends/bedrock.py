"""The ``bedrock`` judge backend: Amazon Bedrock Converse through boto3.

Structured verdicts, by ``structured_output``:

``output_config``
    native structured output, ``outputConfig.textFormat`` with the schema as a JSON string
    (needs botocore >= 1.42.42 and a model that supports it);
``tool``
    forced tool use (``toolChoice = {"tool": {"name": ...}}``), the verdict is the tool's input;
``prompt``
    the schema in the system prompt, the verdict extracted from the text (last JSON object,
    reasoning and fences skipped);
``auto`` (default)
    start with the best mode for the model (tool use for gpt-oss, native otherwise) and
    step down output_config → tool → prompt when the model rejects a mode with a
    ValidationException about it; the working mode is remembered per model.

boto3 is synchronous: calls run on a dedicated thread pool sized to ``max_concurrency``
(the default executor is far too small for 100 concurrent judge calls). The transport is
chosen on first use (or by ``warm()``); the asyncio one needs no client (issue 13's cold
start: ``_aws_target``). Everything comes from the standard AWS configuration chain
(profiles, ``AWS_REGION``, ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` ...), overridden only by
the ``region``/``profile``/``endpoint_url`` settings that are given. botocore retries
throttling and 5xx itself (``retry_mode``, ``boto_max_attempts``); this backend adds
retries with full-jitter backoff for what botocore does not retry (ModelTimeoutException,
ModelErrorException) and for throttling that outlasted botocore's attempts. By default
botocore makes one attempt (``boto_max_attempts = 1``): its retries would back off while
holding one of the ``max_concurrency`` slots, rewardsmith's sleep outside it (issue 13).
``warm()`` makes the client at cold start (the Lambda's init phase).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewardsmith.core.errors import ErrorKind
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.json_text import json_type
from rewardsmith.core.judging import (
    JudgeRequest,
    judge_error,
)
from rewardsmith.plugins.backends._aws_target import SIGNING_NAME, resolve_converse_target
from rewardsmith.plugins.backends._base import (
    ModelAnswer,
    ModeRejected,
    ResilientJudgeBackend,
    token_count,
)
from rewardsmith.plugins.backends._converse_http import (
    ConverseHttp,
    HttpError,
    SigV4Signer,
    proxy_applies,
)
from rewardsmith.plugins.backends._resilience import CallFailed, ResilientBackendConfig
from rewardsmith.plugins.backends._verdict import json_instructions, schema_text

StructuredOutput = Literal["auto", "output_config", "tool", "prompt"]
# Models for which forced tool use is known to work and native support is unconfirmed.
_TOOL_FIRST = ("gpt-oss",)
# Worker threads beyond max_concurrency, for attempts abandoned at their timeout whose
# thread is still waiting for botocore's read timeout.
_SPARE_THREADS = 4
_REFUSAL_STOPS = frozenset({"content_filtered", "guardrail_intervened"})

_THROTTLE_CODES = frozenset({"ThrottlingException", "ModelNotReadyException",
                             "ServiceQuotaExceededException", "TooManyRequestsException"})
_TIMEOUT_CODES = frozenset({"ModelTimeoutException", "RequestTimeout", "RequestTimeoutException"})
_UNAVAILABLE_CODES = frozenset({"ServiceUnavailableException", "InternalServerException",
                                "ModelErrorException", "InternalFailure", "ServiceUnavailable"})
# Words in a ValidationException that say the *mode* was rejected, not the request.
_MODE_WORDS = {
    "output_config": ("outputconfig", "output_config", "textformat", "structured output",
                      "json_schema", "output format", "response format"),
    "tool": ("tool",),
}


class BedrockConfig(ResilientBackendConfig):
    operational_fields: ClassVar[frozenset[str]] = ResilientBackendConfig.operational_fields | {
        "region", "endpoint_url", "profile", "retry_mode", "boto_max_attempts",
        "read_timeout_s", "transport",
    }

    backend: Literal["bedrock"] = "bedrock"
    region: str | None = Field(default=None, description="AWS region (default: AWS config chain).")
    endpoint_url: str | None = Field(
        default=None,
        description="Endpoint override (default: AWS_ENDPOINT_URL_BEDROCK_RUNTIME or AWS's).",
    )
    profile: str | None = Field(default=None, description="Named AWS profile.")
    structured_output: StructuredOutput = "auto"
    stop_sequences: tuple[str, ...] = ()
    additional_model_request_fields: dict[str, Any] = Field(
        default_factory=dict,
        description="Model-specific fields, e.g. {reasoning_effort = 'low'} for gpt-oss.",
    )
    retry_mode: Literal["standard", "adaptive"] = "standard"
    boto_max_attempts: int = Field(
        default=1, ge=1, le=10,
        description="botocore's own attempts per call. 1 (default) leaves every retry to "
        "rewardsmith, whose backoff sleeps without holding a concurrency slot; botocore's "
        "own retries sleep inside the slot.",
    )
    transport: Literal["auto", "http", "boto3"] = Field(
        default="auto",
        description="How a call is sent. http: signed by rewardsmith with boto3's "
        "credentials and sent over asyncio (no worker thread, no botocore request "
        "pipeline: a third of the CPU per call); boto3: client.converse on a worker "
        "thread; auto (default): http unless an HTTP proxy applies to the endpoint.",
    )
    read_timeout_s: float | None = Field(
        default=None, gt=0,
        description="Socket read timeout; default timeout_s / boto_max_attempts so botocore's "
        "retries of a read timeout fit in timeout_s.",
    )

    @model_validator(mode="after")
    def _budget(self) -> BedrockConfig:
        if self.read_timeout_s is not None and \
                self.read_timeout_s * self.boto_max_attempts > self.timeout_s * 1.001:
            raise ValueError(
                f"read_timeout_s ({self.read_timeout_s}) x boto_max_attempts "
                f"({self.boto_max_attempts}) exceeds timeout_s ({self.timeout_s}): botocore's "
                "retries of a read timeout would outlive the call's time limit"
            )
        return self

    @property
    def effective_read_timeout_s(self) -> float:
        if self.read_timeout_s is not None:
            return self.read_timeout_s
        return self.timeout_s / self.boto_max_attempts


def _tool_name(schema_name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", schema_name)[:64]
    return name or "verdict"


def _part(value: Any, path: str, expected: type, name: str) -> Any:
    """``value`` when it is of the ``expected`` type (None passes: a missing part); else a
    ``judge_parse`` error naming the part at ``path`` and its JSON type."""
    if value is None or isinstance(value, expected):
        return value
    raise judge_error(ErrorKind.JUDGE_PARSE, f"the bedrock reply is not a Converse response "
                      f"({path} is {json_type(value)}, expected {name})")


def _read_answer(response: dict[str, Any], tool_name: str) -> ModelAnswer:
    """Text and tool input from ``output.message.content``, skipping reasoning blocks.
    Raises ``judge_parse`` when ``output``, ``message`` or ``content`` has the wrong type."""
    output = _part(response.get("output"), "output", dict, "an object") or {}
    message = _part(output.get("message"), "output.message", dict, "an object") or {}
    content = _part(message.get("content"), "output.message.content", list, "an array") or []
    texts: list[str] = []
    tool_input: Any = None
    for block in content:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            use = block["toolUse"]
            if tool_input is None or use.get("name") == tool_name:
                tool_input = use.get("input")
        # reasoningContent (and anything else) is not the answer
    metrics = response.get("metrics")
    latency = metrics.get("latencyMs") if isinstance(metrics, dict) else None
    stop = response.get("stopReason")
    return ModelAnswer("".join(texts), tool_input, stop if isinstance(stop, str) else None,
                       float(latency) if isinstance(latency, int | float)
                       and not isinstance(latency, bool) else None)


class BedrockBackend(ResilientJudgeBackend):
    Config = BedrockConfig
    summary = "Amazon Bedrock Converse via boto3 (native JSON schema, forced tool use, or prompt)"
    fallback_order = ("output_config", "tool", "prompt")
    structured_text_modes = frozenset({"output_config"})
    truncated_stop_reason = "max_tokens"
    mode_in_parse_error = True

    config: BedrockConfig

    def __init__(self, config: BedrockConfig) -> None:
        super().__init__(config)
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._output_config_supported = True
        self._session: Any = None
        self._http: ConverseHttp | None = None
        self._http_decided = False

    # -- clients ----------------------------------------------------------------------
    def _get_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig
        from botocore.exceptions import BotoCoreError

        cfg = self.config
        boto_config = BotoConfig(
            # total_max_attempts counts the first try; "max_attempts" would count retries.
            retries={"mode": cfg.retry_mode, "total_max_attempts": cfg.boto_max_attempts},
            # One connection per worker thread: a thread left behind by a timed-out attempt
            # must not push a live call out of the pool.
            max_pool_connections=cfg.max_concurrency + _SPARE_THREADS,
            connect_timeout=cfg.connect_timeout_s,
            read_timeout=cfg.effective_read_timeout_s,
        )
        try:
            session = boto3.session.Session(profile_name=cfg.profile, region_name=cfg.region)
            client = session.client("bedrock-runtime", endpoint_url=cfg.endpoint_url,
                                    config=boto_config)
            self._session = session
        except ValueError as exc:  # e.g. botocore's "Invalid endpoint: ..."
            raise CallFailed(ErrorKind.JUDGE_CONFIG,
                             f"cannot create the bedrock-runtime client: {exc}",
                             code="InvalidClientConfig") from None
        except BotoCoreError as exc:
            hint = ""
            if type(exc).__name__ == "NoRegionError":
                hint = " (set 'region' in the pack's [judge] table, or AWS_DEFAULT_REGION)"
            raise CallFailed(ErrorKind.JUDGE_CONFIG, f"cannot create the bedrock-runtime client: "
                                           f"{exc}{hint}", code=type(exc).__name__) from None
        members = client.meta.service_model.operation_model("Converse").input_shape.members
        # outputConfig arrived in botocore 1.42.42; older installs degrade to tool use.
        self._output_config_supported = "outputConfig" in members
        return client

    def warm(self) -> None:
        """Resolve the transport now (the Lambda's init phase), so the first invocation
        does not pay for it. A client that cannot be made is left to the first call,
        which reports it as ``judge_config`` per sample."""
        with contextlib.suppress(CallFailed):
            self._decide_transport()
            if self._http is None:
                self._get_executor()

    def _decide_transport(self) -> None:
        """Choose the asyncio transport or boto3's, once. The asyncio one needs no boto3
        client: credentials, region and endpoint come from botocore's session
        (``_aws_target``); a client is made only for boto3's transport or when that
        resolution defers to one. Raises CallFailed when a needed client cannot be made."""
        cfg = self.config
        target = None
        if cfg.transport != "boto3":
            target = resolve_converse_target(cfg.profile, cfg.region, cfg.endpoint_url)
            if target is not None and cfg.transport == "auto" and \
                    proxy_applies(target.endpoint_url):
                target = None
        with self._client_lock:
            if self._http_decided:
                return
            if target is not None:
                self._http = self._converse_http(target.endpoint_url, target.credentials,
                                                 target.region, target.cafile)
                self._http_decided = True
                return
            if self._client is None:
                self._client = self._make_client()
            client = self._client
            endpoint = client.meta.endpoint_url
            if cfg.transport == "http" or (cfg.transport == "auto"
                                           and not proxy_applies(endpoint)):
                from botocore.httpsession import get_cert_path

                bundle = self._session._session.get_config_variable("ca_bundle")
                self._http = self._converse_http(
                    endpoint, self._session.get_credentials(), client.meta.region_name,
                    bundle or get_cert_path(True),
                    signing_name=client.meta.service_model.signing_name)
            self._http_decided = True

    def _converse_http(self, endpoint: str, credentials: Any, region: str,
                       cafile: str | None, signing_name: str = SIGNING_NAME) -> ConverseHttp:
        cfg = self.config
        return ConverseHttp(endpoint, SigV4Signer(credentials, region, signing_name),
                            connect_timeout_s=cfg.connect_timeout_s,
                            read_timeout_s=cfg.effective_read_timeout_s, cafile=cafile)

    def _get_executor(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.config.max_concurrency + _SPARE_THREADS,
                    thread_name_prefix="rewardsmith-bedrock",
                )
            return self._executor

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- modes ------------------------------------------------------------------------
    def structured_mode(self, model: str | None = None) -> str:
        """The structured-output mode the next call will use for ``model``."""
        model = model or self.config.model
        if self.config.structured_output != "auto":
            return self.config.structured_output
        remembered = self._modes.get(model)
        if remembered is not None:
            return remembered
        if any(marker in model for marker in _TOOL_FIRST) or not self._output_config_supported:
            return "tool"
        return "output_config"

    def _body(self, request: JudgeRequest, messages: list[dict[str, Any]],
              mode: str) -> dict[str, Any]:
        cfg = self.config
        tool_name = _tool_name(request.schema_name)
        inference: dict[str, Any] = {"maxTokens": cfg.max_tokens}
        if cfg.temperature is not None:
            inference["temperature"] = cfg.temperature
        if cfg.top_p is not None:
            inference["topP"] = cfg.top_p
        if cfg.stop_sequences:
            inference["stopSequences"] = list(cfg.stop_sequences)
        system = request.system
        schema = request.json_schema
        if schema is not None and mode == "prompt":
            system += json_instructions(schema, request.schema_name)
        body: dict[str, Any] = {"modelId": cfg.model, "messages": messages,
                                "inferenceConfig": inference}
        if system:
            body["system"] = [{"text": system}]
        if cfg.additional_model_request_fields:
            body["additionalModelRequestFields"] = dict(cfg.additional_model_request_fields)
        if schema is not None and mode == "output_config":
            body["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": {
                "jsonSchema": {"schema": schema_text(schema), "name": tool_name}}}}
        elif schema is not None and mode == "tool":
            body["toolConfig"] = {
                "tools": [{"toolSpec": {
                    "name": tool_name,
                    "description": "Record your verdict. Call this exactly once.",
                    "inputSchema": {"json": schema},
                }}],
                "toolChoice": {"tool": {"name": tool_name}},
            }
        return body

    # -- one HTTP exchange (on a worker thread) ----------------------------------------
    def _converse_sync(self, body: dict[str, Any], mode: str) -> dict[str, Any]:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ParamValidationError,
            PartialCredentialsError,
            ReadTimeoutError,
        )

        client = self._get_client()
        if mode == "output_config" and not self._output_config_supported:
            raise ModeRejected("botocore is too old for outputConfig (needs >= 1.42.42)")
        try:
            response: dict[str, Any] = client.converse(**body)
            return response
        except ClientError as exc:
            raise self._classify(exc, mode) from None
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            raise CallFailed(ErrorKind.JUDGE_TIMEOUT, f"bedrock call timed out: {exc}",
                             code=type(exc).__name__) from None
        except (EndpointConnectionError, ConnectionClosedError) as exc:
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, f"bedrock endpoint unreachable: {exc}",
                             code=type(exc).__name__) from None
        except (NoCredentialsError, PartialCredentialsError, ParamValidationError) as exc:
            raise CallFailed(ErrorKind.JUDGE_CONFIG, f"{type(exc).__name__}: {exc}",
                             code=type(exc).__name__) from None
        except BotoCoreError as exc:
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, f"{type(exc).__name__}: {exc}",
                             code=type(exc).__name__) from None
        except (AttributeError, TypeError) as exc:
            # botocore's parser meeting a body of the wrong JSON type (null, a list, an
            # "output" that is a string) fails like this, not with a ResponseParserError;
            # it is the same failure: the endpoint's answer is no Converse response.
            raise CallFailed(ErrorKind.JUDGE_UNAVAILABLE, f"the bedrock endpoint's answer is "
                             f"not a Converse response (botocore: {type(exc).__name__}: {exc})",
                             code="ResponseParserError") from None

    def _classify(self, exc: Any, mode: str) -> Exception:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        text = f"{code}: {message}"
        if code in _THROTTLE_CODES or status == 429:
            return CallFailed(ErrorKind.JUDGE_THROTTLED, text, code=code)
        if code in _TIMEOUT_CODES or status == 408:
            return CallFailed(ErrorKind.JUDGE_TIMEOUT, text, code=code)
        if code in _UNAVAILABLE_CODES or status >= 500 or status == 424:
            return CallFailed(ErrorKind.JUDGE_UNAVAILABLE, text, code=code)
        if code == "ValidationException" and self.config.structured_output == "auto":
            lowered = message.lower()
            if any(word in lowered for word in _MODE_WORDS.get(mode, ())):
                return ModeRejected(text)
        hint = ""
        if code == "ValidationException" and mode in _MODE_WORDS:
            hint = f" (structured_output={mode!r}; try 'auto' or 'prompt')"
        return CallFailed(ErrorKind.JUDGE_CONFIG, f"{text}{hint} [model {self.config.model}]",
                          code=code)

    async def _prepare(self) -> None:
        if not self._http_decided:
            # The first call without warm(): make the client off the event loop. A client
            # that cannot be made is reported by the attempt (as judge_config).
            loop = asyncio.get_running_loop()
            with contextlib.suppress(CallFailed):
                await loop.run_in_executor(self._get_executor(), self._decide_transport)

    async def _attempt(self, body: dict[str, Any], mode: str) -> dict[str, Any]:
        if not self._http_decided:
            await self._prepare()
        if self._http is None:
            loop = asyncio.get_running_loop()
            call = functools.partial(self._converse_sync, body, mode)
            return await loop.run_in_executor(self._get_executor(), call)
        if mode == "output_config" and not self._output_config_supported:
            raise ModeRejected("botocore is too old for outputConfig (needs >= 1.42.42)")
        try:
            return await self._http.converse(body)
        except HttpError as exc:
            from botocore.exceptions import ClientError

            raise self._classify(ClientError(exc.as_boto_response(), "Converse"),
                                 mode) from None

    @staticmethod
    def _token_counts(response: dict[str, Any]) -> tuple[int, int]:
        tokens = response.get("usage")
        if not isinstance(tokens, dict):
            return 0, 0
        return token_count(tokens.get("inputTokens")), token_count(tokens.get("outputTokens"))

    # -- reading the answer -------------------------------------------------------------
    @staticmethod
    def _turn(role: str, text: str) -> dict[str, Any]:
        return {"role": role, "content": [{"text": text}]}

    def _read(self, request: JudgeRequest, response: dict[str, Any]) -> ModelAnswer:
        answer = _read_answer(response, _tool_name(request.schema_name))
        if answer.stop_reason in _REFUSAL_STOPS:
            raise judge_error(ErrorKind.JUDGE_REFUSED, f"the judge model stopped with "
                                             f"{answer.stop_reason!r}")
        if answer.stop_reason == "model_context_window_exceeded":
            # A repair turn would only make the conversation longer.
            raise judge_error(ErrorKind.JUDGE_CONFIG,
                              "the judge prompt exceeds the model's context "
                              "window (stopReason model_context_window_exceeded)")
        return answer


@hookimpl
def register_judge_backends(register: Any) -> None:
    register(BedrockBackend)
