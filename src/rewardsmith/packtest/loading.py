"""Find a loaded pack's suite: the ``[tests]`` table of the pack file that declares it.

A child pack that ``extends`` another inherits its ``[tests]`` table (as the pack loader
merges it); the suite path then resolves next to the parent's file, where it was written.
The pack locator recorded that file (``Pack.tests_source``); nothing is looked up again.
"""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path

from rewardsmith.core.pack import Pack, TestsTable
from rewardsmith.core.trust import TrustError, confine
from rewardsmith.packtest.suite import LoadedCase, SuiteError, load_suite


def load_pack_suite(pack: Pack) -> tuple[list[LoadedCase], TestsTable]:
    """The pack's cases and its validated ``[tests]`` table.

    Raises:
        SuiteError: the pack has no ``[tests]`` table, its suite does not exist, or a case
            in it is invalid (every problem listed).
    """
    tests = pack.document.tests
    if tests is None:
        raise SuiteError(f"{pack.source}: the pack has no [tests] table; add\n"
                         "  [tests]\n  suite = \"tests/<pack>.jsonl\"\n"
                         "(see docs/pack-tests.md)")
    declared_in = pack.tests_source
    folder = declared_in.folder if declared_in is not None else None
    label = declared_in.label if declared_in is not None else pack.source
    if folder is None:
        path: Path | Traversable = Path(tests.suite)
    else:
        # A pack names files inside its own folder only (core.trust.confine).
        try:
            path = confine(folder, tests.suite, "[tests].suite")
        except TrustError as exc:
            raise SuiteError(f"{label}: {exc}") from None
    if not path.is_file() and not path.is_dir():
        raise SuiteError(f"{label}: [tests].suite {tests.suite!r} does not exist "
                         f"(looked for {path})")
    return load_suite(path), tests
