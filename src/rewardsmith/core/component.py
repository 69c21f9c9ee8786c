"""The component contract: one config class, one call signature, composition by list.

A plugin registers component *classes*. Each has a nested strict pydantic ``Config``
whose ``type`` literal names it in packs, and one attribute, ``run``, that says how the
engine runs it (see :data:`RunMode`). The engine builds it once per pack and calls
``score`` per sample (or ``score_group`` per prompt group when ``run = "group"``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rewardsmith.core import trust
from rewardsmith.core.judging import JudgeBackend
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.core.trust import confine

MAX_PACK_FILE_BYTES = 10_000_000

FailurePolicy = Literal["abstain", "neutral", "zero", "group_mean", "fail"]
#: How the engine runs a component:
#:   ``inline``  cheap synchronous ``score``, called on the event loop between yields;
#:   ``thread``  synchronous ``score`` slow enough to stall the loop (runs in a worker thread);
#:   ``async``   ``async def score`` (judges, HTTP metrics), awaited concurrently;
#:   ``group``   ``async def score_group`` over all rollouts of one prompt.
RunMode = Literal["inline", "thread", "async", "group"]
RUN_MODES: tuple[RunMode, ...] = ("inline", "thread", "async", "group")
_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GateSpec(BaseModel):
    """A hard constraint: when the component fails, the reward is ``fail_reward`` and the
    remaining (costlier) components are not run.

    Failure means ``Score.passed is False``; if ``min_value`` is given, ``value < min_value``.
    A gate that errors (raises, times out, is abandoned at the deadline) fails closed by
    default: ``on_error = "pass"`` lets the sample through instead, and the component's own
    ``on_error`` policy then sets its value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    fail_reward: float
    min_value: float | None = None
    on_error: Literal["fail", "pass"] = Field(
        default="fail",
        description="What the gate decides when it cannot check: 'fail' (the sample gets "
        "fail_reward; fail closed) or 'pass' (the sample goes on).",
    )


class ComponentConfig(BaseModel):
    """Fields every component accepts in a pack; subclasses add their own.

    Numbers must be finite (``nan``/``inf`` are valid TOML but never a valid setting).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    type: str
    id: str = Field(description="Unique id in the pack; used in results and formulas.")
    weight: float | None = Field(
        default=None, ge=0, description="Weight in weighted_mean. Default 1, or 0 for a gate."
    )
    gate: GateSpec | None = None
    on_error: FailurePolicy = Field(
        default="abstain", description="What a failure (exception, timeout, bad verdict) means."
    )
    neutral_value: float = Field(default=0.5, description="The value used by on_error='neutral'.")
    timeout_s: float | None = Field(default=None, gt=0, description="Per-sample time limit.")
    description: str = ""
    scope: Literal["response", "turn", "trajectory"] = Field(
        default="response", description="What the component scores: the final 'response', "
        "each assistant 'turn' (run once per turn), or the whole 'trajectory' "
        "(see core.trajectory and docs/writing-packs.md).")

    @field_validator("id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(
                f"component id {value!r} must be an identifier (letters, digits, underscore; "
                "not starting with a digit) so formulas can name it"
            )
        return value

    @property
    def effective_weight(self) -> float:
        if self.weight is not None:
            return self.weight
        return 0.0 if self.gate is not None else 1.0


@dataclass
class ComponentContext:
    """What a component may use besides its config, handed over at construction.

    ``read_text`` resolves files a pack refers to (schemas, documents) against
    ``search_paths``: the folder of the pack that last overrode the component first, then
    the folders of the packs it extends, so a parent's relative paths keep working from a
    child pack in another folder. ``judge_backend`` returns the shared backend for a judge
    config, created lazily on first use. ``metric_functions`` holds the functions plugins
    registered through ``register_metric_functions``, by name.
    """

    pack_name: str = ""
    search_paths: tuple[Path | Traversable, ...] = ()
    judge_defaults: dict[str, Any] = field(default_factory=dict)
    metric_functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    _backend_provider: Any = None
    #: Validates a judge settings table without creating a backend (components with more
    #: than one judge, e.g. cascades and juries, check their other tables at load).
    _settings_validator: Any = None

    def read_text(self, relative: str) -> str:
        """Read a file named in the pack, relative to the pack file that declared it.

        Packs are data: a pack may only name regular files inside its own folder tree
        (no absolute paths, no ``..``, no symlinks out), at most ``MAX_PACK_FILE_BYTES``.
        """
        bases: tuple[Path | Traversable, ...] = self.search_paths or (Path.cwd(),)
        for base in bases:
            path = confine(base, relative, "a file named in a pack")  # TrustError: ValueError
            if isinstance(path, Path) and isinstance(base, Path):
                real = path.resolve()
                if not real.is_file():
                    continue
                if real.stat().st_size > MAX_PACK_FILE_BYTES:
                    raise ValueError(f"{relative!r} is larger than {MAX_PACK_FILE_BYTES:,} bytes")
                return real.read_text(encoding="utf-8")
            if path.is_file():
                return path.read_text(encoding="utf-8")
        tried = ", ".join(str(base / relative) for base in bases)
        raise FileNotFoundError(f"{relative!r} not found (looked for {tried})")

    def judge_backend(self, settings: dict[str, Any] | None = None) -> JudgeBackend:
        """The shared backend for ``settings`` (default: the pack's merged judge settings)."""
        if self._backend_provider is None:
            raise RuntimeError("no judge backends available in this context")
        backend: JudgeBackend = self._backend_provider(
            settings if settings is not None else self.judge_defaults
        )
        return backend

    def validate_judge_settings(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The pack's judge settings with ``overrides`` merged over them, validated against
        the backend's config (as at load) and returned as a plain table for
        :meth:`judge_backend`. Raises ``ValueError`` (pydantic's ValidationError is one) or
        :class:`~rewardsmith.core.errors.PluginError` for an unknown backend."""
        settings = {**self.judge_defaults, **overrides}
        if self._settings_validator is None:
            return settings
        validated = self._settings_validator(settings)
        trust.check_backend_config(validated, "judge")
        return dict(validated.model_dump(mode="json"))

    def judge_identity(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The part of a judge settings table (as :meth:`validate_judge_settings` returns
        it) that shapes the model's answer: the backend's half of the verdict cache's and
        the in-batch de-duplication's key (``JudgeBackendConfig.cache_identity``; retries,
        rate limits and prices left out). Without a validator, the table itself."""
        if self._settings_validator is None:
            return dict(settings)
        return dict(self._settings_validator(dict(settings)).cache_identity())


ConfigT = TypeVar("ConfigT", bound=ComponentConfig)


class Component(Generic[ConfigT]):
    """A reward component: a nested ``Config`` and one declared way to run (``run``).

    ``run`` is a class attribute; a component whose mode depends on its config (the
    pairwise judge: per sample or per group) sets ``self.run`` in ``__init__``. The engine
    reads it once per pack, after construction, and dispatches on it.
    """

    Config: ClassVar[type[ComponentConfig]]
    #: How the engine runs this component; see :data:`RunMode`.
    run: RunMode = "inline"
    #: True when the component calls a judge backend: the pack's ``[judge]`` table, merged
    #: with the config's ``judge`` overrides, is validated at load and becomes
    #: ``context.judge_defaults``.
    uses_judge: ClassVar[bool] = False
    #: The range of ``Score.value``; values outside it are rejected as invalid scores.
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    #: A short line for ``rewardsmith plugins``.
    summary: ClassVar[str] = ""

    def __init__(self, config: ConfigT, context: ComponentContext) -> None:
        self.config = config
        self.context = context

    @classmethod
    def type_name(cls) -> str:
        default = cls.Config.model_fields["type"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__qualname__}.Config.type needs a Literal default")
        return default

    def score(self, sample: Sample) -> Score | Awaitable[Score]:
        """One sample's score: a ``Score`` (``inline``/``thread``) or, with ``run = "async"``,
        a coroutine resolving to one."""
        raise NotImplementedError

    async def score_group(self, samples: Sequence[Sample]) -> Sequence[Score | BaseException]:
        """With ``run = "group"``: one Score or exception per sample, in the order given."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release resources (clients, pools) at the end of the scorer's life."""


def check_run_mode(component: Component[Any]) -> RunMode:
    """The component's declared run mode, checked against the methods it defines.

    Raises:
        TypeError: ``run`` is not one of :data:`RUN_MODES`, or does not match the code
            (``async`` without ``async def score``, ``group`` without ``score_group``,
            ``inline``/``thread`` with a coroutine ``score``).
    """
    cls = type(component)
    mode = component.run
    if mode not in RUN_MODES:
        raise TypeError(f"{cls.__qualname__}.run is {mode!r}; expected one of {RUN_MODES}")
    if mode == "group":
        if cls.score_group is Component.score_group:
            raise TypeError(f"{cls.__qualname__} has run = 'group' but no score_group method")
        return mode
    is_coroutine = inspect.iscoroutinefunction(cls.score)
    if mode == "async" and not is_coroutine:
        raise TypeError(f"{cls.__qualname__} has run = 'async' but score is not 'async def'")
    if mode != "async" and is_coroutine:
        raise TypeError(f"{cls.__qualname__}.score is 'async def'; declare run = 'async'")
    return mode
