"""Reading rollouts: damage confined to its line, whatever the line holds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rewardsmith.core.errors import ErrorKind, SampleError
from rewardsmith.core.rollouts import decode_line, loads_json, read_rollouts


@pytest.mark.parametrize("raw", [
    b"[" * 5000 + b"]" * 5000,  # deeper than orjson's 1024 levels and Python's recursion limit
    b'{"a": ' * 3000 + b"1" + b"}" * 3000,
])
def test_a_line_nested_too_deep_is_that_line_s_error(raw: bytes) -> None:
    value = decode_line(raw, 7)
    assert isinstance(value, SampleError)
    assert value.kind == ErrorKind.INVALID_JSON and value.sample_id == 7
    assert str(value).startswith("line 7: not valid JSON (depth limit exceeded")


def test_the_lines_around_a_broken_line_are_read(tmp_path: Path) -> None:
    good = {"messages": [{"role": "assistant", "content": "x"}]}
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"[" * 5000 + b"]" * 5000 + b"\n" + json.dumps(good).encode() + b"\n")
    (batch,) = read_rollouts(path, batch_size=10)
    assert isinstance(batch[0], SampleError)
    assert batch[1] == {**good, "id": 2}


BIG = 18446744073709551617  # 2**64 + 1: beyond what orjson reads as an integer


@pytest.mark.parametrize("raw", [
    b'{"id": 18446744073709551617, "metadata": {"n": -18446744073709551617}}',
    '{"id": 18446744073709551617, "metadata": {"n": -18446744073709551617}}',
])
def test_integers_beyond_64_bits_are_read_exactly(raw: bytes | str) -> None:
    value = loads_json(raw)
    assert value == {"id": BIG, "metadata": {"n": -BIG}}
    assert isinstance(value["id"], int) and isinstance(value["metadata"]["n"], int)


def test_a_big_negative_id_just_below_int64_is_read_exactly() -> None:
    assert loads_json(b'{"id": -9223372036854775809}')["id"] == -9223372036854775809


@pytest.mark.parametrize(("raw", "path"), [
    (b'{"a": NaN}', ("a",)), (b"[Infinity]", (0,)), (b"[-Infinity]", (0,)), (b"[1e400]", (0,)),
    (b'{"id": 18446744073709551617, "x": NaN}', ("x",))])
def test_non_finite_numbers_are_read_as_the_lambda_runtime_reads_them(
        raw: bytes, path: tuple[object, ...]) -> None:
    """The Lambda's Python runtime hands the handler json.loads' reading; every other reader
    agrees, and the components that read the value refuse it by name (tests of
    reference-match)."""
    inner = loads_json(raw)
    for key in path:
        inner = inner[key]  # type: ignore[index]
    expected = json.loads(raw)
    for key in path:
        expected = expected[key]
    assert isinstance(inner, float) and not math.isfinite(inner)
    assert math.isnan(inner) == math.isnan(expected) and (math.isnan(inner) or inner == expected)
