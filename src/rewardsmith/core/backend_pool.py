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

_MAX_SEEN = 256


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
        # id(settings) -> (settings, overrides then, wrapper then, backend): see get().
        self._seen: dict[int, tuple[dict[str, Any], dict[str, Any], Any, JudgeBackend]] = {}

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
        """The backend for ``settings`` (merged with :attr:`overrides`), created on first use.

        A component asks with the same settings dict on every call: that dict is looked up
        by identity first, so the settings are validated and serialised once per
        component, not per judge call (~17% of the loop thread in issue 13's profile).
        Settings dicts are treated as immutable once passed here. Raises PluginError for
        an unknown backend, pydantic's ValidationError for invalid settings.
        """
        seen = self._seen.get(id(settings))
        if seen is not None and seen[0] is settings and seen[1] == self.overrides \
                and seen[2] is self.wrapper:
            return seen[3]
        config = self.validate(settings)
        key = config.model_dump_json()
        backend = self._backends.get(key)
        if backend is None:
            inner = self._backend_class(config.backend)(config)
            if self.wrapper is not None:
                inner = self.wrapper(inner)
            backend = wrap_backend(inner)
            self._backends[key] = backend
        if len(self._seen) >= _MAX_SEEN:
            self._seen.clear()  # settings built per call: keep the memo bounded
        self._seen[id(settings)] = (settings, dict(self.overrides), self.wrapper, backend)
        return backend

    def warm(self, settings: dict[str, Any]) -> None:
        """Create the backend for ``settings`` and its client now (the Lambda's init phase
        calls this, so the first invocation does not pay for it). Errors are left to the
        first call, which reports them per sample."""
        backend = self.get(settings)
        backend.warm()

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()
        self._seen.clear()
