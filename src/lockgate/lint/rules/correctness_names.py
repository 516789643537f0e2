"""Apply-correctness rules on names: a column named twice, and identifiers PostgreSQL truncates.

PostgreSQL rejects a statement that names one column twice (``column "a" specified more than once``,
``multiple assignments to same column``, ``column "a" of relation "t" already exists``) only when the
migration runs; these rules say so at review time. A name longer than 63 bytes is worse: it is accepted
and silently cut to 63 bytes, so two long names that share their first 63 bytes become one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from lockgate import pgparser
from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Span, Violation
from lockgate.lint.registry import file_rule
from lockgate.statements import Statement

_HELP = "Name each column once (for a column that may already exist, use ADD COLUMN IF NOT EXISTS)."


def _assigned_twice(targets: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(column, ResTarget)`` of each later assignment to a column already assigned in ``targets``.

    ``SET c.x = 1, c.y = 2`` (two fields of a composite) and ``SET a[1] = 1, a[2] = 2`` (two elements)
    are fine; a whole-column assignment next to any other assignment of the column is what PostgreSQL
    rejects (``process_matched_tle``, ``checkInsertTargets``).
    """
    seen: dict[str, bool] = {}  # column -> every assignment so far has indirection
    for item in targets or []:
        target = nodes.unwrap(item, "ResTarget") or {}
        name = target.get("name")
        if not isinstance(name, str):
            continue
        partial = bool(target.get("indirection"))
        if name in seen and not (seen[name] and partial):
            yield name, target
        seen[name] = seen.get(name, True) and partial


def _output_names(select: Any) -> list[tuple[str | None, dict[str, Any] | None]]:
    """The column names a query produces, where the parse tree states them (an alias or a plain column
    reference); ``None`` for expressions whose name PostgreSQL derives (``?column?``, a function name)."""
    node = nodes.unwrap(select, "SelectStmt") or {}
    while node.get("larg"):  # a set operation takes its names from the leftmost query
        node = nodes.unwrap(node["larg"], "SelectStmt") or {}
    out: list[tuple[str | None, dict[str, Any] | None]] = []
    for item in node.get("targetList") or []:
        target = nodes.unwrap(item, "ResTarget") or {}
        name = target.get("name")
        if not name:
            fields = (
                (nodes.unwrap(target.get("val"), "ColumnRef") or {}).get("fields")
                if "ColumnRef" in (target.get("val") or {})
                else None
            )
            names = nodes.name_list(fields[-1:]) if fields else []
            name = names[0] if names else None
        out.append((name if isinstance(name, str) else None, target))
    return out


Origin = tuple[str, int]
"""Where a column comes from: the statement that made it and its line (0: the history before the file)."""
_HISTORY: Origin = ("the migrations before this file", 0)


def _where(origin: Origin) -> str:
    return origin[0] if origin[1] == 0 else f"{origin[0]} on line {origin[1]}"


class _Columns:
    """The columns each table has as the file runs, for ``ADD COLUMN``/``RENAME COLUMN`` clashes: what this
    file's statements define, on top of what the catalog (the migrations before the file) says."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.tables: dict[str, dict[str, Origin]] = {}  # table -> column -> where it comes from

    def of(self, table: str) -> dict[str, Origin]:
        found = self.tables.get(table)
        if found is None:
            known = self.ctx.catalog.table(table) if self.ctx.catalog is not None else None
            columns = known.columns if known is not None else {}
            found = self.tables[table] = dict.fromkeys(columns, _HISTORY)
        return found


def _dml(ctx: FileContext, statement: Statement, columns: _Columns) -> Iterator[Violation]:
    """UPDATE SET, INSERT's column list and its ON CONFLICT DO UPDATE SET, MERGE's actions."""
    node, kind = statement.node, statement.kind
    lists: list[tuple[Any, str, str]] = []  # (targets, what the statement does with them, PostgreSQL's error)
    if kind == "UpdateStmt":
        lists.append((node.get("targetList"), "UPDATE {} assigns column {} twice", _MULTIPLE))
    elif kind == "InsertStmt":
        lists.append((node.get("cols"), "INSERT INTO {} lists column {} twice", _SPECIFIED))
        conflict = nodes.unwrap(node.get("onConflictClause"), "OnConflictClause") or {}
        lists.append(
            (conflict.get("targetList"), "ON CONFLICT DO UPDATE of {} assigns column {} twice", _MULTIPLE)
        )
    else:  # MergeStmt
        for item in node.get("mergeWhenClauses") or []:
            clause = nodes.unwrap(item, "MergeWhenClause") or {}
            if clause.get("commandType") == "CMD_INSERT":
                lists.append(
                    (clause.get("targetList"), "MERGE INTO {} ... INSERT lists column {} twice", _SPECIFIED)
                )
            else:
                lists.append(
                    (clause.get("targetList"), "MERGE INTO {} ... UPDATE assigns column {} twice", _MULTIPLE)
                )
    for targets, what, error in lists:
        if targets and len(targets) > 1:
            for name, target in _assigned_twice(targets):
                message = what.format(ctx.qualified(node.get("relation")), name)
                yield _twice(ctx, statement, target, message, error, name)


def _drop_table(ctx: FileContext, statement: Statement, columns: _Columns) -> Iterator[Violation]:
    if statement.node.get("removeType") == "OBJECT_TABLE":
        for item in statement.node.get("objects") or []:
            parts = nodes.name_list((nodes.unwrap(item, "List") or {}).get("items"))
            columns.tables[ctx.normalise_name(".".join(parts[-2:]))] = {}
    return iter(())


_MULTIPLE = 'multiple assignments to same column "{}"'
_SPECIFIED = 'column "{}" specified more than once'
_EXISTS = 'column "{}" of relation "{}" already exists'


def _twice(
    ctx: FileContext, statement: Statement, node: dict[str, Any] | None, what: str, error: str, *args: str
) -> Violation:
    span = ctx.token_span(statement, node) if node else ctx.statement_span_head(statement)
    return Violation(span, f"{what}; PostgreSQL rejects the statement: {error.format(*args)}")


def _create_table(ctx: FileContext, statement: Statement, columns: _Columns) -> Iterator[Violation]:
    table = ctx.qualified(statement.node.get("relation"))
    defined: dict[str, Origin] = {}
    origin = ("CREATE TABLE", ctx.parent(statement).line)
    for element in statement.node.get("tableElts") or []:
        column = element.get("ColumnDef")  # table elements are always wrapped
        name = column.get("colname") if column is not None else None
        if name is None:
            continue
        if name in defined:
            yield _twice(
                ctx, statement, column, f"CREATE TABLE {table} defines column {name} twice", _SPECIFIED, name
            )
        defined[name] = origin
    columns.tables[table] = defined


def _query_columns(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    if statement.kind == "ViewStmt":
        what, relation, aliases, query = (
            "CREATE VIEW",
            node.get("view"),
            node.get("aliases"),
            node.get("query"),
        )
    else:
        into = node.get("into") or {}
        matview = node.get("objtype") == "OBJECT_MATVIEW"
        what = "CREATE MATERIALIZED VIEW" if matview else "CREATE TABLE AS"
        relation, aliases, query = into.get("rel"), into.get("colNames"), node.get("query")
    names = _output_names(query)
    explicit = nodes.name_list(aliases)
    for position, alias in enumerate(explicit):
        if position < len(names):
            names[position] = (alias, None)
        else:
            names.append((alias, None))
    seen: set[str] = set()
    for name, target in names:
        if name is None:
            continue
        if name in seen:
            message = f"{what} {ctx.qualified(relation)} produces two columns named {name}"
            yield _twice(ctx, statement, target, message, _SPECIFIED, name)
        seen.add(name)


def _alter_table(ctx: FileContext, statement: Statement, columns: _Columns) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    table = ctx.qualified(relation)
    added_here: set[str] = set()
    for cmd in ctx.alter_commands(statement):
        subtype = cmd.get("subtype")
        if subtype == "AT_DropColumn":
            columns.of(table).pop(str(cmd.get("name")), None)
            continue
        column = nodes.command_column(cmd)
        if subtype != "AT_AddColumn" or column is None or not isinstance(column.get("colname"), str):
            continue
        name = column["colname"]
        existing = columns.of(table)
        if name in existing and not cmd.get("missing_ok"):
            where = "earlier in this statement" if name in added_here else f"by {_where(existing[name])}"
            message = f"ADD COLUMN {name}: {table} already has that column (added {where})"
            yield _twice(
                ctx, statement, column, message, _EXISTS, name, str((relation or {}).get("relname", ""))
            )
        added_here.add(name)
        existing.setdefault(name, ("ADD COLUMN", ctx.parent(statement).line))


def _rename(ctx: FileContext, statement: Statement, columns: _Columns) -> Iterator[Violation]:
    node = statement.node
    rename = node.get("renameType")
    if rename == "OBJECT_TABLE" and node.get("relation"):
        old = ctx.qualified(node["relation"])
        columns.tables[f"{old.rsplit('.', 1)[0]}.{node.get('newname', '')}"] = columns.of(old)
        columns.tables[old] = {}
        return
    if rename != "OBJECT_COLUMN" or node.get("relationType", "OBJECT_TABLE") != "OBJECT_TABLE":
        return
    table = ctx.qualified(node.get("relation"))
    old, new = str(node.get("subname", "")), str(node.get("newname", ""))
    existing = columns.of(table)
    if new in existing and new != old:
        yield Violation(
            ctx.statement_span_head(statement),
            f"RENAME COLUMN {old} TO {new}: {table} already has a column {new} (from {_where(existing[new])}); "
            f"PostgreSQL rejects the statement: {_EXISTS.format(new, table.rsplit('.', 1)[-1])}",
            "Rename or drop the existing column first, or pick another name.",
        )
    origin = existing.pop(old, None)
    existing[new] = origin or ("RENAME COLUMN", ctx.parent(statement).line)


@file_rule(
    id="duplicate-column",
    family="apply-correctness",
    severity="error",
    kinds=[
        "UpdateStmt",
        "InsertStmt",
        "MergeStmt",
        "CreateStmt",
        "ViewStmt",
        "CreateTableAsStmt",
        "AlterTableStmt",
        "RenameStmt",
    ],
    summary="One column named twice: `UPDATE ... SET a = 1, a = 2`, `CREATE TABLE (a int, a int)`, an "
    "`ADD COLUMN` the table already has...",
    why="""
        PostgreSQL rejects a statement that assigns a column twice (`UPDATE`, `ON CONFLICT DO
        UPDATE`, `MERGE`), lists it twice (`INSERT INTO t (a, a)`), defines it twice (`CREATE TABLE`,
        a view or `CREATE TABLE AS` whose query yields two columns of one name), or adds a column the
        table already has (`ADD COLUMN` twice, a column created earlier in the file or, per the
        catalog, by an earlier migration, or `RENAME COLUMN` onto an existing name). The migration
        fails at deploy time, usually after a merge put two branches' changes side by side. Assigning
        two fields of a composite column or two elements of an array (`SET a[1] = 1, a[2] = 2`) is
        allowed and not reported; so is `ADD COLUMN IF NOT EXISTS`.
    """,
    bad="""
        UPDATE public.orders SET status = 'paid', paid_at = now(), status = 'settled' WHERE id = 42;
    """,
    good="""
        UPDATE public.orders SET status = 'settled', paid_at = now() WHERE id = 42;
    """,
    help=_HELP,
)
def duplicate_column(ctx: FileContext) -> Iterator[Violation]:
    columns = _Columns(ctx)
    for statement in ctx.executed:
        check = _CHECKS.get(statement.kind)
        if check is not None:
            yield from check(ctx, statement, columns)


_CHECKS: dict[str, Callable[[FileContext, Statement, _Columns], Iterator[Violation]]] = {
    "UpdateStmt": _dml,
    "InsertStmt": _dml,
    "MergeStmt": _dml,
    "CreateStmt": _create_table,
    "ViewStmt": lambda ctx, statement, columns: _query_columns(ctx, statement),
    "CreateTableAsStmt": lambda ctx, statement, columns: _query_columns(ctx, statement),
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "DropStmt": _drop_table,
}


# -- identifiers over 63 bytes -------------------------------------------------------------------------
NAME_BYTES = 63
"""NAMEDATALEN - 1: PostgreSQL keeps the first 63 bytes of an identifier (at a character boundary)."""

# Pre-filter for identifiers over 63 bytes, run on every file: identifier bytes mapped to "a" and the rest
# to " " (one C pass), then a substring search; quoted identifiers by a regex with a literal first byte.
# It also matches inside comments and strings: PostgreSQL's own scanner decides what is an identifier.
# (One alternation regex over the raw bytes cost three times as much on a 273-file history.)
_IDENTIFIER_BYTES = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$"
) | frozenset(range(0x80, 0x100))
_AS_RUNS = bytes(ord("a") if byte in _IDENTIFIER_BYTES else ord(" ") for byte in range(256))
_LONG_RUN = b"a" * (NAME_BYTES + 1)
_LONG_QUOTED = re.compile(rb'"[^"]{64}')
_LONG_QUOTED_ESCAPED = re.compile(rb'"(?:[^"]|""){64}')


def _may_hold_long_identifier(data: bytes) -> bool:
    return (
        _LONG_RUN in data.translate(_AS_RUNS)
        or _LONG_QUOTED.search(data) is not None
        or (b'""' in data and _LONG_QUOTED_ESCAPED.search(data) is not None)
    )


def _long_identifiers(statement: Statement) -> Iterator[tuple[int, str]]:
    """``(character offset in the statement, identifier as PostgreSQL reads it)`` of each identifier
    token longer than 63 bytes."""
    if not _may_hold_long_identifier(statement.text.encode("utf-8")):
        return
    try:
        tokens = pgparser.scan(statement.text)
    except pgparser.ParseError:
        return
    for token in tokens:
        if token.name != "IDENT":
            continue
        raw = statement.text[token.start : token.end + 1]
        # Quoted: as written; unquoted: folded to lower case (only ASCII letters, in UTF-8).
        name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.translate(_ASCII_LOWER)
        if len(name.encode("utf-8")) > NAME_BYTES:
            yield token.start, name


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def truncated(name: str) -> str:
    """``name`` as PostgreSQL stores it: its first 63 bytes, never splitting a character."""
    return name.encode("utf-8")[:NAME_BYTES].decode("utf-8", errors="ignore")


def _token_span(ctx: FileContext, statement: Statement, start: int) -> Span:
    offset = statement.byte_start + len(statement.text[:start].encode("utf-8"))
    return ctx.token_span(statement, {"location": offset})


@file_rule(
    id="identifier-too-long",
    family="apply-correctness",
    severity="warning",
    summary="A table, column, index, constraint (or any other) name longer than 63 bytes.",
    why="""
        PostgreSQL keeps the first 63 bytes of an identifier and drops the rest with only a NOTICE,
        which migration runners do not show. The object then has a different name than the migration
        (and the ORM, and the next migration's `DROP INDEX`) spells; and two long names that share
        their first 63 bytes are one name: the second `CREATE` fails with "already exists", or, with
        `IF NOT EXISTS`, silently does nothing, so the index or constraint the migration meant to add
        never exists. Generated names (`orders_customer_id_created_at_status_idx`...) reach 63 bytes
        sooner than expected; multi-byte characters count as two to four bytes each.
    """,
    bad="""
        CREATE INDEX index_customer_orders_on_customer_id_and_created_at_and_fulfilment_status
          ON public.customer_orders (customer_id, created_at, fulfilment_status);
    """,
    good="""
        CREATE INDEX customer_orders_customer_created_status_idx
          ON public.customer_orders (customer_id, created_at, fulfilment_status);
    """,
    help="Shorten the name to 63 bytes or fewer (write it as PostgreSQL will store it).",
)
def identifier_too_long(ctx: FileContext) -> Iterator[Violation]:
    if not _may_hold_long_identifier(ctx.data):
        return
    seen: dict[str, tuple[str, int]] = {}  # truncated -> (first spelling, its line)
    reported: set[str] = set()
    for statement in ctx.executed:
        for start, name in _long_identifiers(statement):
            if name in reported:
                continue
            reported.add(name)
            short = truncated(name)
            span = _token_span(ctx, statement, start)
            size = len(name.encode("utf-8"))
            first = seen.get(short)
            if first is None:
                seen[short] = (name, span.line)
                message = (
                    f"identifier {name} is {size} bytes: PostgreSQL silently truncates names to "
                    f"{NAME_BYTES} bytes, so it becomes {short}"
                )
            else:
                message = (
                    f"identifier {name} is {size} bytes and truncates to {short}, the same name as "
                    f"{first[0]} (line {first[1]}): PostgreSQL sees one name, so the second CREATE fails "
                    "with 'already exists' (or, with IF NOT EXISTS, silently does nothing)"
                )
            yield Violation(span, message)
