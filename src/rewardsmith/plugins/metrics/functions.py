"""``kind = "function"``: a metric computed by installed Python code that the pack names.

Packs are data: a pack never carries code, it only *names* a function that is already
installed, either as ``"package.module:function"`` or as a name that a distribution
registered in the ``rewardsmith.metrics`` entry-point group::

    [project.entry-points."rewardsmith.metrics"]
    ctr = "my_package.metrics:click_through_rate"

A ``module:function`` reference is checked for shape before anything is imported: no
part may start with ``_`` (no dunders, no private helpers), and the attribute path must
not pass through a module object (``allowed.module:os.system`` is refused).

Setting ``REWARDSMITH_METRIC_MODULES`` (comma-separated module names) restricts which
modules a reference may import *and* where the resolved callable may be defined (its
``__module__``), so a pack from an untrusted source cannot make the scorer import, or
call, arbitrary installed code. Unset, any importable module may be named: importing a
module runs its top-level code at pack load, so deployments that load packs they did not
write (Lambda) should set it. Entry-point names are not affected: a distribution that
declares one has been installed on purpose.

The function takes the :class:`~rewardsmith.core.sample.Sample` and returns a number; it
may be ``async``. Synchronous functions run in a worker thread unless the pack says
``run_in_thread = false``, so a slow one never stalls judge calls in flight.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

from pydantic import Field, field_validator

from rewardsmith.core.errors import ComponentError, ErrorKind, RewardsmithError
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.metrics.base import MetricSource, SourceConfig
from rewardsmith.plugins.metrics.values import as_number

METRICS_ENTRY_POINT_GROUP = "rewardsmith.metrics"
MODULE_ALLOWLIST_ENV = "REWARDSMITH_METRIC_MODULES"

_DOTTED_REF = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_ENTRY_POINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class MetricFunctionError(RewardsmithError, ValueError):
    """A function source cannot be resolved; the message names the reference."""


class FunctionSourceConfig(SourceConfig):
    kind: Literal["function"] = "function"
    ref: str = Field(
        description="'package.module:function', or a name registered in the "
        "'rewardsmith.metrics' entry-point group."
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
        elif not _ENTRY_POINT_NAME.match(ref):
            raise ValueError(
                f"ref {ref!r} is neither 'package.module:function' nor an entry-point name"
            )
        return ref

    def build(self) -> MetricSource:
        return FunctionSource(self.ref, resolve_metric_function(self.ref), self.run_in_thread)


@dataclass(frozen=True)
class InstalledMetric:
    name: str
    value: str  # "module:attr" as declared
    distribution: str


def installed_metric_functions() -> dict[str, InstalledMetric]:
    """Metric functions registered by installed distributions, by name (for listings)."""
    found: dict[str, InstalledMetric] = {}
    for ep in metadata.entry_points(group=METRICS_ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "<unknown>"
        entry = InstalledMetric(ep.name, ep.value, dist)
        previous = found.get(ep.name)
        if previous is not None and previous.value != ep.value:
            raise MetricFunctionError(
                f"metric function {ep.name!r} is registered twice in "
                f"{METRICS_ENTRY_POINT_GROUP!r}: by {previous.distribution!r} "
                f"({previous.value}) and by {dist!r} ({ep.value})"
            )
        found[ep.name] = entry
    return found


def resolve_metric_function(ref: str) -> Callable[[Sample], Any]:
    """Import the function a pack names; raise :class:`MetricFunctionError` naming ``ref``."""
    function = _from_dotted(ref) if ":" in ref else _from_entry_point(ref)
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


def _allowed_modules() -> list[str] | None:
    """The allowlist from the environment; ``None`` when unset (any module may be named)."""
    raw = os.environ.get(MODULE_ALLOWLIST_ENV)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _within(module: str, allowed: list[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def _not_allowed(ref: str, what: str) -> MetricFunctionError:
    return MetricFunctionError(
        f"metric function {ref!r}: {what} is not allowed by "
        f"{MODULE_ALLOWLIST_ENV}={os.environ.get(MODULE_ALLOWLIST_ENV, '')!r}"
    )


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
    allowed = _allowed_modules()
    if allowed is not None and not _within(module_name, allowed):
        raise _not_allowed(ref, f"module {module_name!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise MetricFunctionError(
            f"metric function {ref!r}: cannot import module {module_name!r} ({exc}). The "
            "function must be installed code; a pack only names it."
        ) from None
    except Exception as exc:
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
    if allowed is not None:
        defined_in = getattr(target, "__module__", None)
        if not isinstance(defined_in, str) or not _within(defined_in, allowed):
            # ``from os import system`` in an allowed module must not make it reachable.
            raise _not_allowed(ref, f"the function is defined in {defined_in!r}, which")
    return target


def _from_entry_point(name: str) -> Any:
    installed = installed_metric_functions()
    entry = installed.get(name)
    if entry is None:
        known = ", ".join(sorted(installed)) or "none"
        raise MetricFunctionError(
            f"metric function {name!r} is not registered in the {METRICS_ENTRY_POINT_GROUP!r} "
            f"entry-point group (installed: {known}); use 'package.module:function' for an "
            "unregistered function"
        )
    ep = next(
        ep
        for ep in metadata.entry_points(group=METRICS_ENTRY_POINT_GROUP, name=name)
        if ep.value == entry.value
    )
    try:
        return ep.load()
    except Exception as exc:
        raise MetricFunctionError(
            f"metric function {name!r} ({entry.value}) from distribution "
            f"{entry.distribution!r} failed to load: {type(exc).__name__}: {exc}"
        ) from exc


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
                result = await asyncio.to_thread(self.function, sample)
            else:
                result = self.function(sample)
            if inspect.isawaitable(result):
                result = await result
        except ComponentError:
            raise  # the function chose its own kind (e.g. metric_missing)
        except Exception as exc:
            raise ComponentError(
                f"metric function {self.ref!r} raised {type(exc).__name__}: {exc}",
                kind=ErrorKind.METRIC_FUNCTION_ERROR,
            ) from exc
        return as_number(result, f"the value returned by metric function {self.ref!r}")
