"""``kind = "function"``: a metric computed by installed Python code that the pack names.

Packs are data: a pack never carries code, it only *names* a function that is already
installed, either as ``"package.module:function"`` or as a name a plugin registered
through the ``register_metric_functions`` hook::

    @hookimpl
    def register_metric_functions(register):
        register("ctr", click_through_rate)

A ``module:function`` reference is checked for shape before anything is imported: no
part may start with ``_`` (no dunders, no private helpers), and the attribute path must
not pass through a module object (``allowed.module:os.system`` is refused).

Which modules a reference may import *and* where the resolved callable may be defined (its
``__module__``) is the operator's grant (:func:`rewardsmith.core.trust.check_module`,
setting ``REWARDSMITH_METRIC_MODULES``), so a pack from an untrusted source cannot make the
scorer import, or call, arbitrary installed code: in the Lambda nothing is granted unless
the template lists it; elsewhere, unset grants any module outside the standard library;
the standard library and builtins (``builtins:print``, ``sys:exit``) only when listed one
by one. Registered names are not affected: a plugin that registers one has been installed
(and allowed by ``REWARDSMITH_PLUGINS``) on purpose.

The function takes the :class:`~rewardsmith.core.sample.Sample` and returns a number; it
may be ``async``. Synchronous functions run in a worker thread unless the pack says
``run_in_thread = false``, so a slow one never stalls judge calls in flight.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import types
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal

from pydantic import Field, field_validator

from rewardsmith.core import trust
from rewardsmith.core.component import ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind, RewardsmithError
from rewardsmith.core.sample import Sample
from rewardsmith.core.workers import ContainedExit, offload, users_interrupt
from rewardsmith.plugins.metrics.base import MetricSource, SourceConfig
from rewardsmith.plugins.metrics.values import as_number

MODULE_ALLOWLIST_ENV = trust.MODULES_SETTING

_DOTTED_REF = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_REGISTERED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class MetricFunctionError(RewardsmithError, ValueError):
    """A function source cannot be resolved; the message names the reference."""


class FunctionSourceConfig(SourceConfig):
    kind: Literal["function"] = "function"
    ref: str = Field(
        description="'package.module:function', or a name a plugin registered through "
        "the register_metric_functions hook."
    )
    run_in_thread: bool = Field(
        default=True,
        description="Run a synchronous function in a worker thread (set false only for "
        "cheap functions).",
    )

    @field_validator("ref")
    @classmethod
    def _valid_ref(cls, ref: str) -> str:
        if ":" in ref:
            _parse_dotted(ref)  # shape and names, so a bad ref fails as config validation
        elif not _REGISTERED_NAME.match(ref):
            raise ValueError(
                f"ref {ref!r} is neither 'package.module:function' nor a registered name"
            )
        return ref

    def build(self, context: ComponentContext | None = None) -> MetricSource:
        registered = context.metric_functions if context is not None else {}
        function = resolve_metric_function(self.ref, registered)
        return FunctionSource(self.ref, function, self.run_in_thread)


def resolve_metric_function(
    ref: str, registered: Mapping[str, Callable[..., Any]] | None = None
) -> Callable[[Sample], Any]:
    """The function a pack names: ``module:function`` (imported) or a name in
    ``registered`` (a host's ``metric_functions``). Raises :class:`MetricFunctionError`
    naming ``ref``."""
    function = _from_dotted(ref) if ":" in ref else _registered(ref, registered or {})
    if not callable(function):
        raise MetricFunctionError(
            f"metric function {ref!r} is a {type(function).__name__}, not a callable"
        )
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        raise MetricFunctionError(
            f"metric function {ref!r} must accept exactly one positional argument (the sample)"
        ) from None
    except ValueError:
        pass  # some builtins have no introspectable signature; calling them will tell
    return function  # type: ignore[no-any-return]


def _parse_dotted(ref: str) -> tuple[str, list[str]]:
    """Split and vet a ``module:attr.path`` ref; nothing is imported yet."""
    if not _DOTTED_REF.match(ref):
        raise MetricFunctionError(f"ref {ref!r} is not of the form 'package.module:function'")
    module_name, _, attr_path = ref.partition(":")
    parts = [*module_name.split("."), *attr_path.split(".")]
    private = [part for part in parts if part.startswith("_")]
    if private:
        # Dunders (__globals__, __builtins__, __class__...) and private names lead from a
        # harmless function to anything in the interpreter; a metric never needs them.
        raise MetricFunctionError(
            f"metric function {ref!r}: names starting with '_' are not allowed "
            f"({', '.join(map(repr, private))}); name a public function"
        )
    return module_name, attr_path.split(".")


def _from_dotted(ref: str) -> Any:
    module_name, attrs = _parse_dotted(ref)
    _granted(module_name, ref)
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise MetricFunctionError(
            f"metric function {ref!r}: cannot import module {module_name!r} ({exc}). The "
            "function must be installed code; a pack only names it."
        ) from None
    except BaseException as exc:  # SystemExit at import is the module's failure too
        if users_interrupt(exc):
            raise
        raise MetricFunctionError(
            f"metric function {ref!r}: importing module {module_name!r} failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    walked = module_name
    for part in attrs:
        try:
            target = getattr(target, part)
        except AttributeError:
            raise MetricFunctionError(
                f"metric function {ref!r}: {walked!r} has no attribute {part!r}"
            ) from None
        walked = f"{walked}.{part}" if walked != module_name else f"{module_name}:{part}"
        if isinstance(target, types.ModuleType):
            # A module imported by an allowed one (``allowed:os.system``) would smuggle in
            # code the allowlist, and the reader of the pack, never see named.
            raise MetricFunctionError(
                f"metric function {ref!r}: {walked!r} is a module; name the module "
                "before ':' and the function after it"
            )
    # ``from os import system`` in an allowed module must not make it reachable.
    defined_in = getattr(target, "__module__", None)
    if isinstance(defined_in, str):
        _granted(defined_in, ref, " (where the function is defined)")
    elif trust.grants().modules is not None:
        raise MetricFunctionError(f"metric function {ref!r}: its defining module is unknown, "
                                  f"so {MODULE_ALLOWLIST_ENV} cannot allow it")
    return target


def _granted(module: str, ref: str, note: str = "") -> None:
    try:
        trust.check_module(module, f"metric function {ref!r}{note}")
    except trust.TrustError as exc:
        raise MetricFunctionError(str(exc)) from None


def _registered(name: str, registered: Mapping[str, Callable[..., Any]]) -> Any:
    try:
        return registered[name]
    except KeyError:
        known = ", ".join(sorted(registered)) or "none"
        raise MetricFunctionError(
            f"metric function {name!r} is not registered by any plugin (registered: {known}); "
            "use 'package.module:function' for an unregistered function"
        ) from None


class FunctionSource(MetricSource):
    def __init__(self, ref: str, function: Callable[[Sample], Any], run_in_thread: bool) -> None:
        self.ref = ref
        self.function = function
        self.is_async = inspect.iscoroutinefunction(function)
        self.run_in_thread = run_in_thread

    async def read(self, sample: Sample) -> float:
        try:
            if self.is_async:
                result = await self.function(sample)
            elif self.run_in_thread:
                # The scorer's own threads under a per-sample limit (core.workers), not the
                # loop's default executor, which calls that never return would starve.
                result = await offload(partial(self.function, sample))
            else:
                result = self.function(sample)
            if inspect.isawaitable(result):
                result = await result
        except ComponentError:
            raise  # the function chose its own kind (e.g. metric_missing)
        except ContainedExit as exc:
            raise ComponentError(f"metric function {self.ref!r}: {exc}",
                                 kind=ErrorKind.PLUGIN_EXIT) from exc
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            if not isinstance(exc, Exception):  # sys.exit named as a metric function
                raise ComponentError(f"metric function {self.ref!r} raised "
                                     f"{type(exc).__name__}", kind=ErrorKind.PLUGIN_EXIT) from exc
            raise ComponentError(
                f"metric function {self.ref!r} raised {type(exc).__name__}: {exc}",
                kind=ErrorKind.METRIC_FUNCTION_ERROR,
            ) from exc
        return as_number(result, f"the value returned by metric function {self.ref!r}")
