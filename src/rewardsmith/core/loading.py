"""The one pack locator: where a pack document comes from, its ``extends`` chain, its hash.

A pack spec is, in this order of precedence:

1. the name of a registered pack (``register_rubric_packs``);
2. for ``extends`` (a pack naming its parent): only a relative path, from the folder of
   the pack that names it, that resolves (symlinks followed) inside the pack tree of the
   load, the folder above the pack the operator named
   (:func:`rewardsmith.core.trust.confine`); nothing else is looked at;
3. a file path (absolute, or relative to the working directory): the operator's choice;
4. a path relative to one of the caller's ``roots`` (the Lambda passes its task root,
   where the deployment zip is unpacked).

Everything that finds a pack — scoring, ``packs test``, the Lambda, ``lambda package``,
calibration — goes through :func:`locate` / :func:`resolve`, so a spec means the same
everywhere. Validation of the merged document is :mod:`rewardsmith.core.pack`'s job.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.core.errors import PackError
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.suggest import did_you_mean
from rewardsmith.core.trust import TrustError, confine

MAX_EXTENDS_DEPTH = 8
PackPath = Path | Traversable
#: Tables of a pack document besides ``[pack]`` and ``[[components]]``; a child pack
#: inherits each from its parent unless it writes its own.
INHERITED_TABLES = ("aggregate", "tests")


@dataclass(frozen=True)
class PackSource:
    """One located pack file.

    ``label`` is what error messages call it: the file path, or ``"<path> (pack 'name'
    from dist)"`` for a registered pack. ``folder`` is what relative references in it
    resolve against; ``registered`` is the pack name when it was found in the registry.
    """

    spec: str
    label: str
    text: str
    path: PackPath
    registered: str | None = None
    distribution: str | None = None

    @property
    def folder(self) -> PackPath | None:
        parent = getattr(self.path, "parent", None)
        return parent if parent is not None else None

    @property
    def file(self) -> Path | None:
        """The pack as a local file, or None when it lives inside a zip/wheel resource."""
        return self.path if isinstance(self.path, Path) else None


def _read(spec: str, path: PackPath, label: str, registered: str | None = None,
          distribution: str | None = None) -> PackSource:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{label}: cannot read the pack: {exc}") from None
    return PackSource(spec, label, text, path, registered, distribution)


def locate(spec: str | PackPath, host: PluginHost, *, relative_to: PackPath | None = None,
           roots: Sequence[Path] = (), within: Path | None = None,
           named_at: str | None = None) -> PackSource:
    """Find the pack ``spec`` names (see the module docstring for the order);
    ``named_at`` (``"child.toml:4"``) is where an ``extends`` named it, for errors.

    Raises:
        PackError: nothing is registered under that name and no such file exists; the
            message lists the registered packs and the places looked at.
    """
    if not isinstance(spec, str):
        if not spec.is_file():
            raise PackError(f"pack file {spec} does not exist")
        return _read(str(spec), spec, str(spec))
    registered = host.rubric_packs.get(spec)
    if registered is not None:
        path: PackPath = registered.value
        label = f"{path} (pack {spec!r} from {registered.distribution})"
        return _read(spec, path, label, spec, registered.distribution)
    if relative_to is not None:
        # A pack names its parent: a registered pack or a file inside its own folder,
        # never a path of its choosing elsewhere (``extends = "/etc/passwd"``).
        at = f"{named_at}: " if named_at else ""
        try:
            nested = confine(relative_to, spec, "pack.extends", within=within)
        except TrustError as exc:
            raise PackError(f"{at}{exc}; name a registered pack or a file in the pack's "
                            f"folder") from None
        if nested.is_file():
            return _read(spec, nested, str(nested))
        known = ", ".join(sorted(host.rubric_packs)) or "none"
        nearby = _pack_files(getattr(nested, "parent", None))
        hint = did_you_mean(spec, [*host.rubric_packs, *nearby])
        raise PackError(f"{at}pack.extends: no pack named {spec!r} is registered{hint} "
                        f"(registered: {known}) and no file exists at {nested}")
    candidate = Path(spec)
    looked = [str(candidate)]
    if candidate.is_file():
        return _read(spec, candidate, str(candidate))
    if not candidate.is_absolute():
        for root in roots:
            under_root = root / candidate
            if under_root.is_file():
                return _read(spec, under_root, str(under_root))
            looked.append(str(under_root))
    known = ", ".join(sorted(host.rubric_packs)) or "none"
    also = f" (also looked for {', '.join(looked[1:])})" if len(looked) > 1 else ""
    hint = did_you_mean(str(spec), host.rubric_packs)
    raise PackError(f"no pack named {spec!r} is registered{hint} (registered: {known}) "
                    f"and no file exists at {spec!r}{also}")


def parse(source: PackSource) -> dict[str, Any]:
    """The TOML document of ``source``; :class:`PackError` with the label when invalid
    (also when nested deeper than the parser's recursion can hold, or too big to hold)."""
    try:
        return tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{source.label}: invalid TOML: {exc}") from None
    except (RecursionError, MemoryError) as exc:
        raise PackError(f"{source.label}: invalid TOML: nested too deeply or too large "
                        f"({type(exc).__name__})") from None
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        raise PackError(f"{source.label}: invalid TOML: {exc}") from None


# -- extends ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Origin:
    """Where a merged component came from: its file and its index there (for line numbers)."""

    source: PackSource
    index: int


@dataclass
class ResolvedPack:
    """A pack document with its ``extends`` chain merged, before validation.

    ``origins[i]`` and ``bases[i]`` belong to ``document["components"][i]``: where it was
    last written, and the folders its relative file references resolve against (most
    derived first, so a child that overrides only a weight keeps its parent's files).
    ``table_origins`` maps ``"judge.<key>"`` and each inherited table name to the file
    that wrote it.
    """

    document: dict[str, Any]
    origins: list[Origin]
    sources: list[PackSource]
    bases: list[tuple[PackPath, ...]] = field(default_factory=list)
    table_origins: dict[str, PackSource] = field(default_factory=dict)

    @property
    def chain(self) -> list[str]:
        """Labels of the files merged, root parent first."""
        return [s.label for s in self.sources]

    @property
    def label(self) -> str:
        return self.sources[-1].label


def _own_tables(raw: dict[str, Any], source: PackSource) -> dict[str, PackSource]:
    origins = {f"judge.{k}": source for k in (raw.get("judge") or {})
               } if isinstance(raw.get("judge"), dict) else {}
    origins.update({t: source for t in INHERITED_TABLES if t in raw})
    return origins


def _merge(parent: ResolvedPack, child: dict[str, Any], source: PackSource) -> ResolvedPack:
    meta = {**parent.document.get("pack", {}), **child.get("pack", {})}
    meta.pop("extends", None)
    removed = set(meta.pop("remove_components", []))
    judge = {**parent.document.get("judge", {}), **child.get("judge", {})}

    components: list[dict[str, Any]] = []
    origins: list[Origin] = []
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
    own_base = (source.folder,) if source.folder is not None else ()
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
            origins.append(Origin(source, i))
            bases.append(own_base)
        else:
            base = components[existing]
            same_type = "type" not in comp or comp["type"] == base.get("type")
            components[existing] = {**base, **comp} if same_type else comp
            origins[existing] = Origin(source, i)
            bases[existing] = (*own_base, *bases[existing]) if same_type else own_base

    document: dict[str, Any] = {"pack": meta, "judge": judge, "components": components}
    for key in INHERITED_TABLES:
        if key in child:
            document[key] = child[key]
        elif key in parent.document:
            document[key] = parent.document[key]
    extra = set(child) - {"pack", "judge", "components", *INHERITED_TABLES}
    for key in extra:
        document[key] = child[key]  # rejected by validation, with its name
    table_origins = {**parent.table_origins, **_own_tables(child, source)}
    return ResolvedPack(document, origins, [*parent.sources, source], bases, table_origins)


def _pack_files(folder: PackPath | None) -> list[str]:
    """Names of the pack files in ``folder`` (for a did-you-mean), none when unreadable."""
    if folder is None:
        return []
    try:
        return [p.name for p in folder.iterdir() if p.name.endswith(".toml")]
    except (OSError, AttributeError):
        return []


def _extends_at(source: PackSource) -> str:
    """``"file:line"`` of the ``extends`` key in ``source`` (best effort: the first line
    assigning ``extends``), else the file alone."""
    for number, line in enumerate(source.text.splitlines(), 1):
        if re.match(r"^\s*extends\s*=", line):
            return f"{source.label}:{number}"
    return source.label


def resolve(spec: str | PackPath, host: PluginHost, *, roots: Sequence[Path] = (),
            relative_to: PackPath | None = None,
            _seen: tuple[str, ...] = (), _within: Path | None = None,
            _named_at: str | None = None) -> ResolvedPack:
    """Locate ``spec`` and merge its ``extends`` chain (at most ``MAX_EXTENDS_DEPTH``).

    Raises:
        PackError: a pack is missing or unreadable, invalid TOML, without a ``[pack]``
            table, an ``extends`` cycle or too deep a chain, or a bad
            ``remove_components``; the message names the file.
    """
    source = locate(spec, host, relative_to=relative_to, roots=roots, within=_within,
                    named_at=_named_at)
    if _within is None and source.file is not None:
        # The pack tree of this load: the folder above the pack the operator named. Every
        # ``extends`` in the chain must resolve inside it (core.trust.confine).
        _within = source.file.parent.parent
    if source.label in _seen:
        raise PackError(f"{source.label}: 'extends' cycle: {' -> '.join([*_seen, source.label])}")
    if len(_seen) >= MAX_EXTENDS_DEPTH:
        raise PackError(f"{source.label}: 'extends' chain is deeper than {MAX_EXTENDS_DEPTH}")
    raw = parse(source)
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
        origins = [Origin(source, i) for i in range(len(components))]
        own_base = (source.folder,) if source.folder is not None else ()
        return ResolvedPack(raw, origins, [source], [own_base] * len(components),
                            _own_tables(raw, source))
    if not isinstance(parent_spec, str):
        raise PackError(f"{_extends_at(source)}: pack.extends must be a pack name or a path")
    # A parent is looked up by name, next to the child, or as a path; never under roots.
    parent = resolve(parent_spec, host, relative_to=source.folder,
                     _seen=(*_seen, source.label), _within=_within,
                     _named_at=_extends_at(source))
    return _merge(parent, raw, source)


# -- content hash -----------------------------------------------------------------------
def content_hash(document: dict[str, Any], file_digests: Sequence[str]) -> str:
    """``"sha256:<16 hex>"`` over the validated document (canonical JSON, sorted keys)
    and the sha256 digests of every file its components read (order-independent)."""
    digest = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
    for d in sorted(file_digests):
        digest.update(d.encode())
    return "sha256:" + digest.hexdigest()[:16]
