"""What a judge budget charges is what the server was sent (s5 tester F1, F3, F10), a USD
budget that cannot price its model fails at load (F6), and a degraded row says so in
numbers the trainer sees (F7). Against the Converse simulator, through boto3."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.support.aws_lambda import FakeContext, metrics_of, validate_answer
from tests.support.judge_models import sim_pack

from rewardsmith import Scorer
from rewardsmith.aws_lambda import make_handler
from rewardsmith.aws_lambda.observability import MetricsConfig, emf_document, invocation_metrics
from rewardsmith.core.errors import PackError
from rewardsmith.core.sample import make_sample, parse_sample
from rewardsmith.core.telemetry import BatchTelemetry, bind_telemetry, unbind_telemetry
from rewardsmith.core.wire import lambda_row
from rewardsmith.plugins.backends._pricing import estimate_cost, table_prices
from rewardsmith.simulators.converse_sim import ConverseSimulator
from rewardsmith.simulators.faults import FaultPolicy
from rewardsmith.simulators.wiring import bedrock_settings


class CountingConverse(ConverseSimulator):
    """The Converse simulator, counting the tokens its answers reported (what Bedrock would
    bill) and holding repair turns (a third message) while ``hold_repairs`` is clear."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.served = 0
        self.repair_arrived = threading.Event()
        self.hold_repairs: threading.Event | None = None
        self._served_lock = threading.Lock()

    def handle(self, path: str, headers: dict[str, str], body: Any, fault: str) -> Any:
        if self.hold_repairs is not None and isinstance(body, dict) and \
                len(body.get("messages") or ()) >= 3:
            self.repair_arrived.set()
            self.hold_repairs.wait(30)
        return super().handle(path, headers, body, fault)

    def _answer(self, request: Any, body: dict[str, Any], fault: str) -> dict[str, Any]:
        out = super()._answer(request, body, fault)
        with self._served_lock:
            self.served += out["usage"]["inputTokens"] + out["usage"]["outputTokens"]
        return out


@pytest.fixture
def counting(aws_dummy_env: None) -> Any:
    with CountingConverse() as sim:
        yield sim


COMPONENTS = """
[[components]]
id = "length"
type = "length"
unit = "words"
max = 50

[[components]]
id = "review"
type = "rubric-judge"
include_reference = true
on_error = "abstain"
budget = {{ {budget} }}
criteria = [{{ id = "correct", pass_if = "The answer is right.", weight = 2 }},
            {{ id = "polite", pass_if = "Polite." }}]
"""


def _pack(tmp_path: Path, sim: Any, budget: str, **judge: Any) -> Any:
    return sim_pack(tmp_path, bedrock_settings(sim.endpoint_url, **judge),
                    COMPONENTS.format(budget=budget))


def _samples(prompts: int, per_prompt: int, distinct: int, tag: str = "") -> list[Any]:
    """``per_prompt`` rollouts per prompt, ``distinct`` different answers among them (the
    others are copies: identical judge requests, shared by de-duplication)."""
    return [make_sample(f"Question {p}{tag}: what is {p}+{p}?",
                        f"Answer {k % distinct} to question {p}: {2 * p + k % distinct % 2}.",
                        reference=str(2 * p), id=f"p{p}-{k}{tag}")
            for p in range(prompts) for k in range(per_prompt)]


def _score(pack: Any, samples: list[Any]) -> Any:
    scorer = Scorer(pack)
    try:
        return scorer.score(samples, timeout_s=60)
    finally:
        scorer.close()


def _ledger(pack: Any) -> Any:
    return next(c for c in pack.components if c.config.id == "review").ledger


@pytest.mark.parametrize("per_batch", [1_000_000, 30_000])
def test_a_failed_shared_call_is_charged_once(tmp_path: Path, counting: Any,
                                              per_batch: int) -> None:
    """F1: every reply malformed (repair turn included), 8 prompts x 8 rollouts with 2
    distinct answers each. Each sample that joined a failed request was charged its tokens
    again: the ledger said 28,536 spent when the server had served 17,439, and 46 samples
    took the checks-only reward with 42% of the budget unspent."""
    counting.configure(FaultPolicy(malformed_rate=1.0))
    pack = _pack(tmp_path, counting,
                 f'unit = "tokens", per_batch = {per_batch}, degrade = "checks_only"')
    batch = _score(pack, _samples(8, 8, 2))
    ledger = _ledger(pack)
    assert counting.served > 0
    assert ledger.spent()["run"] == counting.served  # what the server answered, once
    kinds = Counter(r.components["review"].error_kind for r in batch.results)
    assert set(kinds) <= {"judge_parse", "budget_exhausted"}
    degraded = kinds["budget_exhausted"]
    if per_batch == 1_000_000:
        assert degraded == 0
    else:
        # Degraded only once the budget is really spent: what is left cannot take a call
        # (a call here is a prompt and its repair turn, ~1,600 tokens).
        assert degraded > 0
        call = max(r.components["review"].measurements["input_tokens"]
                   + r.components["review"].measurements["output_tokens"]
                   for r in batch.results if r.components["review"].error_kind == "judge_parse"
                   and r.components["review"].measurements.get("judge_calls"))
        assert per_batch - ledger.spent()["run"] < call
    summary = batch.telemetry.summary()
    assert summary["judge_stats"]["review"]["budget_degraded"]["n"] == 64


def test_a_request_abandoned_at_the_deadline_is_charged(tmp_path: Path, counting: Any
                                                         ) -> None:
    """F3: calls in flight at the Lambda deadline reached the server (which answers and
    bills them) but the ledger never charged them, so a per_run budget was overshot by 16%
    across warm invocations. A request sent and never answered keeps its reservation."""
    counting.configure(FaultPolicy(latency_s=1.0))
    per_run = 12_000
    pack = _pack(tmp_path, counting,
                 f'unit = "tokens", per_run = {per_run}, degrade = "checks_only"',
                 max_concurrency=4)
    handler = make_handler(pack, deadline_margin_s=0.5, metrics=False)
    ledger = _ledger(pack)
    for n, (remaining_ms, samples) in enumerate([(3000, 24), (60_000, 16), (60_000, 16)]):
        rollouts = _samples(samples // 4, 4, 4, tag=f"-i{n}")
        with contextlib.redirect_stdout(io.StringIO()):
            answer = handler(rollouts, FakeContext(remaining_ms))
        validate_answer(answer)
        if n == 0:
            abandoned = sum(metrics_of(row).get("deadline_abandoned", 0) for row in answer)
            assert abandoned > 0  # the deadline did cut calls in flight
    # Every request the server answered is in the ledger (those abandoned at their
    # reservation, an upper bound of their real cost), so the run never went past its limit.
    assert ledger.spent()["run"] >= counting.served
    assert counting.served <= per_run


def test_a_request_cut_by_the_components_time_limit_is_charged(tmp_path: Path,
                                                                counting: Any) -> None:
    """F3, the component's ``timeout_s``: the requests were sent (the server got them) and
    cut before their answers; each is charged its reservation (no reply ever taught the
    ledger a real cost, so the reservation is the upper bound: prompt / 4 + max_tokens)."""
    counting.configure(FaultPolicy(latency_s=2.0))
    pack = sim_pack(tmp_path, bedrock_settings(counting.endpoint_url, max_tokens=100),
                    COMPONENTS.format(budget='unit = "tokens", per_run = 100000, '
                                      'degrade = "checks_only"')
                    .replace('on_error = "abstain"', 'on_error = "abstain"\ntimeout_s = 0.5'))
    judge = next(c for c in pack.components if c.config.id == "review")
    rollouts = _samples(1, 2, 2)
    reservations = [judge.ledger.estimate(judge.request_for(parse_sample(r, k))[0])
                    for k, r in enumerate(rollouts)]
    batch = _score(pack, rollouts)
    assert [r.components["review"].error_kind for r in batch.results] == ["timeout"] * 2
    assert counting.request_count == 2  # both were sent
    assert judge.ledger.spent()["run"] == pytest.approx(sum(reservations))


def test_a_repair_turn_reserves_its_cost_as_it_leaves(tmp_path: Path, counting: Any) -> None:
    """F10: the reservation of a call covered one request; the repair turn re-sends the
    conversation, so calls in flight overshot a token budget by about a prompt each. While
    a repair is at the server, its cost is reserved: what the ledger can still promise
    others is smaller by it."""
    counting.script("malformed")  # the first reply needs the repair turn
    counting.hold_repairs = threading.Event()
    pack = _pack(tmp_path, counting, 'unit = "tokens", per_run = 100000, '
                 'degrade = "checks_only"', max_tokens=200)
    ledger = _ledger(pack)
    rollout = _samples(1, 1, 1)
    judge = next(c for c in pack.components if c.config.id == "review")
    first = ledger.estimate(judge.request_for(parse_sample(rollout[0], 0))[0])
    outcome: dict[str, Any] = {}
    scorer = Scorer(pack)
    try:
        worker = threading.Thread(
            target=lambda: outcome.setdefault("batch", scorer.score(rollout, timeout_s=60)))
        worker.start()
        try:
            assert counting.repair_arrived.wait(30)
            # Reserved now: the call's first estimate, and the repair turn's cost.
            room = 100_000 - first - 1
            token = bind_telemetry(BatchTelemetry())
            try:
                refused = ledger.reserve(room)
            finally:
                unbind_telemetry(token)
            if refused is None:
                ledger.settle(room, 0.0)
        finally:
            counting.hold_repairs.set()
            worker.join(60)
    finally:
        scorer.close()
    assert refused == "per_run"
    review = outcome["batch"].results[0].components["review"]
    assert review.error is None and review.measurements["judge_repairs"] == 1
    assert ledger.spent()["run"] == counting.served  # the reservation gave way to the spend


# -- F6: a USD budget must be able to price its calls ----------------------------------------
@pytest.mark.parametrize(("judge", "budget", "named"), [
    ({"model": "us.amazon.nova-2-pro-v1:0", "price_per_1k_input": None}, "",
     "the judge's model 'us.amazon.nova-2-pro-v1:0'"),
    ({"model": "qwen2.5-7b-instruct"}, "", "the judge's model 'qwen2.5-7b-instruct'"),
    ({"model": "my-judge", "price_per_1k_input": 0.001}, "",
     "price_per_1k_output is not set"),
    ({}, ', degrade = "cheaper_judge", cheaper = { model = "local-small" }',
     "the cheaper judge's model 'local-small'"),
])
def test_a_usd_budget_on_an_unpriced_model_fails_the_pack(tmp_path: Path, counting: Any,
                                                          judge: dict[str, Any], budget: str,
                                                          named: str) -> None:
    """F6: with no price every call cost $0 and the budget never limited anything: 48
    samples, per_batch = $0.001, 24 calls, none degraded, the ledger at $0.0."""
    settings = {k: v for k, v in judge.items() if v is not None}
    degrade = budget or ', degrade = "checks_only"'
    with pytest.raises(PackError) as err:
        _pack(tmp_path, counting, f'unit = "usd", per_batch = 0.001{degrade}', **settings)
    message = str(err.value)
    assert named in message
    assert "price_per_1k_input and price_per_1k_output" in message
    assert "unit = 'tokens'" in message


def test_a_usd_budget_on_nova_2_lite_limits_its_calls(tmp_path: Path, counting: Any) -> None:
    """Nova 2 Lite is priced (it matched no entry: `amazon.nova-lite` is not
    `amazon.nova-2-lite`), so its USD budget degrades samples once the dollars are spent."""
    pack = _pack(tmp_path, counting, 'unit = "usd", per_batch = 0.005, degrade = "checks_only"',
                 model="us.amazon.nova-2-lite-v1:0")
    batch = _score(pack, _samples(6, 8, 8))
    degraded = [r for r in batch.results
                if r.components["review"].error_kind == "budget_exhausted"]
    judged = [r for r in batch.results if r.components["review"].error is None]
    assert degraded and judged
    spent = _ledger(pack).spent()["run"]
    assert spent == pytest.approx(batch.telemetry.summary()["cost_usd"], abs=1e-6)
    assert 0 < spent <= 0.005


@pytest.mark.parametrize(("model", "prices"), [
    ("amazon.nova-2-lite-v1:0", (0.0003, 0.0025)),
    ("us.amazon.nova-2-lite-v1:0", (0.0003, 0.0025)),
    ("global.amazon.nova-2-lite-v1:0", (0.0003, 0.0025)),
    ("eu.amazon.nova-lite-v1:0", (0.00006, 0.00024)),
    ("apac.amazon.nova-micro-v1:0", (0.000035, 0.00014)),
    ("us.amazon.nova-premier-v1:0", (0.0025, 0.0125)),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
     (0.0008, 0.0032)),
    ("global.anthropic.claude-haiku-4-5-20251001-v1:0", (0.001, 0.005)),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", (0.003, 0.015)),
    ("openai.gpt-oss-20b-1:0", (0.00007, 0.0003)),
    ("qwen2.5-7b-instruct", None),
])
def test_the_price_table_matches_bedrock_ids_and_profiles(model: str,
                                                          prices: tuple[float, float] | None
                                                          ) -> None:
    assert table_prices(model) == prices


def test_an_unpriced_models_cost_is_said_not_silently_zero() -> None:
    telemetry = BatchTelemetry()
    token = bind_telemetry(telemetry)
    try:
        assert estimate_cost("local-judge", 1000, 100) == 0.0
        assert estimate_cost("local-judge", 1000, 100) == 0.0
        assert estimate_cost("openai.gpt-oss-120b-1:0", 1000, 100) > 0
        assert estimate_cost("other-local", 0, 0) == 0.0  # nothing counted, nothing said
    finally:
        unbind_telemetry(token)
    assert list(telemetry.judge_notices) == ["price:local-judge"]
    assert "has no known price" in telemetry.judge_notices["price:local-judge"]
    assert "price_per_1k_input / price_per_1k_output" in \
        telemetry.judge_notices["price:local-judge"]


# -- F7: a degraded row says so, in numbers --------------------------------------------------
@pytest.mark.parametrize("degrade", [
    'degrade = "cheaper_judge", cheaper = { model = "openai.gpt-oss-20b-1:0" }',
    'degrade = "checks_only"',
])
def test_a_degraded_lambda_row_says_so(tmp_path: Path, counting: Any, degrade: str,
                                      capfd: pytest.CaptureFixture[str]) -> None:
    """F7: the answer's rows carried no budget metric (``budget_degraded`` is text, which
    metrics_list drops): a cheaper-judged row looked normally judged, a checks-only row like
    a judge outage. Every row of a budgeted judge now has
    ``review.budget_degraded.<path>``, and the EMF document counts the degraded."""
    path = degrade.split('"')[1]
    pack = _pack(tmp_path, counting, f'unit = "tokens", per_batch = 4000, {degrade}')
    handler = make_handler(pack)
    capfd.readouterr()
    answer = handler(_samples(12, 4, 4), FakeContext(60_000))
    printed = capfd.readouterr().out
    validate_answer(answer)
    key = f"review.budget_degraded.{path}"
    flags = [metrics_of(row)[key] for row in answer]  # on every row
    assert set(flags) == {0.0, 1.0}
    degraded = [row for row in answer if metrics_of(row)[key] == 1.0]
    for row in degraded:
        metrics = metrics_of(row)
        if path == "checks_only":
            assert metrics["review.failed"] == 1.0  # as an outage's row, and told apart
        else:
            assert "review.failed" not in metrics and "review" in metrics
    emf = [json.loads(line) for line in printed.splitlines() if '"_aws"' in line]
    assert len(emf) == 1 and emf[0]["BudgetDegraded"] == len(degraded)
    names = [m["Name"] for m in emf[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert "BudgetDegraded" in names


def test_no_budget_metric_without_a_budget() -> None:
    from rewardsmith.aws_lambda.observability import InvocationRecord

    record = InvocationRecord(samples=2, summary={"judge_stats": {"j": {
        "jury_agreement": {"n": 2, "mean": 1.0}}}})
    assert "BudgetDegraded" not in [name for name, _, _ in invocation_metrics(record)]
    record.summary["judge_stats"]["k"] = {"budget_degraded": {"n": 3, "mean": 0.666667}}
    document = emf_document(record, MetricsConfig())
    assert document["BudgetDegraded"] == 2


def test_the_row_metric_reaches_the_wire_for_a_within_budget_failure(tmp_path: Path,
                                                                     counting: Any) -> None:
    """A sample judged within the budget whose judge failed says 0: its failure is the
    judge's, not the budget's."""
    counting.configure(FaultPolicy(malformed_rate=1.0))
    pack = _pack(tmp_path, counting, 'unit = "tokens", per_batch = 1000000, '
                 'degrade = "checks_only"')
    batch = _score(pack, _samples(1, 2, 2))
    for result in batch.results:
        assert result.components["review"].error_kind == "judge_parse"
        metrics = metrics_of(lambda_row(result, failure_reward=0.0))
        assert metrics["review.budget_degraded.checks_only"] == 0.0
        assert metrics["review.failed"] == 1.0
