"""The judge configuration check of ``rewardsmith serve`` at startup
(:mod:`rewardsmith.serving.preflight`); the CLI's refusal to start is in
tests/cli/test_serve.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.serving import JUDGE_PACK, TOY_PACK, make_scorer

from rewardsmith.serving.preflight import judge_config_problems


def test_a_usable_or_absent_judge_has_no_problem(tmp_path: Path) -> None:
    assert judge_config_problems(make_scorer(tmp_path, TOY_PACK)) == {}
    assert judge_config_problems(make_scorer(tmp_path, JUDGE_PACK, "judge.toml")) == {}


def test_bedrock_region_credentials_and_endpoint(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bedrock = JUDGE_PACK.replace('backend = "openai"', 'backend = "bedrock"')
    scorer = make_scorer(tmp_path, bedrock)
    assert "no AWS region" in judge_config_problems(scorer)["judge"]
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert "no AWS credentials found" in judge_config_problems(scorer)["judge"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy-secret")
    assert judge_config_problems(scorer) == {}
