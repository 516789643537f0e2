"""Lock-safety rules on statements that rewrite a whole table under ACCESS EXCLUSIVE (family ``lock-safety``).

A rewrite copies every row (and rebuilds every index) while reads and writes wait: volatile or computed
column defaults, column type changes, ``VACUUM FULL``, ``CLUSTER`` and a plain materialized view refresh.
Tables created earlier in the same file are exempt; the lock each message names comes from
``lockgate.locks``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate import locks
from lockgate.catalog.model import Catalog
from lockgate.catalog.types import NARROWING, NO_REWRITE, NONE, describe, type_change
from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.lint.rules._fixes import checked_first
from lockgate.locks import dotted_name
from lockgate.statements import Statement

VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "gen_random_bytes",
        "random_normal",
        "txid_current",
    }
)


def _default(column: dict[str, Any]) -> dict[str, Any] | None:
    for constraint in nodes.constraints(column):
        if constraint.get("contype") == "CONSTR_DEFAULT":
            return constraint
    return None


def _volatile_call(expression: Any, catalog: Catalog | None = None) -> str | None:
    """The first volatile function the expression calls: one the catalog (a ``CREATE FUNCTION`` in the
    history, without ``IMMUTABLE`` or ``STABLE``) says is volatile, or a built-in known to be."""
    for fields in nodes.find(expression, "FuncCall"):
        name = nodes.function_name(fields)
        known = catalog.volatility(dotted_name(nodes.name_list(fields.get("funcname")))) if catalog else None
        if known == "volatile" or (known is None and name in VOLATILE_FUNCTIONS):
            return name
    return None


def _is_null(expression: Any) -> bool:
    const = nodes.unwrap(expression, "A_Const") or {}
    return bool(const.get("isnull"))


@statement_rule(
    id="volatile-default",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ADD COLUMN` with a volatile default (or any default before PostgreSQL 11).",
    why="""
        From PostgreSQL 11, adding a column with a constant or stable default (`0`, `'x'`, `now()`)
        only updates the catalog. A volatile default (`gen_random_uuid()`, `random()`,
        `clock_timestamp()`, `nextval(...)`) must be computed per row, so PostgreSQL rewrites the
        whole table under an ACCESS EXCLUSIVE lock. Before 11, every non-NULL default rewrites.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
    """,
    good="""
        ALTER TABLE public.orders ADD COLUMN public_id uuid;
        ALTER TABLE public.orders ALTER COLUMN public_id SET DEFAULT gen_random_uuid();
        -- then backfill existing rows in batches, outside the migration
    """,
    help="Add the column without a default, SET DEFAULT separately, and backfill in batches.",
    pg_versions="With `pg_major` below 11 any non-NULL default is reported, not only volatile ones.",
)
def volatile_default(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        column = nodes.command_column(cmd)
        if cmd.get("subtype") != "AT_AddColumn" or column is None:
            continue
        default = _default(column)
        if default is None or _is_null(default.get("raw_expr")):
            continue
        volatile = _volatile_call(default.get("raw_expr"), ctx.catalog)
        if volatile:
            reason = f"volatile default {volatile}()"
        elif ctx.pg_major < 11:
            reason = f"a default (PostgreSQL {ctx.pg_major} rewrites for any default)"
        else:
            continue
        yield Violation(
            ctx.span_at(statement, default),
            f"ADD COLUMN {column.get('colname')} with {reason} rewrites {table} under "
            f"{locks.with_article(locks.alter_command_lock(cmd))}, blocking reads and writes",
        )


_SERIAL_TYPES = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}


@statement_rule(
    id="add-column-rewrites-table",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="Adding a stored generated, serial or identity column to an existing table.",
    why="""
        A `GENERATED ALWAYS AS (...) STORED` column, a `serial`/`bigserial` column and an identity
        column all need a value computed for every existing row, so PostgreSQL rewrites the whole
        table (and its indexes) under an ACCESS EXCLUSIVE lock: no reads or writes until it is done.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (total * 100) STORED;
    """,
    good="""
        ALTER TABLE public.orders ADD COLUMN total_cents bigint;
        -- keep it filled with a trigger, backfill in batches outside the migration
    """,
    help="Add a plain nullable column, backfill it in batches, and keep it up to date with a trigger.",
)
def add_column_rewrites_table(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        column = nodes.command_column(cmd)
        if cmd.get("subtype") != "AT_AddColumn" or column is None:
            continue
        kind = None
        type_name = nodes.type_name(column.get("typeName"))
        if type_name in _SERIAL_TYPES:
            kind = type_name
        for constraint in nodes.constraints(column):
            if constraint.get("contype") == "CONSTR_IDENTITY":
                kind = "identity"
            elif (
                constraint.get("contype") == "CONSTR_GENERATED"
                and constraint.get("generated_kind", "s") == "s"
            ):
                kind = "stored generated"
        if kind:
            yield Violation(
                ctx.span_at(statement, column),
                f"adding {kind} column {column.get('colname')} rewrites {table} under "
                f"{locks.with_article(locks.alter_command_lock(cmd))}, blocking reads and writes",
            )


# Target types a change to is (normally) binary-compatible: varchar -> text, varchar(n) -> varchar(m > n)
# or unlimited, numeric(p, s) -> numeric with more precision. The old type is not known to the linter.
_NO_REWRITE_TARGETS = {"text", "varchar", "numeric", "citext"}


@statement_rule(
    id="alter-column-type",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ALTER COLUMN ... TYPE` that rewrites or checks every row of an existing table.",
    why="""
        Changing a column's type rewrites the table and rebuilds its indexes under an ACCESS
        EXCLUSIVE lock (`int` -> `bigint` on a large table can take hours). Binary-compatible changes
        do not rewrite: `varchar(n)` -> `text`, widening `varchar(n)`, dropping the length limit, or
        raising a `numeric`'s precision. A narrowing change (`text` -> `varchar(50)`, a cut in a
        `numeric`'s scale) checks or converts every row under the same lock, and fails the deploy on
        the first value that does not fit. lockgate knows a column's old type from the migrations
        before the file (the catalog); when it does not, a change to `text`, `varchar`, `varchar(n)` or
        `numeric(p, s)` without `USING` is assumed binary-compatible and any other is reported.
    """,
    bad="""
        ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;
    """,
    good="""
        ALTER TABLE public.orders ALTER COLUMN note TYPE text;  -- was varchar(200): no rewrite
        -- for int -> bigint: add a new column, backfill in batches, swap in a short transaction
    """,
    help="Add a new column of the new type, backfill it in batches, then swap the columns.",
)
def alter_column_type(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    table = ctx.qualified(relation)
    for cmd in ctx.existing_alter_commands(statement):
        column = nodes.command_column(cmd)
        if cmd.get("subtype") != "AT_AlterColumnType" or column is None:
            continue
        name = str(cmd.get("name") or "")
        target = nodes.type_name(column.get("typeName"))
        mods = tuple(nodes.type_modifiers(column.get("typeName")))
        using = column.get("raw_default")
        plain_cast = using is not None and _casts_itself(using, name)
        lock = locks.with_article(locks.alter_command_lock(cmd))
        old = ctx.old_column(relation, name)
        if old is not None and old.type_name and (using is None or plain_cast):
            verdict = type_change(old.type_name, old.typmods, target, mods)
            if verdict in {NONE, NO_REWRITE}:
                continue
            new = describe(target, mods)
            if verdict == NARROWING:
                yield Violation(
                    ctx.span_at(statement, column),
                    f"ALTER COLUMN {name} TYPE {new} narrows it from {old.describe()}: PostgreSQL checks every "
                    f"row of {table} under {lock}{_indexes(ctx, table, name)}, and the deploy fails on the "
                    "first value that does not fit",
                    f"Add `CHECK ({_fits(name, target, mods)}) NOT VALID`, then `VALIDATE CONSTRAINT` (it "
                    "does not block writes), fix the rows it finds, and only then change the type; or add a "
                    "new column and backfill it.",
                    checked_first(table, name, _fits(name, target, mods), new),
                )
                continue
            yield Violation(
                ctx.span_at(statement, column),
                f"ALTER COLUMN {name} TYPE {new} (was {old.describe()}) rewrites {table} under "
                f"{lock}{_indexes(ctx, table, name)}, blocking reads and writes",
            )
            continue
        if target in _NO_REWRITE_TARGETS and using is None:
            continue
        yield Violation(
            ctx.span_at(statement, column),
            f"ALTER COLUMN {name} TYPE {target}{' USING ...' if using is not None else ''} rewrites {table} "
            f"under {lock}{_indexes(ctx, table, name)}, blocking reads and writes",
        )


def _casts_itself(expression: Any, column: str) -> bool:
    """``USING col::newtype``: the same conversion PostgreSQL does without ``USING``."""
    cast = nodes.unwrap(expression, "TypeCast") or {}
    ref = nodes.unwrap(cast.get("arg"), "ColumnRef") or {}
    return nodes.name_list(ref.get("fields")) == [column]


def _indexes(ctx: FileContext, table: str, column: str) -> str:
    """ ", and rebuilds index x" when the catalog knows indexes on the column."""
    if ctx.catalog is None:
        return ""
    names = sorted(index.name.rsplit(".", 1)[-1] for index in ctx.catalog.indexes_on(table, column))
    if not names:
        return ""
    return f" and rebuilds its index{'es' if len(names) > 1 else ''} {', '.join(names)}"


def _fits(column: str, target: str, mods: tuple[int, ...]) -> str:
    if target == "varchar" and mods:
        return f"char_length({column}) <= {mods[0]}"
    return f"{column} = {column}::{describe(target, mods)}"


def _lock(statement: Statement) -> str:
    """``an ACCESS EXCLUSIVE lock``: what ``lockgate.locks`` says the statement takes on its target."""
    return locks.with_article(locks.target_mode(statement) or locks.ACCESS_EXCLUSIVE)


def _relations(ctx: FileContext, statement: Statement) -> list[Any]:
    """The tables a VACUUM names (empty list: the whole database)."""
    return [
        (nodes.unwrap(item, "VacuumRelation") or {}).get("relation")
        for item in statement.node.get("rels") or []
    ]


@statement_rule(
    id="vacuum-full",
    family="lock-safety",
    severity="warning",
    kinds=["VacuumStmt"],
    summary="`VACUUM FULL` on an existing table.",
    why="""
        `VACUUM FULL` rewrites the table into a new file under an ACCESS EXCLUSIVE lock: no reads or
        writes for the whole rewrite, which needs as much free disk as the table. Plain `VACUUM`
        reclaims space for reuse without blocking; tools such as `pg_repack` compact online.
    """,
    bad="""
        VACUUM FULL public.orders;
    """,
    good="""
        -- lockgate: no-transaction
        VACUUM (ANALYZE) public.orders;
    """,
    help="Use plain VACUUM, or pg_repack outside migrations, to reclaim space without blocking.",
)
def vacuum_full(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if not statement.node.get("is_vacuumcmd") or not locks.is_vacuum_full(statement.node):
        return
    relations = _relations(ctx, statement)
    existing = [ctx.qualified(r) for r in relations if ctx.is_existing_table(r, statement)]
    if relations and not existing:
        return
    target = ", ".join(existing) if existing else "every table in the database"
    yield Violation(
        ctx.statement_span_head(statement),
        f"VACUUM FULL rewrites {target} under {_lock(statement)}, blocking reads and writes",
    )


@statement_rule(
    id="cluster",
    family="lock-safety",
    severity="warning",
    kinds=["ClusterStmt"],
    summary="`CLUSTER` on an existing table.",
    why="""
        `CLUSTER` rewrites the table in index order under an ACCESS EXCLUSIVE lock: no reads or writes
        until it finishes. The order is not maintained afterwards, so it rarely belongs in a migration.
    """,
    bad="""
        CLUSTER public.orders USING orders_created_at_idx;
    """,
    good="""
        -- run pg_repack --order-by outside migrations, or rely on the index
        ALTER TABLE public.orders CLUSTER ON orders_created_at_idx;
    """,
    help="Run pg_repack outside migrations instead; CLUSTER blocks the table for the whole rewrite.",
)
def cluster(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    if relation and not ctx.is_existing_table(relation, statement):
        return
    target = ctx.qualified(relation) if relation else "every previously clustered table"
    yield Violation(
        ctx.statement_span_head(statement),
        f"CLUSTER rewrites {target} under {_lock(statement)}, blocking reads and writes",
    )


@statement_rule(
    id="refresh-materialized-view",
    family="lock-safety",
    severity="warning",
    kinds=["RefreshMatViewStmt"],
    summary="`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY`.",
    why="""
        A plain refresh takes an ACCESS EXCLUSIVE lock on the materialized view for the whole query:
        every read of the view waits. `REFRESH MATERIALIZED VIEW CONCURRENTLY` (which needs a unique
        index on the view) lets reads continue.
    """,
    bad="""
        REFRESH MATERIALIZED VIEW public.order_totals;
    """,
    good="""
        REFRESH MATERIALIZED VIEW CONCURRENTLY public.order_totals;
    """,
    help="Use REFRESH MATERIALIZED VIEW CONCURRENTLY (add a unique index on the view first).",
)
def refresh_materialized_view(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    relation = node.get("relation")
    if node.get("concurrent") or node.get("skipData") or not ctx.is_existing_table(relation, statement):
        return
    yield Violation(
        ctx.statement_span_head(statement),
        f"REFRESH MATERIALIZED VIEW takes {_lock(statement)} on {ctx.qualified(relation)}, blocking "
        "reads for the whole refresh",
    )
