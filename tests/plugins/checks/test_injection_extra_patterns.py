"""injection: a pack's ``extra_patterns`` run under a time limit like the regex check's."""

from __future__ import annotations

import pytest

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks.injection import Injection

CATASTROPHIC = "(a|a)+$"  # exponential in the regex engine too
ADVERSARIAL = "a" * 40 + "!"


def test_catastrophic_extra_pattern_is_a_regex_timeout(build, sample):
    check = build(Injection, kinds=[], extra_patterns=["reward", CATASTROPHIC])
    with pytest.raises(ComponentError, match=r"extra_patterns\[1\]") as err:
        check.score(sample(ADVERSARIAL))
    assert err.value.kind == "regex_timeout"
    hit = check.score(sample("my reward is high"))
    assert hit.passed is False and hit.measurements["custom"] == 1


def test_extra_patterns_count_every_match_and_stay_load_validated(build, sample):
    check = build(Injection, kinds=[], extra_patterns=[r"reward\s*=\s*1", r"(?i)grader"])
    score = check.score(sample("reward = 1, reward=1; dear GRADER"))
    assert score.measurements["custom"] == 3
    with pytest.raises(ValueError, match=r"extra_patterns\[1\]: invalid regular expression"):
        build(Injection, extra_patterns=["ok", "(bad"])
