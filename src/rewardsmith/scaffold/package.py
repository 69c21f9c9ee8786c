"""Scaffold a pip-installable rubric-pack package from the templates beside this module.

The package is written into a temporary sibling directory and renamed into place at the
end, so a failure halfway never leaves a half-written package behind, and an existing
directory is never touched.
"""

from __future__ import annotations

import json
import keyword
import re
import secrets
import shutil
import sys
from collections.abc import Collection
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from rewardsmith import __version__
from rewardsmith.core.errors import RewardsmithError

# Lowercase words joined by single hyphens: a valid distribution name, a valid pack name
# (see core.pack._NAME_RE) and, with hyphens as underscores, a valid module name.
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
MAX_NAME_CHARS = 64
_PLACEHOLDER_RE = re.compile(r"\{\{(\w+)\}\}")
_RESERVED_MODULES = frozenset({"rewardsmith", "test", "tests", "src", "conftest"})

TEMPLATE_ROOT = "template"
# Output path (with placeholders) -> template file, for every scaffolded package.
BASE_FILES: dict[str, str] = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "README.md": "README.md.tmpl",
    ".gitignore": "gitignore.tmpl",
    "src/{{module}}/__init__.py": "init.py.tmpl",
    "src/{{module}}/packs/{{name}}.toml": "pack.toml.tmpl",
    "tests/test_pack.py": "test_pack.py.tmpl",
    "src/{{module}}/packs/tests/{{name}}.jsonl": "suite.jsonl.tmpl",
}
# Added by --with-check: a custom component, its registration and its own tests.
CHECK_FILES: dict[str, str] = {
    "src/{{module}}/checks.py": "checks.py.tmpl",
    "tests/test_checks.py": "test_checks.py.tmpl",
}
# Snippets spliced into base files (empty without --with-check).
CHECK_SNIPPETS: dict[str, str] = {
    "component_hook": "snippet_component_hook.py.tmpl",
    "check_components": "snippet_pack_component.toml.tmpl",
    "check_cases": "snippet_cases.jsonl.tmpl",
    "check_readme": "snippet_readme.md.tmpl",
}


class ScaffoldError(RewardsmithError):
    """The package cannot be scaffolded (bad name, existing directory, template bug)."""


@dataclass(frozen=True)
class PackageNames:
    """The names one scaffolded package uses, all derived from the pack name."""

    name: str  # pack name and distribution name, e.g. "acme-support"
    module: str  # import name, e.g. "acme_support"

    @property
    def check_type(self) -> str:
        """The type tag of the starter custom component (``--with-check``)."""
        return f"{self.name}-ends-cleanly"


def package_names(name: str) -> PackageNames:
    """Validate ``name`` and derive the module name; raise :class:`ScaffoldError` if unsafe."""
    if len(name) > MAX_NAME_CHARS:
        raise ScaffoldError(f"name {name!r} is longer than {MAX_NAME_CHARS} characters")
    if not _NAME_RE.match(name):
        raise ScaffoldError(
            f"name {name!r} is not usable as a pack, distribution and module name: use "
            "lowercase letters and digits in words joined by single hyphens, starting with "
            "a letter (e.g. 'acme-support')"
        )
    module = name.replace("-", "_")
    if keyword.iskeyword(module) or keyword.issoftkeyword(module):
        raise ScaffoldError(f"name {name!r} would make the module {module!r}, a Python keyword")
    if module in sys.stdlib_module_names or module in _RESERVED_MODULES:
        shadowed = ("the standard library" if module in sys.stdlib_module_names
                    else "a name rewardsmith or pytest uses")
        raise ScaffoldError(
            f"name {name!r} would make the module {module!r}, which shadows {shadowed}; "
            "choose a more specific name (e.g. prefix your organisation)"
        )
    return PackageNames(name, module)


def check_unregistered(names: PackageNames, *, packs: Collection[str],
                       plugins: Collection[str]) -> None:
    """Refuse names already taken where the package will register: its pack name among
    the rubric packs ``packs`` and its module (the entry-point name) among the plugins
    ``plugins`` (both as a :class:`~rewardsmith.core.plugins.PluginHost` lists them).
    Installed, a taken name would be a duplicate registration. Raises
    :class:`ScaffoldError` naming the clash and a free name to use instead."""
    clash = (f"pack name {names.name!r} is already registered" if names.name in packs
             else f"module {names.module!r} is already a registered plugin name"
             if names.module in plugins else None)
    if clash is None:
        return
    candidates = [f"my-{names.name}", *(f"my-{names.name}-{n}" for n in range(2, 100))]
    free = next((c for c in candidates if len(c) <= MAX_NAME_CHARS and c not in packs
                 and c.replace("-", "_") not in plugins), None)
    raise ScaffoldError(f"{clash} (installed, the package would register it twice); "
                        "choose another name" + (f", e.g. {free!r}" if free else ""))


def _template(relative: str) -> str:
    return files(__package__).joinpath(TEMPLATE_ROOT, relative).read_text(encoding="utf-8")


def render(text: str, values: dict[str, str], where: str) -> str:
    """Replace ``{{key}}`` placeholders; an unknown key is a template bug, so it raises."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ScaffoldError(f"template {where} uses unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER_RE.sub(substitute, text)


def _toml_string(text: str) -> str:
    # A JSON string literal is a valid TOML basic string (same escapes, no newlines).
    return json.dumps(text, ensure_ascii=False)


def planned_files(names: PackageNames, *, description: str,
                  with_check: bool) -> dict[str, str]:
    """Relative path -> content of every file the package will contain."""
    if "\n" in description or "\r" in description:
        raise ScaffoldError("the description must be a single line")
    values = {
        "name": names.name,
        "module": names.module,
        "description": description,
        "description_toml": _toml_string(description),
        "rewardsmith_version": __version__,
        "check_type": names.check_type,
    }
    for key, template in CHECK_SNIPPETS.items():
        values[key] = render(_template(template), values, template) if with_check else ""
    layout = {**BASE_FILES, **(CHECK_FILES if with_check else {})}
    return {
        render(path, values, path): render(_template(template), values, template)
        for path, template in layout.items()
    }


def scaffold_package(name: str, parent: Path, *, description: str | None = None,
                     with_check: bool = False) -> Path:
    """Write a new pack package into ``parent/name``; return its directory.

    Creates ``parent`` (and its parents) when missing. Refuses to touch an existing
    package path. Files are written to a hidden staging directory
    in ``parent`` first and moved into place in one rename.
    """
    names = package_names(name)
    description = description or f"The {name} rubric pack for rewardsmith."
    target = parent / name
    if target.exists() or target.is_symlink():
        raise ScaffoldError(f"{target} already exists; choose another name or --dir "
                            "(nothing was written)")
    contents = planned_files(names, description=description, with_check=with_check)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScaffoldError(f"--dir {parent} cannot be created: {exc.strerror or exc}") from None

    # mkdir (not mkdtemp) so the package gets the user's normal permissions.
    staging = parent / f".{name}.{secrets.token_hex(4)}.partial"
    staging.mkdir()
    try:
        for relative, text in contents.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if target.exists():  # created by someone else meanwhile: never overwrite
            raise ScaffoldError(f"{target} already exists; nothing was written")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
