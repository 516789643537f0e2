"""SQL text -> statements with 1-based line numbers, classified from pglast's parse tree.

The runner needs to know, before anything runs, whether a file can run in one transaction: a
``CREATE INDEX CONCURRENTLY`` inside a transaction block fails at deploy time, and a stray ``COMMIT``
would break the atomicity of the migration with its tracking row. Both are read from the parse tree,
never guessed with regular expressions. pglast's JSON output is used because it is an order of magnitude
faster than building Python node objects, which matters for linting a thousand files in a pre-commit hook.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any, NamedTuple

Node = dict[str, Any]

DIRECTIVE = re.compile(r"^\s*--\s*lockgate:\s*(?P<body>.*?)\s*$", re.MULTILINE)
KNOWN_DIRECTIVES = frozenset({"no-transaction"})
_NEWLINE = re.compile(rb"\n")

_TX_BLOCK_KINDS = {"TRANS_STMT_BEGIN", "TRANS_STMT_START"}
_TX_END_KINDS = {"TRANS_STMT_COMMIT"}
_TX_SAVEPOINT_KINDS = {"TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO"}


class SqlError(ValueError):
    """SQL that cannot be parsed; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class Statement:
    """One top-level statement of a migration file.

    A plain slotted class: thousands are built per lint run, and a dataclass (or the ``dataclasses``
    import) costs start-up time the pre-commit hook does not have. Equality ignores the parse tree.
    """

    __slots__ = ("byte_start", "column", "end_line", "index", "kind", "line", "node", "text")

    def __init__(
        self,
        index: int,
        text: str,
        line: int,
        column: int,
        end_line: int,
        kind: str,
        node: Node,
        byte_start: int = 0,
    ) -> None:
        self.index = index
        self.text = text
        self.line = line
        self.column = column
        self.end_line = end_line
        self.kind = kind
        self.node = node
        self.byte_start = byte_start

    def _key(self) -> tuple[int, str, int, int, int, str, int]:
        return (self.index, self.text, self.line, self.column, self.end_line, self.kind, self.byte_start)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Statement) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Statement(index={self.index}, text={self.text!r}, line={self.line}, column={self.column}, "
            f"end_line={self.end_line}, kind={self.kind!r})"
        )

    @property
    def non_transactional(self) -> str | None:
        """Why this statement cannot run inside a transaction block, or None if it can."""
        return non_transactional_reason(self.kind, self.node)

    @property
    def transaction_control(self) -> str | None:
        """The transaction-control keyword (BEGIN, COMMIT, ...) if this statement is one."""
        if self.kind != "TransactionStmt":
            return None
        return str(self.node.get("kind", "")).removeprefix("TRANS_STMT_")


class ParsedSql(NamedTuple):
    """The statements of a text plus what matters for running it."""

    statements: tuple[Statement, ...]
    directives: frozenset[str]
    wrapped: bool
    """True when the only transaction control is one BEGIN first and one COMMIT last."""

    @property
    def body(self) -> tuple[Statement, ...]:
        """Statements to execute: a wrapping BEGIN/COMMIT is dropped, the runner owns the transaction."""
        return self.statements[1:-1] if self.wrapped else self.statements


class LineIndex:
    """Maps byte offsets of UTF-8 text to 1-based (line, column-in-characters); offsets outside the text
    are clamped to it. Used for statement positions here and for finding spans in the linter."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._ascii = data.isascii()
        self._starts = [0] + [match.end() for match in _NEWLINE.finditer(data)]

    def position(self, byte_offset: int) -> tuple[int, int]:
        byte_offset = max(0, min(byte_offset, len(self._data)))
        line = bisect.bisect_right(self._starts, byte_offset)
        start = self._starts[line - 1]
        if self._ascii:  # the common case: a byte is a character
            return line, byte_offset - start + 1
        column = len(self._data[start:byte_offset].decode("utf-8", errors="replace")) + 1
        return line, column


def _pg_message(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def _syntax_error(text: str, exc: Exception) -> SqlError:
    location = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
    location = max(0, min(location, len(text)))
    line = text.count("\n", 0, location) + 1
    column = location - (text.rfind("\n", 0, location) + 1) + 1
    line_text = text.splitlines()[line - 1] if text.splitlines()[line - 1 : line] else ""
    if line_text.lstrip().startswith("\\"):
        command = line_text.strip().split()[0]
        return SqlError(
            f"psql meta-command {command} is not SQL; lockgate runs plain SQL (inline the file or "
            "statement instead)",
            line,
            line_text.index("\\") + 1,
        )
    return SqlError(_pg_message(exc), line, column)


def read_directives(text: str) -> frozenset[str]:
    """``-- lockgate: no-transaction`` comment lines; unknown directives are errors, never ignored."""
    found: set[str] = set()
    if "lockgate:" not in text:  # nearly every file: skip the multi-line regex
        return frozenset()
    for match in DIRECTIVE.finditer(text):
        for word in (w.strip() for w in match.group("body").split(",")):
            if not word:
                continue
            if word not in KNOWN_DIRECTIVES:
                line = text.count("\n", 0, match.start()) + 1
                known = ", ".join(sorted(KNOWN_DIRECTIVES))
                raise SqlError(f"unknown lockgate directive {word!r} (known: {known})", line, 1)
            found.add(word)
    return frozenset(found)


def parse_sql(text: str) -> ParsedSql:
    """Split ``text`` into statements; raise ``SqlError`` with PostgreSQL's message and position."""
    from lockgate import pgparser as pg_parser  # imported on first parse: `status` never parses SQL

    directives = read_directives(text)
    try:
        tree = json.loads(pg_parser.parse_sql_json(text))
    except pg_parser.ParseError as exc:
        raise _syntax_error(text, exc) from None
    data = text.encode("utf-8")
    lines = LineIndex(data)
    statements = []
    for index, raw in enumerate(tree.get("stmts", [])):
        ((kind, node),) = raw["stmt"].items()
        start = raw.get("stmt_location", 0)
        length = raw.get("stmt_len") or len(data) - start
        start, end = _trim(data, start, start + length)
        line, column = lines.position(start)
        end_line, _ = lines.position(max(start, end - 1))
        statement_text = data[start:end].decode("utf-8")
        statements.append(
            Statement(index, statement_text, line, column, end_line, kind, node, byte_start=start)
        )
    return ParsedSql(tuple(statements), directives, _is_wrapped(statements))


_LEADING = re.compile(rb"(?:\s+|--[^\n]*\n?|/\*(?:.*?\*/|.*\Z))*", re.DOTALL)
"""Whitespace, line comments and block comments (an unclosed one runs to the end of the statement)."""


def _trim(data: bytes, start: int, end: int) -> tuple[int, int]:
    """Skip whitespace and comments before a statement so its line is where its first keyword is."""
    match = _LEADING.match(data, start, end)
    start = match.end() if match else start
    return start, start + len(data[start:end].rstrip())


def _is_wrapped(statements: list[Statement]) -> bool:
    controls = [
        s for s in statements if s.kind == "TransactionStmt" and s.node.get("kind") not in _TX_SAVEPOINT_KINDS
    ]
    if len(statements) < 2 or len(controls) != 2:
        return False
    first, last = statements[0], statements[-1]
    return (
        first.node.get("kind") in _TX_BLOCK_KINDS
        and last.node.get("kind") in _TX_END_KINDS
        and not last.node.get("chain", False)
    )


def stray_transaction_control(parsed: ParsedSql) -> Statement | None:
    """The first BEGIN/COMMIT/ROLLBACK/... that is not part of one wrapping BEGIN ... COMMIT.

    Savepoints are fine inside the runner's transaction; anything that ends or starts a transaction
    would commit part of a migration without its tracking row.
    """
    for statement in parsed.body:
        if statement.kind == "TransactionStmt" and statement.node.get("kind") not in _TX_SAVEPOINT_KINDS:
            return statement
    return None


def _defel_true(options: list[Node] | None, name: str) -> bool:
    for option in options or []:
        defelem = option.get("DefElem", {})
        if defelem.get("defname") == name:
            arg = defelem.get("arg")
            if arg is None:
                return True
            value: dict[str, Any] = next(iter(arg.values()), {})
            boolean = value.get("boolval", value.get("sval", value.get("ival", True)))
            return str(boolean).lower() not in {"false", "off", "0", "{}"} and boolean not in (False, 0, {})
    return False


def non_transactional_reason(kind: str, node: Node) -> str | None:
    """Why PostgreSQL refuses this statement in a transaction block ("cannot run inside a transaction
    block"), or None. Follows the PreventInTransactionBlock calls in PostgreSQL's utility.c."""
    if kind == "IndexStmt" and node.get("concurrent"):
        return "CREATE INDEX CONCURRENTLY"
    if kind == "DropStmt" and node.get("concurrent"):
        return "DROP INDEX CONCURRENTLY"
    if kind == "ReindexStmt":
        reindex_kind = node.get("kind", "")
        if _defel_true(node.get("params"), "concurrently"):
            return "REINDEX CONCURRENTLY"
        if reindex_kind in {"REINDEX_OBJECT_SCHEMA", "REINDEX_OBJECT_SYSTEM", "REINDEX_OBJECT_DATABASE"}:
            return f"REINDEX {reindex_kind.removeprefix('REINDEX_OBJECT_')}"
    if kind == "VacuumStmt" and node.get("is_vacuumcmd"):
        return "VACUUM"
    simple = {
        "AlterSystemStmt": "ALTER SYSTEM",
        "CreatedbStmt": "CREATE DATABASE",
        "DropdbStmt": "DROP DATABASE",
        "CreateTableSpaceStmt": "CREATE TABLESPACE",
        "DropTableSpaceStmt": "DROP TABLESPACE",
    }
    if kind in simple:
        return simple[kind]
    if kind == "CreateSubscriptionStmt" and _create_subscription_needs_slot(node):
        return "CREATE SUBSCRIPTION (creates a replication slot)"
    if kind == "DropSubscriptionStmt":
        return "DROP SUBSCRIPTION"
    if kind == "AlterTableStmt":
        for command in node.get("cmds", []):
            cmd = command.get("AlterTableCmd", {})
            partition = cmd.get("def", {}).get("PartitionCmd", {})
            if cmd.get("subtype") == "AT_DetachPartition" and partition.get("concurrent"):
                return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"
    if kind == "AlterDatabaseStmt" and any(
        o.get("DefElem", {}).get("defname") == "tablespace" for o in node.get("options", [])
    ):
        return "ALTER DATABASE ... SET TABLESPACE"
    if kind == "ClusterStmt" and not node.get("relation"):
        return "CLUSTER without a table"
    if kind == "DiscardStmt" and node.get("target") == "DISCARD_ALL":
        return "DISCARD ALL"
    return None


def _create_subscription_needs_slot(node: Node) -> bool:
    for option in node.get("options", []):
        defelem = option.get("DefElem", {})
        if defelem.get("defname") in {"create_slot", "connect"}:
            arg: dict[str, Any] = next(iter(defelem.get("arg", {}).values()), {})
            value = arg.get("boolval", arg.get("sval", True))
            if str(value).lower() in {"false", "off", "0", "{}"} or value == {}:
                return False
    return True
