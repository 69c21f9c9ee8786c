"""Helpers for the ``packs test`` tests: a CLI runner and a tiny judge pack on disk."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rewardsmith.cli import build_cli
from rewardsmith.core.plugins import PluginHost, make_plugin_host


@pytest.fixture(scope="session")
def host() -> PluginHost:
    return make_plugin_host()


@pytest.fixture(autouse=True)
def _no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # Whatever the developer's machine has, no test may reach AWS or read a profile.
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "REWARDSMITH_JUDGE_CACHE":
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


@pytest.fixture
def run_cli(host: PluginHost) -> Callable[..., Result]:
    def run(*args: str) -> Result:
        return CliRunner().invoke(build_cli(host), ["packs", "test", *args],
                                  obj={"host": host}, catch_exceptions=False)
    return run


def sample(text: str, *, prompt: str = "Suggest one fix for the leaking tap.",
           reference: str = "Replace the worn washer.") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt},
                         {"role": "assistant", "content": text}],
            "reference_answer": reference}


JUDGE_PACK = """\
[pack]
name = "label-check"
version = "0.1.0"

[judge]
backend = "bedrock"
model = "openai.gpt-oss-120b-1:0"

[[components]]
id = "review"
type = "rubric-judge"
weight = 1
criteria = [{ id = "actionable", pass_if = "The answer states one concrete action." }]

[[components]]
id = "cmp"
type = "pairwise-judge"
mode = "reference"
weight = 1

[tests]
suite = "cases.jsonl"
"""


def write_suite(folder: Path, cases: list[dict[str, Any]], pack: str = JUDGE_PACK) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    path = folder / "pack.toml"
    path.write_text(pack)
    return path
