"""Hygiene rules: conventions that prevent slow-burning problems (family ``hygiene``, opt-in).

None of these break a deploy today, so they are ``info`` and off unless selected
(``extend-select = ["hygiene"]``). Each one is a choice that is cheap to make in the migration that
creates a column and expensive to change once the table is large: an `int` key that overflows, a
`varchar(n)` that needs an ACCESS EXCLUSIVE rewrite to widen, a `timestamp` that loses the time zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Span, Violation
from lockgate.lint.registry import file_rule, statement_rule
from lockgate.lint.rules.compat import object_name
from lockgate.statements import Statement

SMALL_INTEGERS = {
    "int2": "smallint",
    "int4": "integer",
    "serial": "serial",
    "serial2": "smallserial",
    "serial4": "serial",
    "smallserial": "smallserial",
}
"""32-bit and 16-bit integer types as pglast names them -> as users write them."""
SERIALS = {
    "smallserial": "smallint",
    "serial2": "smallint",
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
}
_COLUMN_KINDS = ["CreateStmt", "AlterTableStmt"]


def _column_defs(statement: Statement) -> Iterator[tuple[str, dict[str, Any]]]:
    """(column name, ColumnDef) for columns a CREATE TABLE defines or an ALTER TABLE adds or retypes."""
    if statement.kind == "CreateStmt":
        for element in statement.node.get("tableElts") or []:
            column = nodes.unwrap(element, "ColumnDef") if "ColumnDef" in (element or {}) else None
            if column is not None:
                yield str(column.get("colname", "?")), column
        return
    for command in statement.node.get("cmds") or []:
        cmd = nodes.unwrap(command, "AlterTableCmd") or {}
        if cmd.get("subtype") in ("AT_AddColumn", "AT_AlterColumnType"):
            column = nodes.unwrap(cmd.get("def"), "ColumnDef")
            if column is not None:
                yield str(column.get("colname") or cmd.get("name") or "?"), column


def _type_span(ctx: FileContext, statement: Statement, column: dict[str, Any]) -> Span:
    type_node = column.get("typeName")
    return ctx.span_at(statement, type_node if nodes.location(type_node) is not None else column)


def _primary_key_columns(statement: Statement) -> set[str]:
    """Columns that alone form the table's primary key (column or single-column table constraint)."""
    keys: set[str] = set()
    for name, column in _column_defs(statement):
        for constraint in column.get("constraints") or []:
            if (nodes.unwrap(constraint, "Constraint") or {}).get("contype") == "CONSTR_PRIMARY":
                keys.add(name)
    if statement.kind == "CreateStmt":
        for element in statement.node.get("tableElts") or []:
            constraint = nodes.unwrap(element, "Constraint") if "Constraint" in (element or {}) else None
            if constraint and constraint.get("contype") == "CONSTR_PRIMARY":
                columns = nodes.name_list(constraint.get("keys"))
                if len(columns) == 1:
                    keys.add(columns[0])
    return keys


@statement_rule(
    id="prefer-bigint-primary-key",
    family="hygiene",
    severity="info",
    kinds=_COLUMN_KINDS,
    opt_in=True,
    summary="An `integer`/`smallint` (or `serial`) primary key.",
    why="""
        A 32-bit key runs out at about 2.1 billion values, and sequences burn values on rolled-back
        inserts too. Widening the key later rewrites the table and every referencing table under an
        ACCESS EXCLUSIVE lock, at exactly the moment the table is largest. `bigint` costs four bytes
        more per row.
    """,
    bad="""
        CREATE TABLE app.events (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    """,
    good="""
        CREATE TABLE app.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    """,
    help="Use `bigint` for integer primary keys.",
)
def prefer_bigint_primary_key(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    keys = _primary_key_columns(statement)
    for name, column in _column_defs(statement):
        type_name = nodes.type_name(column.get("typeName"))
        if name in keys and type_name in SMALL_INTEGERS:
            yield Violation(
                _type_span(ctx, statement, column),
                f"primary key {name} is {SMALL_INTEGERS[type_name]}; 32-bit keys run out and widening "
                "them later rewrites the table",
            )


@statement_rule(
    id="prefer-identity",
    family="hygiene",
    severity="info",
    kinds=_COLUMN_KINDS,
    opt_in=True,
    summary="A `serial`/`bigserial` column instead of an identity column.",
    why="""
        `serial` is a legacy shorthand for a sequence plus a default: the sequence has its own owner
        and grants (inserts fail with "permission denied for sequence" for roles granted only the
        table), `INSERT` may silently bypass it with explicit ids, and copying the table definition
        shares the sequence. The SQL-standard `GENERATED ... AS IDENTITY` column has none of these
        problems.
    """,
    bad="""
        CREATE TABLE app.events (id bigserial PRIMARY KEY);
    """,
    good="""
        CREATE TABLE app.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    """,
    help="Use `<type> GENERATED ALWAYS AS IDENTITY` (or `BY DEFAULT`) instead of serial types.",
    pg_versions="PostgreSQL 10 and later: identity columns do not exist before 10, so the rule is silent "
    "when `pg_major` < 10.",
)
def prefer_identity(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if ctx.pg_major < 10:
        return
    for name, column in _column_defs(statement):
        type_name = nodes.type_name(column.get("typeName"))
        if type_name in SERIALS:
            yield Violation(
                _type_span(ctx, statement, column),
                f"column {name} is {type_name}; use {SERIALS[type_name]} GENERATED ALWAYS AS IDENTITY "
                "(no separate sequence grants, no accidental bypass)",
            )


@statement_rule(
    id="prefer-text",
    family="hygiene",
    severity="info",
    kinds=_COLUMN_KINDS,
    opt_in=True,
    summary="A `varchar(n)` column instead of `text`.",
    why="""
        In PostgreSQL `varchar(n)` is stored exactly like `text` and is no faster; the length limit
        is the only difference, and raising it later is an `ALTER COLUMN TYPE` that needs an ACCESS
        EXCLUSIVE lock. A `CHECK (char_length(col) <= n)` constraint expresses the same limit and can
        be replaced without a rewrite (`NOT VALID` + `VALIDATE`).
    """,
    bad="""
        CREATE TABLE app.users (email varchar(255) NOT NULL);
    """,
    good="""
        CREATE TABLE app.users (email text NOT NULL CHECK (char_length(email) <= 255));
    """,
    help="Use `text`, with a `CHECK (char_length(col) <= n)` constraint if the limit matters.",
)
def prefer_text(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    for name, column in _column_defs(statement):
        type_node = column.get("typeName")
        if nodes.type_name(type_node) == "varchar" and nodes.type_modifiers(type_node):
            limit = nodes.type_modifiers(type_node)[0]
            yield Violation(
                _type_span(ctx, statement, column),
                f"column {name} is varchar({limit}); text with a CHECK constraint stores the same and can "
                "change its limit without a table lock",
            )


@statement_rule(
    id="prefer-timestamptz",
    family="hygiene",
    severity="info",
    kinds=_COLUMN_KINDS,
    opt_in=True,
    summary="A `timestamp` (without time zone) column instead of `timestamptz`.",
    why="""
        `timestamp without time zone` stores wall-clock time with no zone: the same instant written
        by clients in different time zones (or a server whose `TimeZone` changes) is stored as
        different values, and comparisons with `now()` shift by the offset. `timestamptz` stores an
        absolute instant in the same 8 bytes. (Supabase's API serialises both, but only one is right.)
    """,
    bad="""
        CREATE TABLE app.events (created_at timestamp NOT NULL DEFAULT now());
    """,
    good="""
        CREATE TABLE app.events (created_at timestamptz NOT NULL DEFAULT now());
    """,
    help="Use `timestamptz` (timestamp with time zone).",
)
def prefer_timestamptz(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    for name, column in _column_defs(statement):
        if nodes.type_name(column.get("typeName")) == "timestamp":
            yield Violation(
                _type_span(ctx, statement, column),
                f"column {name} is timestamp without time zone; the same instant is stored differently "
                "per client time zone, use timestamptz",
            )


@statement_rule(
    id="prefer-jsonb",
    family="hygiene",
    severity="info",
    kinds=_COLUMN_KINDS,
    opt_in=True,
    summary="A `json` column instead of `jsonb`.",
    why="""
        `json` stores the text as written and has no equality operator: `SELECT DISTINCT`, `GROUP BY`,
        `UNION`, `=` and unique or B-tree indexes on the column fail ("could not identify an equality
        operator for type json"), usually in a query written long after the migration. It is also
        re-parsed on every access and cannot use GIN indexes. `jsonb` has all of these; keep `json`
        only when the exact text (key order, duplicate keys, whitespace) must be preserved. Changing
        the type later rewrites the table under an ACCESS EXCLUSIVE lock.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN metadata json;
    """,
    good="""
        ALTER TABLE public.orders ADD COLUMN metadata jsonb;
    """,
    help="Use `jsonb` (unless the exact JSON text must be kept).",
)
def prefer_jsonb(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    for name, column in _column_defs(statement):
        if nodes.type_name(column.get("typeName")) == "json":
            array = (
                "[]" if (nodes.unwrap(column.get("typeName"), "TypeName") or {}).get("arrayBounds") else ""
            )
            yield Violation(
                _type_span(ctx, statement, column),
                f"column {name} is json{array}: json has no equality operator, so DISTINCT, GROUP BY, UNION "
                "and = on it fail; use jsonb",
            )


def _has_leading_comment(text: str) -> bool:
    """True when the file opens (after blank lines) with a comment that is not a lockgate control
    comment: directives and ignores say how to apply or lint the file, not what it does."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("/*"):
            return True
        if not line.startswith("--"):
            return False
        body = line.lstrip("-").strip()
        if not body:
            continue
        if not body.startswith(("lockgate:", "lockgate-ignore")):
            return True
    return False


@file_rule(
    id="missing-header-comment",
    family="hygiene",
    severity="info",
    opt_in=True,
    summary="The migration does not start with a comment saying what it does.",
    why="""
        Months later, the file name is all a reviewer or on-call engineer has to tell why a table
        changed. A short header (`-- Migration:`, `-- Date:`, `-- Description:`, as in the sample
        project and the `lockgate create` template), or at least one leading comment, records the
        intent where the change is.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN note text;
    """,
    good="""
        -- Migration: order notes
        -- Date: 2025-09-01
        -- Description: Free-text note customers can add at checkout.
        ALTER TABLE public.orders ADD COLUMN note text;
    """,
    help="Start the file with `-- Migration:`, `-- Date:` and `-- Description:` comment lines.",
)
def missing_header_comment(ctx: FileContext) -> Iterator[Violation]:
    if ctx.statements and not _has_leading_comment(ctx.text):
        first = ctx.statements[0]
        yield Violation(
            Span(first.line, first.column, first.line, first.column + 1),
            "the migration starts without a comment; say what it does and why (-- Migration: / "
            "-- Date: / -- Description:)",
        )


_IF_NOT_EXISTS_KINDS = {
    "CreateStmt": "CREATE TABLE",
    "IndexStmt": "CREATE INDEX",
    "CreateSchemaStmt": "CREATE SCHEMA",
    "CreateSeqStmt": "CREATE SEQUENCE",
    "CreateExtensionStmt": "CREATE EXTENSION",
    "CreateTableAsStmt": "CREATE TABLE AS",
}


def _created_name(statement: Statement) -> str:
    node = statement.node
    if statement.kind in ("CreateStmt", "IndexStmt"):
        relation = node.get("relation")
        if statement.kind == "IndexStmt":
            return f"{node.get('idxname', '')} on {nodes.qualified_name(relation)}"
        return nodes.qualified_name(relation)
    if statement.kind == "CreateSeqStmt":
        return nodes.qualified_name(node.get("sequence"))
    if statement.kind == "CreateTableAsStmt":
        return nodes.qualified_name((node.get("into") or {}).get("rel"))
    return str(node.get("schemaname") or node.get("extname") or "")


@statement_rule(
    id="prefer-if-exists",
    family="hygiene",
    severity="info",
    kinds=[*_IF_NOT_EXISTS_KINDS, "DropStmt"],
    opt_in=True,
    embedded=False,
    summary="`CREATE` without `IF NOT EXISTS` / `DROP` without `IF EXISTS`.",
    why="""
        A migration that fails half-way on a non-transactional file, a hotfix applied by hand, or a
        database restored from a dump leaves objects that already exist (or are already gone); a
        plain `CREATE`/`DROP` then fails the next run and blocks every later migration. `IF [NOT]
        EXISTS` makes the statement safe to re-run. (It does not check that an existing object has
        the expected definition; lockgate's checksums and history cover that.)
    """,
    bad="""
        CREATE SCHEMA reporting;
        DROP VIEW public.legacy_report;
    """,
    good="""
        CREATE SCHEMA IF NOT EXISTS reporting;
        DROP VIEW IF EXISTS public.legacy_report;
    """,
    help="Add `IF NOT EXISTS` to CREATE and `IF EXISTS` to DROP so the statement can be re-run.",
)
def prefer_if_exists(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    if statement.kind == "DropStmt":
        if node.get("missing_ok"):
            return
        kind = str(node.get("removeType", "")).removeprefix("OBJECT_").replace("_", " ")
        names = ", ".join(object_name(obj) for obj in node.get("objects") or [])
        yield Violation(
            ctx.statement_span_head(statement),
            f"DROP {kind} {names} without IF EXISTS fails if the object is already gone (a re-run or "
            "manual fix)",
        )
        return
    if node.get("if_not_exists") or (statement.kind == "IndexStmt" and not node.get("idxname")):
        return
    if statement.kind == "CreateTableAsStmt" and node.get("objtype") == "OBJECT_MATVIEW":
        label = "CREATE MATERIALIZED VIEW"
    else:
        label = _IF_NOT_EXISTS_KINDS[statement.kind]
    yield Violation(
        ctx.statement_span_head(statement),
        f"{label} {_created_name(statement)} without IF NOT EXISTS fails if it already exists (a re-run "
        "or manual fix)",
    )
