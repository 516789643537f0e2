"""Split a migration file into statements exactly as the Supabase CLI does (``supabase db push``).

Supabase stores each pushed migration's statements in ``supabase_migrations.schema_migrations.statements``.
For a row written by lockgate to be indistinguishable from one written by ``supabase db push`` — and for
``lockgate adopt`` to tell whether a file changed after it was pushed — the split must match the CLI's
byte for byte, quirks included. This is a port of the state machine in supabase/cli ``pkg/parser``
(``state.go``, ``token.go``; ``SplitAndTrim``), not a SQL parser: pglast's split would differ on
comments, whitespace and the trailing semicolon, so it cannot be used here.

Quirks kept on purpose because the CLI has them:

- windows (the closing ``$tag$``, ``*/``, ``end``) are compared as UTF-8 bytes, case-insensitively only
  for ``atomic``/``end``; dollar-quote tags may contain any Unicode letter or digit;
- ``-`` or ``/`` alone leaves the ready state for one character;
- any word ending in ``atomic`` right after whitespace opens a ``BEGIN ATOMIC`` body that ends at the
  next ``end``, and ``(`` opens a group that ends at the next ``)``: semicolons inside do not split;
- a statement keeps its leading comments; trailing semicolons, then surrounding whitespace (Go's
  ``unicode.IsSpace``), are trimmed; empty pieces are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_BEGIN_ATOMIC = b"atomic"
_END_ATOMIC = b"end"
# Go's unicode.IsSpace for the Latin-1 range, plus the Unicode White_Space characters above it.
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_REPLACEMENT = "\ufffd"
# The only characters that leave the ready state (see _Ready.step).
_READY_SPECIAL = re.compile(rb"[$'\"\-/\\;(cC]")
# ... and, inside a group or BEGIN ATOMIC body, the last character of its closing ")" or "end".
_ATOMIC_PAREN = re.compile(rb"[$'\"\-/\\;(cC)]")
_ATOMIC_END = re.compile(rb"[$'\"\-/\\;(cCdD]")


class _State:
    """One state of the CLI's tokenizer; ``step`` returns the next state, or None to end a statement."""

    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        raise NotImplementedError


class _Ready(_State):
    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        if char == "$":
            return _Tag(end - 1)
        if char in "'\"":
            return _Quote(char)
        if char == "-":
            return _Comment()
        if char == "/":
            return _Block()
        if char == "\\":
            return _Escape()
        if char == ";":
            return None
        if char == "(":
            return _Atomic(self, b")")
        if char in "cC":
            offset = end - len(_BEGIN_ATOMIC)
            if (
                offset > start
                and buf[offset:end].lower() == _BEGIN_ATOMIC
                and chr(buf[offset - 1]) in _GO_SPACE
            ):
                return _Atomic(self, _END_ATOMIC)
        return self


class _Comment(_State):
    """After one ``-``: a second one starts a line comment, anything else is ordinary text."""

    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        if char == "-":
            return _Dollar(b"\n")
        return _Ready().step(char, buf, start, end)


class _Block(_State):
    """After ``/``: a nested ``/* ... */`` comment when the next character is ``*``."""

    def __init__(self) -> None:
        self.depth = 0

    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        window = buf[max(start, end - 2) : end]
        if window == b"/*":
            self.depth += 1
            return self
        if self.depth == 0:
            return _Ready().step(char, buf, start, end)
        if window == b"*/":
            self.depth -= 1
            if self.depth == 0:
                return _Ready()
        return self


class _Quote(_State):
    """Inside '...' or "..."; a doubled delimiter stays inside (there are no backslash escapes)."""

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self.escape = False

    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        if self.escape:
            if char == self.delimiter:
                self.escape = False
                return self
            return _Ready().step(char, buf, start, end)
        if char == self.delimiter:
            self.escape = True
        return self


class _Dollar(_State):
    """Inside a dollar quote (or a line comment, whose delimiter is the newline): nothing is special."""

    def __init__(self, delimiter: bytes) -> None:
        self.delimiter = delimiter

    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        if buf[max(start, end - len(self.delimiter)) : end] == self.delimiter:
            return _Ready()
        return self


class _Tag(_State):
    """After ``$``: letters, digits and ``_`` then ``$`` make a dollar-quote tag."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        if char == "$":
            return _Dollar(bytes(buf[self.offset : end]))
        if char.isalpha() or unicodedata.category(char) == "Nd" or char == "_":
            return self
        return _Ready().step(char, buf, start, end)


class _Escape(_State):
    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        return _Ready()


class _Atomic(_State):
    """A ``BEGIN ATOMIC ... END`` body or a parenthesised group: semicolons inside do not split."""

    def __init__(self, previous: _State, delimiter: bytes) -> None:
        self.previous = previous
        self.delimiter = delimiter

    def step(self, char: str, buf: bytes, start: int, end: int) -> _State | None:
        current = self.previous.step(char, buf, start, end)
        if current is not None:
            self.previous = current
        if type(self.previous) is _Ready:
            window = buf[max(start, end - len(self.delimiter)) : end]
            if window.lower() == self.delimiter:
                return _Ready()
        return self


def _decode_at(buf: bytes, index: int) -> tuple[str, int]:
    """Go's ``utf8.DecodeRune``: the character at ``index`` and its width, U+FFFD/1 when invalid."""
    lead = buf[index]
    if lead < 0x80:
        return chr(lead), 1
    width = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
    if width:
        try:
            return buf[index : index + width].decode("utf-8"), width
        except UnicodeDecodeError:
            pass
    return _REPLACEMENT, 1


def _go_trim_space(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] in _GO_SPACE:
        start += 1
    while end > start and text[end - 1] in _GO_SPACE:
        end -= 1
    return text[start:end]


def _tokens(buf: bytes, *, fast: bool = True) -> list[tuple[int, bytes]]:
    """The raw pieces the CLI's scanner emits (with their byte offsets), each ending with its ``;``.

    ``fast=False`` steps through every character like the CLI; the tests check both agree."""
    tokens: list[tuple[int, bytes]] = []
    state: _State = _Ready()
    start = 0
    index = 0
    while index < len(buf):
        # Fast paths, exactly equivalent to stepping through every character: in these states only the
        # characters jumped to can change anything.
        kind = type(state) if fast else None
        if kind is _Ready:
            special = _READY_SPECIAL.search(buf, index)
            if special is None:
                break
            index = special.start()
        elif kind is _Dollar:
            delimiter = state.delimiter  # type: ignore[attr-defined]
            found = buf.find(delimiter, max(start, index + 1 - len(delimiter)))
            if found == -1:
                break
            index = max(index, found + len(delimiter) - 1)
        elif kind is _Quote and not state.escape:  # type: ignore[attr-defined]
            found = buf.find(state.delimiter.encode(), index)  # type: ignore[attr-defined]
            if found == -1:
                break
            index = found
        elif kind is _Atomic and type(state.previous) is _Ready:  # type: ignore[attr-defined]
            pattern = _ATOMIC_PAREN if state.delimiter == b")" else _ATOMIC_END  # type: ignore[attr-defined]
            special = pattern.search(buf, index)
            if special is None:
                break
            index = special.start()
        char, width = _decode_at(buf, index)
        end = index + width
        index = end
        next_state = state.step(char, buf, start, end)
        if next_state is None:
            tokens.append((start, buf[start:end]))
            start = end
            state = _Ready()
        else:
            state = next_state
    if start < len(buf):
        tokens.append((start, buf[start:]))
    return tokens


@dataclass(frozen=True)
class SupabaseStatement:
    """One statement as the CLI stores it, and the 1-based file line where it starts."""

    text: str
    line: int


def split_with_lines(text: str) -> list[SupabaseStatement]:
    """The statements ``supabase db push`` would run and record for a file containing ``text``."""
    buf = text.encode("utf-8")
    statements = []
    line, counted = 1, 0
    for start, token in _tokens(buf):
        line += buf.count(b"\n", counted, start)
        counted = start
        decoded = token.decode("utf-8", errors="replace")
        piece = _go_trim_space(decoded.rstrip(";"))
        if piece:
            leading = decoded[: decoded.index(piece)]
            statements.append(SupabaseStatement(piece, line + leading.count("\n")))
    return statements


def split_statements(text: str) -> list[str]:
    """Just the statement texts, as stored in ``supabase_migrations.schema_migrations.statements``."""
    return [statement.text for statement in split_with_lines(text)]
