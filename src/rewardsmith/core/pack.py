"""The pack document model: what a rubric pack may say, validated after plugins load.

A pack is a TOML document (``[pack]``, ``[judge]``, ``[[components]]``, ``[aggregate]``,
``[tests]``). :func:`pack_document_model` builds its pydantic model from the installed
plugins: ``components`` is a discriminated union of every component's ``Config`` on
``type``, ``[judge]`` a union of every judge backend's settings on ``backend`` (each key
optional, since components merge their own overrides in), ``[tests]`` a strict model.
Errors name the file and line of the offending key.

:func:`load_pack` turns a spec into a runnable :class:`Pack`: the one locator
(:mod:`rewardsmith.core.loading`) finds and merges the files, this module validates the
merged document, checks the formula, builds the components (so a missing schema file is
caught by ``packs validate``, not by the first training step) and hashes the content.
It is the one way from a spec to a pack; ``Scorer(load_pack(spec))`` the one way to a
scorer.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
import typing
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    model_validator,
)

from rewardsmith.core import trust
from rewardsmith.core.backend_pool import BackendPool
from rewardsmith.core.component import (
    Component,
    ComponentConfig,
    ComponentContext,
    check_run_mode,
)
from rewardsmith.core.errors import PackError, PluginError
from rewardsmith.core.judging import JudgeBackendConfig
from rewardsmith.core.loading import PackPath, PackSource, ResolvedPack, content_hash, resolve
from rewardsmith.core.plugins import PluginHost, make_plugin_host
from rewardsmith.core.results import PackRef
from rewardsmith.core.suggest import closest, did_you_mean
from rewardsmith.core.trajectory import TrajectorySpec
from rewardsmith.core.workers import users_interrupt

if TYPE_CHECKING:
    from rewardsmith.core.formula import Formula

_NAME_RE = r"^[a-z0-9][a-z0-9._-]*$"


_OLD_DEFAULT_CONCURRENCY = 256


class PackMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=_NAME_RE)
    version: str = Field(min_length=1)
    description: str = ""
    extends: str | None = None
    reward_range: tuple[float, float] = (0.0, 1.0)
    failure_reward: float | None = Field(
        default=None,
        description="Reward for a sample that cannot be scored (malformed, or a component "
        "with on_error='fail' failed). Default: the low end of reward_range.",
    )
    max_response_chars: int = Field(default=1_000_000, ge=1)
    strip_reasoning: bool = Field(
        default=False, description="Strip <think> and solution wrappers before scoring."
    )
    max_concurrency: int | None = Field(
        default=None, ge=1,
        description="Component calls (async and thread components) in flight at once. "
        "Default: no pack-wide cap, so each judge backend's own [judge] max_concurrency is "
        "what runs; a value here caps every component call below that.",
    )
    remove_components: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    calibration: dict[str, Any] = Field(
        default_factory=dict,
        description="Evidence for a calibrated pack version, written by `rewardsmith "
        "calibrate`: method, sample count, correlations, fitted vs previous weights, date "
        "and the sha256 of the source files. Informational; scoring never reads it.",
    )

    @model_validator(mode="after")
    def _check_range(self) -> PackMeta:
        lo, hi = self.reward_range
        if not lo < hi:
            raise ValueError(f"reward_range must be [low, high] with low < high, got {[lo, hi]}")
        if self.failure_reward is not None and not lo <= self.failure_reward <= hi:
            raise ValueError(f"failure_reward {self.failure_reward} is outside reward_range")
        return self


class AggregateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["weighted_mean", "formula"] = "weighted_mean"
    formula: str | None = None

    @model_validator(mode="after")
    def _formula_needed(self) -> AggregateSpec:
        if self.method == "formula" and not self.formula:
            raise ValueError("method 'formula' needs a 'formula'")
        if self.method != "formula" and self.formula:
            raise ValueError("'formula' is given but method is not 'formula'")
        return self


class TestsTable(BaseModel):
    """The ``[tests]`` table: the pack's own test suite (``rewardsmith packs test``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suite: str = Field(min_length=1, description="A JSONL file or a folder of them, "
                       "relative to the pack file that declares [tests].")
    simulator: Literal["verdicts", "default"] = Field(
        default="verdicts", description="verdicts: judges answer the verdicts the cases "
        "script; default: the plain simulator answers every judge call.",
    )


class PackDocumentBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pack: PackMeta
    judge: BaseModel | None = None  # typed per installed backends by pack_document_model
    aggregate: AggregateSpec = Field(default_factory=AggregateSpec)
    tests: TestsTable | None = None
    trajectory: TrajectorySpec | None = None

    def judge_settings(self) -> dict[str, Any]:
        """The ``[judge]`` table as written (after ``extends``), for merging with a
        component's overrides."""
        if self.judge is None:
            return {}
        return self.judge.model_dump(mode="json", exclude_unset=True)

    def canonical(self) -> dict[str, Any]:
        """The document as hashed: defaults filled in, except in ``[judge]`` and
        ``[tests]``, which count as written (so the hash of a pack without them, or with
        only some keys, does not move when a backend adds a setting)."""
        data = self.model_dump(mode="json")
        # Trajectory settings count only when written, so packs that predate them hash alike.
        if data.get("trajectory") is None:
            data.pop("trajectory", None)
        for comp in data.get("components") or ():
            if isinstance(comp, dict) and comp.get("scope") == "response":
                del comp["scope"]
        if data["pack"].get("max_concurrency") is None:
            # Unset (no pack-wide cap, issue 13) hashes as the old default did, so packs keep
            # their hash: a concurrency limit never changes a reward.
            data["pack"]["max_concurrency"] = _OLD_DEFAULT_CONCURRENCY
        data["judge"] = self.judge_settings()
        data["tests"] = ({} if self.tests is None
                         else self.tests.model_dump(mode="json", exclude_unset=True))
        return data


_NO_BACKEND = "<no backend>"


@functools.cache
def _partial(config: type[BaseModel], name: str) -> type[BaseModel]:
    """``config`` with every field optional (default None), except the ``backend`` tag:
    a pack's ``[judge]`` table may leave settings to the components' overrides."""
    fields: dict[str, Any] = {}
    for field_name, info in config.model_fields.items():
        if field_name == "backend" and config is not JudgeBackendConfig:
            fields[field_name] = (info.annotation, info)
            continue
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[field_name] = (info.annotation | None, optional)  # type: ignore[operator]
    model: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False),
        **fields)
    return model


def _backend_tag(value: Any) -> str:
    backend = value.get("backend") if isinstance(value, dict) else getattr(value, "backend", None)
    return backend if isinstance(backend, str) else _NO_BACKEND


def judge_table_model(host: PluginHost, backends: Collection[str] | None = None) -> Any:
    """The type of ``[judge]``: one partial settings model per installed backend (or per
    backend in ``backends``), chosen by ``backend``; without ``backend`` only the settings
    every backend shares. Any other ``backend`` is a union tag error."""
    variants: list[Any] = [Annotated[_partial(JudgeBackendConfig, "JudgeSettings"),
                                     Tag(_NO_BACKEND)]]
    for name, reg in sorted(host.judge_backends.items()):
        if backends is not None and name not in backends:
            continue
        config = reg.value.Config
        variants.append(Annotated[_partial(config, f"{config.__name__}Settings"), Tag(name)])
    return Annotated[Union[tuple(variants)], Discriminator(_backend_tag)]  # noqa: UP007


JUDGE_TABLE_HELP = (
    "Defaults for every judge component (a component's own `judge` table overrides them); "
    "strict: only the chosen backend's keys. To try the pack offline without credentials: "
    "`rewardsmith score FILE --pack PACK --judge simulator` (or `packs test PACK --backend "
    "simulator`) starts the bundled simulator and points the judges at it; against one you "
    "run yourself (`rewardsmith simulate bedrock`), set endpoint_url and region here and "
    "dummy AWS credentials in the environment."
)


def pack_document_model(host: PluginHost, *,
                        judge_backends: Collection[str] | None = None,
                        component_types: Collection[str] | None = None,
                        ) -> type[PackDocumentBase]:
    """The pack model for the installed plugins: components as a discriminated union on
    ``type``, ``[judge]`` on ``backend``. ``judge_backends`` narrows the ``[judge]`` union
    to the backends a document names, and ``component_types`` (installed type names) the
    component union to the types it uses: component configs are built lazily
    (``defer_build``), ~1-3 ms each, so a Lambda cold start builds only its pack's. The
    defaults cover every installed backend and component type."""
    configs = tuple(reg.value.Config for name, reg in host.components.items()
                    if component_types is None or name in component_types)
    component_type: Any
    if not configs:
        component_type = ComponentConfig
    elif len(configs) == 1:
        component_type = configs[0]
    else:
        component_type = Annotated[Union[configs], Field(discriminator="type")]  # noqa: UP007
    model: type[PackDocumentBase] = create_model(
        "PackDocument",
        __base__=PackDocumentBase,
        components=(list[component_type], Field(min_length=1)),
        judge=(judge_table_model(host, judge_backends) | None,
               Field(default=None, description=JUDGE_TABLE_HELP)),
    )
    return model


def pack_json_schema(host: PluginHost | None = None) -> dict[str, Any]:
    """JSON Schema of the pack format for the installed plugins (editor completion, CI)."""
    return pack_document_model(host or make_plugin_host()).model_json_schema()


# -- errors -----------------------------------------------------------------------------
def _key_line(lines: list[str], start: int, end: int | None, key: str) -> int | None:
    for number, line in enumerate(lines[start:end], start + 1):
        if re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _line_of(source: PackSource, index: int, key: str | None) -> int | None:
    """Best-effort line number of components[index] (and key) in the pack's text."""
    lines = source.text.splitlines()
    headers = [n for n, line in enumerate(lines, 1)
               if re.match(r"^\s*\[\[\s*components\s*\]\]", line)]
    if index >= len(headers):
        return None
    start = headers[index]
    if key is None:
        return start
    end = headers[index + 1] if index + 1 < len(headers) else None
    return _key_line(lines, start, end, key) or start


def _table_line(source: PackSource, table: str, key: str | None) -> int | None:
    """Best-effort line number of ``[table]`` (and key in it) in the pack's text."""
    lines = source.text.splitlines()
    start = next((n for n, line in enumerate(lines, 1)
                  if re.match(rf"^\s*\[\s*{re.escape(table)}\s*\]", line)), None)
    if start is None:
        return None
    if key is None:
        return start
    end = next((n - 1 for n, line in enumerate(lines[start:], start + 1)
                if re.match(r"^\s*\[", line)), None)
    return _key_line(lines, start, end, key) or start


def _nested_home(config: type[BaseModel], key: str) -> str | None:
    """The field of ``config`` whose table (a nested model, e.g. a rubric judge's
    ``budget``) has a setting named ``key``; None when none has."""
    for name, info in config.model_fields.items():
        for model in (info.annotation, *typing.get_args(info.annotation)):
            if isinstance(model, type) and issubclass(model, BaseModel) \
                    and key in model.model_fields:
                return name
    return None


def _unknown_key(key: str, fields: Sequence[str]) -> str:
    import difflib  # error path only (issue 13: not at every cold start)

    close = difflib.get_close_matches(key, fields, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {sorted(fields)}"


def _format_table_error(err: Any, resolved: ResolvedPack, host: PluginHost) -> str:
    """``[judge]`` and ``[tests]`` errors: ``file:line: [table]: key: message``."""
    loc: list[Any] = list(err["loc"])
    table = str(loc[0])
    kind: str = err["type"]
    rest = loc[1:]
    backend = resolved.document.get("judge", {}).get("backend") if table == "judge" else None
    if table == "judge" and rest and isinstance(rest[0], str) and (
            rest[0] == backend or rest[0] == _NO_BACKEND):
        rest = rest[1:]  # the union tag pydantic puts in the location
    key = ".".join(str(p) for p in rest) or None
    tag_error = kind in ("union_tag_invalid", "union_tag_not_found")
    first = "backend" if tag_error else (str(rest[0]) if rest else None)
    source = resolved.table_origins.get(f"judge.{first}" if table == "judge" and first
                                        else table) or resolved.table_origins.get(table)
    if source is None and table == "judge":
        source = next((s for k, s in resolved.table_origins.items()
                       if k.startswith("judge.")), None)
    where = source.label if source is not None else resolved.label
    line = _table_line(source, table, first) if source is not None else None
    at = where + (f":{line}" if line else "")
    if tag_error:
        hint = did_you_mean(backend, host.judge_backends) if isinstance(backend, str) else ""
        return (f"{at}: [judge]: unknown judge backend {backend!r}{hint}; installed "
                f"backends: {', '.join(sorted(host.judge_backends)) or 'none'}")
    if kind == "extra_forbidden" and key:
        if table == "judge":
            reg = host.judge_backends.get(str(backend))
            fields = list((reg.value.Config if reg else JudgeBackendConfig).model_fields)
        else:
            fields = list(TestsTable.model_fields)
        return f"{at}: [{table}]: unknown key {key!r}{_unknown_key(str(rest[-1]), fields)}"
    return f"{at}: [{table}]: {key or 'table'}: {err['msg']}"


def _format_error(err: Any, resolved: ResolvedPack, host: PluginHost) -> str:
    loc: tuple[Any, ...] = tuple(err["loc"])
    msg: str = err["msg"]
    kind: str = err["type"]
    doc = resolved.document
    if loc and loc[0] in ("judge", "tests"):
        return _format_table_error(err, resolved, host)
    if len(loc) >= 2 and loc[0] == "components" and isinstance(loc[1], int):
        index = loc[1]
        comps = doc.get("components", [])
        comp = comps[index] if index < len(comps) and isinstance(comps[index], dict) else {}
        rest = list(loc[2:])
        if rest and rest[0] == comp.get("type"):
            rest = rest[1:]  # pydantic puts the union tag in the location
        key = ".".join(str(p) for p in rest) or None
        origin = resolved.origins[index] if index < len(resolved.origins) else None
        where = origin.source.label if origin else resolved.label
        # Only the component-level union's tag is the component type; a nested
        # discriminator (e.g. a metric's source kind) is an ordinary bad value.
        is_tag_error = (kind in ("union_tag_invalid", "union_tag_not_found") and not rest) or (
            kind == "literal_error" and rest == ["type"]
        )
        line_key = "type" if is_tag_error else (str(rest[0]) if rest else None)
        line = _line_of(origin.source, origin.index, line_key) if origin else None
        at = f"{where}" + (f":{line}" if line else "")
        who = f"components[{origin.index if origin else index}] (id={comp.get('id')!r}, " \
              f"type={comp.get('type')!r})"
        if is_tag_error:
            typ = comp.get("type")
            hint = did_you_mean(typ, host.components) if isinstance(typ, str) else ""
            return (f"{at}: {who}: unknown component type {typ!r}{hint}; installed "
                    f"types: {', '.join(sorted(host.components)) or 'none'}")
        if kind == "extra_forbidden" and key:
            cls = host.components.get(str(comp.get("type")))
            fields = list(cls.value.Config.model_fields) if cls else []
            home = _nested_home(cls.value.Config, key) if cls and len(rest) == 1 else None
            if home is not None:
                return (f"{at}: {who}: unknown key {key!r} at the component level: it is a "
                        f"setting of the component's {home!r} table; write it inside it, "
                        f"{home} = {{ ..., {key} = ... }}")
            return f"{at}: {who}: unknown key {key!r}{_unknown_key(str(rest[-1]), fields)}"
        return f"{at}: {who}: {key or 'component'}: {msg}"
    if len(loc) == 1 and kind == "extra_forbidden":
        return _unknown_table(str(loc[0]), resolved)
    key = ".".join(str(p) for p in loc) or "document"
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], str):
        # [pack], [aggregate], [trajectory]: name the line, and for a value outside a fixed
        # set (``method = "formual"``) the allowed values with the closest one.
        at = _table_at(resolved, loc[0], loc[1])
        given = err.get("input")
        if kind == "literal_error" and isinstance(given, str):
            allowed = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            return (f"{at}: {key} = {given!r} is not one of "
                    f"{', '.join(map(repr, allowed))}{did_you_mean(given, allowed)}")
        if kind == "extra_forbidden":
            hint = _unknown_key(loc[1], _fields_of(loc[0]))
            return f"{at}: [{loc[0]}]: unknown key {loc[1]!r}{hint}"
        return f"{at}: {key}: {msg}"
    return f"{resolved.label}: {key}: {msg}"


def _fields_of(table: str) -> list[str]:
    model = {"pack": PackMeta, "aggregate": AggregateSpec}.get(table)
    return list(model.model_fields) if model is not None else []


def _table_at(resolved: ResolvedPack, table: str, key: str | None) -> str:
    """``"file:line"`` of ``key`` in ``[table]`` (the file that wrote the table, for an
    inherited one), else the file alone."""
    source = resolved.table_origins.get(table)
    if source is None and table == "pack" and resolved.sources:
        source = resolved.sources[-1]  # [pack] is the named pack's own
    if source is None:
        return resolved.label
    line = _table_line(source, table, key)
    return source.label + (f":{line}" if line else "")


#: The top-level tables of a pack, as TOML writes them.
TOP_LEVEL_TABLES = {"pack": "[pack]", "judge": "[judge]", "components": "[[components]]",
                    "aggregate": "[aggregate]", "tests": "[tests]"}


def _unknown_table(name: str, resolved: ResolvedPack) -> str:
    """``file:line: unknown top-level table or key 'judges' (did you mean [judge]?)``."""
    where, line = resolved.label, None
    for source in reversed(resolved.sources):  # the most derived file that writes it
        lines = source.text.splitlines()
        line = next((n for n, text in enumerate(lines, 1)
                     if re.match(rf"^\s*\[\[?\s*{re.escape(name)}\s*[\].]", text)
                     or re.match(rf"^\s*{re.escape(name)}\s*=", text)), None)
        if line is not None:
            where = source.label
            break
    found = closest(name, TOP_LEVEL_TABLES)
    hint = f" (did you mean {TOP_LEVEL_TABLES[found[0]]}?)" if found else ""
    return (f"{where}{f':{line}' if line else ''}: unknown top-level table or key {name!r}"
            f"{hint}; a pack has {', '.join(TOP_LEVEL_TABLES.values())}")


# -- the loaded pack --------------------------------------------------------------------
@dataclass
class Pack:
    """A validated, runnable pack: its document, built components and content hash."""

    name: str
    version: str
    description: str
    source: str
    document: PackDocumentBase
    components: list[Component[Any]]
    formula: Formula | None
    hash: str
    backends: BackendPool
    chain: list[str] = field(default_factory=list)
    #: The files merged (root parent first), as the locator found them.
    sources: list[PackSource] = field(default_factory=list)
    #: The pack file that wrote ``[tests]`` (a child inherits its parent's table, and the
    #: suite path stays relative to where it was written); None without ``[tests]``.
    tests_source: PackSource | None = None
    #: Every file the components read (schemas, criteria), as found; with ``sources``
    #: the whole set of files the pack references (what ``lambda package`` ships).
    files: list[PackPath] = field(default_factory=list)
    #: The operator grants (hosts, environment variables, modules) the pack used.
    needs: trust.Needs = field(default_factory=trust.Needs)

    @property
    def meta(self) -> PackMeta:
        return self.document.pack

    @property
    def ref(self) -> PackRef:
        return PackRef(self.name, self.version, self.hash)

    @property
    def reward_range(self) -> tuple[float, float]:
        return self.meta.reward_range

    @property
    def failure_reward(self) -> float:
        fr = self.meta.failure_reward
        return self.meta.reward_range[0] if fr is None else fr

    @property
    def trajectory(self) -> TrajectorySpec:
        """The ``[trajectory]`` table, or its defaults when the pack has none."""
        return self.document.trajectory or TrajectorySpec()

    @property
    def scores_trajectories(self) -> bool:
        """True when the pack declares ``[trajectory]`` or a component with a scope other
        than ``response``: every result then carries its per-turn reward vector."""
        return self.document.trajectory is not None or any(
            c.config.scope != "response" for c in self.components)

    def to_json(self) -> dict[str, Any]:
        data = self.document.model_dump(mode="json", exclude_none=True)
        data["hash"] = self.hash
        data["source"] = self.source
        return data


def _named_types(document: dict[str, Any], host: PluginHost) -> set[str] | None:
    """The component types ``document`` uses when every one is installed, else None (the
    full union, so that an unknown or missing type gets the error listing every installed
    type)."""
    components = document.get("components")
    if not isinstance(components, list) or not components:
        return None
    types = {c.get("type") if isinstance(c, dict) else None for c in components}
    if not all(isinstance(t, str) and t in host.components for t in types):
        return None
    return types  # type: ignore[return-value]


def load_pack(spec: str | PackPath, host: PluginHost | None = None, *,
              roots: Sequence[Path] = ()) -> Pack:
    """Locate (registered name, path, or path under one of ``roots``), merge ``extends``,
    validate and build a pack.

    Raises:
        PackError: the pack cannot be found or read, is invalid (every problem listed,
            each with its file and line), or a component cannot be built.
    """
    host = host or make_plugin_host()
    with trust.recording() as needs:
        pack = _load(spec, host, roots)
    pack.needs = needs
    return pack


def _load(spec: str | PackPath, host: PluginHost, roots: Sequence[Path]) -> Pack:
    resolved = resolve(spec, host, roots=roots)
    judge_table = resolved.document.get("judge")
    named = judge_table.get("backend") if isinstance(judge_table, dict) else None
    model = pack_document_model(host, judge_backends={named} if isinstance(named, str) else (),
                                component_types=_named_types(resolved.document, host))
    try:
        document = model.model_validate(resolved.document)
    except ValidationError as exc:
        lines = [_format_error(err, resolved, host) for err in exc.errors()]
        raise PackError("invalid pack:\n  " + "\n  ".join(dict.fromkeys(lines))) from None
    label = resolved.label
    configs: Sequence[ComponentConfig] = document.components  # type: ignore[attr-defined]

    seen: dict[str, int] = {}
    for position, cfg in enumerate(configs):
        if cfg.id in seen:
            first = _component_at(resolved, seen[cfg.id], configs[seen[cfg.id]])("id", "")
            raise PackError(f"{_component_at(resolved, position, cfg)('id', '')}: component id "
                            f"{cfg.id!r} is used twice (first at {first}); give each "
                            f"[[components]] its own id")
        seen[cfg.id] = position
    if not any(c.effective_weight > 0 for c in configs if c.gate is None) and (
        document.aggregate.method == "weighted_mean"
    ):
        raise PackError(f"{label}: no component has a positive weight; weighted_mean needs one")

    lo, hi = document.pack.reward_range
    for cfg in configs:
        if cfg.gate is not None and not lo <= cfg.gate.fail_reward <= hi:
            raise PackError(f"{label}: components id={cfg.id!r}: gate.fail_reward "
                            f"{cfg.gate.fail_reward} is outside reward_range [{lo}, {hi}]")

    unscored = document.trajectory.unscored_turn_reward if document.trajectory else None
    if unscored is not None and not lo <= unscored <= hi:
        raise PackError(f"{label}: [trajectory]: unscored_turn_reward {unscored} is outside "
                        f"reward_range [{lo}, {hi}]")

    formula = None
    if document.aggregate.formula:
        # the parser is imported by the packs that have a formula only (issue 13)
        from rewardsmith.core.formula import FormulaError, parse_formula

        try:
            formula = parse_formula(document.aggregate.formula, set(seen))
        except FormulaError as exc:
            raise PackError(f"{_table_at(resolved, 'aggregate', 'formula')}: "
                            f"aggregate.formula: {exc}") from None

    backends = BackendPool(host)
    file_digests: list[str] = []
    files: list[PackPath] = []
    components: list[Component[Any]] = []
    for position, (cfg, search_paths) in enumerate(zip(configs, resolved.bases, strict=True)):
        at = _component_at(resolved, position, cfg)
        # The document model admits only registered types, so the lookup cannot miss.
        cls: type[Component[Any]] = host.components[cfg.type].value
        judge_settings: dict[str, Any] = {}
        if getattr(cls, "uses_judge", False):
            own = getattr(cfg, "judge", None) or {}
            judge_settings = {**document.judge_settings(), **own}
            try:
                judge_settings = _confined_cache_path(judge_settings, resolved, search_paths,
                                                      "cache_path" in own)
                validated = backends.validate(judge_settings)
                trust.check_backend_config(validated, "judge")
                judge_settings = validated.model_dump(mode="json")
            except ValidationError as exc:
                raise PackError(_judge_settings_error(exc, own, at, resolved, cfg.id)) from None
            except (PluginError, trust.TrustError) as exc:
                raise PackError(f"{at('judge', str(exc))}: components id={cfg.id!r}: judge "
                                f"settings: {exc}") from None
        context = _TrackingContext(
            pack_name=document.pack.name,
            search_paths=search_paths,
            judge_defaults=judge_settings,
            metric_functions={name: reg.value for name, reg in host.metric_functions.items()},
            _backend_provider=backends.get,
            _settings_validator=backends.validate,
            digests=file_digests,
            files=files,
        )
        try:
            component = cls(cfg, context)
            if check_run_mode(component) == "group" and cfg.gate is not None:
                raise ValueError("a component that scores whole prompt groups (run = 'group') "
                                 "cannot be a gate: gates decide one sample at a time")
            if check_run_mode(component) == "group" and cfg.scope == "turn":
                raise ValueError("a component that scores whole prompt groups (run = 'group') "
                                 "cannot have scope = 'turn'")
            components.append(component)
        except (OSError, ValueError, TypeError, PluginError) as exc:
            raise PackError(f"{at(None, str(exc))}: components id={cfg.id!r} ({cfg.type}): "
                            f"{exc}") from None
        except BaseException as exc:  # a plugin's constructor: any failure is the pack's
            if users_interrupt(exc):  # SystemExit etc. from plugin code are not (issue 10)
                raise
            raise PackError(f"{at(None, str(exc))}: components id={cfg.id!r} ({cfg.type}): "
                            f"{type(exc).__name__}: {exc}") from None

    return Pack(
        name=document.pack.name,
        version=document.pack.version,
        description=document.pack.description,
        source=label,
        document=document,
        components=components,
        formula=formula,
        hash=content_hash(document.canonical(), file_digests),
        backends=backends,
        chain=resolved.chain,
        sources=resolved.sources,
        tests_source=resolved.table_origins.get("tests"),
        files=files,
    )


def _confined_cache_path(judge: dict[str, Any], resolved: ResolvedPack,
                         search_paths: Sequence[PackPath], own: bool) -> dict[str, Any]:
    """``judge`` with a pack-named ``cache_path`` made a path inside the folder of the pack
    file that wrote it (core.trust.confine); ``""`` (cache off) and unset pass through."""
    path = judge.get("cache_path")
    if not isinstance(path, str) or not path:
        return judge
    origin = resolved.table_origins.get("judge.cache_path")
    folder = search_paths[0] if own and search_paths else (
        origin.folder if origin is not None else None)
    if folder is None:
        raise trust.TrustError("cache_path: the pack has no folder to keep a cache in")
    return {**judge, "cache_path": str(trust.confine(folder, path, "cache_path"))}


def _judge_settings_error(exc: ValidationError, own: dict[str, Any], at: Any,
                          resolved: ResolvedPack, component_id: str) -> str:
    """A judge settings table the backend refused, one line per error naming the key and
    where it was written: the ``[judge]`` table's line, or the component's ``judge``
    override (``file:line: [judge]: tokens_per_minute: ...``)."""
    lines = []
    for err in exc.errors():
        key = str(err["loc"][0]) if err["loc"] else None
        message = str(err["msg"]).removeprefix("Value error, ")
        source = resolved.table_origins.get(f"judge.{key}") or \
            resolved.table_origins.get("judge")
        if key is not None and key not in own and source is not None:
            line = _table_line(source, "judge", key)
            where = source.label + (f":{line}" if line else "")
            lines.append(f"{where}: [judge]: {key}: {message}")
        else:
            lines.append(f"{at('judge', message)}: components id={component_id!r}: judge: "
                         f"{key or 'table'}: {message}")
    return "\n  ".join(dict.fromkeys(lines))


def _component_at(resolved: ResolvedPack, position: int, cfg: ComponentConfig) -> Any:
    """``at(key, message) -> "file:line"`` for an error about component ``position`` after
    validation (a constructor's, or its judge settings'): the line of ``key``, else of the
    first key the component set whose value the message quotes (a missing
    ``criteria_file`` names its value), else of the component's header."""
    origin = resolved.origins[position] if position < len(resolved.origins) else None

    def at(key: str | None, message: str) -> str:
        if origin is None:
            return resolved.label
        if key is None:
            for name in sorted(cfg.model_fields_set):
                value = getattr(cfg, name, None)
                if isinstance(value, str | Path) and str(value) and str(value) in message:
                    key = name
                    break
        line = _line_of(origin.source, origin.index, key)
        return origin.source.label + (f":{line}" if line else "")

    return at


@dataclass
class _TrackingContext(ComponentContext):
    """Records digests of files components read, so the pack hash covers them."""

    digests: list[str] = field(default_factory=list)
    files: list[PackPath] = field(default_factory=list)

    def read_text(self, relative: str) -> str:
        text = super().read_text(relative)
        self.digests.append(hashlib.sha256(text.encode()).hexdigest())
        for base in self.search_paths:  # the file read: the first base that has it
            path = trust.confine(base, relative, "a file named in a pack")
            if path.is_file():
                self.files.append(path)
                break
        return text
