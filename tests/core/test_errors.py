"""One exception tree (every rewardsmith exception is a RewardsmithError) and one error-kind
enumeration whose values are what the wire carries."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import orjson
import pytest

import rewardsmith
from rewardsmith.core.errors import (
    ComponentError,
    ErrorKind,
    PackError,
    PluginError,
    RewardsmithError,
    SampleError,
    error_kind,
)


def test_a_kind_serialises_as_its_wire_string() -> None:
    kind = ErrorKind.REGEX_TIMEOUT
    assert kind == "regex_timeout" and str(kind) == "regex_timeout"
    assert json.dumps({"error_kind": kind}) == '{"error_kind": "regex_timeout"}'
    assert orjson.dumps({"error_kind": kind}) == b'{"error_kind":"regex_timeout"}'


def test_kind_values_are_unique_snake_case_names() -> None:
    values = [kind.value for kind in ErrorKind]
    assert len(values) == len(set(values))
    assert all(error_kind(value) is kind for value, kind in zip(values, ErrorKind, strict=True))
    assert {"ambiguous_verdict", "judge_unavailable"} <= set(values)  # issue 9 uses them


def test_plugin_kinds_are_kept_and_bad_kinds_refused() -> None:
    assert error_kind("missing_context") is ErrorKind.MISSING_CONTEXT
    assert ComponentError("quota", kind="acme_quota_exceeded").kind == "acme_quota_exceeded"
    assert ComponentError("no kind").kind is ErrorKind.ERROR
    assert SampleError("bad row").kind is ErrorKind.MALFORMED_SAMPLE
    for bad in ["Regex Timeout", "regex-timeout", "", "1st_kind"]:
        with pytest.raises(ValueError, match="neither an ErrorKind nor a snake_case name"):
            ComponentError("x", kind=bad)


def _modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(rewardsmith.__path__, "rewardsmith.")]
    return [name for name in names if not name.endswith("__main__")]


def test_every_exception_class_is_a_rewardsmith_error() -> None:
    outside: list[str] = []
    seen = 0
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException):
                seen += 1
                if not issubclass(cls, RewardsmithError):
                    outside.append(f"{name}.{cls.__qualname__}")
    assert seen >= 10  # the walk reached the modules that define them
    assert outside == []


@pytest.mark.parametrize("cls", [PackError, PluginError, ComponentError, SampleError])
def test_core_errors_share_the_base(cls: type[Exception]) -> None:
    assert issubclass(cls, RewardsmithError)
