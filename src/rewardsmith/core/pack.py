"""Rubric packs: declarative, versioned TOML documents, validated after plugins load.

Loading resolves ``extends`` chains, validates the merged document against a pydantic
model whose ``components`` field is a discriminated union of every installed component
config, checks the aggregation formula, builds the components (so a missing schema file is
caught by ``packs validate``, not by the first training step), and hashes the content.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from rewardsmith.core.backend_pool import BackendPool
from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.errors import PackError, PluginError
from rewardsmith.core.formula import Formula, FormulaError, parse_formula
from rewardsmith.core.plugins import PluginHost, make_plugin_host
from rewardsmith.core.results import PackRef

MAX_EXTENDS_DEPTH = 8
_NAME_RE = r"^[a-z0-9][a-z0-9._-]*$"


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
    max_concurrency: int = Field(default=256, ge=1, description="Samples in flight at once.")
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


class PackDocumentBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pack: PackMeta
    judge: dict[str, Any] = Field(default_factory=dict)
    aggregate: AggregateSpec = Field(default_factory=AggregateSpec)
    tests: dict[str, Any] = Field(default_factory=dict)


def pack_document_model(host: PluginHost) -> type[PackDocumentBase]:
    """The pack model for the installed plugins: components as a discriminated union."""
    configs = tuple(reg.value.Config for reg in host.components.values())
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
    )
    return model


def pack_json_schema(host: PluginHost | None = None) -> dict[str, Any]:
    """JSON Schema of the pack format for the installed plugins (editor completion, CI)."""
    return pack_document_model(host or make_plugin_host()).model_json_schema()


# -- sources ----------------------------------------------------------------------------
PackPath = Path | Traversable


@dataclass(frozen=True)
class _Source:
    label: str  # what error messages call it: a file path or "pack 'name' (dist)"
    text: str
    base: PackPath | None  # folder that relative references resolve against


def _parent(path: PackPath) -> PackPath | None:
    parent = getattr(path, "parent", None)
    return parent if parent is not None else None


def _resolve_source(
    spec: str | PackPath, host: PluginHost, relative_to: PackPath | None
) -> _Source:
    if isinstance(spec, str):
        registered = host.rubric_packs.get(spec)
        if registered is not None:
            path: PackPath = registered.value
            label = f"{path} (pack {spec!r} from {registered.distribution})"
            return _Source(label, path.read_text(encoding="utf-8"), _parent(path))
        candidate = Path(spec)
        if not candidate.is_absolute() and relative_to is not None:
            nested = relative_to / spec
            if nested.is_file():
                return _Source(str(nested), nested.read_text(encoding="utf-8"), _parent(nested))
        if candidate.is_file():
            return _Source(str(candidate), candidate.read_text(encoding="utf-8"), candidate.parent)
        known = ", ".join(sorted(host.rubric_packs)) or "none"
        raise PackError(f"no pack named {spec!r} is registered (registered: {known}) "
                        f"and no file exists at {spec!r}")
    if not spec.is_file():
        raise PackError(f"pack file {spec} does not exist")
    return _Source(str(spec), spec.read_text(encoding="utf-8"), _parent(spec))


def _parse_toml(source: _Source) -> dict[str, Any]:
    try:
        return tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{source.label}: invalid TOML: {exc}") from None


# -- extends ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Origin:
    """Where a merged component came from, for error messages with line numbers."""

    source: _Source
    index: int


@dataclass
class _Resolved:
    document: dict[str, Any]
    origins: list[_Origin]
    chain: list[str]
    # Per component: folders its relative file references resolve against, most derived
    # first (a child that overrides only a weight keeps its parent's schema files).
    bases: list[tuple[PackPath, ...]] = field(default_factory=list)


def _merge(parent: _Resolved, child: dict[str, Any], source: _Source) -> _Resolved:
    meta = {**parent.document.get("pack", {}), **child.get("pack", {})}
    meta.pop("extends", None)
    removed = set(meta.pop("remove_components", []))
    judge = {**parent.document.get("judge", {}), **child.get("judge", {})}

    components: list[dict[str, Any]] = []
    origins: list[_Origin] = []
    bases: list[tuple[PackPath, ...]] = []
    by_id: dict[str, int] = {}
    for comp, origin, comp_bases in zip(parent.document.get("components", []), parent.origins,
                                        parent.bases, strict=True):
        if comp.get("id") in removed:
            continue
        by_id[comp.get("id")] = len(components)
        components.append(comp)
        origins.append(origin)
        bases.append(comp_bases)
    own_base = (source.base,) if source.base is not None else ()
    unknown_removed = removed - {c.get("id") for c in parent.document.get("components", [])}
    if unknown_removed:
        raise PackError(
            f"{source.label}: pack.remove_components names {sorted(unknown_removed)}, which the "
            f"parent pack does not have"
        )
    for i, comp in enumerate(child.get("components", [])):
        if not isinstance(comp, dict):
            raise PackError(f"{source.label}: components[{i}] must be a table")
        existing = by_id.get(comp.get("id"))
        if existing is None:
            by_id[comp.get("id")] = len(components)
            components.append(comp)
            origins.append(_Origin(source, i))
            bases.append(own_base)
        else:
            base = components[existing]
            same_type = "type" not in comp or comp["type"] == base.get("type")
            components[existing] = {**base, **comp} if same_type else comp
            origins[existing] = _Origin(source, i)
            bases[existing] = (*own_base, *bases[existing]) if same_type else own_base

    document: dict[str, Any] = {"pack": meta, "judge": judge, "components": components}
    for key in ("aggregate", "tests"):
        if key in child:
            document[key] = child[key]
        elif key in parent.document:
            document[key] = parent.document[key]
    extra = set(child) - {"pack", "judge", "components", "aggregate", "tests"}
    for key in extra:
        document[key] = child[key]  # rejected by validation, with its name
    return _Resolved(document, origins, [*parent.chain, source.label], bases)


def _resolve(spec: str | PackPath, host: PluginHost, relative_to: PackPath | None,
             seen: tuple[str, ...] = ()) -> _Resolved:
    source = _resolve_source(spec, host, relative_to)
    if source.label in seen:
        raise PackError(f"{source.label}: 'extends' cycle: {' -> '.join([*seen, source.label])}")
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise PackError(f"{source.label}: 'extends' chain is deeper than {MAX_EXTENDS_DEPTH}")
    raw = _parse_toml(source)
    meta = raw.get("pack")
    if not isinstance(meta, dict):
        raise PackError(f"{source.label}: missing [pack] table (name, version)")
    components = raw.get("components", [])
    if not isinstance(components, list):
        raise PackError(f"{source.label}: 'components' must be an array of tables "
                        "([[components]])")
    parent_spec = meta.get("extends")
    if parent_spec is None:
        if meta.get("remove_components"):
            raise PackError(f"{source.label}: pack.remove_components needs pack.extends")
        origins = [_Origin(source, i) for i in range(len(components))]
        own_base = (source.base,) if source.base is not None else ()
        return _Resolved(raw, origins, [source.label], [own_base] * len(components))
    if not isinstance(parent_spec, str):
        raise PackError(f"{source.label}: pack.extends must be a pack name or a path")
    parent = _resolve(parent_spec, host, source.base, (*seen, source.label))
    return _merge(parent, raw, source)


# -- errors -----------------------------------------------------------------------------
def _line_of(source: _Source, index: int, key: str | None) -> int | None:
    """Best-effort line number of components[index] (and key) in the pack's text."""
    headers = [n for n, line in enumerate(source.text.splitlines(), 1)
               if re.match(r"^\s*\[\[\s*components\s*\]\]", line)]
    if index >= len(headers):
        return None
    start = headers[index]
    if key is None:
        return start
    end = headers[index + 1] if index + 1 < len(headers) else None
    lines = source.text.splitlines()[start:end]
    for offset, line in enumerate(lines, start + 1):
        if re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return offset
    return start


def _format_error(err: Any, resolved: _Resolved, host: PluginHost) -> str:
    loc: tuple[Any, ...] = tuple(err["loc"])
    msg: str = err["msg"]
    kind: str = err["type"]
    doc = resolved.document
    if len(loc) >= 2 and loc[0] == "components" and isinstance(loc[1], int):
        index = loc[1]
        comps = doc.get("components", [])
        comp = comps[index] if index < len(comps) and isinstance(comps[index], dict) else {}
        rest = list(loc[2:])
        if rest and rest[0] == comp.get("type"):
            rest = rest[1:]  # pydantic puts the union tag in the location
        key = ".".join(str(p) for p in rest) or None
        origin = resolved.origins[index] if index < len(resolved.origins) else None
        where = origin.source.label if origin else resolved.chain[-1]
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
            return (f"{at}: {who}: unknown component type {comp.get('type')!r}; installed "
                    f"types: {', '.join(sorted(host.components)) or 'none'}")
        if kind == "extra_forbidden" and key:
            cls = host.components.get(str(comp.get("type")))
            fields = sorted(cls.value.Config.model_fields) if cls else []
            close = difflib.get_close_matches(str(rest[-1]), fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {fields}"
            return f"{at}: {who}: unknown key {key!r}{hint}"
        return f"{at}: {who}: {key or 'component'}: {msg}"
    key = ".".join(str(p) for p in loc) or "document"
    return f"{resolved.chain[-1]}: {key}: {msg}"


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

    def to_json(self) -> dict[str, Any]:
        data = self.document.model_dump(mode="json", exclude_none=True)
        data["hash"] = self.hash
        data["source"] = self.source
        return data


def load_pack(spec: str | PackPath, host: PluginHost | None = None) -> Pack:
    """Load, merge, validate and build a pack from a registered name or a file path."""
    host = host or make_plugin_host()
    resolved = _resolve(spec, host, None)
    model = pack_document_model(host)
    try:
        document = model.model_validate(resolved.document)
    except ValidationError as exc:
        lines = [_format_error(err, resolved, host) for err in exc.errors()]
        raise PackError("invalid pack:\n  " + "\n  ".join(dict.fromkeys(lines))) from None
    label = resolved.chain[-1]
    configs: Sequence[ComponentConfig] = document.components  # type: ignore[attr-defined]

    seen: set[str] = set()
    for cfg in configs:
        if cfg.id in seen:
            raise PackError(f"{label}: component id {cfg.id!r} is used twice")
        seen.add(cfg.id)
    if not any(c.effective_weight > 0 for c in configs if c.gate is None) and (
        document.aggregate.method == "weighted_mean"
    ):
        raise PackError(f"{label}: no component has a positive weight; weighted_mean needs one")

    lo, hi = document.pack.reward_range
    for cfg in configs:
        if cfg.gate is not None and not lo <= cfg.gate.fail_reward <= hi:
            raise PackError(f"{label}: components id={cfg.id!r}: gate.fail_reward "
                            f"{cfg.gate.fail_reward} is outside reward_range [{lo}, {hi}]")

    formula = None
    if document.aggregate.formula:
        try:
            formula = parse_formula(document.aggregate.formula, seen)
        except FormulaError as exc:
            raise PackError(f"{label}: aggregate.formula: {exc}") from None

    backends = BackendPool(host)
    file_digests: list[str] = []
    components: list[Component[Any]] = []
    for cfg, search_paths in zip(configs, resolved.bases, strict=True):
        cls = host.component_class(cfg.type)
        judge_settings: dict[str, Any] = {}
        if getattr(cls, "uses_judge", False):
            judge_settings = {**document.judge, **(getattr(cfg, "judge", None) or {})}
            try:
                judge_settings = backends.validate(judge_settings).model_dump(mode="json")
            except (ValidationError, PluginError) as exc:
                raise PackError(f"{label}: components id={cfg.id!r}: judge settings: {exc}") \
                    from None
        context = _TrackingContext(
            pack_name=document.pack.name,
            search_paths=search_paths,
            judge_defaults=judge_settings,
            metric_functions={name: reg.value for name, reg in host.metric_functions.items()},
            _backend_provider=backends.get,
            digests=file_digests,
        )
        try:
            components.append(cls(cfg, context))
        except (OSError, ValueError, TypeError, PluginError) as exc:
            raise PackError(f"{label}: components id={cfg.id!r} ({cfg.type}): {exc}") from None
        except (Exception, MemoryError) as exc:  # a plugin's constructor: any failure is the pack's
            raise PackError(f"{label}: components id={cfg.id!r} ({cfg.type}): "
                            f"{type(exc).__name__}: {exc}") from None

    canonical = orjson.dumps(document.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(canonical)
    for d in sorted(file_digests):
        digest.update(d.encode())
    return Pack(
        name=document.pack.name,
        version=document.pack.version,
        description=document.pack.description,
        source=label,
        document=document,
        components=components,
        formula=formula,
        hash="sha256:" + digest.hexdigest()[:16],
        backends=backends,
        chain=resolved.chain,
    )


@dataclass
class _TrackingContext(ComponentContext):
    """Records digests of files components read, so the pack hash covers them."""

    digests: list[str] = field(default_factory=list)

    def read_text(self, relative: str) -> str:
        text = super().read_text(relative)
        self.digests.append(hashlib.sha256(text.encode()).hexdigest())
        return text
