"""Judge budgets against the OpenAI simulator: each degrade path (cheaper judge, fewer
criteria, group mean, checks only), per batch and per run, always reported."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.judge_models import calls_per_model, per_model, sample, sim_pack

from rewardsmith import Scorer
from rewardsmith.core.errors import PackError
from rewardsmith.core.sample import parse_sample
from rewardsmith.report.summary import summary_table

ALL = per_model({"big": lambda _t: dict.fromkeys("abc", True),
                 "small": lambda _t: dict.fromkeys("abc", False)})
CRITERIA = """criteria = [{ id = "a", pass_if = "A." }, { id = "b", pass_if = "B.", weight = 3 },
            { id = "c", pass_if = "C.", weight = 2 }]"""


def _pack(tmp_path: Path, settings: dict[str, Any], budget: str, on_error: str = "abstain",
          checks: bool = False) -> Any:
    check = """
[[components]]
id = "valid"
type = "json-valid"
""" if checks else ""
    return sim_pack(tmp_path, {**settings, "model": "big", "max_tokens": 50}, f"""
[[components]]
id = "judge"
type = "rubric-judge"
on_error = "{on_error}"
budget = {{ {budget} }}
{CRITERIA}
{check}""")


def _call_estimate(pack: Any, response: str) -> float:
    """What the judge reserves for one call (the budget in the tests is a multiple)."""
    judge = pack.components[0]
    request, _ = judge.request_for(parse_sample(sample(response, "x"), 0))
    return float(judge.ledger.estimate(request))


def _samples(n: int, groups: int = 1) -> list[dict[str, Any]]:
    # equal lengths, so every call reserves the same estimate
    return [sample(f'{{"n": {k}}}', f"s{k}", prompt=f"Task {k % groups}") for k in range(n)]


def _score(pack: Any, *batches: list[dict[str, Any]]) -> list[Any]:
    scorer = Scorer(pack)
    try:
        return [scorer.score(b, timeout_s=60) for b in batches]
    finally:
        scorer.close()


def test_checks_only_when_the_batch_budget_is_spent(tmp_path: Path, openai_simulator: Any,
                                                    openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(ALL)
    probe = _pack(tmp_path, openai_judge_settings,
                  'unit = "tokens", per_batch = 1, degrade = "checks_only"', checks=True)
    limit = 2.5 * _call_estimate(probe, '{"n": 0}')  # room for two calls
    pack = _pack(tmp_path, openai_judge_settings,
                 f'unit = "tokens", per_batch = {limit}, degrade = "checks_only"', checks=True)
    (batch,) = _score(pack, _samples(4))
    judged = [r for r in batch.results if r.components["judge"].error is None]
    skipped = [r for r in batch.results if r.components["judge"].error is not None]
    assert len(judged) == 2 and len(skipped) == 2
    assert openai_simulator.request_count == 2
    for result in skipped:
        outcome = result.components["judge"]
        assert outcome.error_kind == "budget_exhausted" and outcome.policy == "abstain"
        assert "per_batch cannot take this call" in (outcome.error or "")
        assert result.reward == 1.0  # json-valid alone
    for result in judged:
        assert result.components["judge"].value == 1.0
    summary = batch.telemetry.summary()
    assert summary["judge_stats"]["judge"]["budget_degraded"] == {"n": 4, "mean": 0.5}
    assert summary["component_failures"]["judge"] == {"budget_exhausted": 2}


def test_cheaper_judge_takes_over(tmp_path: Path, openai_simulator: Any,
                                  openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(ALL)
    budget = 'degrade = "cheaper_judge", cheaper = { model = "small" }'
    limit = 1.5 * _call_estimate(_pack(tmp_path, openai_judge_settings,
                                       f'unit = "tokens", per_batch = 1, {budget}'), '{"n": 0}')
    pack = _pack(tmp_path, openai_judge_settings,
                 f'unit = "tokens", per_batch = {limit}, {budget}')
    (batch,) = _score(pack, _samples(3))
    assert calls_per_model(openai_simulator) == {"big": 1, "small": 2}
    outcomes = [r.components["judge"] for r in batch.results]
    assert sorted(o.value for o in outcomes) == [0.0, 0.0, 1.0]
    degraded = [o for o in outcomes if o.measurements.get("budget_degraded")]
    assert len(degraded) == 2
    assert all(o.measurements["budget_degraded"] == "cheaper_judge"
               and o.details["budget"]["model"] == "small" for o in degraded)
    # the CLI's summary says so (finding 3: it read "100% scored, 0 errors" and nothing else)
    assert "budget: judge: 2 of 3 samples degraded (cheaper_judge 2)" in \
        summary_table(pack, batch.results)


def test_fewer_criteria_per_call(tmp_path: Path, openai_simulator: Any,
                                 openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(ALL)
    budget = 'degrade = "fewer_criteria", max_criteria = 2'
    limit = 1.5 * _call_estimate(_pack(tmp_path, openai_judge_settings,
                                       f'unit = "tokens", per_batch = 1, {budget}'), '{"n": 0}')
    pack = _pack(tmp_path, openai_judge_settings,
                 f'unit = "tokens", per_batch = {limit}, {budget}')
    (batch,) = _score(pack, _samples(3))
    asked = sorted(tuple(r.body["response_format"]["json_schema"]["schema"]["required"])
                   for r in openai_simulator.requests)
    # the two heaviest criteria (b: 3, c: 2), in pack order, once the budget is spent
    assert asked == [("a", "b", "c"), ("b", "c"), ("b", "c")]
    degraded = [r.components["judge"] for r in batch.results
                if r.components["judge"].measurements.get("budget_degraded")]
    assert [o.details["budget"]["criteria"] for o in degraded] == [["b", "c"], ["b", "c"]]
    assert all(set(o.details["criteria"]) == {"b", "c"} for o in degraded)


def test_group_mean_for_the_unjudged_rest_of_a_group(tmp_path: Path, openai_simulator: Any,
                                                     openai_judge_settings: Any) -> None:
    def policy(request: Any) -> Any:  # passes a when the sample number is even
        verdict = ALL(request)
        number = int(request.last_user_text.split('"n": ')[1].split("}")[0])
        verdict["a"]["verdict"] = "pass" if number % 2 == 0 else "fail"
        return verdict

    openai_simulator.set_policy(policy)
    budget = 'degrade = "group_mean"'
    probe = _pack(tmp_path, openai_judge_settings,
                  f'unit = "tokens", per_batch = 1, {budget}', "group_mean")
    limit = 2.5 * _call_estimate(probe, '{"n": 0}')
    pack = _pack(tmp_path, openai_judge_settings,
                 f'unit = "tokens", per_batch = {limit}, {budget}', on_error="group_mean")
    # groups: Task 0 = s0, s2, s4; Task 1 = s1, s3, s5. s0 and s1 fit the budget; every
    # other sample finds its group already judged once, so it takes its group's mean.
    (batch,) = _score(pack, _samples(6, groups=2))
    assert openai_simulator.request_count == 2
    outcomes = {r.id: r.components["judge"] for r in batch.results}
    assert outcomes["s0"].value == 1.0 and outcomes["s1"].value == pytest.approx(5 / 6)
    for sid, mean in (("s2", 1.0), ("s4", 1.0), ("s3", 5 / 6), ("s5", 5 / 6)):
        assert outcomes[sid].error_kind == "budget_exhausted"
        assert outcomes[sid].policy == "group_mean"
        assert outcomes[sid].value == pytest.approx(mean)
        assert "group's mean" in (outcomes[sid].error or "")


def test_per_run_budget_spans_batches(tmp_path: Path, openai_simulator: Any,
                                      openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(ALL)
    probe = _pack(tmp_path, openai_judge_settings,
                  'unit = "tokens", per_run = 1, degrade = "checks_only"')
    estimate = _call_estimate(probe, '{"n": 0}')
    limit = 3.5 * estimate
    pack = _pack(tmp_path, openai_judge_settings,
                 f'unit = "tokens", per_run = {limit}, degrade = "checks_only"')
    scorer = Scorer(pack)
    try:
        batches = [scorer.score(_samples(2), timeout_s=60) for _ in range(4)]
    finally:
        scorer.close()
    judged = [sum(r.components["judge"].error is None for r in b.results) for b in batches]
    # What one call really spends, as the server reported it (same size every call).
    spent_per_call = {r.components["judge"].measurements["input_tokens"]
                      + r.components["judge"].measurements["output_tokens"]
                      for b in batches for r in b.results if r.components["judge"].error is None}
    assert len(spent_per_call) == 1
    actual = spent_per_call.pop()
    assert actual < estimate  # the reservation is an upper bound
    # Each batch reserves an estimate per call while what is spent leaves room.
    expected, spent = [], 0.0
    for _ in range(4):
        fits = min(2, int((limit - spent) // estimate))
        expected.append(fits)
        spent += fits * actual
    assert judged == expected
    assert expected[0] == 2 and expected[-1] < 2  # the run budget did run out
    assert openai_simulator.request_count == sum(judged)


def test_usd_budget_prices_calls_from_the_table(tmp_path: Path, openai_simulator: Any,
                                                openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(ALL)
    settings = {**openai_judge_settings, "price_per_1k_input": 1.0,
                "price_per_1k_output": 1.0}
    estimate = _call_estimate(_pack(tmp_path, settings,
                                    'per_batch = 1, degrade = "checks_only"'), '{"n": 0}')
    pack = _pack(tmp_path, settings,
                 f'unit = "usd", per_batch = {1.5 * estimate}, degrade = "checks_only"')
    (batch,) = _score(pack, _samples(3))
    assert openai_simulator.request_count == 1
    judged = [r.components["judge"] for r in batch.results
              if r.components["judge"].error is None]
    assert len(judged) == 1 and judged[0].measurements["cost_usd"] > 0


@pytest.mark.parametrize(("budget", "on_error", "message"), [
    ('per_batch = 1, degrade = "group_mean"', "abstain", "needs on_error = 'group_mean'"),
    ('per_batch = 1, degrade = "checks_only"', "zero", "needs on_error = 'abstain'"),
    ('degrade = "checks_only"', "abstain", "per_batch, per_run or both"),
    ('per_batch = 1, degrade = "cheaper_judge"', "abstain",
     "needs a 'cheaper' judge table inside this budget table"),
    ('per_batch = 1, degrade = "fewer_criteria"', "abstain",
     "needs max_criteria inside this budget table"),
])
def test_bad_budgets_fail_the_pack(tmp_path: Path, openai_judge_settings: Any, budget: str,
                                   on_error: str, message: str) -> None:
    with pytest.raises(PackError, match=message):
        _pack(tmp_path, openai_judge_settings, budget, on_error)


@pytest.mark.parametrize(("degrade", "setting"), [
    ("cheaper_judge", 'cheaper = { model = "small" }'),
    ("fewer_criteria", "max_criteria = 1"),
    ("group_mean", "judge_per_group = 2"),
])
def test_budget_settings_at_the_component_level_are_named_with_their_table(
        tmp_path: Path, openai_judge_settings: Any, degrade: str, setting: str) -> None:
    """Finding 9: each error names the key, the line it was found on and the table it
    belongs in (docs/judges.md says the same)."""
    on_error = "group_mean" if degrade == "group_mean" else "abstain"
    path = tmp_path / "pack.toml"
    head = "[pack]\nname = \"p\"\nversion = \"1\"\n\n[judge]\n" + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in openai_judge_settings.items())
    path.write_text(head + f"""
[[components]]
id = "judge"
type = "rubric-judge"
on_error = "{on_error}"
budget = {{ unit = "tokens", per_batch = 1000, degrade = "{degrade}" }}
{setting}
criteria = [{{ id = "a", pass_if = "A." }}]
""", encoding="utf-8")
    line = head.count("\n") + 7  # the setting's line
    key = setting.split(" ", maxsplit=1)[0]
    from rewardsmith.core.pack import load_pack

    with pytest.raises(PackError) as err:
        load_pack(path)
    assert (f"pack.toml:{line}: components[0] (id='judge', type='rubric-judge'): unknown key "
            f"{key!r} at the component level: it is a setting of the component's 'budget' "
            f"table; write it inside it, budget = {{ ..., {key} = ... }}") in str(err.value)


def test_reservations_stop_concurrent_calls_at_the_limit() -> None:
    """Without waiting (:meth:`BudgetLedger.reserve`), reservations in flight count."""
    from rewardsmith.core.telemetry import BatchTelemetry, bind_telemetry, unbind_telemetry
    from rewardsmith.plugins.judges.budget import BudgetLedger, JudgeBudget

    ledger = BudgetLedger(JudgeBudget(unit="tokens", per_batch=100, per_run=150,
                                      degrade="checks_only"), {"model": "m"})

    async def batch() -> list[str | None]:
        token = bind_telemetry(BatchTelemetry())
        try:
            return [ledger.reserve(40) for _ in range(3)]
        finally:
            unbind_telemetry(token)

    assert asyncio.run(batch()) == [None, None, "per_batch"]  # 80 reserved, 120 > 100
    ledger.settle(80, 80)  # in another batch context: counts for the run only
    # the run has 80 spent: 80 + 40 fits 150, 80 + 40 + 40 does not
    assert asyncio.run(batch()) == [None, "per_run", "per_run"]


def _hostile_pack(tmp_path: Path, root: str, budget: str, max_tokens: int | None = None,
                  route: str = "ok") -> Any:
    settings = {"backend": "openai", "model": "judge", "base_url": f"{root}/{route}/v1",
                **({"max_tokens": max_tokens} if max_tokens else {})}
    return sim_pack(tmp_path, settings, f"""
[[components]]
id = "len"
type = "length"
min = 1
weight = 0.2

[[components]]
id = "q"
type = "rubric-judge"
weight = 0.8
on_error = "abstain"
budget = {{ {budget} }}
criteria = [{{ id = "correct", pass_if = "The answer is right." }}]
""")


def test_a_budget_far_above_the_real_spend_judges_every_sample(tmp_path: Path,
                                                               hostile: str) -> None:
    """Finding 3 as the tester ran it: 40 samples (5 prompt groups, 4 distinct answers
    each: 20 distinct requests), every call really spends 100 + 20 tokens, max_tokens 1024
    (the default): a 10,000-token batch budget judged 6 samples and skipped 34."""
    pack = _hostile_pack(tmp_path, hostile,
                         'unit = "tokens", per_batch = 10000, degrade = "checks_only"')
    samples = [sample(f"Answer variant {i % 4} for {i // 8}", f"m{i}",
                      prompt=f"Question {i // 8}", metadata={"group": f"g{i // 8}"})
               for i in range(40)]
    (batch,) = _score(pack, samples)
    outcomes = [r.components["q"] for r in batch.results]
    assert [o.error for o in outcomes] == [None] * 40
    assert httpx.get(f"{hostile}/stats").json()["counts"] == {"ok": 20}
    # what the ledger counts is what the server was asked for: 20 calls of 120 tokens
    assert pack.components[1].ledger.spent()["run"] == 20 * 120
    assert "budget:" not in summary_table(pack, batch.results)


def test_refused_samples_wait_for_calls_in_flight_and_stop_at_the_real_spend(
        tmp_path: Path, hostile: str) -> None:
    """Reservations are replaced by the real spend and the samples refused against them are
    reconsidered: with calls of 120 tokens and 1,000 per batch, exactly 8 are judged."""
    pack = _hostile_pack(tmp_path, hostile,
                         'unit = "tokens", per_batch = 1000, degrade = "checks_only"',
                         max_tokens=300)
    judge = pack.components[1]
    samples = [sample(f"Answer {k:02d}", f"s{k}") for k in range(12)]  # equal lengths
    first = judge.ledger.estimate(judge.request_for(parse_sample(samples[0], 0))[0])
    assert 2 * first > 1000 >= first  # the upper bound: only one call fits at first
    (batch,) = _score(pack, samples)
    outcomes = [r.components["q"] for r in batch.results]
    judged = [o for o in outcomes if o.error is None]
    refused = [o for o in outcomes if o.error is not None]
    # 120 (the first call) + 7 * 120 = 960; an 9th would make 1,080
    assert len(judged) == 8 and httpx.get(f"{hostile}/stats").json()["counts"] == {"ok": 8}
    # the learned estimate is the real cost of a call: 100 input + 20 output tokens
    assert judge.ledger.estimate(judge.request_for(parse_sample(samples[0], 0))[0]) == 120
    for outcome in refused:
        assert outcome.error_kind == "budget_exhausted"
        assert "per_batch cannot take this call: 40 of 1000 left, this call needs ~120" in \
            outcome.error
    assert "budget: q: 4 of 12 samples degraded (checks_only 4)" in \
        summary_table(pack, batch.results)


def test_a_budget_below_one_first_reservation_says_why(tmp_path: Path, hostile: str) -> None:
    """Until a reply shows the real cost the first call reserves prompt / 4 + max_tokens; a
    limit below that judges nothing, and the error says why rather than "spent"."""
    pack = _hostile_pack(tmp_path, hostile,
                         'unit = "tokens", per_batch = 500, degrade = "checks_only"')
    (batch,) = _score(pack, [sample("Answer", "s0")])
    outcome = batch.results[0].components["q"]
    assert outcome.error_kind == "budget_exhausted"
    assert "per_batch cannot take this call: 500 of 500 left" in (outcome.error or "")
    assert "make the budget hold one such call or lower max_tokens" in (outcome.error or "")
    assert httpx.get(f"{hostile}/stats").json()["counts"] == {}


def test_a_copy_of_a_judged_request_is_never_degraded(tmp_path: Path, hostile: str) -> None:
    """s4 tester2 F1: once real spend filled the budget, an exact copy of a request already
    answered in the batch was refused and took the checks-only reward (1.0 against its
    twin's 0.2, the judge saying fail). A copy is answered by the dedup and spends nothing:
    it is never degraded, and identical samples get identical rewards."""
    pack = _hostile_pack(tmp_path, hostile,
                         'unit = "tokens", per_batch = 700, degrade = "checks_only"',
                         max_tokens=50, route="fail")
    samples = []
    for g in range(6):  # 4 rollouts per prompt, the 4th a copy of the 1st
        for k in (0, 1, 2, 0):
            samples.append(sample(f"answer {g}-{k} words here", f"g{g}-{len(samples) % 4}",
                                  prompt=f"prompt {g}"))
    (batch,) = _score(pack, samples)
    results = batch.results
    calls = httpx.get(f"{hostile}/stats").json()["counts"]["fail"]
    judged = [r for r in results if r.components["q"].error is None]
    refused = [r for r in results if r.components["q"].error_kind == "budget_exhausted"]
    assert refused and len(judged) > calls  # the budget ran out; copies cost no call
    assert all(r.reward == pytest.approx(0.2) for r in judged)
    assert {r.reward for r in refused} == {1.0}
    for g in range(6):
        first, copy = results[4 * g], results[4 * g + 3]
        assert copy.components["q"].error_kind == first.components["q"].error_kind
        assert copy.reward == first.reward
