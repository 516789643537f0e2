"""Lock-safety rules on index builds and drops (family ``lock-safety``).

Building, rebuilding or dropping an index without ``CONCURRENTLY`` holds a lock on an existing table for
the whole operation. Only tables that exist before the migration matter (``ctx.is_existing_table``); the
lock each message names is the one ``lockgate.locks`` says the statement takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate import locks
from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.lint.rules._fixes import concurrently
from lockgate.statements import Statement


@statement_rule(
    id="index-without-concurrently",
    family="lock-safety",
    severity="warning",
    kinds=["IndexStmt"],
    summary="`CREATE INDEX` without `CONCURRENTLY` on an existing table.",
    why="""
        A plain `CREATE INDEX` takes a SHARE lock on the table for the whole build: reads continue but
        every INSERT, UPDATE and DELETE waits until the index is built, which takes minutes on a large
        table. `CREATE INDEX CONCURRENTLY` builds the index without blocking writes. It cannot run
        inside a transaction block, so put it in its own file marked `-- lockgate: no-transaction`.
        `CREATE INDEX ... ON ONLY` (the first step of indexing a partitioned table) builds nothing
        and is not reported.
    """,
    bad="""
        CREATE INDEX orders_customer_idx ON public.orders (customer_id);
    """,
    good="""
        -- lockgate: no-transaction
        CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON public.orders (customer_id);
    """,
    help="Use CREATE INDEX CONCURRENTLY in its own migration marked `-- lockgate: no-transaction`.",
)
def index_without_concurrently(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    relation = node.get("relation")
    if node.get("concurrent") or not ctx.is_existing_table(relation, statement):
        return
    if relation and not relation.get("inh"):
        return  # ON ONLY (pglast omits inh=false): the partitioned-table recipe, builds nothing on the parent
    kind = "CREATE UNIQUE INDEX" if node.get("unique") else "CREATE INDEX"
    lock = locks.with_article(locks.target_mode(statement) or locks.SHARE)
    yield Violation(
        ctx.statement_span_head(statement),
        f"{kind} takes {lock} on {ctx.qualified(relation)}, blocking writes for the whole build",
        fix=concurrently(statement),
    )


def _index_names(statement: Statement) -> list[str]:
    """``schema.name`` of each index a ``DROP INDEX`` names."""
    names = []
    for item in statement.node.get("objects", []):
        parts = nodes.name_list((nodes.unwrap(item, "List") or {}).get("items"))
        if parts:
            names.append(locks.dotted_name(parts))
    return names


@statement_rule(
    id="drop-index-without-concurrently",
    family="lock-safety",
    severity="warning",
    kinds=["DropStmt"],
    summary="`DROP INDEX` without `CONCURRENTLY`.",
    why="""
        `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table: every read and write of the
        table waits, and so does every query queued behind them, until it finishes. It is usually
        instant, but it must first wait for every running transaction on the table, and everything
        queues behind it while it waits. `DROP INDEX CONCURRENTLY` waits without blocking others.
    """,
    bad="""
        DROP INDEX public.orders_customer_idx;
    """,
    good="""
        -- lockgate: no-transaction
        DROP INDEX CONCURRENTLY IF EXISTS public.orders_customer_idx;
    """,
    help="Use DROP INDEX CONCURRENTLY in its own migration marked `-- lockgate: no-transaction`.",
)
def drop_index_without_concurrently(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if statement.node.get("removeType") != "OBJECT_INDEX" or statement.node.get("concurrent"):
        return
    existing = [name for name in _index_names(statement) if not ctx.is_new_index(name, statement)]
    if existing:
        lock = locks.with_article(locks.target_mode(statement) or locks.ACCESS_EXCLUSIVE)
        yield Violation(
            ctx.statement_span_head(statement),
            f"DROP INDEX {', '.join(existing)} takes {lock} on its table, blocking "
            "reads and writes while it waits for running transactions",
            fix=concurrently(statement),
        )


_CATALOG_SCHEMAS = frozenset({"pg_catalog"})
"""Where system catalogs live. Not pg_toast: the TOAST tables of user tables reindex concurrently."""


def _reindexes_catalogs(node: dict[str, Any], kind: str) -> bool:
    """REINDEX SYSTEM, REINDEX SCHEMA pg_catalog, or REINDEX TABLE/INDEX of a system catalog (an
    unqualified ``pg_*`` name resolves in pg_catalog first): PostgreSQL refuses to rebuild catalog indexes
    concurrently ("cannot reindex system catalogs concurrently")."""
    if kind == "SYSTEM":
        return True
    if kind == "SCHEMA":
        return str(node.get("name") or "") in _CATALOG_SCHEMAS
    relation = node.get("relation") or {}
    schema = relation.get("schemaname")
    return schema in _CATALOG_SCHEMAS or (not schema and str(relation.get("relname", "")).startswith("pg_"))


@statement_rule(
    id="reindex-without-concurrently",
    family="lock-safety",
    severity="warning",
    kinds=["ReindexStmt"],
    summary="`REINDEX` without `CONCURRENTLY`.",
    why="""
        `REINDEX` takes a SHARE lock on the table (blocking writes) and an ACCESS EXCLUSIVE lock on
        each index being rebuilt (blocking reads that use it) for the whole rebuild. From PostgreSQL
        12, `REINDEX ... CONCURRENTLY` rebuilds without blocking. Before 12, build a new index
        concurrently and drop the old one. System catalogs (`REINDEX SYSTEM`, `REINDEX SCHEMA
        pg_catalog`, a `pg_catalog` table or index) cannot be reindexed concurrently at all: while
        their indexes are rebuilt, every session that needs the catalog waits, so such a rebuild
        belongs in a maintenance window, not in a migration.
    """,
    bad="""
        REINDEX INDEX public.orders_customer_idx;
    """,
    good="""
        -- lockgate: no-transaction
        REINDEX INDEX CONCURRENTLY public.orders_customer_idx;
    """,
    help="Use REINDEX ... CONCURRENTLY in its own migration marked `-- lockgate: no-transaction`.",
    pg_versions="The suggested fix depends on `pg_major`: `REINDEX CONCURRENTLY` exists from PostgreSQL 12.",
)
def reindex_without_concurrently(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    if any(
        (nodes.unwrap(p, "DefElem") or {}).get("defname") == "concurrently"
        for p in node.get("params", []) or []
    ):
        return
    kind = str(node.get("kind", "")).removeprefix("REINDEX_OBJECT_")
    relation = node.get("relation")
    catalogs = _reindexes_catalogs(node, kind)
    if not catalogs:
        if kind == "TABLE" and not ctx.is_existing_table(relation, statement):
            return
        if kind == "INDEX" and ctx.is_new_index(ctx.qualified(relation), statement):
            return
    if relation:
        schema = "pg_catalog" if catalogs and not relation.get("schemaname") else None
        target = ctx.qualified(relation) if schema is None else f"{schema}.{relation.get('relname', '')}"
    else:
        target = str(node.get("name") or "")
    if catalogs:
        yield Violation(
            ctx.statement_span_head(statement),
            f"REINDEX {kind} {target} rebuilds system catalog indexes, which cannot be rebuilt "
            "CONCURRENTLY: every session that needs those catalogs waits for the whole rebuild".replace(
                "  ", " "
            ),
            "Do not reindex system catalogs in a migration: run it by hand in a maintenance window "
            "(PostgreSQL refuses CONCURRENTLY for catalogs).",
        )
        return
    help_text = None
    if ctx.pg_major < 12:
        help_text = (
            f"PostgreSQL {ctx.pg_major} has no REINDEX CONCURRENTLY: CREATE INDEX CONCURRENTLY a copy, "
            "then DROP INDEX CONCURRENTLY the old one."
        )
    table, index = {"INDEX": ("the table", "the index"), "TABLE": ("the table", "its indexes")}.get(
        kind, ("each table", "each index")
    )
    yield Violation(
        ctx.statement_span_head(statement),
        f"REINDEX {kind} {target} blocks writes to {table} ({locks.REINDEX_TABLE_LOCK} lock) and reads "
        f"through {index} ({locks.REINDEX_INDEX_LOCK} lock) for the whole rebuild".replace("  ", " "),
        help_text,
        fix=concurrently(statement) if ctx.pg_major >= 12 and kind in {"INDEX", "TABLE"} else None,
    )


@statement_rule(
    id="unique-constraint-without-index",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ADD UNIQUE`/`PRIMARY KEY` that builds its index under the table lock.",
    why="""
        Adding a UNIQUE or PRIMARY KEY constraint builds its index while holding an ACCESS EXCLUSIVE
        lock on the table: no reads, no writes for the whole build. Build a unique index
        `CONCURRENTLY` first, then attach it with `ADD CONSTRAINT ... USING INDEX`, which is instant.
    """,
    bad="""
        ALTER TABLE public.orders ADD CONSTRAINT orders_number_key UNIQUE (number);
    """,
    good="""
        -- lockgate: no-transaction
        CREATE UNIQUE INDEX CONCURRENTLY orders_number_key ON public.orders (number);
        -- in the next migration:
        ALTER TABLE public.orders ADD CONSTRAINT orders_number_key UNIQUE USING INDEX orders_number_key;
    """,
    help="CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX.",
)
def unique_constraint_without_index(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        subtype = cmd.get("subtype")
        if subtype == "AT_AddConstraint":
            candidates = [c for c in [nodes.command_constraint(cmd)] if c]
        elif subtype == "AT_AddColumn":
            candidates = nodes.constraints(cmd.get("def"))
        else:
            continue
        for constraint in candidates:
            kind = {"CONSTR_UNIQUE": "UNIQUE", "CONSTR_PRIMARY": "PRIMARY KEY"}.get(
                constraint.get("contype", "")
            )
            if kind and not constraint.get("indexname"):
                yield Violation(
                    ctx.span_at(statement, constraint),
                    f"{kind} builds its index on {table} under {locks.with_article(locks.alter_command_lock(cmd))}, "
                    "blocking reads and writes for the whole build",
                )
