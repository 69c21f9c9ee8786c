"""Finding JSON values inside free text, in linear time, and naming why a value is broken.

Both the checks that read "the JSON in a response" and the judge backends that read "the
verdict in a reply" look for ``{...}`` values among prose, code fences, LaTeX and reasoning.
Trying the standard decoder at every brace is quadratic on adversarial text (every failed
attempt may read to the end) and forces a cap on the number of attempts, which gives up
before the real object (``\\frac{a}{b}`` sixty times, then the answer). This module
recognises JSON (RFC 8259, https://www.rfc-editor.org/rfc/rfc8259 section 2-7) with
one memo per text:

- a value that starts at a given position either parses to one end or fails (the grammar
  is deterministic, LL(1)), so the outcome at each position is computed once and reused by
  every later attempt that reaches it;
- a string-start quote always follows ``{ [ , :`` (or whitespace after them), never a
  backslash, so it ends any string scanned from an earlier quote: the string scans of
  different attempts do not overlap;
- containers are parsed with an explicit stack (no recursion limit), and a failure deep
  inside marks every enclosing value at once.

Strings, numbers and whitespace are read by regular expressions that cannot backtrack
(possessive repeats over disjoint alternatives). Not the standard library's ``scanstring``:
its ``JSONDecodeError`` counts lines from the start of the text on every failure, which
makes many broken strings quadratic. The recogniser only finds spans; callers decode a span
with the decoder they trust. :class:`Malformed` says what went wrong and where
("unterminated string starting at char 41"), so an error can name its real cause.

A test in ``tests/core/test_json_text.py`` counts the scanner's steps on adversarial input
and checks they grow linearly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_WS_RE = re.compile(r"[ \t\n\r]*")
# A string's body up to its closing quote (RFC 8259 section 7); each character is taken one
# way only, and the repeat is possessive, so a failed match never backtracks.
_ESCAPE = r'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})'
_STRICT_BODY_RE = re.compile(rf'(?:[^"\\\x00-\x1f]|{_ESCAPE})*+')
_LOOSE_BODY_RE = re.compile(rf'(?:[^"\\]|{_ESCAPE})*+')
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = {"t": "true", "f": "false", "n": "null"}
_CLOSERS = {"{": "}", "[": "]"}

# Parser states of an open container.
_KEY_OR_CLOSE, _KEY, _COLON, _VALUE, _VALUE_OR_CLOSE, _COMMA_OR_CLOSE = range(6)


@dataclass(frozen=True, slots=True)
class Span:
    """A complete JSON object or array at ``text[start:end]``.

    ``height`` is its nesting depth (1 for ``{}`` or ``[1]``); ``first_key`` is an object's
    first key (None for an array or an empty object).
    """

    start: int
    end: int
    height: int
    first_key: str | None = None


@dataclass(frozen=True, slots=True)
class Malformed:
    """A value that starts at ``start`` but is not JSON: ``reason`` at char ``at``.

    ``first_key`` is an object's first key when the parse got that far, so a caller can
    tell a broken verdict (``{"correct": ...``) from a stray brace in prose.
    """

    start: int
    at: int
    reason: str
    first_key: str | None = None

    def describe(self) -> str:
        """The cause with its place, e.g. ``unterminated string starting at char 27``."""
        return self.reason


Outcome = Span | Malformed


class _Frame:
    __slots__ = ("first_key", "height", "kind", "start", "state")

    def __init__(self, kind: str, start: int, state: int) -> None:
        self.kind = kind
        self.start = start
        self.state = state
        self.height = 1
        self.first_key: str | None = None


class JsonScanner:
    """Recognises JSON containers at any position of one ``text``, each position once.

    ``strict`` (the default, as RFC 8259) rejects raw control characters inside strings;
    ``strict=False`` accepts them, as a model's raw line break inside a rationale.
    ``steps`` counts the container tokens handled plus the characters read as strings, for
    the linear-time tests.
    """

    def __init__(self, text: str, *, strict: bool = True) -> None:
        self.text = text
        self.strict = strict
        self.steps = 0
        self._memo: dict[int, Outcome] = {}
        self._body_re = _STRICT_BODY_RE if strict else _LOOSE_BODY_RE

    def value_at(self, pos: int) -> Outcome:
        """The JSON object or array starting at ``pos`` (``text[pos]`` is ``{`` or ``[``)."""
        known = self._memo.get(pos)
        if known is not None:
            return known
        text = self.text
        if text[pos] not in _CLOSERS:
            raise ValueError(f"no JSON container starts at char {pos}")
        stack = [_Frame(text[pos], pos, _KEY_OR_CLOSE if text[pos] == "{" else _VALUE_OR_CLOSE)]
        i = pos + 1
        while stack:
            self.steps += 1
            frame = stack[-1]
            i = _WS_RE.match(text, i).end()  # type: ignore[union-attr]  # always matches
            if i >= len(text):
                return self._fail(stack, i, f"{_name(frame.kind)} is never closed "
                                            f"(text ends at char {i})")
            ch = text[i]
            state = frame.state
            if state in (_KEY_OR_CLOSE, _VALUE_OR_CLOSE, _COMMA_OR_CLOSE) and \
                    ch == _CLOSERS[frame.kind]:
                i += 1
                stack.pop()
                done = Span(frame.start, i, frame.height, frame.first_key)
                self._memo[frame.start] = done
                if stack:
                    self._absorb(stack[-1], done)
                continue
            if state == _COMMA_OR_CLOSE:
                if ch != ",":
                    closer = _CLOSERS[frame.kind]
                    return self._fail(stack, i, f"expected ',' or '{closer}' but found "
                                                f"{_shown(ch)} at char {i}")
                i += 1
                frame.state = _KEY if frame.kind == "{" else _VALUE
                continue
            if state in (_KEY_OR_CLOSE, _KEY):
                if ch != '"':
                    return self._fail(stack, i, f"expected a '\"'-quoted key but found "
                                                f"{_shown(ch)} at char {i}")
                end = self._string_end(i)
                if isinstance(end, Malformed):
                    return self._fail(stack, end.at, end.reason)
                if frame.first_key is None and state == _KEY_OR_CLOSE:
                    raw = text[i + 1:end - 1]
                    frame.first_key = json.loads(text[i:end], strict=False) if "\\" in raw \
                        else raw
                i = end
                frame.state = _COLON
                continue
            if state == _COLON:
                if ch != ":":
                    return self._fail(stack, i, f"expected ':' after a key but found "
                                                f"{_shown(ch)} at char {i}")
                i += 1
                frame.state = _VALUE
                continue
            # A value (state _VALUE or _VALUE_OR_CLOSE).
            if ch in _CLOSERS:
                known = self._memo.get(i)
                if isinstance(known, Malformed):
                    return self._fail(stack, known.at, known.reason)
                if known is not None:
                    self._absorb(frame, known)
                    i = known.end
                    continue
                frame.state = _COMMA_OR_CLOSE  # where the parent resumes once this closes
                stack.append(_Frame(ch, i, _KEY_OR_CLOSE if ch == "{" else _VALUE_OR_CLOSE))
                i += 1
                continue
            end = self._scalar_end(i)
            if isinstance(end, Malformed):
                return self._fail(stack, end.at, end.reason)
            i = end
            frame.state = _COMMA_OR_CLOSE
        return self._memo[pos]

    def _absorb(self, parent: _Frame, child: Span) -> None:
        parent.height = max(parent.height, child.height + 1)
        parent.state = _COMMA_OR_CLOSE

    def _string_end(self, i: int) -> int | Malformed:
        """The end of the string whose opening quote is at ``i``, or why it has none."""
        text = self.text
        stop = self._body_re.match(text, i + 1).end()  # type: ignore[union-attr]
        self.steps += stop - i
        if stop < len(text) and text[stop] == '"':
            return stop + 1
        if stop >= len(text):
            return Malformed(i, stop, f"unterminated string starting at char {i}")
        if text[stop] == "\\":
            what = "\\uXXXX escape" if text.startswith("\\u", stop) else "\\escape"
            return Malformed(i, stop, f"invalid {what} at char {stop}")
        return Malformed(i, stop, f"invalid control character {text[stop]!r} at char {stop}")

    def _scalar_end(self, i: int) -> int | Malformed:
        """Where the string, number or literal at ``i`` ends, or why there is none."""
        text = self.text
        ch = text[i]
        if ch == '"':
            return self._string_end(i)
        literal = _LITERALS.get(ch)
        if literal is not None:
            if text.startswith(literal, i):
                return i + len(literal)
            return Malformed(i, i, f"expected {literal!r} at char {i}")
        number = _NUMBER_RE.match(text, i)
        if number is not None and number.end() > i:
            return number.end()
        return Malformed(i, i, f"expected a value but found {_shown(ch)} at char {i}")

    def _fail(self, stack: list[_Frame], at: int, reason: str) -> Malformed:
        """Mark every open container as malformed (a broken child breaks its parents)."""
        first = stack[0].start
        for frame in stack:
            self._memo[frame.start] = Malformed(frame.start, at, reason, frame.first_key)
        stack.clear()
        outcome = self._memo[first]
        assert isinstance(outcome, Malformed)
        return outcome


def _name(kind: str) -> str:
    return "an object" if kind == "{" else "an array"


def _shown(ch: str) -> str:
    return repr(ch)


def iter_containers(text: str, openers: str = "{", *, strict: bool = True,
                    scanner: JsonScanner | None = None) -> Iterator[Outcome]:
    """Every top-level JSON container in ``text`` starting with one of ``openers``, left to
    right: a complete one is skipped over whole (what is nested inside it is not yielded
    separately); after a malformed one the search resumes at the next opener. An opener
    that cannot start JSON at all (``{`` not followed by a key or ``}``) is not yielded."""
    scanner = scanner or JsonScanner(text, strict=strict)
    finder = OpenerFinder(text, openers)
    pos = finder.next(0)
    while pos != -1:
        outcome = scanner.value_at(pos)
        yield outcome
        pos = finder.next(outcome.end if isinstance(outcome, Span) else pos + 1)


# An opener that can start a container: "{" before a key or "}", "[" before a value or "]".
# Prose braces ("\frac{a}{b}", "{x | x > 0}") are passed over inside the regex engine
# instead of each costing a failed parse. The whitespace runs the lookaheads read lie
# between distinct openers, so the search stays linear.
_STARTS = {
    "{": re.compile(r'\{(?=[ \t\n\r]*["}])'),
    "[": re.compile(r'\[(?=[ \t\n\r]*[-0-9"\[\]{tfn])'),
}


class OpenerFinder:
    """The next position at or after a position where one of ``openers`` can start a JSON
    container, for positions that only grow: each opener's next match is cached, so the
    text is searched once per opener (a fresh search per call would rescan to the end when
    one opener never occurs)."""

    def __init__(self, text: str, openers: str) -> None:
        self._text = text
        self._next = {o: -2 for o in openers}  # -2: not looked up yet

    def next(self, start: int) -> int:
        best = -1
        for opener, cached in self._next.items():
            found = cached
            if found == -2 or (found != -1 and found < start):
                match = _STARTS[opener].search(self._text, start)
                found = match.start() if match is not None else -1
                self._next[opener] = found
            if found != -1 and (best == -1 or found < best):
                best = found
        return best


# -- reasoning sections ---------------------------------------------------------------------
# The wrappers reasoning models write around their thoughts (DeepSeek-R1/Qwen <think>,
# Claude-style <thinking>, <reasoning>); one list for every reader of model text.
REASONING_TAGS = ("think", "thinking", "reasoning")
_SOLUTION = "solution"
_THOUGHT = "thought"


def _tag_re(tags: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(re.escape(t) for t in tags)
    return re.compile(rf"<(?P<close>/?)(?:{names})>|<\|(?P<edge>begin|end)_of_"
                      rf"(?P<part>{_THOUGHT}|{_SOLUTION})\|>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sections:
    """``text`` split around its reasoning sections, with JSON strings left alone.

    ``kept`` are the ``(start, end)`` regions outside reasoning; ``containers`` the top-level
    JSON containers that start in them, in order; ``notes`` what was dropped and why
    (e.g. ``a <think> section opened at char 12 is never closed``), for error messages.
    """

    kept: tuple[tuple[int, int], ...]
    containers: tuple[Outcome, ...]
    notes: tuple[str, ...]

    def text(self, source: str) -> str:
        """The kept regions of ``source`` joined."""
        return "".join(source[a:b] for a, b in self.kept)


def split_reasoning(text: str, *, tags: tuple[str, ...] = ("think",), drop_unclosed: bool,
                    openers: str = "{", strict: bool = True) -> Sections:
    """Find reasoning sections in ``text`` the way a reader of JSON would: a tag inside a JSON
    string (``{"rationale": "a stray </think> tag"}``) is text, not a tag.

    One left-to-right walk over tags and JSON containers, whichever comes first; a complete
    container is skipped whole, so no tag inside it is seen. The rules:
    ``<think>…</think>`` (any of ``tags``, any case) and ``<|begin_of_thought|>…
    <|end_of_thought|>`` are dropped; a closing tag with no opening one (the opening was in
    the prompt template) drops everything before it; ``<|begin_of_solution|>`` drops
    everything before it and ``<|end_of_solution|>`` everything after; a section that never
    closes (cut off by a token limit) is dropped when ``drop_unclosed``, else kept as text.
    """
    scanner = JsonScanner(text, strict=strict)
    finder = OpenerFinder(text, openers)
    tag_re = _tag_re(tags)
    kept: list[tuple[int, int]] = []
    containers: list[Outcome] = []
    pending: list[Outcome] = []  # containers inside the open reasoning section
    notes: list[str] = []
    region_start = 0  # start of the current kept region (when not in reasoning)
    opened_at = -1  # position of the open reasoning tag, -1 outside reasoning
    opened_tag = ""
    pos = 0
    tag = tag_re.search(text)
    while True:
        if tag is not None and tag.start() < pos:
            tag = tag_re.search(text, pos)
        opener = finder.next(pos)
        if opener != -1 and (tag is None or opener < tag.start()):
            outcome = scanner.value_at(opener)
            (pending if opened_at != -1 else containers).append(outcome)
            pos = outcome.end if isinstance(outcome, Span) else opener + 1
            continue
        if tag is None:
            break
        pos = tag.end()
        closing = bool(tag.group("close")) or tag.group("edge") == "end"
        if tag.group("part") == _SOLUTION:
            if opened_at != -1:
                continue  # a solution marker inside reasoning is part of the reasoning
            if closing:
                kept.append((region_start, tag.start()))
                region_start = len(text)
                break
            if kept or tag.start() > region_start:
                notes.append(f"text before <|begin_of_solution|> at char {tag.start()} dropped")
            kept.clear()
            containers.clear()
            region_start = pos
        elif not closing:
            if opened_at == -1:
                kept.append((region_start, tag.start()))
                opened_at, opened_tag = tag.start(), tag.group(0)
        elif opened_at != -1:
            pending.clear()
            opened_at = -1
            region_start = pos
        else:
            notes.append(f"text before the closing tag {tag.group(0)} at char {tag.start()} "
                         "(no opening tag) dropped as reasoning")
            kept.clear()
            containers.clear()
            region_start = pos
    if opened_at != -1:
        if drop_unclosed:
            notes.append(f"a {opened_tag} section opened at char {opened_at} is never closed "
                         "and was dropped")
        else:
            kept.append((opened_at, len(text)))
            containers.extend(pending)
    elif region_start < len(text):
        kept.append((region_start, len(text)))
    return Sections(tuple((a, b) for a, b in kept if b > a), tuple(containers), tuple(notes))


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages (``null``, ``array``,
    ``string``, ``number``, ``boolean``, ``object``; a non-JSON value: its Python type)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__
