"""Helpers for the checks tests: build a check from config, build a sample from text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rewardsmith.core.component import Component, ComponentContext
from rewardsmith.core.sample import Sample, parse_sample

DEFAULT_USER = "Please answer the question."


def build_check(cls: type[Component[Any]], base_path: Path | None = None,
                **config: Any) -> Component[Any]:
    """Validate ``config`` like a pack would, then construct the check."""
    cfg = cls.Config.model_validate({"type": cls.type_name(), "id": "check", **config})
    paths = (base_path,) if base_path is not None else ()
    return cls(cfg, ComponentContext(pack_name="test", search_paths=paths))


def make_sample(
    response: str,
    *,
    user: str = DEFAULT_USER,
    system: str | None = None,
    reference: Any = None,
    tools: list[Any] | None = None,
    tool_calls: list[Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Sample:
    messages: list[dict[str, Any]] = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": user})
    assistant: dict[str, Any] = {"role": "assistant", "content": response}
    if tool_calls is not None:
        assistant["tool_calls"] = tool_calls
    messages.append(assistant)
    raw: dict[str, Any] = {"id": "s1", "messages": messages}
    if reference is not None:
        raw["reference_answer"] = reference
    if tools is not None:
        raw["tools"] = tools
    if metadata is not None:
        raw["metadata"] = metadata
    return parse_sample(raw, 0)


@pytest.fixture
def build():
    """``build(CheckClass, **config)`` -> a constructed check."""
    return build_check


@pytest.fixture
def sample():
    """``sample(response, user=..., reference=..., ...)`` -> a parsed Sample."""
    return make_sample
