"""A third-party rewardsmith plugin: registers the ``bullet-count`` check.

rewardsmith finds this module through the ``rewardsmith`` entry point declared in
``pyproject.toml`` and calls the hook below once per plugin host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rewardsmith.core.hookspecs import hookimpl

from rewardsmith_example_check.bullets import BulletCount

__all__ = ["BulletCount"]


@hookimpl
def register_components(register: Callable[[type[Any]], None]) -> None:
    register(BulletCount)
