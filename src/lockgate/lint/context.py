"""Everything a rule may ask about one file, computed once and shared by all rules.

Rules receive a ``FileContext`` and yield ``Violation`` objects; they never parse SQL themselves. The
context parses once (pglast JSON), knows which tables the file itself creates (those are new and exempt
from lock rules; ``lockgate.locks.CreatedRelations`` tracks them, as it does for the PR plan), whether the file runs in a transaction, the target PostgreSQL major version, and how
to turn a node's byte offset into a 1-based line/column span.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Generic, NamedTuple, TypeVar

from lockgate import locks
from lockgate import pgparser as pg_parser
from lockgate.catalog.model import Catalog, Column
from lockgate.lint import nodes
from lockgate.lint.findings import Span
from lockgate.locks import CreatedRelations
from lockgate.statements import LineIndex, ParsedSql, Statement

NO_TRANSACTION = "no-transaction"

T = TypeVar("T")


class _lazy(Generic[T]):
    """``functools.cached_property`` without the lock Python 3.11 takes on every first access.

    A context lives in one thread, and a thousand files times six memoised views made that lock a
    visible share of the linter's time. The value lands in the instance ``__dict__``, which shadows
    this (non-data) descriptor from then on.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __get__(self, instance: Any, owner: type | None = None) -> T:
        if instance is None:  # looked up on the class (introspection, docs)
            return self  # type: ignore[return-value]
        value = self.func(instance)
        instance.__dict__[self.name] = value
        return value


class PlpgsqlBody(NamedTuple):
    """A parsed PL/pgSQL body (``DO`` block or function) and the file line its body line 1 is on."""

    tree: Any
    first_line: int

    def file_line(self, lineno: int | None) -> int:
        return self.first_line + max((lineno or 1) - 1, 0)


class FileContext:
    """One migration file as the rules see it.

    Not frozen, unlike the data flowing through the pipeline: it memoises derived views (executed
    statements, PL/pgSQL trees, ALTER TABLE commands) so that thirty rules asking the same question
    pay for the answer once. Rules must treat it as read-only.
    """

    def __init__(
        self,
        path: str,
        text: str,
        parsed: ParsedSql,
        pg_major: int = 15,
        exposed_schemas: tuple[str, ...] = ("public",),
        catalog: Catalog | None = None,
        new_after: int | None = None,
    ) -> None:
        self.path = path
        self.text = text
        self.parsed = parsed
        self.pg_major = pg_major
        self.exposed_schemas = exposed_schemas
        self.catalog = catalog
        """The schema before this file runs (``lockgate.catalog``), when one is known."""
        self.new_after = new_after
        """Tables the catalog says a migration after this version created are new (they are in the same
        pending plan: nobody uses them yet); None when what is pending is unknown (plain ``lint``)."""
        self._embedded_parent: dict[int, Statement] = {}
        self._plpgsql_cache: dict[int, PlpgsqlBody | None] = {}
        self._commands_cache: dict[int, list[dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"FileContext(path={self.path!r}, pg_major={self.pg_major})"

    # -- the file -------------------------------------------------------------------------------
    @property
    def statements(self) -> tuple[Statement, ...]:
        """Top-level statements in file order (including a wrapping BEGIN/COMMIT)."""
        return self.parsed.statements

    @property
    def transactional(self) -> bool:
        """False when the file says ``-- lockgate: no-transaction`` (each statement runs on its own)."""
        return NO_TRANSACTION not in self.parsed.directives

    @_lazy
    def data(self) -> bytes:
        return self.text.encode("utf-8")

    @_lazy
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @_lazy
    def _byte_lines(self) -> LineIndex:
        return LineIndex(self.data)

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""

    # -- spans ----------------------------------------------------------------------------------
    def span(self, statement: Statement) -> Span:
        """The whole statement (for DO-embedded statements: their line inside the block)."""
        if self.is_embedded(statement):
            return self.line_span(statement.line)
        end = statement.byte_start + len(statement.text.encode("utf-8"))
        end_line, end_column = self._byte_lines.position(end)
        return Span(statement.line, statement.column, end_line, end_column)

    def span_at(self, statement: Statement, node: Any) -> Span:
        """From ``node``'s location to the end of that line (within the statement).

        pglast records only where a node starts; ending at the line end keeps carets readable. Falls
        back to the statement's span when the node has no location or the statement is embedded.
        """
        offset = nodes.location(node)
        if offset is None or self.is_embedded(statement):
            return self._first_line_span(statement)
        line, column = self._byte_lines.position(offset)
        statement_span = self.span(statement)
        end_column = len(self.line_text(line).rstrip()) + 1
        if line == statement_span.end_line:
            end_column = min(end_column, statement_span.end_column)
        return Span(line, column, line, max(end_column, column + 1))

    def token_span(self, statement: Statement, node: Any) -> Span:
        """Exactly the token where ``node`` starts (a literal, a name), found with PostgreSQL's scanner.

        Falls back to ``span_at`` when the statement is embedded or no token starts there.
        """
        offset = nodes.location(node)
        if offset is None or self.is_embedded(statement) or offset < statement.byte_start:
            return self.span_at(statement, node)
        relative = len(self.data[statement.byte_start : offset].decode("utf-8", errors="replace"))
        try:
            tokens = pg_parser.scan(statement.text)
        except pg_parser.ParseError:
            return self.span_at(statement, node)
        for token in tokens:
            if token.start == relative:
                line, column = self._byte_lines.position(offset)
                width = token.end - token.start + 1
                if "\n" in statement.text[token.start : token.end + 1]:
                    return self.span_at(statement, node)
                return Span(line, column, line, column + width)
        return self.span_at(statement, node)

    def _first_line_span(self, statement: Statement) -> Span:
        span = self.span(statement)
        if span.end_line == span.line:
            return span
        end_column = len(self.line_text(span.line).rstrip()) + 1
        return Span(span.line, span.column, span.line, max(end_column, span.column + 1))

    def line_span(self, line: int) -> Span:
        """A whole source line without its indentation (for PL/pgSQL statements, known by line only)."""
        text = self.line_text(line)
        start = len(text) - len(text.lstrip()) + 1
        return Span(line, start, line, max(len(text.rstrip()) + 1, start + 1))

    def statement_span_head(self, statement: Statement) -> Span:
        """The statement's first line only: the usual place to point at a whole-statement problem."""
        return self._first_line_span(statement)

    # -- names ----------------------------------------------------------------------------------
    @staticmethod
    def qualified(relation: Any) -> str:
        """``schema.table`` from a RangeVar dict; unqualified names are ``public``."""
        return locks.qualified_name(relation)

    @staticmethod
    def normalise_name(name: str) -> str:
        """``[schema.]name`` as ``schema.name`` (``lockgate.locks`` normalises every name)."""
        return locks.normalise_name(name)

    def alter_commands(self, statement: Statement) -> list[dict[str, Any]]:
        """``nodes.alter_table_commands`` of an ALTER TABLE, computed once for all rules."""
        key = id(statement)
        commands = self._commands_cache.get(key)
        if commands is None:
            commands = self._commands_cache[key] = nodes.alter_table_commands(statement.node)
        return commands

    # -- statements that run during the migration -------------------------------------------------
    @_lazy
    def executed(self) -> tuple[Statement, ...]:
        """Top-level statements plus the static SQL inside ``DO`` blocks, in execution order."""
        out: list[Statement] = []
        for statement in self.statements:
            out.append(statement)
            if statement.kind == "DoStmt":
                out.extend(self._do_block_statements(statement))
        return tuple(out)

    @_lazy
    def _ordinals(self) -> dict[int, int]:
        return {id(statement): number for number, statement in enumerate(self.executed)}

    def ordinal(self, statement: Statement) -> int:
        """Position of ``statement`` in ``executed`` (top-level and DO-embedded statements)."""
        return self._ordinals.get(id(statement), len(self.executed))

    def is_embedded(self, statement: Statement) -> bool:
        return id(statement) in self._embedded_parent

    def parent(self, statement: Statement) -> Statement:
        """The top-level statement holding ``statement`` (itself when it is top-level)."""
        return self._embedded_parent.get(id(statement), statement)

    def plpgsql(self, statement: Statement) -> PlpgsqlBody | None:
        """The PL/pgSQL tree of a ``DO`` block or ``LANGUAGE plpgsql`` function, or None."""
        if id(statement) not in self._plpgsql_cache:
            self._plpgsql_cache[id(statement)] = self._parse_plpgsql(statement)
        return self._plpgsql_cache[id(statement)]

    def _parse_plpgsql(self, statement: Statement) -> PlpgsqlBody | None:
        body = _plpgsql_body_option(statement)
        result: PlpgsqlBody | None = None
        if body is not None:
            try:
                tree = json.loads(pg_parser.parse_plpgsql_json(statement.text))
            except (pg_parser.ParseError, ValueError, RecursionError):
                tree = None
            if tree is not None:
                offset = body.get("arg_location", body.get("location", -1))
                line = (
                    self._byte_lines.position(offset)[0]
                    if isinstance(offset, int) and offset >= 0
                    else (statement.line)
                )
                result = PlpgsqlBody(tree, line)
        return result

    def _do_block_statements(self, statement: Statement) -> Iterator[Statement]:
        body = self.plpgsql(statement)
        if body is None:
            return
        for kind, fields in nodes.walk(body.tree):
            query = _static_query(kind, fields)
            if query is None:
                continue
            try:
                tree = json.loads(pg_parser.parse_sql_json(query))
            except (pg_parser.ParseError, ValueError, RecursionError):
                continue
            line = body.file_line(fields.get("lineno"))
            for raw in tree.get("stmts", []):
                ((inner_kind, inner_node),) = raw["stmt"].items()
                embedded = Statement(
                    statement.index, query, line, 1, line, inner_kind, inner_node, statement.byte_start
                )
                self._embedded_parent[id(embedded)] = statement
                yield embedded

    # -- what this file creates -------------------------------------------------------------------
    @_lazy
    def _created(self) -> CreatedRelations:
        created = CreatedRelations()
        for number, statement in enumerate(self.executed):
            created.record(statement, number)
        return created

    def _key(self, relation: Any) -> str:
        return self.normalise_name(relation) if isinstance(relation, str) else self.qualified(relation)

    def is_new_table(self, relation: Any, before: Statement) -> bool:
        """True when the table (RangeVar dict or ``[schema.]name``) was created earlier in this file or by
        an earlier file of the same pending plan, or is a temporary table: either way nobody else can be
        holding or waiting for its locks."""
        if self.new_after is not None and self.catalog is not None and relation is not None:
            table = self.catalog.table(self._key(relation))
            if table is not None and table.created_in is not None and table.created_in > self.new_after:
                return True
        created = self._created.tables
        if relation.__class__ is dict:
            if relation.get("RangeVar", relation).get("relpersistence") == "t":
                return True
            if not created:
                return False
            key = locks.qualified_name(relation)
        elif isinstance(relation, str):
            if not created:
                return False
            key = locks.normalise_name(relation)
        else:
            return False
        return self._created.new_table(key, self.ordinal(before))

    def is_existing_table(self, relation: Any, before: Statement) -> bool:
        """The opposite of ``is_new_table``: a table that exists before this migration runs."""
        return not self.is_new_table(relation, before)

    def is_partitioned_table(self, relation: Any, before: Statement) -> bool:
        """Created with ``PARTITION BY`` earlier in this file, or (per the catalog) by an earlier one."""
        key = self._key(relation)
        if self._created.new_partitioned_table(key, self.ordinal(before)):
            return True
        table = self.catalog.table(key) if self.catalog is not None else None
        return table is not None and table.partitioned and key not in self._created.tables

    def old_column(self, relation: Any, column: str) -> Column | None:
        """The column as the schema before this file defines it (None when the catalog does not know it,
        or this file created the table)."""
        if self.catalog is None or not column:
            return None
        key = self._key(relation)
        if key in self._created.tables:
            return None
        return self.catalog.column(key, column)

    def created_tables(self, before: Statement) -> frozenset[str]:
        """Tables (``schema.name``) created by statements that run before ``before``."""
        limit = self.ordinal(before)
        return frozenset(name for name, number in self._created.tables.items() if number < limit)

    def is_new_index(self, qualified_index: str, before: Statement) -> bool:
        return self._created.new_index(self.normalise_name(qualified_index), self.ordinal(before))

    def existing_alter_commands(self, statement: Statement) -> list[dict[str, Any]]:
        """The ALTER TABLE commands of ``statement`` when its table exists before the migration (what
        the lock-safety rules look at: a new table has nobody to block)."""
        if not self.is_existing_table(statement.node.get("relation"), statement):
            return []
        return self.alter_commands(statement)


def _plpgsql_body_option(statement: Statement) -> dict[str, Any] | None:
    """The ``AS`` option of a DO block or a LANGUAGE plpgsql function, else None."""
    if statement.kind == "DoStmt":
        options = statement.node.get("args")
    elif statement.kind == "CreateFunctionStmt":
        options = statement.node.get("options")
    else:
        return None
    language = nodes.def_elem(options, "language")
    language_name = "plpgsql"
    if language is not None:
        language_name = str((nodes.unwrap(language.get("arg"), "String") or {}).get("sval", "")).lower()
    elif statement.kind == "CreateFunctionStmt":
        return None
    if language_name != "plpgsql":
        return None
    return nodes.def_elem(options, "as")


def _static_query(kind: str, fields: dict[str, Any]) -> str | None:
    """SQL a PL/pgSQL statement runs as-is: static SQL, or EXECUTE of one plain string literal."""
    if kind == "PLpgSQL_stmt_execsql":
        expr = nodes.unwrap(fields.get("sqlstmt"), "PLpgSQL_expr") or {}
        query = expr.get("query")
        return query if isinstance(query, str) else None
    if kind == "PLpgSQL_stmt_dynexecute":
        expr = nodes.unwrap(fields.get("query"), "PLpgSQL_expr") or {}
        query = str(expr.get("query", "")).strip()
        if len(query) >= 2 and query[0] == query[-1] == "'" and "'" not in query[1:-1].replace("''", ""):
            return query[1:-1].replace("''", "'")
    return None
