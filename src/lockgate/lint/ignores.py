"""Inline suppressions: ``-- lockgate-ignore: rule-a, rule-b`` and ``-- lockgate-ignore-file: ...``.

A line comment on its own line applies to the next statement; one trailing code applies to the
statement on that line. Comments are found with PostgreSQL's own scanner, so ``'-- lockgate-ignore'``
inside a string literal is not a suppression. Every suppression must earn its keep: the engine reports
the ones that name unknown rules or suppress nothing.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from lockgate import pgparser as pg_parser
from lockgate.lint.findings import Span
from lockgate.statements import Statement

MARKER = "lockgate-ignore"
REASON = re.compile(r"\s--|#")
COMMENT = re.compile(r"^--\s*lockgate-ignore(?P<file>-file)?\s*:\s*(?P<rules>.*?)\s*$")


class Ignore:
    """One suppression comment: which rules, where it is, and which lines it covers."""

    __slots__ = ("file_level", "lines", "rule_ids", "span", "used")

    def __init__(self, span: Span, rule_ids: tuple[str, ...], file_level: bool, lines: range | None) -> None:
        self.span = span
        self.rule_ids = rule_ids
        self.file_level = file_level
        self.lines = lines
        """Lines of the statement it applies to; None for file-level or when no statement follows."""
        self.used: set[str] = set()
        """The rule ids it actually suppressed (the engine reports the unused ones)."""

    def __repr__(self) -> str:
        return f"Ignore({self.span!r}, {self.rule_ids!r}, file_level={self.file_level}, lines={self.lines!r})"

    def covers(self, rule_id: str, line: int) -> bool:
        if rule_id not in self.rule_ids:
            return False
        return self.file_level or (self.lines is not None and line in self.lines)


def _comments(text: str) -> list[tuple[int, int, str, bool]]:
    """(line, column, comment text, trailing-code?) of each ``--`` comment mentioning the marker."""
    try:
        tokens = pg_parser.scan(text)
    except Exception:  # the scanner rejects some broken SQL; fall back to whole-line comments
        return _line_comments(text)
    # pglast's scanner reports character (not byte) offsets, end inclusive.
    starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    found: list[tuple[int, int, str, bool]] = []
    previous_end_line = 0
    for token in tokens:
        if token.name == "SQL_COMMENT":
            comment = text[token.start : token.end + 1]
            if MARKER in comment:
                line, column = position(token.start)
                found.append((line, column, comment, previous_end_line == line))
        else:
            previous_end_line = position(token.end)[0]
    return found


def _line_comments(text: str) -> list[tuple[int, int, str, bool]]:
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.lstrip()
        if stripped.startswith("--") and MARKER in stripped:
            found.append((number, len(line) - len(stripped) + 1, stripped, False))
    return found


def _target(statements: Sequence[Statement], line: int, trailing: bool) -> range | None:
    if trailing:
        on_line = [s for s in statements if s.line <= line <= s.end_line]
        return range(on_line[-1].line, on_line[-1].end_line + 1) if on_line else None
    for statement in statements:
        if statement.line > line:
            return range(statement.line, statement.end_line + 1)
    return None


def parse_rule_list(body: str) -> tuple[str, ...]:
    """``a, b -- why`` -> ``("a", "b")``: ids are separated by commas or spaces; a reason may follow
    after ``--`` or ``#``, because a suppression without its reason is the next reviewer's puzzle."""
    body = REASON.split(body, maxsplit=1)[0]
    return tuple(part for part in re.split(r"[,\s]+", body) if part)


def find_ignores(text: str, statements: Sequence[Statement]) -> list[Ignore]:
    """All suppression comments of a file (cheap no-op when the marker does not occur)."""
    if MARKER not in text:
        return []
    ignores = []
    for line, column, comment, trailing in _comments(text):
        match = COMMENT.match(comment.strip())
        if match is None:
            continue
        rule_ids = parse_rule_list(match.group("rules"))
        file_level = match.group("file") is not None
        span = Span(line, column, line, column + len(comment.rstrip()))
        lines = None if file_level else _target(statements, line, trailing)
        ignores.append(Ignore(span, rule_ids, file_level, lines))
    return ignores
