"""SQL text -> statements with 1-based line numbers, classified from pglast's parse tree.

The runner needs to know, before anything runs, whether a file can run in one transaction: a
``CREATE INDEX CONCURRENTLY`` inside a transaction block fails at deploy time, and a stray ``COMMIT``
would break the atomicity of the migration with its tracking row. Both are read from the parse tree,
never guessed with regular expressions. pglast's JSON output is used because it is an order of magnitude
faster than building Python node objects, which matters for linting a thousand files in a pre-commit hook.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, NamedTuple

from lockgate import treejson

Node = dict[str, Any]

DIRECTIVE = re.compile(r"--\s*lockgate:\s*(?P<body>.*?)\s*$")
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
    hoisted: int = 0
    """How many leading ``SET TRANSACTION ...`` statements the runner sends before anything else."""
    tree: str = ""
    """libpg_query's JSON of the whole text, kept for the fingerprint (see ``lockgate.fingerprint``)."""

    @property
    def inner(self) -> tuple[Statement, ...]:
        """The statements without a wrapping BEGIN/COMMIT (the runner owns the transaction)."""
        return self.statements[1:-1] if self.wrapped else self.statements

    @property
    def body(self) -> tuple[Statement, ...]:
        """Statements to execute as the migration's body, in order."""
        return self.inner[self.hoisted :]

    @property
    def transactional(self) -> bool:
        """Files marked ``no-transaction``, or made only of statements that refuse a transaction block,
        run outside one; every other file runs in one transaction with its tracking row."""
        if "no-transaction" in self.directives:
            return False
        body = self.body
        return not (body and all(s.non_transactional for s in body))

    @property
    def transaction_setup(self) -> tuple[str, ...]:
        """SQL that must open the migration's transaction: the wrapping ``BEGIN ISOLATION LEVEL ...``'s
        characteristics and leading ``SET TRANSACTION`` statements. PostgreSQL only accepts them before
        the transaction's first query, so the runner sends them before its own bookkeeping; dropping
        them silently would run a SERIALIZABLE migration at READ COMMITTED."""
        setup: list[str] = []
        if self.wrapped:
            characteristics = transaction_characteristics(self.statements[0].node.get("options"))
            if characteristics:
                setup.append(f"SET TRANSACTION {characteristics}")
        setup.extend(s.text for s in self.inner[: self.hoisted])
        return tuple(setup)


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


_META_COMMAND = re.compile(r"\\[A-Za-z!?.]")


def _syntax_error(text: str, exc: Exception) -> SqlError:
    location = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
    location = max(0, min(location, len(text)))
    line = text.count("\n", 0, location) + 1
    column = location - (text.rfind("\n", 0, location) + 1) + 1
    line_text = text.splitlines()[line - 1] if text.splitlines()[line - 1 : line] else ""
    leading = line_text.lstrip().startswith("\\")
    meta = _META_COMMAND.search(line_text, 0 if leading else max(0, column - 1))
    if meta is not None and (leading or meta.start() == column - 1):
        command = line_text[meta.start() :].split()[0]
        return SqlError(
            f"psql meta-command {command} is not SQL; lockgate runs plain SQL (inline the file or "
            "statement instead)",
            line,
            meta.start() + 1,
        )
    copy = _copy_data_before(text, location)
    if copy is not None:
        return copy
    return SqlError(_pg_message(exc), line, column)


def _copy_data_before(text: str, location: int) -> SqlError | None:
    """A syntax error right after ``COPY ... FROM stdin;`` is its inline data (a pg_dump file): say so,
    at the COPY, instead of reporting the first data row as bad SQL."""
    from lockgate import pgparser as pg_parser

    prefix_end = text.rfind("\n", 0, location) + 1
    try:
        tree = treejson.loads(pg_parser.parse_sql_json(text[:prefix_end]))
    except (pg_parser.ParseError, ValueError):
        return None
    statements = tree.get("stmts") or []
    if not statements:
        return None
    last = statements[-1]
    ((kind, node),) = last["stmt"].items()
    if kind != "CopyStmt" or not node.get("is_from") or node.get("filename"):
        return None
    copy_line = text[:prefix_end].encode("utf-8").count(b"\n", 0, last.get("stmt_location", 0)) + 1
    return SqlError(
        "COPY ... FROM stdin with inline data (pg_dump style) is psql input, not SQL; lockgate sends plain "
        "SQL: turn the rows into INSERT ... VALUES",
        copy_line,
        1,
    )


def parse_sql(text: str) -> ParsedSql:
    """Split ``text`` into statements; raise ``SqlError`` with PostgreSQL's message and position.

    Every byte either belongs to a statement that will run, or is whitespace, a comment or a ``;``:
    anything else (a NUL byte, after which libpg_query and libpq stop reading) is refused, so the file
    that runs is exactly the file that was linted and reviewed."""
    from lockgate import pgparser as pg_parser  # imported on first parse: `status` never parses SQL

    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise SqlError(
            "NUL byte (\\0) in the file: PostgreSQL's parser and libpq stop reading there, so the rest of "
            "the file would be silently skipped; remove it",
            line,
            nul - (text.rfind("\n", 0, nul) + 1) + 1,
        )
    try:
        tree_json = pg_parser.parse_sql_json(text)
    except pg_parser.ParseError as exc:
        raise _syntax_error(text, exc) from None
    tree = treejson.loads(tree_json)
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
    _check_coverage(data, statements, lines)
    directives = read_directives(text, data, statements)
    wrapped = _is_wrapped(statements)
    inner = statements[1:-1] if wrapped else statements
    return ParsedSql(tuple(statements), directives, wrapped, _leading_characteristics(inner), tree_json)


_GAP = re.compile(rb"(?:\s+|;|--[^\n]*(?:\n|\Z)|/\*(?:[^*]|\*(?!/))*\*/)*")
"""What may lie between statements: whitespace, semicolons and (non-nested) comments."""


def _check_coverage(data: bytes, statements: list[Statement], lines: LineIndex) -> None:
    """Refuse bytes that belong to no statement and are not whitespace, ``;`` or a comment: the parser
    did not read them, so they would neither run nor be linted."""
    previous_end = 0
    for statement in [*statements, None]:
        gap_end = statement.byte_start if statement is not None else len(data)
        gap = data[previous_end:gap_end]
        allowed = _GAP.match(gap)
        if allowed is not None and allowed.end() < len(gap) and not _nested_comments_only(gap):
            line, column = lines.position(previous_end + allowed.end())
            raise SqlError(
                "text that PostgreSQL's parser did not read as part of any statement; it would not run",
                line,
                column,
            )
        if statement is not None:
            previous_end = statement.byte_start + len(statement.text.encode("utf-8"))


def _nested_comments_only(gap: bytes) -> bool:
    """PostgreSQL's block comments nest (``/* a /* b */ c */``), which a regular expression cannot
    follow: strip them with a depth counter, then check what is left."""
    out = bytearray()
    depth = 0
    index = 0
    while index < len(gap):
        pair = gap[index : index + 2]
        if pair == b"/*":
            depth += 1
            index += 2
        elif pair == b"*/" and depth:
            depth -= 1
            index += 2
        else:
            if not depth:
                out.append(gap[index])
            index += 1
    rest = bytes(out)
    allowed = _GAP.match(rest)
    return depth == 0 and allowed is not None and allowed.end() == len(rest)


def read_directives(text: str, data: bytes, statements: list[Statement]) -> frozenset[str]:
    """``-- lockgate: no-transaction`` comments outside every statement (from the scanner's tokens, so
    the same words inside a string or a ``$$`` function body are text, not directives); unknown
    directives are errors, never ignored, and so is a directive inside a statement, which would
    otherwise look like it applies."""
    if "lockgate:" not in text:  # nearly every file: skip the scanner
        return frozenset()
    from lockgate import pgparser as pg_parser

    found: set[str] = set()
    tokens = pg_parser.scan(text)
    code_tokens = [t.start for t in tokens if t.name not in _COMMENT_TOKENS]
    ranges = [(s.byte_start, s.byte_start + len(s.text.encode("utf-8"))) for s in statements]
    for token in tokens:
        if token.name != "SQL_COMMENT":
            continue
        comment = data[token.start : token.end + 1].decode("utf-8", "replace")
        match = DIRECTIVE.match(comment)
        if match is None:
            continue
        line = data.count(b"\n", 0, token.start) + 1
        if _inside_statement(token.start, ranges, code_tokens):
            raise SqlError(
                "a `-- lockgate:` directive inside a statement has no effect; put it on its own line "
                "before the first statement",
                line,
                1,
            )
        for word in (w.strip() for w in match.group("body").split(",")):
            if not word:
                continue
            if word not in KNOWN_DIRECTIVES:
                known = ", ".join(sorted(KNOWN_DIRECTIVES))
                raise SqlError(f"unknown lockgate directive {word!r} (known: {known})", line, 1)
            found.add(word)
    return frozenset(found)


_COMMENT_TOKENS = frozenset({"SQL_COMMENT", "C_COMMENT"})


def _inside_statement(offset: int, ranges: list[tuple[int, int]], code_tokens: list[int]) -> bool:
    """True when a statement's own tokens come both before and after ``offset`` (a trailing comment of
    the last statement, which runs to the end of the file, is outside it)."""
    index = bisect.bisect_right(ranges, (offset, 1 << 62)) - 1
    if index < 0:
        return False
    start, end = ranges[index]
    if not start <= offset < end:
        return False
    after = bisect.bisect_right(code_tokens, offset)
    return after < len(code_tokens) and code_tokens[after] < end


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


TRANSACTION_SETTINGS = frozenset({"transaction_isolation", "transaction_read_only", "transaction_deferrable"})


def sets_transaction_characteristics(statement: Statement) -> bool:
    """``SET TRANSACTION ...`` or ``SET [LOCAL] transaction_isolation = ...`` (and the other two)."""
    if statement.kind != "VariableSetStmt":
        return False
    name = statement.node.get("name")
    return name == "TRANSACTION" or name in TRANSACTION_SETTINGS


def _leading_characteristics(inner: list[Statement]) -> int:
    count = 0
    for statement in inner:
        if not sets_transaction_characteristics(statement):
            break
        count += 1
    return count


def _option_flag(option: Node) -> bool:
    value: dict[str, Any] = next(iter((option.get("arg") or {}).values()), {})
    inner = value.get("ival", value.get("boolval", value.get("sval")))
    if isinstance(inner, dict):
        inner = next(iter(inner.values()), 0)
    return str(inner).lower() in {"1", "true", "on", "yes"}


def transaction_characteristics(options: list[Node] | None) -> str:
    """``BEGIN``/``START TRANSACTION`` options as the text ``SET TRANSACTION`` takes ("" for none)."""
    parts: list[str] = []
    for item in options or []:
        option = item.get("DefElem", {})
        name = option.get("defname")
        if name == "transaction_isolation":
            constant: dict[str, Any] = next(iter((option.get("arg") or {}).values()), {})
            level = (constant.get("sval") or {}).get("sval", "")
            if level:
                parts.append(f"ISOLATION LEVEL {str(level).upper()}")
        elif name == "transaction_read_only":
            parts.append("READ ONLY" if _option_flag(option) else "READ WRITE")
        elif name == "transaction_deferrable":
            parts.append("DEFERRABLE" if _option_flag(option) else "NOT DEFERRABLE")
    return ", ".join(parts)


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
