"""The judge-backend contract: how an LLM judge component reaches a model.

A backend plugin registers a ``JudgeBackend`` subclass whose nested ``Config`` has a
``backend`` literal; a pack's ``[judge]`` table (merged with a component's ``judge``
overrides) is validated against it after plugins load. Backends own concurrency limits,
retries, timeouts, token/cost accounting and circuit breaking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from rewardsmith.core.errors import PluginError

if TYPE_CHECKING:
    from rewardsmith.core.plugins import PluginHost


class JudgeBackendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str
    model: str
    max_concurrency: int = Field(default=16, ge=1, le=10_000)
    timeout_s: float = Field(default=60.0, gt=0, description="Per-call time limit.")
    temperature: float | None = Field(default=0.0, ge=0)
    max_tokens: int = Field(default=1024, ge=1)


@dataclass(frozen=True, slots=True)
class JudgeRequest:
    """One judge call. ``json_schema``, when given, is the verdict's required shape."""

    system: str
    user: str
    json_schema: dict[str, Any] | None = None
    schema_name: str = "verdict"


@dataclass(slots=True)
class JudgeReply:
    text: str
    parsed: Any = None  # the verdict object, when the backend extracted one
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    stop_reason: str | None = None
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class JudgeBackend:
    """Base class for judge backends. Create network clients lazily, never in ``__init__``."""

    Config: ClassVar[type[JudgeBackendConfig]]
    summary: ClassVar[str] = ""

    def __init__(self, config: JudgeBackendConfig) -> None:
        self.config = config

    @classmethod
    def backend_name(cls) -> str:
        default = cls.Config.model_fields["backend"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__qualname__}.Config.backend needs a Literal default")
        return default

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close clients and pools."""


class BackendPool:
    """Judge backends shared by a pack's components, created on first use."""

    def __init__(self, host: PluginHost) -> None:
        self._host = host
        self._backends: dict[str, JudgeBackend] = {}

    def validate(self, settings: dict[str, Any]) -> JudgeBackendConfig:
        name = settings.get("backend")
        if not isinstance(name, str):
            raise PluginError("judge settings need a 'backend' (e.g. 'bedrock')")
        return self._host.backend_class(name).Config.model_validate(settings)

    def get(self, settings: dict[str, Any]) -> JudgeBackend:
        config = self.validate(settings)
        key = config.model_dump_json()
        backend = self._backends.get(key)
        if backend is None:
            backend = self._host.backend_class(config.backend)(config)
            self._backends[key] = backend
        return backend

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()
