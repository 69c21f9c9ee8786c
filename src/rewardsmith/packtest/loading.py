"""Find a loaded pack's suite: the ``[tests]`` table of the pack file that declares it.

A child pack that ``extends`` another inherits its ``[tests]`` table (as the pack loader
merges it); the suite path then resolves next to the parent's file, where it was written.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from rewardsmith.core.pack import Pack
from rewardsmith.packtest.suite import LoadedCase, SuiteError, SuiteSettings, load_suite


def _file_of(label: str) -> Path:
    # Chain labels are a file path, or "<path> (pack 'name' from dist)" for registered packs.
    return Path(label.split(" (pack ", 1)[0])


def declaring_file(pack: Pack) -> Path | None:
    """The most derived pack file in the ``extends`` chain with a ``[tests]`` table."""
    for label in reversed(pack.chain or [pack.source]):
        path = _file_of(label)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(raw.get("tests"), dict) and raw["tests"]:
            return path
    return None


def load_pack_suite(pack: Pack) -> tuple[list[LoadedCase], SuiteSettings]:
    """The pack's cases and ``[tests]`` settings; :class:`SuiteError` when it has none."""
    if not pack.document.tests:
        raise SuiteError(f"{pack.source}: the pack has no [tests] table; add\n"
                         "  [tests]\n  suite = \"tests/<pack>.jsonl\"\n"
                         "(see docs/pack-tests.md)")
    settings = SuiteSettings.from_table(dict(pack.document.tests), pack.source)
    declared_in = declaring_file(pack)
    base = declared_in.parent if declared_in is not None else Path()
    suite = Path(settings.suite)
    path = suite if suite.is_absolute() else base / suite
    if not path.exists():
        raise SuiteError(f"{declared_in or pack.source}: [tests].suite {settings.suite!r} "
                         f"does not exist (looked for {path})")
    return load_suite(path), settings
