"""The example plugin's bullet-count check, in process (imported from its source tree)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.errors import PackError
from rewardsmith.core.wire import jsonl_row

SOURCE = Path(__file__).resolve().parents[2] / "examples/rewardsmith-example-check/src"


@pytest.fixture
def example_check(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(SOURCE))
    return importlib.import_module("rewardsmith_example_check")


@pytest.fixture
def score(example_check, tmp_path: Path):
    host = make_plugin_host(load_entry_points=False, plugins=[("example_check", example_check)])

    def run(options: str, responses: list[str]) -> list[dict]:
        path = tmp_path / "p.toml"
        path.write_text('[pack]\nname = "t"\nversion = "1"\n[[components]]\nid = "steps"\n'
                        f'type = "bullet-count"\n{options}\n', encoding="utf-8")
        scorer = Scorer(load_pack(path, host))
        try:
            batch = scorer.score([
                {"id": i, "messages": [{"role": "assistant", "content": r}]}
                for i, r in enumerate(responses)
            ])
        finally:
            scorer.close()
        return [jsonl_row(r)["components"]["steps"] for r in batch.results]

    return run


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- one\n- two\n* three\n• four", 4),
        ("  - indented\n\t- tabbed", 2),
        ("1. first\n2) second\n10. tenth", 3),
        ("---\n**bold** line\n-no space\n- \n-", 0),  # rules, emphasis, empty items
        ("```\n- inside a fence\n```\n- outside", 1),
        ("~~~sh\n- flag\n~~~\n", 0),
        ("1984. A novel by Orwell.", 0),  # a year, not an item (items go up to 999)
    ],
)
def test_count_bullets(example_check, text, expected):
    bullets = importlib.import_module("rewardsmith_example_check.bullets")
    assert bullets.count_bullets(text, ["-", "*", "•"], numbered=True) == expected


def test_verdicts_between_min_and_max(score):
    results = score("min = 2\nmax = 3",
                    ["- a", "- a\n- b", "- a\n- b\n- c", "1. a\n2. b\n3. c\n4. d"])
    assert [r["passed"] for r in results] == [False, True, True, False]
    assert [r["measurements"]["bullets"] for r in results] == [1, 2, 3, 4]
    assert results[3]["rationale"] == "4 list items, outside 2..3"


def test_numbered_items_can_be_ignored_and_markers_chosen(score):
    results = score('min = 1\nnumbered = false\nmarkers = ["+"]', ["1. a\n2. b", "+ a"])
    assert [r["passed"] for r in results] == [False, True]


@pytest.mark.parametrize(
    ("options", "message"),
    [("min = 3\nmax = 2", "max (2) is smaller than min (3)"),
     ('markers = [" - "]', "no surrounding spaces"),
     ("maximum = 3", "did you mean 'max'")],
)
def test_bad_options_fail_at_pack_load(score, options, message):
    with pytest.raises(PackError, match=re.escape(message)):
        score(options, [])
