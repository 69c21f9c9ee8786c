"""Run a pack's test suite: score every case, check its expectations, gather the metrics.

Each golden or probe case is scored as its own batch, each pair as one batch of its two
samples (so group components such as a pairwise tournament see both); batches run
concurrently on one event loop under the pack's own concurrency limits. The persistent
verdict cache is switched off for the run: a test must see the judge, not yesterday's
answers (record a cassette for repeatable offline runs instead).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rewardsmith.core.engine import Scorer
from rewardsmith.core.errors import ErrorKind, SampleError
from rewardsmith.core.pack import Pack
from rewardsmith.core.sample import parse_sample
from rewardsmith.core.wire import REWARD_KEY, TURN_REWARDS_KEY, jsonl_row, pack_ref_json
from rewardsmith.packtest.cassette import Cassette, recording, replaying
from rewardsmith.packtest.metrics import (
    Agreement,
    agreement,
    distribution,
    judge_health,
    normalise_label,
    observed_label,
)
from rewardsmith.packtest.suite import (
    Expectation,
    GoldenCase,
    LoadedCase,
    PairCase,
    ProbeCase,
    SuiteError,
)
from rewardsmith.packtest.verdicts import VerdictBook

BackendMode = Literal["pack", "simulator"]
_EPS = 1e-9


@dataclass
class CaseResult:
    name: str
    kind: str
    where: str
    passed: bool
    failures: list[str]
    rewards: dict[str, float]  # "reward", or "better"/"worse" for a pair
    rows: list[dict[str, Any]]
    category: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)  # as scored, ids filled in

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "where": self.where,
                               "passed": self.passed, "rewards": self.rewards}
        if self.category:
            out["category"] = self.category
        if self.failures:
            out["failures"] = self.failures
        out["observed"] = [_compact(row) for row in self.rows]
        return out


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    """A scored sample in a few keys: enough for a CI log or a diff between runs."""
    out: dict[str, Any] = {"id": row["id"], "reward": row[REWARD_KEY],
                           "status": row["status"]}
    if row.get("gate"):
        out["gate"] = row["gate"]
    out["components"] = {cid: o.get("value") for cid, o in (row.get("components") or {}).items()
                         if not o.get("skipped")}
    errors = {cid: o["error_kind"] for cid, o in (row.get("components") or {}).items()
              if o.get("error_kind")}
    if errors:
        out["errors"] = errors
    return out


@dataclass
class SuiteReport:
    pack: dict[str, str]
    backend: str
    cases: list[CaseResult]
    distributions: dict[str, dict[str, Any]]
    agreement: Agreement
    agreement_by_label: dict[str, Agreement]
    unanswered_labels: int
    judges: dict[str, Any]
    cassette: dict[str, Any] = field(default_factory=dict)
    #: Said once per run: permanent judge errors (the server's own message) and
    #: structured-output step-downs (``BatchTelemetry.judge_notices``).
    judge_notices: dict[str, str] = field(default_factory=dict)
    #: Judge components that judged no case at all (``JudgeOutage.to_json()`` by id).
    judge_outages: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every case passed, and no judge component failed on every case (unless the
        pack allows judge failures): a suite run without its judge proves nothing."""
        blocked = any(not o.get("allowed") for o in self.judge_outages.values())
        return all(c.passed for c in self.cases) and not blocked

    @property
    def failed_cases(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]

    def rows(self) -> list[dict[str, Any]]:
        return [row for case in self.cases for row in case.rows]

    def to_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "backend": self.backend,
            "passed": self.passed,
            "counts": {"cases": len(self.cases), "failed": len(self.failed_cases)},
            "cases": [c.to_json() for c in self.cases],
            "distributions": self.distributions,
            "agreement": {**self.agreement.to_json(),
                          "unanswered": self.unanswered_labels,
                          "by_label": {k: v.to_json()
                                       for k, v in sorted(self.agreement_by_label.items())}},
            "judges": self.judges,
            "cassette": self.cassette,
            "judge_notices": self.judge_notices,
            "judge_outages": self.judge_outages,
        }


# -- expectations -----------------------------------------------------------------------
def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.4f}"


def _observed(row: dict[str, Any]) -> str:
    """A compact picture of what happened, for a failure message."""
    parts = [f"reward {_fmt(row[REWARD_KEY])}", f"status {row['status']}"]
    if row.get("gate"):
        parts.append(f"gate {row['gate']}")
    if row.get("error"):
        parts.append(f"error {row['error']}")
    comps = []
    for cid, out in (row.get("components") or {}).items():
        if out.get("skipped"):
            continue
        text = f"{cid}={_fmt(out.get('value'))}"
        if out.get("passed") is False:
            text += "(failed)"
        if out.get("error_kind"):
            text += f"[{out['error_kind']}]"
        comps.append(text)
    if comps:
        parts.append("components " + " ".join(comps))
    return "; ".join(parts)


def check_expectation(expect: Expectation, row: dict[str, Any]) -> list[str]:
    """Every way ``row`` misses ``expect``, as 'expected ..., observed ...' sentences."""
    failures: list[str] = []
    reward = float(row[REWARD_KEY])
    seen = _observed(row)
    if expect.reward is not None:
        low, high = expect.reward
        if not low - _EPS <= reward <= high + _EPS:
            failures.append(f"expected reward in [{low}, {high}], observed {seen}")
    if expect.reward_below is not None and not reward < expect.reward_below:
        failures.append(f"expected reward < {expect.reward_below}, observed {seen}")
    if expect.reward_above is not None and not reward > expect.reward_above:
        failures.append(f"expected reward > {expect.reward_above}, observed {seen}")
    if expect.status is not None and row["status"] != expect.status:
        failures.append(f"expected status {expect.status}, observed {seen}")
    if expect.gate is not None and row.get("gate") != expect.gate:
        failures.append(f"expected gate {expect.gate!r} to decide, observed {seen}")
    if expect.turn_rewards is not None:
        got = row.get(TURN_REWARDS_KEY)
        if got is None or len(got) != len(expect.turn_rewards) or any(
                abs(g - w) > _EPS for g, w in zip(got, expect.turn_rewards, strict=True)):
            failures.append(f"expected turn rewards {expect.turn_rewards}, observed {got}")
    components = row.get("components") or {}
    for cid, want in expect.components.items():
        out = components.get(cid)
        if out is None:
            failures.append(f"expected component {cid!r}, but the pack has no such component")
            continue
        value = out.get("value")
        if out.get("skipped") and (want.min is not None or want.max is not None
                                   or want.passed is not None or want.value is not None):
            failures.append(f"expected component {cid!r} to run, observed it skipped ({seen})")
            continue
        if want.passed is not None and out.get("passed") is not want.passed:
            failures.append(f"expected {cid}.passed = {want.passed}, observed "
                            f"{out.get('passed')} ({out.get('rationale', '')[:200]})")
        if want.min is not None and (value is None or value < want.min - _EPS):
            failures.append(f"expected {cid} >= {want.min}, observed {_fmt(value)}")
        if want.max is not None and (value is None or value > want.max + _EPS):
            failures.append(f"expected {cid} <= {want.max}, observed {_fmt(value)}")
        if want.value is not None and (value is None or abs(value - want.value) > _EPS):
            failures.append(f"expected {cid} = {want.value}, observed {_fmt(value)}")
    for cid, out in components.items():
        if out.get("error_kind") == ErrorKind.CASSETTE_MISS:
            failures.append(f"{cid}: {out.get('error')}")
    return failures


def check_pair(case: PairCase, better: dict[str, Any], worse: dict[str, Any]) -> list[str]:
    """Why a ranked pair failed (empty list: it passed): ``better``'s reward not above
    ``worse``'s by the case's margin (strictly above for margin 0), and every cassette miss.
    ``better``/``worse`` are wire rows with ``aggregate_reward_score`` and ``components``."""
    b, w = float(better[REWARD_KEY]), float(worse[REWARD_KEY])
    ok = b - w > 0 if case.margin == 0 else b - w >= case.margin - _EPS
    failures = []
    if not ok:
        need = "strictly above" if case.margin == 0 else f"at least {case.margin} above"
        failures.append(f"expected 'better' {need} 'worse', observed better: {_observed(better)}"
                        f" | worse: {_observed(worse)}")
    for side, row in (("better", better), ("worse", worse)):
        for cid, out in (row.get("components") or {}).items():
            if out.get("error_kind") == ErrorKind.CASSETTE_MISS:
                failures.append(f"{side}: {cid}: {out.get('error')}")
    return failures


# -- simulator --------------------------------------------------------------------------
def _response_text(raw: dict[str, Any], pack: Pack) -> str | None:
    try:
        sample = parse_sample(raw, 0, strip_reasoning_wrappers=pack.meta.strip_reasoning)
    except SampleError:
        return None
    return sample.response


def _fingerprints(raw: dict[str, Any]) -> list[str]:
    try:
        sample = parse_sample(raw, 0)
    except SampleError:
        return []
    texts = [sample.prompt_text()]
    if sample.reference_text:
        texts.append(sample.reference_text)
    return [t for t in texts if t]


def verdict_book(pack: Pack, cases: Sequence[LoadedCase]) -> VerdictBook:
    """The scripted judge verdicts of every case, by the response text the judge sees
    (both sides of a pair), which :func:`simulated_judges` answers from."""
    book = VerdictBook(
        pairwise_ids=frozenset(c.config.id for c in pack.components
                               if c.config.type == "pairwise-judge"),
        listwise_ids=frozenset(c.config.id for c in pack.components
                               if c.config.type == "listwise-judge"))
    for loaded in cases:
        case = loaded.case
        if isinstance(case, PairCase):
            entries = [(case.better, case.verdicts.better), (case.worse, case.verdicts.worse)]
        else:
            entries = [(case.sample, case.verdicts)]
        for raw, verdicts in entries:
            text = _response_text(raw, pack)
            if text is not None:
                book.add(text, verdicts, case.name, _fingerprints(raw))
    return book


@contextlib.contextmanager
def simulated_judges(pack: Pack, book: VerdictBook, *, use_verdicts: bool = True
                     ) -> Iterator[Any]:
    """Point the pack's judge backend at an in-process simulator answering from ``book``
    (:func:`rewardsmith.simulators.session.simulated_judges`)."""
    from rewardsmith.simulators.session import simulated_judges as session

    with session(pack, policy=book if use_verdicts else None, error=SuiteError) as simulator:
        yield simulator


# -- the run ----------------------------------------------------------------------------
def _with_id(raw: dict[str, Any], default: str) -> dict[str, Any]:
    return raw if "id" in raw else {**raw, "id": default}


def case_batches(cases: Sequence[LoadedCase]) -> list[list[dict[str, Any]]]:
    """One scoring batch a case, in case order: ``[sample]``, or ``[better, worse]`` for a
    pair; a sample without an ``id`` gets the case name (``name/better``, ``name/worse``)."""
    batches: list[list[dict[str, Any]]] = []
    for loaded in cases:
        case = loaded.case
        if isinstance(case, PairCase):
            batches.append([_with_id(case.better, f"{case.name}/better"),
                            _with_id(case.worse, f"{case.name}/worse")])
        else:
            batches.append([_with_id(case.sample, case.name)])
    return batches


@dataclass
class _JudgeRun:
    """What the batches' telemetry says about the judges, across the whole run."""

    notices: dict[str, str] = field(default_factory=dict)
    outages: dict[str, dict[str, Any]] = field(default_factory=dict)
    judged: set[str] = field(default_factory=set)  # components that judged some case


async def _score_cases(pack: Pack, batches: Sequence[Sequence[dict[str, Any]]],
                       judge_run: _JudgeRun | None = None) -> list[list[dict[str, Any]]]:
    scorer = Scorer(pack)
    try:
        results = await asyncio.gather(*(scorer.ascore(b) for b in batches))
    finally:
        await scorer.aclose()
    if judge_run is not None:
        for batch in results:
            for key, message in batch.telemetry.judge_notices.items():
                judge_run.notices.setdefault(key, message)
    return [[jsonl_row(r) for r in batch.results] for batch in results]


def _judge_outages(pack: Pack, scored: list[list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Judge components that got a verdict for no case of the run (each case is its own
    batch, so the engine's per-batch outage cannot see this): the most common error and
    its first message, as ``JudgeOutage.to_json()`` shapes."""
    out: dict[str, dict[str, Any]] = {}
    for component in pack.components:
        if not getattr(component, "uses_judge", False):
            continue
        cid = component.config.id
        outcomes = [o for rows in scored for row in rows
                    if (o := (row.get("components") or {}).get(cid)) is not None
                    and not o.get("skipped")]
        if not outcomes or any(not o.get("error_kind") for o in outcomes):
            continue
        kinds = Counter(str(o["error_kind"]) for o in outcomes)
        kind = kinds.most_common(1)[0][0]
        cause = next(str(o.get("error") or kind) for o in outcomes if o["error_kind"] == kind)
        allowed = bool(component.context.judge_defaults.get("allow_failures"))
        out[cid] = {"kind": kind, "cause": cause, "failed": len(outcomes), "allowed": allowed}
    return out


def _run(coro: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:  # called from async code: own loop
        return pool.submit(asyncio.run, coro).result()


def select_cases(cases: Sequence[LoadedCase], names: Sequence[str]) -> list[LoadedCase]:
    """The cases named in ``names``, in that order, once each (all cases when empty).

    Raises:
        SuiteError: a name matches no case; the message lists the known cases.
    """
    if not names:
        return list(cases)
    known = {c.name: c for c in cases}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SuiteError(f"no case named {', '.join(map(repr, unknown))} in the suite "
                         f"(cases: {', '.join(sorted(known))})")
    return [known[n] for n in dict.fromkeys(names)]


def run_suite(pack: Pack, cases: Sequence[LoadedCase], *, backend: BackendMode = "pack",
              simulator_verdicts: bool = True, record: Path | None = None,
              replay: Path | None = None) -> SuiteReport:
    """Score ``cases`` with ``pack`` and check them (see the module docstring)."""
    if record is not None and replay is not None:
        raise SuiteError("--record and --replay exclude each other")
    pack.backends.overrides["cache_path"] = ""
    cassette: Cassette | None = None
    if replay is not None:
        cassette = Cassette.load(replay)
        pack.backends.wrapper = replaying(cassette)
    elif record is not None:
        cassette = Cassette()
        pack.backends.wrapper = recording(cassette)

    simulate = backend == "simulator" and replay is None  # a replay reaches no service
    with contextlib.ExitStack() as stack:
        if simulate:
            stack.enter_context(simulated_judges(pack, verdict_book(pack, cases),
                                                 use_verdicts=simulator_verdicts))
        batches = case_batches(cases)
        judge_run = _JudgeRun()
        scored = _run(_score_cases(pack, batches, judge_run))

    cassette_info: dict[str, Any] = {}
    if cassette is not None and record is not None:
        cassette.save(record)
        cassette_info = {"recorded": str(record), "entries": len(cassette.entries)}
    elif cassette is not None and replay is not None:
        cassette_info = {"replayed": str(replay), "entries": len(cassette.entries),
                         "used": len(cassette.used), "misses": sorted(set(cassette.misses)),
                         "stale": cassette.stale()}
    report = build_report(pack, cases, scored, backend="replay" if replay else backend,
                          cassette=cassette_info)
    for case_result, batch in zip(report.cases, batches, strict=True):
        case_result.samples = batch
    report.judge_notices = judge_run.notices
    report.judge_outages = _judge_outages(pack, scored)
    return report


def _expected_values(case: Any, cid: str, n_rows: int) -> list[float | None]:
    """What a case expects of judge ``cid`` as a value per row (its label as 1/0, else an
    exact value or pass/fail expectation), None where it says nothing (pairs never do)."""
    if isinstance(case, PairCase):
        return [None] * n_rows
    expect = case.expect
    label = expect.labels.get(cid)
    if label is not None:
        label = normalise_label(label)
        if isinstance(label, bool):
            return [float(label)] * n_rows
    want = expect.components.get(cid)
    if want is not None and want.value is not None:
        return [want.value] * n_rows
    if want is not None and want.passed is not None:
        return [float(want.passed)] * n_rows
    return [None] * n_rows


def build_report(pack: Pack, cases: Sequence[LoadedCase], scored: list[list[dict[str, Any]]],
                 *, backend: str, cassette: dict[str, Any]) -> SuiteReport:
    """The :class:`SuiteReport` of a run: each case checked against its expectations,
    reward distributions by case kind, judge agreement with labels. ``scored`` holds the wire
    rows of each batch of :func:`case_batches`, aligned with ``cases``."""
    results: list[CaseResult] = []
    by_kind: dict[str, list[float]] = {"golden": [], "probe": [], "pair.better": [],
                                       "pair.worse": []}
    label_pairs: dict[str, list[tuple[Any, Any]]] = {}
    unanswered = 0
    for loaded, rows in zip(cases, scored, strict=True):
        case = loaded.case
        if isinstance(case, PairCase):
            better, worse = rows
            failures = check_pair(case, better, worse)
            rewards = {"better": better[REWARD_KEY],
                       "worse": worse[REWARD_KEY]}
            by_kind["pair.better"].append(rewards["better"])
            by_kind["pair.worse"].append(rewards["worse"])
            category = None
        else:
            assert isinstance(case, GoldenCase | ProbeCase)
            row = rows[0]
            failures = check_expectation(case.expect, row)
            rewards = {"reward": row[REWARD_KEY]}
            by_kind[case.kind].append(rewards["reward"])
            category = case.category if isinstance(case, ProbeCase) else None
            for label, want in case.expect.labels.items():
                seen = observed_label(row, label)
                if seen is None:
                    unanswered += 1
                    continue
                label_pairs.setdefault(label, []).append((normalise_label(want), seen))
        results.append(CaseResult(case.name, case.kind, loaded.where, not failures, failures,
                                  rewards, rows, category))

    all_pairs = [p for pairs in label_pairs.values() for p in pairs]
    judge_ids = [c.config.id for c in pack.components if getattr(c, "uses_judge", False)]
    rows = [row for r in results for row in r.rows]
    expected = {cid: [value for loaded, case_rows in zip(cases, scored, strict=True)
                      for value in _expected_values(loaded.case, cid, len(case_rows))]
                for cid in judge_ids}
    return SuiteReport(
        pack=pack_ref_json(pack.ref),
        backend=backend,
        cases=results,
        distributions={k: distribution(v) for k, v in by_kind.items() if v},
        agreement=agreement(all_pairs),
        agreement_by_label={k: agreement(v) for k, v in label_pairs.items()},
        unanswered_labels=unanswered,
        judges=judge_health(rows, judge_ids, expected),
        cassette=cassette,
    )
