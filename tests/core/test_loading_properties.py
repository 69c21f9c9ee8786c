"""Property test (issue 10): the pack loader answers random and mutated TOML with a Pack or
a PackError, never a foreign exception (RecursionError, OverflowError, UnicodeDecodeError,
TypeError ...)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardsmith import make_plugin_host
from rewardsmith.core.errors import PackError
from rewardsmith.core.pack import Pack, load_pack

PROPERTY = settings(max_examples=400, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
VALID = b'''[pack]
name = "prop"
version = "1.0.0"
reward_range = [0.0, 1.0]

[aggregate]
method = "formula"
formula = "clamp(0.5 * len + 0.5 * fmt, 0, 1)"

[[components]]
id = "len"
type = "length"
unit = "words"
max = 50

[[components]]
id = "fmt"
type = "regex"
pattern = "^[A-Z]"
'''
FRAGMENTS = [b"[", b"]", b"{", b"}", b"=", b'"', b"'", b"\n", b"[[components]]\n",
             b"extends = \"/etc/passwd\"\n", b"\xff\xfe", b"9" * 400, b"[" * 600,
             b"weight = -1\n", b"type = 5\n", b"id = \"len\"\n", b"formula = \"len / 0\"\n",
             b"nan", b"inf", b"\x00", b"1e999", b"schema_file = \"../x.json\"\n",
             b"\nx = " + b"[" * 3000 + b"\n"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        else:
            piece = draw(st.sampled_from(FRAGMENTS) | st.binary(max_size=12))
            if op == "replace":
                del data[at:at + len(piece)]
            data[at:at] = piece
    return bytes(data)


documents = mutated() | st.binary(max_size=200) | st.text(max_size=200).map(str.encode)


@pytest.fixture(scope="module")
def host():
    return make_plugin_host()


@PROPERTY
@given(content=documents)
def test_random_and_mutated_toml_is_a_pack_or_a_pack_error(host, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pack.toml"
        path.write_bytes(content)
        try:
            pack = load_pack(path, host)
        except PackError as exc:
            assert str(exc)
            return
    assert isinstance(pack, Pack) and pack.components
