"""A third-party pack distribution: registers every ``packs/*.toml`` by file name, and the
metric function ``read_seconds`` packs may name in a ``product-metric`` component.

The pack files are data shipped inside the package; ``importlib.resources`` finds them
in a wheel, a zip or an editable install alike.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Any

from rewardsmith.core.hookspecs import hookimpl
from rewardsmith_example_pack.metrics import estimated_read_seconds


@hookimpl
def register_rubric_packs(register: Callable[[str, Any], None]) -> None:
    for entry in sorted(files(__name__).joinpath("packs").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            register(entry.name.removesuffix(".toml"), entry)


@hookimpl
def register_metric_functions(register: Callable[[str, Callable[..., Any]], None]) -> None:
    register("read_seconds", estimated_read_seconds)
