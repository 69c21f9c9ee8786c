"""Suite loading: every problem named by file, line and case; exit code 2 for config."""

from __future__ import annotations

import json

import pytest

from rewardsmith.packtest.suite import GoldenCase, PairCase, SuiteError, load_suite

from .conftest import sample, write_suite

GOOD = {"kind": "golden", "name": "ok", "sample": sample("Fix it."), "expect": {}}


def _write(path, lines):
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_all_problems_are_reported_with_file_line_and_case(tmp_path):
    suite = _write(tmp_path / "s.jsonl", [
        GOOD,
        "",
        "{not json",
        {"kind": "probe", "name": "no-bound", "category": "verbosity",
         "sample": sample("x"), "expect": {}},
        {"kind": "golden", "name": "ok", "sample": sample("y"), "expect": {}},
        {"kind": "riddle", "name": "what"},
        {"kind": "golden", "name": "typo", "sample": sample("z"), "expect": {},
         "verdicts": {"review": {"actionable": "pas"}}},
        {"kind": "golden", "name": "extra-key", "sample": sample("z"), "expect": {"rewrd": 1}},
        {"kind": "pair", "name": "bad-pair", "better": sample("a")},
    ])
    with pytest.raises(SuiteError) as info:
        load_suite(suite)
    text = str(info.value)
    assert f"{suite}:3: not valid JSON" in text
    assert f"{suite}:4: case 'no-bound'" in text and "reward_below" in text
    assert f"{suite}:5: case 'ok': duplicate case name (first at {suite}:1)" in text
    assert f"{suite}:6: case 'what': 'kind' must be golden, probe or pair" in text
    assert f"{suite}:7: case 'typo'" in text and "'pas'" in text
    assert f"{suite}:8: case 'extra-key'" in text and "rewrd" in text
    assert f"{suite}:9: case 'bad-pair'" in text and "worse" in text


def test_a_folder_of_suites_and_comment_lines(tmp_path):
    folder = tmp_path / "suite"
    folder.mkdir()
    _write(folder / "a.jsonl", ["// golden cases", GOOD])
    _write(folder / "b.jsonl", [{"kind": "pair", "name": "p", "better": sample("a"),
                                 "worse": sample("b"), "margin": 0.1}])
    cases = load_suite(folder)
    assert [c.name for c in cases] == ["ok", "p"]
    assert isinstance(cases[0].case, GoldenCase) and isinstance(cases[1].case, PairCase)
    assert cases[1].where == f"{folder / 'b.jsonl'}:1"


def test_config_errors_exit_2(tmp_path, run_cli):
    no_tests = tmp_path / "plain.toml"
    no_tests.write_text('[pack]\nname = "plain"\nversion = "1"\n[[components]]\nid = "len"\n'
                        'type = "length"\nmax = 10\nweight = 1\n')
    result = run_cli(str(no_tests))
    assert result.exit_code == 2 and "no [tests] table" in result.output

    missing = write_suite(tmp_path / "p", [GOOD])
    (tmp_path / "p" / "cases.jsonl").unlink()
    result = run_cli(str(missing))
    assert result.exit_code == 2 and "does not exist" in result.output

    result = run_cli("json-extraction", "--case", "no-such-case")
    assert result.exit_code == 2 and "no case named 'no-such-case'" in result.output

    bad = write_suite(tmp_path / "q", [GOOD, GOOD])
    result = run_cli(str(bad))
    assert result.exit_code == 2 and "duplicate case name" in result.output
