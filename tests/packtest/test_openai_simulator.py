"""A pack whose judges use the OpenAI-compatible backend runs against the OpenAI simulator."""

from __future__ import annotations

import json

from .conftest import JUDGE_PACK, sample, write_suite

OPENAI_PACK = JUDGE_PACK.replace('backend = "bedrock"\nmodel = "openai.gpt-oss-120b-1:0"',
                                 'backend = "openai"\nmodel = "judge-model"\n'
                                 'base_url = "http://127.0.0.1:9/v1"')


def test_openai_backend_pack_uses_the_openai_simulator(tmp_path, run_cli, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert 'backend = "openai"' in OPENAI_PACK
    cases = [
        {"kind": "golden", "name": "good", "sample": sample("Replace the washer today."),
         "expect": {"reward": [1.0, 1.0], "labels": {"review.actionable": True}},
         "verdicts": {"review": {"actionable": "pass"}, "cmp": {"winner": "A"}}},
        {"kind": "probe", "name": "vague", "category": "empty_content",
         "sample": sample("It depends."), "expect": {"reward_below": 0.01},
         "verdicts": {"review": {"actionable": "fail"}, "cmp": {"winner": "B"}}},
    ]
    pack = write_suite(tmp_path / "pack", cases, pack=OPENAI_PACK)
    result = run_cli(str(pack), "--backend", "simulator", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["agreement"]["accuracy"] == 1.0
    assert report["judges"]["components"]["review"]["errors"] == {}
