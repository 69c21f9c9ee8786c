"""The judge backends a pack's components share: one per distinct settings, created on
first use, each wrapped in request de-duplication and the optional verdict cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rewardsmith.core.errors import PluginError
from rewardsmith.core.judge_cache import wrap_backend
from rewardsmith.core.judging import JudgeBackend, JudgeBackendConfig
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.suggest import did_you_mean


class BackendPool:
    """Judge backends shared by a pack's components, created on first use.

    Every backend handed out is wrapped in de-duplication of identical in-flight requests
    and, when configured, the persistent verdict cache. ``overrides`` are merged over
    every settings table before validation (the load-test command points a pack at a
    simulator this way); ``wrapper``, when set, wraps every backend created from then on.
    """

    def __init__(self, host: PluginHost, overrides: dict[str, Any] | None = None,
                 wrapper: Callable[[JudgeBackend], JudgeBackend] | None = None) -> None:
        self._host = host
        self._backends: dict[str, JudgeBackend] = {}
        self.overrides: dict[str, Any] = dict(overrides or {})
        # Wraps each newly created backend inside dedup/cache (``packs test`` records or
        # replays judge exchanges this way).
        self.wrapper = wrapper

    def validate(self, settings: dict[str, Any]) -> JudgeBackendConfig:
        settings = {**settings, **self.overrides}
        name = settings.get("backend")
        if not isinstance(name, str):
            raise PluginError("judge settings need a 'backend' (e.g. 'bedrock')")
        return self._backend_class(name).Config.model_validate(settings)

    def _backend_class(self, name: str) -> type[JudgeBackend]:
        """The backend class registered as ``name``; PluginError lists the installed ones."""
        if (registered := self._host.judge_backends.get(name)) is None:
            raise PluginError(f"unknown judge backend {name!r}"
                              f"{did_you_mean(name, self._host.judge_backends)}; installed: "
                              f"{', '.join(sorted(self._host.judge_backends)) or 'none'}")
        return registered.value  # type: ignore[no-any-return]

    def get(self, settings: dict[str, Any]) -> JudgeBackend:
        config = self.validate(settings)
        key = config.model_dump_json()
        backend = self._backends.get(key)
        if backend is None:
            inner = self._backend_class(config.backend)(config)
            if self.wrapper is not None:
                inner = self.wrapper(inner)
            backend = wrap_backend(inner)
            self._backends[key] = backend
        return backend

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()
