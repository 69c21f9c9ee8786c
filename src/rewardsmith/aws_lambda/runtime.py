"""The reward Lambda runtime: ``rewardsmith.aws_lambda.handler`` (alias ``lambda_handler``) for
Amazon Nova RFT (SageMaker AI, Nova Forge) and Bedrock RFT; ``make_handler`` for your own.

The pack comes from ``REWARDSMITH_PACK`` (a registered pack name or a TOML path) and is
loaded and validated once per cold start, on the first invocation. The handler never
raises: whatever the event, every input id gets one finite reward, in input order, in the
Nova shape ``{"id", "aggregate_reward_score", "metrics_list"}``. A pack or plugin that
fails to load is reported on every invocation (each sample gets the failure reward and
the error is logged) instead of crashing the runtime.

Time: the runtime's remaining time minus a margin is the scoring budget handed to the
engine, which abandons pending judge calls at that deadline and applies each component's
failure policy. A watchdog thread returns failure rewards if the engine itself overruns.

Environment (all optional except the pack):

=================================  ==========================================================
``REWARDSMITH_PACK``               pack name or path (relative paths also resolve against
                                   ``LAMBDA_TASK_ROOT``)
``REWARDSMITH_DEADLINE_MARGIN_MS`` time kept back from the runtime deadline (default 2000)
``REWARDSMITH_MIN_BUDGET_MS``      scoring time granted even when the margin eats everything,
                                   capped at half the remaining time (default 250)
``REWARDSMITH_TIMEOUT_S``          budget when the context has no deadline (default 300)
``REWARDSMITH_FAILURE_REWARD``     reward when nothing can be scored (default: the pack's
                                   failure reward, else 0.0)
``REWARDSMITH_METRICS``            ``0`` disables the EMF metrics line
``REWARDSMITH_METRICS_NAMESPACE``  EMF namespace (default ``rewardsmith``)
``REWARDSMITH_METRICS_DIMENSIONS`` EMF dimension sets (see :mod:`.observability`)
``REWARDSMITH_LOG_LEVEL``          library log level in Lambda (default ``warning``)
``REWARDSMITH_DEBUG``              ``1`` lets sample-derived text (errors, ids) into the logs
``REWARDSMITH_PLUGINS``            which installed plugins load (core setting; ``rewardsmith
                                   lambda package`` sets it to the plugins the pack uses)
=================================  ==========================================================

This module imports nothing heavy at import time beyond the core; click and the CLI are
never imported.
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from rewardsmith.aws_lambda import observability as obs
from rewardsmith.aws_lambda.budget import AMPLE_TIME, AnswerCosts, probe_row_builder
from rewardsmith.aws_lambda.events import extract_samples
from rewardsmith.core import settings
from rewardsmith.core.errors import ErrorKind, RewardsmithError
from rewardsmith.core.wire import MetricCache, failure_row, item_id, lambda_row, wire_id

if TYPE_CHECKING:
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.pack import Pack
    from rewardsmith.core.plugins import PluginHost
    from rewardsmith.core.results import BatchResult, SampleResult

PACK_ENV = "REWARDSMITH_PACK"
MARGIN_ENV = "REWARDSMITH_DEADLINE_MARGIN_MS"
MIN_BUDGET_ENV = "REWARDSMITH_MIN_BUDGET_MS"
TIMEOUT_ENV = "REWARDSMITH_TIMEOUT_S"
FAILURE_REWARD_ENV = "REWARDSMITH_FAILURE_REWARD"


# The defaults live in one place, core.settings (and docs/settings.md, kept equal by a test).
_MARGIN_S = float(settings.default(MARGIN_ENV)) / 1000
_MIN_BUDGET_S = float(settings.default(MIN_BUDGET_ENV)) / 1000
_TIMEOUT_S = float(settings.default(TIMEOUT_ENV))

log = structlog.get_logger("rewardsmith.aws_lambda")

Handler = Callable[[Any, Any], list[dict[str, Any]]]


# -- settings -------------------------------------------------------------------------------
@dataclass(frozen=True)
class HandlerSettings:
    """Time and failure settings; :meth:`from_env` reads the ``REWARDSMITH_*`` variables."""

    deadline_margin_s: float = _MARGIN_S
    min_budget_s: float = _MIN_BUDGET_S
    default_timeout_s: float = _TIMEOUT_S
    failure_reward: float | None = None
    metrics: obs.MetricsConfig = field(default_factory=obs.MetricsConfig)
    debug: bool = False
    problems: tuple[str, ...] = ()  # bad environment values that fell back to defaults

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HandlerSettings:
        env = settings.environment(environ)
        problems: list[str] = []

        def number(name: str, default: float | None, scale: float = 1.0,
                   minimum: float = 0.0) -> float | None:
            raw = settings.get(name, env)
            if raw is None or not raw.strip():
                return default
            try:
                value = float(raw) * scale
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < minimum:
                problems.append(f"{name}={raw!r} is not a finite number >= {minimum}; "
                                f"using {default}")
                return default
            return value

        try:
            metrics = obs.MetricsConfig.from_env(env)
        except obs.MetricsConfigError as exc:
            problems.append(f"{exc}; using the default namespace and dimensions")
            metrics = obs.MetricsConfig()
        return cls(
            deadline_margin_s=number(MARGIN_ENV, _MARGIN_S, 0.001) or 0.0,
            min_budget_s=number(MIN_BUDGET_ENV, _MIN_BUDGET_S, 0.001) or 0.0,
            default_timeout_s=number(TIMEOUT_ENV, _TIMEOUT_S, 1.0, minimum=0.001) or _TIMEOUT_S,
            failure_reward=number(FAILURE_REWARD_ENV, None, 1.0, minimum=-math.inf),
            metrics=metrics,
            debug=obs.debug_enabled(env),
            problems=tuple(problems),
        )


@dataclass(frozen=True)
class InvocationBudget:
    """How long this invocation may score, derived from the Lambda context.

    ``budget_s`` goes to the engine as its deadline; ``hard_stop_s`` is when the handler
    stops waiting for the engine altogether, halfway between the budget and the runtime's
    deadline, so an answer is always sent in time.
    """

    remaining_s: float | None
    budget_s: float
    hard_stop_s: float

    @classmethod
    def from_context(cls, context: Any, settings: HandlerSettings) -> InvocationBudget:
        remaining = remaining_seconds(context)
        margin = settings.deadline_margin_s
        if remaining is None:
            budget = settings.default_timeout_s
            return cls(None, budget, budget + max(margin / 2, 0.05))
        floor = min(settings.min_budget_s, remaining / 2)
        budget = max(remaining - margin, floor)
        return cls(remaining, budget, budget + (remaining - budget) / 2)


def remaining_seconds(context: Any) -> float | None:
    """``context.get_remaining_time_in_millis()`` in seconds; None when unavailable."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None and isinstance(context, Mapping):
        getter = context.get("get_remaining_time_in_millis")
    if not callable(getter):
        return None
    try:
        millis = float(getter())
    except Exception:  # a broken context must not cost the batch
        return None
    if not math.isfinite(millis):
        return None
    return max(millis, 0.0) / 1000.0


def _context_value(context: Any, name: str) -> str | None:
    value = context.get(name) if isinstance(context, Mapping) else getattr(context, name, None)
    return value if isinstance(value, str) and value else None


# -- the handler ----------------------------------------------------------------------------
class PackUnavailable(RewardsmithError):
    """The pack (or a plugin it needs) could not be loaded; the message says why."""


def task_roots() -> tuple[Path, ...]:
    """Where the deployment zip is unpacked (``LAMBDA_TASK_ROOT``): the pack locator's
    extra root, so a relative ``REWARDSMITH_PACK`` path resolves inside the package."""
    root = settings.get("LAMBDA_TASK_ROOT")
    return (Path(root),) if root else ()


class RewardHandler:
    """A reward-Lambda handler bound to one pack; call it as ``handler(event, context)``.

    Build it with :func:`make_handler`. The pack is loaded on the first call (or by
    :meth:`warm`) and cached with its scorer for the life of the execution environment;
    a load failure is cached too and reported on every call.
    """

    def __init__(self, pack: str | Pack | Scorer | None, *, settings: HandlerSettings,
                 host: PluginHost | Callable[[], PluginHost] | None = None,
                 missing_reason: str | None = None) -> None:
        self.settings = settings
        self._source = pack
        self._host = host
        self._missing_reason = missing_reason
        self._lock = threading.Lock()
        self._loaded = False
        self._loader: threading.Thread | None = None
        self._load_done = threading.Event()
        self._scorer: Scorer | None = None
        self._judge_ids: frozenset[str] = frozenset()
        self._load_error: str | None = None
        self._init_ms: float | None = None
        self._calls = 0
        self._costs = AnswerCosts()
        #: What the last invocation's log line said (``rewardsmith lambda invoke`` reads its
        #: event error, failed samples and judge outages to choose its exit code).
        self.last_record: obs.InvocationRecord | None = None

    # -- loading ------------------------------------------------------------------------
    def warm(self) -> None:
        """Load the pack now (it is otherwise loaded on the first call). Never raises."""
        self._ensure_loaded()

    @property
    def scorer(self) -> Scorer:
        """The loaded scorer; raises :class:`PackUnavailable` naming the load error."""
        self._ensure_loaded()
        if self._scorer is None:
            raise PackUnavailable(self._load_error or "pack not loaded")
        return self._scorer

    @property
    def load_error(self) -> str | None:
        self._ensure_loaded()
        return self._load_error

    def _ensure_loaded(self, wait_s: float | None = None) -> bool:
        """Start loading the pack (once, on a thread of its own) and wait for it at most
        ``wait_s`` seconds (``None``: until it is done). True when the load has ended,
        successfully or not; a load still running goes on for the next invocation."""
        if self._loaded:
            return True
        with self._lock:
            if self._loader is None:
                self._loader = threading.Thread(target=self._load, daemon=True,
                                                name="rewardsmith-pack-load")
                self._loader.start()
        self._load_done.wait(wait_s)
        return self._loaded

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            with _collector_paused_until_frozen():
                self._load_and_freeze()
        finally:
            self._init_ms = (time.perf_counter() - started) * 1000
            self._loaded = True
            self._load_done.set()

    def _load_and_freeze(self) -> None:
        try:
            self._scorer = self._build_scorer()
            self._judge_ids = frozenset(c.config.id for c in self._scorer.pack.components
                                        if getattr(c, "uses_judge", False))
        except BaseException as exc:  # plugin code at import: SystemExit too (issue 10)
            self._load_error = f"{type(exc).__name__}: {exc}"
        else:
            self._warm_judges(self._scorer)
            _freeze_init_heap()

    @staticmethod
    def _warm_judges(scorer: Scorer) -> None:
        """Create the judge clients now, in the init phase (issue 13: the first invocation
        paid for them). A judge that cannot be set up is reported by its first call."""
        for component in scorer.pack.components:
            if getattr(component, "uses_judge", False):
                # any failure, SystemExit from plugin code too, is the first call's to report
                with contextlib.suppress(BaseException):
                    component.context.judge_backend().warm()

    def _build_scorer(self) -> Scorer:
        from rewardsmith.core.engine import Scorer
        from rewardsmith.core.pack import Pack, load_pack

        source = self._source
        if source is None:
            raise PackUnavailable(self._missing_reason or "no pack given")
        if isinstance(source, Scorer):
            return source
        if isinstance(source, Pack):
            return Scorer(source)
        roots = task_roots()
        if self._host is not None:
            # A factory runs here, at load, so a broken plugin is reported like a bad pack.
            host = self._host() if callable(self._host) else self._host
            return Scorer(load_pack(source, host, roots=roots))
        from rewardsmith.core.plugins import make_plugin_host

        # Every installed scoring plugin, or those REWARDSMITH_PLUGINS names: entry points
        # carry no CLI commands, so there is nothing to skip.
        return Scorer(load_pack(source, make_plugin_host(), roots=roots))

    # -- one invocation -----------------------------------------------------------------
    def __call__(self, event: Any, context: Any = None) -> list[dict[str, Any]]:
        started = time.monotonic()
        record = obs.InvocationRecord()
        items: list[Any] = []
        try:
            with _no_full_collections:
                return self._invoke(event, context, started, record, items)
        except BaseException as exc:  # the last line of defence: never raise into the runtime
            # (SystemExit/KeyboardInterrupt included: in Lambda no user sends them, so any
            # that reaches here came from plugin code; issue 10)
            record.engine_error = f"{type(exc).__name__}: {exc}"
            try:
                reward = self._failure_reward()
                out = [failure_row(item_id(it, i), reward, ErrorKind.INTERNAL_ERROR)
                       for i, it in enumerate(items)]
            except Exception:
                out = []
            self._report(record, started)
            return out

    def _failure_reward(self) -> float:
        if self.settings.failure_reward is not None:
            return self.settings.failure_reward
        if self._scorer is not None:
            return float(self._scorer.pack.failure_reward)
        return 0.0

    def _invoke(self, event: Any, context: Any, started: float,
                record: obs.InvocationRecord, items: list[Any]) -> list[dict[str, Any]]:
        cold = self._calls == 0
        self._calls += 1
        budget = InvocationBudget.from_context(context, self.settings)
        record.request_id = _context_value(context, "aws_request_id")
        record.function_name = (_context_value(context, "function_name")
                                or settings.get("AWS_LAMBDA_FUNCTION_NAME") or "local")
        record.function_version = (_context_value(context, "function_version")
                                   or settings.get("AWS_LAMBDA_FUNCTION_VERSION"))
        record.remaining_ms = None if budget.remaining_s is None else budget.remaining_s * 1000
        record.budget_ms = budget.budget_s * 1000
        record.cold_start = cold

        extracted = extract_samples(event)
        items.extend(extracted.items)
        record.input_shape = extracted.shape
        record.samples = len(items)
        record.event_error = extracted.error

        # The pack load (cold start), the engine and the answer share one budget: what
        # follows the engine (rows, summary, the runtime's encoding) is kept back first.
        costs = self._costs
        reserve = costs.reserve(len(items))
        record.answer_budget["reserve_ms"] = round(reserve * 1000, 3)
        if not self._ensure_loaded(max(budget.budget_s - reserve - _elapsed(started), 0.0)):
            record.pack_error = (
                f"the pack was still loading after {_elapsed(started):.3f}s, past this "
                "invocation's budget; it goes on loading for the next invocation")
            return self._answer_failed(items, ErrorKind.PACK_LOADING, record, started)
        record.init_ms = self._init_ms
        if self._scorer is None:
            record.pack_error = self._load_error
            return self._answer_failed(items, ErrorKind.PACK_UNAVAILABLE, record, started)

        scorer = self._scorer
        ref = scorer.pack.ref
        record.pack_name, record.pack_version, record.pack_hash = ref.name, ref.version, ref.hash
        if not items:
            record.summary = {"failed_samples": 0}
            self._report(record, started)
            return []

        # Probing pays off for big batches only; a small one's default reserve is already
        # small, and the probe's own time would come out of a short deadline.
        if costs.worth_probing(len(items), budget.budget_s) and costs.probe_rows(
                probe_row_builder(
                    scorer.pack, failure_reward=self._failure_reward(),
                    judge_ids=self._judge_ids)):
            # a cold start: the reserve from rows of this pack built and encoded here, not
            # from the defaults for the slowest CPU
            reserve = costs.reserve(len(items))
            record.answer_budget["reserve_ms"] = round(reserve * 1000, 3)
            record.answer_budget["probed"] = True
        engine_budget = budget.budget_s - reserve - _elapsed(started)
        if engine_budget <= 0:
            # The answer alone needs the time left: score nothing, say so by name.
            record.engine_error = (
                f"no time left to score: {reserve * 1000:.0f} ms kept back to answer "
                f"{len(items)} samples, {budget.budget_s * 1000:.0f} ms of budget")
            return self._answer_failed(items, ErrorKind.DEADLINE, record, started,
                                       deadline_hit=True)
        batch, engine_error, overran = _score_with_watchdog(
            scorer, items, engine_budget,
            max(budget.hard_stop_s - reserve - _elapsed(started), 0.0))
        if batch is None or len(batch.results) != len(items):
            record.engine_error = engine_error or (
                f"the engine returned {len(batch.results) if batch else 0} results for "
                f"{len(items)} samples")
            return self._answer_failed(items, ErrorKind.ENGINE_ERROR, record, started,
                                       deadline_hit=overran)

        record.summary = batch.summary()
        if self.settings.debug:
            record.debug["sample_errors"] = [
                {"id": wire_id(r.id), "error_kind": r.error_kind, "error": r.error}
                for r in batch.results if r.error is not None
            ][:50]
        results = batch.results
        del batch
        out = self._rows(results, started + budget.hard_stop_s - costs.encode_reserve(len(items)),
                         record)
        self._report(record, started)
        return out

    def _rows(self, results: list[SampleResult], stop_at: float,
              record: obs.InvocationRecord) -> list[dict[str, Any]]:
        """The wire rows, releasing each result as its row is built (the peak memory holds
        one of the two, not both). Rows still to build at ``stop_at`` (a monotonic instant
        leaving time to encode the answer) get the failure row, kind ``deadline``."""
        reward = self._failure_reward()
        cache = MetricCache()
        out: list[dict[str, Any]] = []
        started = time.monotonic()
        late = 0
        for index in range(len(results)):
            result = results[index]
            results[index] = None  # type: ignore[call-overload]
            if late or (index & 511 == 0 and time.monotonic() >= stop_at):
                late += 1
                out.append(failure_row(result.id, reward, ErrorKind.DEADLINE, cache))
            else:
                out.append(self._wire_or_failure(result, reward, cache))
        built = time.monotonic() - started
        self._costs.learn_rows(len(results) - late, built)
        estimate = len(out) * self._costs.encode_s
        ample = stop_at - time.monotonic() > AMPLE_TIME * estimate
        encode = self._costs.learn_encoding(out, ample=ample)
        record.answer_budget.update(
            rows_ms=round(built * 1000, 3), encode_estimate_ms=round(encode * 1000, 3),
            rows_past_budget=late)
        if late:
            record.summary["failed_samples"] = record.summary.get("failed_samples", 0) + late
            failures = record.summary.setdefault("failures", {})
            failures["deadline"] = failures.get("deadline", 0) + late
            record.summary["deadline_hit"] = True
        return out

    def _answer_failed(self, items: list[Any], kind: ErrorKind, record: obs.InvocationRecord,
                       started: float, *, deadline_hit: bool = False) -> list[dict[str, Any]]:
        """Every item gets the failure row naming ``kind``; reported."""
        reward = self._failure_reward()
        cache = MetricCache()
        out = [failure_row(item_id(it, i), reward, kind, cache) for i, it in enumerate(items)]
        encode = self._costs.probe_encoding(out)
        record.answer_budget["encode_estimate_ms"] = round(encode * 1000, 3)
        record.summary = {"failed_samples": len(out),
                          "failures": {str(kind): len(out)} if out else {}}
        if deadline_hit:
            record.summary["deadline_hit"] = True
        self._report(record, started)
        return out

    def _wire_or_failure(self, result: SampleResult, reward: float,
                         cache: MetricCache | None = None) -> dict[str, Any]:
        """One result in wire shape; a result that cannot be converted costs only itself."""
        try:
            return lambda_row(result, failure_reward=reward, judge_ids=self._judge_ids,
                              cache=cache)
        except Exception:
            return failure_row(getattr(result, "id", result.index), reward,
                               ErrorKind.INTERNAL_ERROR, cache)

    def _report(self, record: obs.InvocationRecord, started: float) -> None:
        self.last_record = record
        record.elapsed_ms = (time.monotonic() - started) * 1000
        record.settings_problems = list(self.settings.problems)
        encode = record.answer_budget.get("encode_estimate_ms")
        if isinstance(encode, float):
            record.answer_budget["answered_by_ms"] = round(record.elapsed_ms + encode, 3)
        try:
            obs.log_invocation(record)
            obs.emit_emf(record, self.settings.metrics)
        except Exception as exc:  # reporting must never cost the answer
            with contextlib.suppress(Exception):
                log.error("invocation_report_failed", error=f"{type(exc).__name__}: {exc}")


def _elapsed(since: float) -> float:
    return time.monotonic() - since


def _score_with_watchdog(scorer: Scorer, items: Sequence[Any], budget_s: float,
                         hard_stop_s: float) -> tuple[BatchResult | None, str | None, bool]:
    """Run ``scorer.score`` (its background loop is reused across invocations) and stop
    waiting at ``hard_stop_s`` even if the engine overruns its own deadline (a component
    that blocks the event loop, a deadlock); the scoring thread is left to finish.

    Returns the batch (or None), the error, and whether the hard stop was hit."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["batch"] = scorer.score(items, timeout_s=budget_s)
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name="rewardsmith-invocation", daemon=True)
    worker.start()
    worker.join(hard_stop_s)
    if worker.is_alive():
        return None, (f"the engine did not return within {hard_stop_s:.3f}s (its deadline was "
                      f"{budget_s:.3f}s); every sample got the failure reward"), True
    if "error" in box:
        exc = box["error"]
        return None, f"the engine raised {type(exc).__name__}: {exc}", False
    return box["batch"], None, False


def make_handler(
    pack: str | Pack | Scorer,
    *,
    host: PluginHost | Callable[[], PluginHost] | None = None,
    deadline_margin_s: float | None = None,
    min_budget_s: float | None = None,
    default_timeout_s: float | None = None,
    failure_reward: float | None = None,
    metrics: obs.MetricsConfig | None = None,
    debug: bool | None = None,
) -> RewardHandler:
    """A handler for your own Lambda module: ``handler = make_handler("my-pack")``.

    ``pack`` is a pack name or path (loaded on the first call, with ``host`` — a plugin
    host or a function building one — or else the installed plugins), a loaded
    :class:`Pack`, or a :class:`Scorer`. Unset keyword arguments come from the
    ``REWARDSMITH_*`` environment, then the defaults.
    """
    if failure_reward is not None and not math.isfinite(failure_reward):
        raise ValueError(f"failure_reward must be a finite number, got {failure_reward!r}")
    settings = HandlerSettings.from_env()
    overrides: dict[str, Any] = {
        "deadline_margin_s": deadline_margin_s,
        "min_budget_s": min_budget_s,
        "default_timeout_s": default_timeout_s,
        "failure_reward": failure_reward,
        "metrics": metrics,
        "debug": debug,
    }
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    return RewardHandler(pack, settings=settings, host=host)


# -- the module-level handler -----------------------------------------------------------------
# The handler built from the environment, once per process (one Lambda execution
# environment); tests replace it through ``_default_slot``.
_default_slot: dict[str, RewardHandler] = {}
_default_lock = threading.Lock()


_frozen = threading.Event()


# Above this many young objects left by the paused first load (a plugin that imports a big
# library), collect before freezing, so that library's cyclic garbage is not kept for the
# life of the process. A rubric-judge pack's load leaves ~42,000.
_COLLECT_BEFORE_FREEZE = 250_000


@contextlib.contextmanager
def _collector_paused_until_frozen() -> Iterator[None]:
    """Pause the cyclic GC while the first pack load builds the init heap that
    :func:`_freeze_init_heap` then freezes (issue 13). The ~60 young-generation
    collections of the imports and the pack load (~12 ms of CPU in a cold start) walked
    objects that are about to be frozen anyway. The cyclic garbage the load leaves (~1,400
    objects, ~0.4 MB, for a rubric-judge pack: class-building temporaries of pydantic and
    attrs) is frozen with them, once per process; collecting it first would cost as much
    as the pause saves. The collector is re-enabled afterwards unless it was off before;
    later loads (the heap is already frozen) leave it alone. CPython's documentation of
    ``gc.freeze`` describes the same sequence for a parent process before ``fork()``:
    ``gc.disable()`` early, ``gc.freeze()`` once the long-lived heap is built
    (https://docs.python.org/3/library/gc.html#gc.freeze).
    """
    paused = not _frozen.is_set() and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


# Young-generation collections between full collections while an invocation runs: in
# effect none (CPython 3.11's third threshold counts gen-1 collections).
_NO_FULL_COLLECTIONS = 1_000_000_000


class _FullCollectionsOff:
    """No full (generation-2) collection while an invocation runs; young collections go on.

    Issue 13: a 2,000-call judged invocation ran 1-2 full collections of 25-100 ms each,
    with the event loop stopped during the launch and the first wave. They walk the batch
    itself (samples, tasks, results), all alive until the answer is built. Cyclic garbage
    that lives long enough to reach the old generation waits for the first full collection
    after the invocation (CPython triggers it as usual once the thresholds are restored);
    young collections still reclaim the short cycles. Nested or concurrent invocations
    share one change: the first to start saves the thresholds, the last to end restores
    them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._saved: tuple[int, int, int] | None = None

    def __enter__(self) -> None:
        with self._lock:
            self._running += 1
            if self._running == 1:
                self._saved = gc.get_threshold()
                gc.set_threshold(self._saved[0], self._saved[1], _NO_FULL_COLLECTIONS)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0 and self._saved is not None:
                gc.set_threshold(*self._saved)
                self._saved = None


_no_full_collections = _FullCollectionsOff()


def _freeze_init_heap() -> None:
    """Move everything alive after the first pack load (modules, pack, clients) out of the
    cyclic GC's reach, once per process (``gc.freeze``). Issue 13: each full collection
    walked this init heap, ~0.15-0.25 s with the event loop stopped, twice in a
    2,000-call invocation; frozen, ~0.05 s. Objects still die by reference counting; only
    cyclic garbage alive at that instant is never reclaimed, once."""
    if not _frozen.is_set():
        _frozen.set()
        if gc.get_count()[0] > _COLLECT_BEFORE_FREEZE:
            gc.collect()
        gc.freeze()


def _build_default_handler() -> RewardHandler:
    if settings.get("AWS_LAMBDA_FUNCTION_NAME"):
        obs.configure_lambda_logging()
    handler_settings = HandlerSettings.from_env()
    spec = (settings.get(PACK_ENV) or "").strip()
    if not spec:
        return RewardHandler(None, settings=handler_settings, missing_reason=(
            f"{PACK_ENV} is not set; set it to a registered pack name or a pack file path"))
    return RewardHandler(spec, settings=handler_settings)


def default_handler() -> RewardHandler:
    """The handler behind :func:`handler`, built from the environment once per process."""
    current = _default_slot.get("handler")
    if current is None:
        with _default_lock:
            current = _default_slot.get("handler")
            if current is None:
                current = _default_slot["handler"] = _build_default_handler()
    return current


def warm() -> None:
    """Load the ``REWARDSMITH_PACK`` pack now, e.g. at import in a wrapper module, to move
    the load into the Lambda init phase. Never raises."""
    with contextlib.suppress(BaseException):
        default_handler().warm()


def handler(event: Any, context: Any = None) -> list[dict[str, Any]]:
    """The Lambda entry point (``rewardsmith.aws_lambda.handler``). Never raises."""
    try:
        return default_handler()(event, context)
    except BaseException as exc:  # even SystemExit from plugin code (issue 10)
        with contextlib.suppress(Exception):
            log.error("handler_failed", error=f"{type(exc).__name__}: {exc}")
        return []


#: The name the Nova Forge SDK's local check looks for in a reward file
#: (``verify_reward_function("./my_reward.py", samples)`` calls
#: ``lambda_handler(samples, {})``), and the Lambda console's default handler name.
lambda_handler = handler
