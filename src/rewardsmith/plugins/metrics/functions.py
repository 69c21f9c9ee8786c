"""``kind = "function"``: a metric computed by installed Python code that the pack names.

Packs are data: a pack never carries code, it only *names* a function that is already
installed, either as ``"package.module:function"`` or as a name that a distribution
registered in the ``rewardsmith.metrics`` entry-point group::

    [project.entry-points."rewardsmith.metrics"]
    ctr = "my_package.metrics:click_through_rate"

Setting ``REWARDSMITH_METRIC_MODULES`` (comma-separated module names) restricts which
modules a ``module:function`` reference may import from, so a pack from an untrusted
source cannot make the scorer import arbitrary installed modules. Entry-point names are
not affected: a distribution that declares one has been installed on purpose.

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
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

from pydantic import Field, field_validator

from rewardsmith.core.errors import ComponentError
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.metrics.base import MetricSource, SourceConfig
from rewardsmith.plugins.metrics.values import METRIC_FUNCTION_ERROR, as_number

METRICS_ENTRY_POINT_GROUP = "rewardsmith.metrics"
MODULE_ALLOWLIST_ENV = "REWARDSMITH_METRIC_MODULES"

_DOTTED_REF = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_ENTRY_POINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class MetricFunctionError(ValueError):
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
            if not _DOTTED_REF.match(ref):
                raise ValueError(f"ref {ref!r} is not of the form 'package.module:function'")
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


def _module_allowed(module: str) -> bool:
    raw = os.environ.get(MODULE_ALLOWLIST_ENV)
    if raw is None:
        return True
    allowed = [part.strip() for part in raw.split(",") if part.strip()]
    return any(module == a or module.startswith(a + ".") for a in allowed)


def _from_dotted(ref: str) -> Any:
    module_name, _, attr_path = ref.partition(":")
    if not _module_allowed(module_name):
        raise MetricFunctionError(
            f"metric function {ref!r}: module {module_name!r} is not allowed by "
            f"{MODULE_ALLOWLIST_ENV}={os.environ.get(MODULE_ALLOWLIST_ENV, '')!r}"
        )
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
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise MetricFunctionError(
                f"metric function {ref!r}: module {module_name!r} has no attribute "
                f"{attr_path!r}"
            ) from None
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
                kind=METRIC_FUNCTION_ERROR,
            ) from exc
        return as_number(result, f"the value returned by metric function {self.ref!r}")
