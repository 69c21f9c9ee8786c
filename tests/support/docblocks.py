"""Code blocks of the Markdown docs, for the docs-as-tests suite (tests/test_docs_run.py).

The convention (docs/decisions.md, issue 15): every ```console / ```sh / ```bash / ```shell
block and every ```python block in README.md and docs/*.md runs as written from the
repository root in the project's venv. A block that cannot (AWS, a GPU, an uninstalled
trainer, a long-running server) has ``<!-- not-run: reason -->`` on the line right before
its opening fence. Output shown to the reader goes in ```text blocks, which never run.

One extension for examples that need a file an earlier block shows: ``<!-- file: NAME -->``
among the comment lines right before a fence (of any language) writes that block's text to
``NAME`` (relative to the repository root the blocks run in) before later blocks run.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGS = frozenset({"console", "sh", "bash", "shell"})
PYTHON_LANGS = frozenset({"python", "py"})
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not-run:\s*(?P<reason>.*?)\s*-->\s*$")
_FILE = re.compile(r"^\s*<!--\s*file:\s*(?P<name>[\w./-]+)\s*-->\s*$")
_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its file, the 1-based line of its opening fence, its language
    (first word of the info string), its text (dedented) and the not-run reason if any."""

    path: Path
    line: int
    lang: str
    text: str
    not_run: str | None
    file: str | None = None

    @property
    def kind(self) -> str | None:
        """``"shell"``, ``"python"``, or None for a block that is never run (toml, text...)."""
        if self.lang in SHELL_LANGS:
            return "shell"
        if self.lang in PYTHON_LANGS:
            return "python"
        return None

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every fenced block of the Markdown file at ``path``, in order.

    Raises ``ValueError`` naming the line of a fence that is never closed.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, indent = match["fence"], match["indent"]
        lang = (match["info"].strip().split() or [""])[0].lower()
        previous = lines[i - 1] if i > 0 else ""
        not_run = _NOT_RUN.match(previous)
        comments: list[str] = []
        k = i - 1
        while k >= 0 and _COMMENT.match(lines[k]):
            comments.append(lines[k])
            k -= 1
        file_marker = next((m["name"] for c in comments if (m := _FILE.match(c))), None)
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence[0] * len(fence))
                                      and lines[j].strip().strip(fence[0]) == ""):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        if j >= len(lines):
            raise ValueError(f"{path}:{i + 1}: code fence {fence!r} is never closed")
        found.append(Block(path, i + 1, lang, textwrap.dedent("\n".join(body)),
                           not_run["reason"] if not_run else None, file_marker))
        i = j + 1
    return found


def shell_commands(block: Block) -> list[str]:
    """The commands of a shell block: in ```console, the ``$ `` lines (with ``\\``
    continuations; other lines are output); elsewhere every line that is not blank or a
    comment, continuations joined."""
    commands: list[str] = []
    pending: str | None = None
    prompt_only = block.lang == "console"
    for raw in block.text.splitlines():
        line = raw.rstrip()
        if pending is not None:
            pending += " " + line.strip().removesuffix("\\").rstrip()
            if not line.endswith("\\"):
                commands.append(pending)
                pending = None
            continue
        stripped = line.strip()
        if prompt_only:
            if not stripped.startswith("$ "):
                continue
            stripped = stripped[2:].strip()
        elif not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending = stripped.removesuffix("\\").rstrip()
        else:
            commands.append(stripped)
    if pending is not None:
        commands.append(pending)
    return commands


_SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?]|\b(?:export|cd)\b")


def simple_argv(command: str) -> list[str] | None:
    """The argv of ``command`` when it is a plain ``rewardsmith ...`` invocation (no pipes,
    redirects, globs, variables; a trailing ``# comment`` dropped) that can run in-process,
    else None (it runs in a shell)."""
    try:
        argv = shlex.split(command, comments=True)
    except ValueError:
        return None
    if not argv or argv[0] != "rewardsmith":
        return None
    code = shlex.join(argv)
    if _SHELL_SYNTAX.search(code.replace("'", "")):
        return None
    return argv[1:]
