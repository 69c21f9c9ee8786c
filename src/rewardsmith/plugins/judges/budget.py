"""Judge cost budgets: a limit per batch and per run, and a declared way to degrade when it
runs out.

A rubric judge with a ``budget`` table counts what its calls spend, in tokens (input +
output, as the service reports them) or US dollars (the backend's price table, or the
``price_per_1k_*`` settings). Before each call it *reserves* an estimate, so calls started
together cannot all slip under the limit; the reservation is replaced by the real spend
when the reply arrives. Until the first reply the estimate is the upper bound (the
prompt's characters / 4 plus ``max_tokens``, priced like a reply); after it, the estimate
is learned from the replies' usage (the largest ratio of real input tokens to characters /
4 and the largest output seen per call, never above ``max_tokens``), so a judge that
answers in 100 tokens is not budgeted as if it used all 1,024. A sample whose estimate does
not fit only because of calls still in flight waits for them to settle and is reconsidered
(their real spend is usually far below their reservation); only a sample that cannot fit
the limit given what is really spent takes the declared degrade path:

``cheaper_judge``
    the sample is judged by ``cheaper`` (overrides of the ``[judge]`` table, e.g. a smaller
    model), whose spend is counted too but never blocked;
``fewer_criteria``
    the sample is judged on the ``max_criteria`` heaviest criteria only (pack order among
    equal weights), one shorter call;
``group_mean``
    a prompt group with fewer than ``judge_per_group`` judged samples in the batch gets
    that many judged (beyond the budget, counted); the rest fail with kind
    ``budget_exhausted`` and, as the component's ``on_error = "group_mean"`` requires,
    take the mean of their group's judged values;
``checks_only``
    the judge is not called; the sample fails with kind ``budget_exhausted`` and, with
    ``on_error = "abstain"``, its reward comes from the other (check) components.

Degrading is never silent: every degraded sample carries ``budget_degraded`` (the path) in
its measurements (or its error names the budget), the batch telemetry counts
``budget_degraded`` under ``judge_stats``, the ``budget_exhausted`` failures are counted
per component like any failure, and ``rewardsmith score``'s summary has a ``budget`` line
per component counting its degraded samples per path (:mod:`rewardsmith.report.summary`).

A learned estimate can be below a later call's real spend (a longer reply than any seen),
so a budget may be overshot by at most that difference for the calls in flight; the
reservation keeps calls started together from overshooting by more.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rewardsmith.core.errors import ComponentError
from rewardsmith.core.judge_sends import SendMeter, metered
from rewardsmith.core.judging import JudgeRequest
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.core.telemetry import BatchTelemetry, current_telemetry
from rewardsmith.plugins.backends._pricing import estimate_cost, unpriced_settings
from rewardsmith.plugins.judges.calling import CallStats
from rewardsmith.plugins.judges.rubric import Criterion

if TYPE_CHECKING:  # the rubric judge imports this module
    from rewardsmith.plugins.judges.rubric_judge import RubricJudge

BUDGET_EXHAUSTED = "budget_exhausted"  # a plugin error kind (docs/writing-plugins.md)
DegradePath = Literal["cheaper_judge", "fewer_criteria", "group_mean", "checks_only"]
_REQUIRED_POLICY = {"group_mean": "group_mean", "checks_only": "abstain"}
_BATCHES_KEPT = 64  # batch ledgers remembered (concurrent batches of a long-lived scorer)
_FAILURES_KEPT = 4096  # failed calls remembered, for their followers to find


class JudgeBudget(BaseModel):
    """A rubric judge's ``budget`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    unit: Literal["tokens", "usd"] = Field(
        default="usd", description="What the limits count: tokens (input + output) or US "
        "dollars from the price table.")
    per_batch: float | None = Field(default=None, gt=0, description="Limit per scored batch.")
    per_run: float | None = Field(default=None, gt=0, description="Limit over the scorer's "
                                  "life (a training run, a CLI invocation, a warm Lambda).")
    degrade: DegradePath = Field(description="What a sample gets once the budget is spent.")
    cheaper: dict[str, Any] = Field(
        default_factory=dict, description="cheaper_judge: overrides of the [judge] table "
        "(e.g. {model = \"small\"}).")
    max_criteria: int | None = Field(default=None, ge=1, description="fewer_criteria: how "
                                     "many criteria (the heaviest) are still judged.")
    judge_per_group: int = Field(default=1, ge=1, description="group_mean: samples per "
                                 "prompt group still judged once the budget is spent.")

    @model_validator(mode="after")
    def _check(self) -> JudgeBudget:
        if self.per_batch is None and self.per_run is None:
            raise ValueError("a budget needs per_batch, per_run or both")
        if self.degrade == "cheaper_judge" and not self.cheaper:
            raise ValueError("degrade = 'cheaper_judge' needs a 'cheaper' judge table inside "
                             "this budget table, e.g. budget = { ..., degrade = "
                             "\"cheaper_judge\", cheaper = { model = \"small\" } }")
        if self.degrade == "fewer_criteria" and self.max_criteria is None:
            raise ValueError("degrade = 'fewer_criteria' needs max_criteria inside this "
                             "budget table, e.g. budget = { ..., degrade = \"fewer_criteria\", "
                             "max_criteria = 2 }")
        return self

    def check_prices(self, settings: dict[str, Any], cheaper: dict[str, Any] | None) -> None:
        """A ``usd`` budget must be able to price every call it counts: the judge's model
        and, with ``cheaper_judge``, the cheaper one's (``settings``/``cheaper``: merged
        judge tables). Raises ValueError naming the model and the settings to add; an
        unpriced model would count $0 a call and never reach any limit (finding F6)."""
        if self.unit != "usd":
            return
        tables = [("the judge", settings, "the [judge] table (or the component's judge "
                   "table)")]
        if self.degrade == "cheaper_judge" and cheaper is not None:
            tables.append(("the cheaper judge", cheaper, "the budget's cheaper table"))
        for who, cfg, where in tables:
            model = str(cfg.get("model", ""))
            missing = unpriced_settings(model, cfg.get("price_per_1k_input"),
                                        cfg.get("price_per_1k_output"))
            if missing:
                raise ValueError(
                    f"budget unit = 'usd' cannot price {who}'s model {model!r}: it is not in "
                    f"the price table and {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not set, so every call would "
                    f"cost $0 and the budget would never limit anything; set "
                    f"price_per_1k_input and price_per_1k_output (USD per 1,000 tokens) in "
                    f"{where}, or use unit = 'tokens'")

    def check_policy(self, on_error: str) -> None:
        """The component's ``on_error`` that this degrade path relies on; ValueError else."""
        needed = _REQUIRED_POLICY.get(self.degrade)
        if needed is not None and on_error != needed:
            raise ValueError(f"budget degrade = {self.degrade!r} needs on_error = {needed!r} "
                             f"(got {on_error!r}): the unjudged samples are filled that way")


@dataclass
class _Ledger:
    """Spent and reserved amounts (tokens or US dollars) and judged samples per group."""

    spent: float = 0.0
    reserved: float = 0.0
    judged_per_group: dict[str, int] = field(default_factory=dict)


class BudgetLedger:
    """What one judge component has spent and reserved, per batch and over its life.

    Thread-safe (a sync scorer may run batches from several threads)."""

    def __init__(self, budget: JudgeBudget, settings: dict[str, Any]) -> None:
        self.budget = budget
        self.settings = settings
        self._run = _Ledger()
        # Keyed by the batch's telemetry object, which lives exactly as long as its batch;
        # the object is kept alongside so its id cannot be reused while remembered.
        self._batches: OrderedDict[int, tuple[BatchTelemetry, _Ledger]] = OrderedDict()
        self._lock = threading.Lock()
        # Learned from the replies (None until the first one): the largest ratio of real
        # input tokens to characters / 4, and the largest output of one call.
        self._input_ratio: float | None = None
        self._output_tokens: int | None = None
        # Samples waiting for calls in flight to settle, woken on every settle (their loop
        # may be another thread's: a sync scorer runs batches from several threads).
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        # Failed calls already charged, by the backend's exception (kept referenced so an
        # id is not reused while remembered): joined requests share one (charge_failure).
        self._failures: OrderedDict[int, tuple[BaseException, float]] = OrderedDict()

    def _batch(self, telemetry: BatchTelemetry) -> _Ledger:
        entry = self._batches.get(id(telemetry))
        if entry is None or entry[0] is not telemetry:
            entry = (telemetry, _Ledger())
            self._batches[id(telemetry)] = entry
            while len(self._batches) > _BATCHES_KEPT:
                self._batches.popitem(last=False)
        return entry[1]

    def estimate(self, request: JudgeRequest, settings: dict[str, Any] | None = None) -> float:
        """What a call on ``request`` may cost, in the budget's unit: input tokens estimated
        as characters / 4, output as the judge's ``max_tokens``; once replies came back
        (the judge's own settings only), both as learned from their usage (:meth:`learn`)."""
        cfg = settings or self.settings
        input_tokens = math.ceil((len(request.system) + len(request.user)) / 4)
        if settings is None and self._input_ratio is not None:
            input_tokens = math.ceil(input_tokens * self._input_ratio)
        return self.amount(input_tokens, self.output_estimate(settings), 0.0, cfg)

    @property
    def learned(self) -> bool:
        """Whether a reply has taught the estimate the real cost of a call yet."""
        return self._output_tokens is not None

    def learn(self, request: JudgeRequest, stats: CallStats) -> None:
        """Fold the usage of a judged call into the estimate (replies that report no
        tokens, or were answered from the cache or dedup, teach nothing)."""
        if stats.calls < 1 or stats.output_tokens <= 0 or stats.input_tokens <= 0:
            return
        chars = max(1, math.ceil((len(request.system) + len(request.user)) / 4))
        ratio = stats.input_tokens / stats.calls / chars
        output = math.ceil(stats.output_tokens / stats.calls)
        with self._lock:
            self._input_ratio = max(self._input_ratio or 0.0, ratio)
            self._output_tokens = max(self._output_tokens or 0, output)

    def amount(self, input_tokens: int, output_tokens: int, cost_usd: float,
               settings: dict[str, Any] | None = None) -> float:
        """Spend in the budget's unit: tokens, or dollars (the reply's cost when the backend
        priced it, else the price table)."""
        if self.budget.unit == "tokens":
            return float(input_tokens + output_tokens)
        if cost_usd > 0:
            return cost_usd
        cfg = settings or self.settings
        return estimate_cost(str(cfg.get("model", "")), input_tokens, output_tokens,
                             cfg.get("price_per_1k_input"), cfg.get("price_per_1k_output"))

    def spend_of(self, stats: CallStats, settings: dict[str, Any] | None = None) -> float:
        """What the calls in ``stats`` really spent, in the budget's unit (replies answered
        from the cache or by an identical request's call spent nothing)."""
        return self.amount(stats.input_tokens, stats.output_tokens,
                           stats.cost_usd, settings)

    def reserve(self, estimate: float) -> str | None:
        """Reserve ``estimate``; returns None, or which limit it would break (``per_batch``
        or ``per_run``, counting what is reserved by calls in flight) and reserves
        nothing."""
        broken, _ = self._try_reserve(estimate, wait=False)
        return broken

    async def admit(self, estimate: float | None = None, *,
                    request: JudgeRequest | None = None) -> tuple[str | None, float]:
        """Reserve a call's estimate, waiting while only calls in flight stand in the way.

        ``request``: the estimate is (re)computed from it on each try, so a sample that
        waited is reconsidered with what the replies taught. Returns ``(None, estimate)``
        once reserved, or ``(limit, estimate)`` when the limit (``per_batch``/``per_run``)
        cannot fit it given what is really spent: nothing is reserved then."""
        while True:
            if request is not None:
                estimate = self.estimate(request)
            assert estimate is not None
            broken, wake = self._try_reserve(estimate, wait=True)
            if wake is None:
                return broken, estimate
            await wake

    def _try_reserve(self, estimate: float, *, wait: bool
                     ) -> tuple[str | None, asyncio.Future[None] | None]:
        budget = self.budget
        with self._lock:
            batch = self._batch(current_telemetry())
            for name, limit, ledger in (("per_batch", budget.per_batch, batch),
                                        ("per_run", budget.per_run, self._run)):
                if limit is None or ledger.spent + ledger.reserved + estimate <= limit:
                    continue
                if wait and ledger.reserved > 0 and ledger.spent + estimate <= limit:
                    # Only calls in flight are in the way, and they usually spend far less
                    # than they reserved: wait for one to settle, then try again.
                    loop = asyncio.get_running_loop()
                    wake: asyncio.Future[None] = loop.create_future()
                    self._waiters.append((loop, wake))
                    return name, wake
                return name, None
            batch.reserved += estimate
            self._run.reserved += estimate
            return None, None

    def settle(self, reserved: float, spent: float) -> None:
        """Replace a reservation by what the call really spent (also unreserved calls:
        ``reserved = 0``), and wake the samples waiting to be reconsidered."""
        with self._lock:
            batch = self._batch(current_telemetry())
            for ledger in (batch, self._run):
                ledger.reserved = max(0.0, ledger.reserved - reserved)
                ledger.spent += spent
            waiters, self._waiters = self._waiters, []
        for loop, wake in waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop: its batch is gone
                loop.call_soon_threadsafe(_wake, wake)

    def reserve_unblocked(self, amount: float) -> None:
        """Reserve ``amount`` for a request that is sent whatever the limits say (a call's
        repair turn), so samples admitted meanwhile count it."""
        with self._lock:
            self._batch(current_telemetry()).reserved += amount
            self._run.reserved += amount

    def output_estimate(self, settings: dict[str, Any] | None = None) -> int:
        """The output tokens a reply may use: the largest seen (the judge's own settings,
        once a reply came back), else ``max_tokens``."""
        cfg = settings or self.settings
        output_tokens = int(cfg.get("max_tokens") or 1024)
        if settings is None and self._output_tokens is not None:
            output_tokens = min(output_tokens, self._output_tokens)
        return output_tokens

    def charge_failure(self, failure: BaseException, amount: float) -> float:
        """What to charge for a sample whose call failed with ``failure`` (the backend's
        own exception) and spent ``amount`` by its own accounting: the samples that joined
        one failed request (de-duplication) all receive it, and together are charged what
        its most complete account says, once."""
        with self._lock:
            seen = self._failures.get(id(failure))
            charged = seen[1] if seen is not None and seen[0] is failure else 0.0
            self._failures[id(failure)] = (failure, max(charged, amount))
            self._failures.move_to_end(id(failure))
            while len(self._failures) > _FAILURES_KEPT:
                self._failures.popitem(last=False)
        return max(0.0, amount - charged)

    def remaining(self) -> dict[str, float | None]:
        """What is left of each limit given the real spend (None: no such limit)."""
        with self._lock:
            batch = self._batch(current_telemetry())
            return {"per_batch": None if self.budget.per_batch is None
                    else self.budget.per_batch - batch.spent,
                    "per_run": None if self.budget.per_run is None
                    else self.budget.per_run - self._run.spent}

    def admit_to_group(self, group_key: str, *, within_budget: bool = False) -> bool:
        """Count a sample of ``group_key`` judged in this batch. Within the budget it always
        is; on the group_mean path only while its group has fewer than
        ``judge_per_group`` judged samples."""
        with self._lock:
            batch = self._batch(current_telemetry())
            seen = batch.judged_per_group.get(group_key, 0)
            if not within_budget and seen >= self.budget.judge_per_group:
                return False
            batch.judged_per_group[group_key] = seen + 1
            return True

    def spent(self) -> dict[str, float]:
        """Spend of the current batch and of the run so far, in the budget's unit."""
        with self._lock:
            return {"batch": self._batch(current_telemetry()).spent, "run": self._run.spent}


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def heaviest(criteria: Sequence[Criterion], keep: int) -> list[Criterion]:
    """The ``keep`` criteria of largest weight, in their pack order (stable on ties)."""
    ranked = sorted(range(len(criteria)), key=lambda k: (-criteria[k].weight, k))[:keep]
    return [criteria[k] for k in sorted(ranked)]


async def _shares_reply(judge: RubricJudge, request: JudgeRequest) -> bool:
    """Whether the judge's backend answers ``request`` without a call of its own
    (``CachingBackend.shares_reply``; a backend without de-duplication never does)."""
    shares = getattr(judge.context.judge_backend(), "shares_reply", None)
    return shares is not None and bool(await shares(request))


def degraded_key(path: DegradePath) -> str:
    """The numeric measurement naming a budget's degrade path on every row of its judge:
    ``budget_degraded.<path>``, 1 on a degraded sample and 0 on one judged within the
    budget. (``budget_degraded`` itself holds the path as text, which the Lambda's
    ``metrics_list`` cannot carry: only numbers reach the trainer.)"""
    return f"budget_degraded.{path}"


def _root_failure(error: BaseException) -> BaseException:
    """The backend's own exception behind a judge error: de-duplicated requests share one
    (``core/judge_cache.py``), each sample raising its own copy ``from`` it."""
    root = error
    cause = error.__cause__
    while isinstance(cause, ComponentError):
        root, cause = cause, cause.__cause__
    return root


class _Call:
    """One judge call of one sample under the budget: what it reserved and what it really
    sent (:class:`~rewardsmith.core.judge_sends.SendMeter`, filled by the network backend
    for this task only, so an answer shared by de-duplication is never charged twice)."""

    def __init__(self, ledger: BudgetLedger, request: JudgeRequest,
                 settings: dict[str, Any] | None, reserved: float) -> None:
        self.ledger = ledger
        self.settings = settings
        self.reserved = reserved  # held until settled (0 on a degrade path)
        # What a request in flight may cost: the admission's reservation, or (degrade
        # paths reserve nothing) the estimate on the path's own settings.
        self.first = reserved if reserved > 0 else ledger.estimate(request, settings)
        self.pending = self.first
        self.meter = SendMeter(self._on_send)

    def _on_send(self, meter: SendMeter) -> None:
        if meter.last_usage is None:  # the first request (or a retry of a failed one)
            self.pending = self.first
            return
        # The repair turn re-sends the conversation so far (the prompt and the bad reply)
        # and asks for a new reply: reserved as it leaves (finding F10), so samples admitted
        # meanwhile see it; never blocked, as the call is already paid for.
        input_tokens, output_tokens = meter.last_usage
        estimate = self.ledger.amount(input_tokens + output_tokens,
                                      self.ledger.output_estimate(self.settings), 0.0,
                                      self.settings)
        self.pending = estimate
        if self.reserved > 0:
            self.ledger.reserve_unblocked(estimate)
            self.reserved += estimate

    def spend(self, stats: CallStats, error: BaseException | None) -> float:
        """What this call spent, in the budget's unit: the answers' usage, plus the estimate
        of a request sent and never answered (abandoned at the deadline, cancelled, timed
        out: the service may bill it, so it is charged, conservatively); a request answered
        by another sample's identical one spent nothing."""
        ledger, meter = self.ledger, self.meter
        if meter.sent:
            spent = ledger.amount(meter.input_tokens, meter.output_tokens, 0.0, self.settings)
            if meter.unanswered:
                spent += self.pending
        else:
            # Nothing sent from this task (a shared answer, a cache hit, or a backend that
            # does not report its requests): the judge's own accounting.
            spent = ledger.spend_of(stats, self.settings)
        if error is not None and not isinstance(error, asyncio.CancelledError):
            # A failed shared call reaches every sample that joined it: charged once.
            spent = ledger.charge_failure(_root_failure(error), spent)
        return spent


async def _judged(judge: RubricJudge, ledger: BudgetLedger, request: JudgeRequest,
                  criteria: Sequence[Criterion], settings: dict[str, Any] | None,
                  reserved: float, degraded: DegradePath | None) -> Score:
    """``judge_with`` metered: the call's real spend (and an abandoned request's estimate)
    replaces its reservation; the row says whether the budget degraded it."""
    call = _Call(ledger, request, settings, reserved)
    stats = CallStats()
    key = degraded_key(ledger.budget.degrade)
    flag = 0.0 if degraded is None else 1.0
    error: BaseException | None = None
    try:
        with metered(call.meter):
            score = await judge.judge_with(judge.context.judge_backend(settings), request,
                                           criteria, stats)
    except ComponentError as exc:
        error = exc
        exc.measurements[key] = flag  # a copy of this sample's own (calling.with_stats)
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        if degraded is None:
            ledger.learn(request, stats)
        ledger.settle(call.reserved, call.spend(stats, error))
    score.measurements[key] = flag
    return score


async def budgeted_score(judge: RubricJudge, sample: Sample) -> Score:
    """A rubric judge's score under its budget (see the module docstring).

    Raises ComponentError(kind ``budget_exhausted``) for samples the ``group_mean`` and
    ``checks_only`` paths leave unjudged, and the judge's own errors otherwise.
    """
    ledger = judge.ledger
    assert ledger is not None
    budget = ledger.budget
    cid = judge.config.id
    telemetry = current_telemetry()
    request, criteria = judge.request_for(sample)
    broken, estimate = await ledger.admit(request=request)
    if broken is not None and await _shares_reply(judge, request):
        # Answered by a call already made or being made (dedup, cache): it spends nothing,
        # so it is never degraded (identical samples get identical rewards).
        broken, estimate = None, 0.0
    if broken is None:
        telemetry.record_judge_stat(cid, "budget_degraded", 0.0)
        ledger.admit_to_group(sample.group_key, within_budget=True)
        return await _judged(judge, ledger, request, criteria, None, estimate, None)

    telemetry.record_judge_stat(cid, "budget_degraded", 1.0)
    spent = ledger.spent()
    limit = budget.per_batch if broken == "per_batch" else budget.per_run
    left = ledger.remaining()[broken] or 0.0
    note = (f"the {budget.unit} budget {broken} cannot take this call: {max(0.0, left):.6g} of "
            f"{limit:.6g} left, this call needs ~{estimate:.6g} (spent: batch "
            f"{spent['batch']:.6g}, run {spent['run']:.6g})")
    if not ledger.learned and limit is not None and estimate > limit:
        note += ("; until a reply shows the real cost a call reserves its prompt / 4 + "
                 "max_tokens, more than the whole limit: make the budget hold one such call "
                 "or lower max_tokens")
    path = budget.degrade
    settings = judge.context.judge_defaults
    kept = criteria
    # An unjudged sample's row says the budget, not an outage, left it unjudged.
    unjudged = {degraded_key(path): 1.0}
    if path == "checks_only":
        raise ComponentError(f"{note}: judge skipped, the reward comes from the other "
                             "components", kind=BUDGET_EXHAUSTED, measurements=unjudged)
    if path == "group_mean" and not ledger.admit_to_group(sample.group_key):
        raise ComponentError(f"{note}: not judged, the sample takes its group's mean",
                             kind=BUDGET_EXHAUSTED, measurements=unjudged)
    if path == "cheaper_judge":
        settings = judge.cheaper_settings
    elif path == "fewer_criteria":
        assert budget.max_criteria is not None
        kept = heaviest(criteria, budget.max_criteria)
        request, _ = judge.request_for(sample, kept)
    # Degraded calls are counted, never blocked: the path is what the pack chose to pay.
    score = await _judged(judge, ledger, request, kept, settings, 0.0, path)
    score.measurements["budget_degraded"] = path
    score.details["budget"] = {"degraded": path, "limit": broken, "note": note,
                               "model": settings.get("model"),
                               "criteria": [c.id for c in kept]}
    return score
