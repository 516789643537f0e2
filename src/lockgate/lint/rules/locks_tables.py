"""Lock-safety rules on table operations with no lock-light form, or one only newer servers offer.

Detaching a partition, moving a relation to another tablespace and adding an exclusion constraint all
hold an ACCESS EXCLUSIVE lock (what ``lockgate.locks`` says the subcommand takes) on a table that has
traffic, for as long as the work takes. Where PostgreSQL offers a way around it (``DETACH PARTITION ...
CONCURRENTLY`` from 14, ``REINDEX (TABLESPACE ...) CONCURRENTLY`` from 14) the help says so for the
target ``pg_major``; where it does not, the help says how to contain the lock. Tables and indexes created
earlier in the same file are new and exempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate import locks
from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.statements import Statement


@statement_rule(
    id="detach-partition-without-concurrently",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY` on an existing table.",
    why="""
        A plain `DETACH PARTITION` takes an ACCESS EXCLUSIVE lock on the partitioned table and on the
        partition: every query on any partition through the parent waits, and so does every query
        queued behind the `ALTER` while it waits for running transactions. From PostgreSQL 14,
        `DETACH PARTITION ... CONCURRENTLY` takes only a SHARE UPDATE EXCLUSIVE lock on the parent
        (reads and writes continue). It cannot run inside a transaction block, nor when the table has
        a default partition; if it is interrupted, finish it with `DETACH PARTITION ... FINALIZE`.
    """,
    bad="""
        ALTER TABLE public.events DETACH PARTITION public.events_2023;
    """,
    good="""
        -- lockgate: no-transaction
        ALTER TABLE public.events DETACH PARTITION public.events_2023 CONCURRENTLY;
    """,
    help="Use DETACH PARTITION ... CONCURRENTLY alone in a migration marked `-- lockgate: no-transaction`.",
    pg_versions="`DETACH PARTITION ... CONCURRENTLY` exists from PostgreSQL 14; with `pg_major` below 14 "
    "the rule still fires and the help says how to contain the lock instead.",
)
def detach_partition_without_concurrently(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    parent = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        partition_cmd = nodes.unwrap(cmd.get("def"), "PartitionCmd") or {}
        if cmd.get("subtype") != "AT_DetachPartition" or partition_cmd.get("concurrent"):
            continue
        partition = partition_cmd.get("name")
        help_text = None
        if ctx.pg_major < 14:
            help_text = (
                f"PostgreSQL {ctx.pg_major} has no DETACH PARTITION CONCURRENTLY: detach alone in its "
                "migration, with a short lock_timeout, at a quiet time (or upgrade to 14+)."
            )
        yield Violation(
            ctx.span_at(statement, partition if partition else statement.node.get("relation")),
            f"DETACH PARTITION {ctx.qualified(partition)} takes "
            f"{locks.with_article(locks.alter_command_lock(cmd))} on {parent} and the partition, blocking "
            "reads and writes of every partition",
            help_text,
        )


_RELATION_KINDS = {"OBJECT_TABLE": "table", "OBJECT_MATVIEW": "materialized view", "OBJECT_INDEX": "index"}


def _moved_relation(ctx: FileContext, statement: Statement) -> tuple[str, Any] | None:
    """``(kind, RangeVar)`` of an existing relation an ``ALTER ... SET TABLESPACE`` rewrites, else None."""
    node = statement.node
    # ALTER INDEX / MATERIALIZED VIEW too, which ``ctx.alter_commands`` (tables only) leaves out.
    if not any(
        (item.get("AlterTableCmd") or {}).get("subtype") == "AT_SetTableSpace"
        for item in node.get("cmds") or ()
    ):
        return None
    kind = _RELATION_KINDS.get(str(node.get("objtype", "OBJECT_TABLE")))
    relation = node.get("relation")
    if kind is None:
        return None
    if kind == "index":
        return None if ctx.is_new_index(ctx.qualified(relation), statement) else (kind, relation)
    if ctx.is_new_table(relation, statement) or ctx.is_partitioned_table(relation, statement):
        return None  # a partitioned table has no storage: SET TABLESPACE only sets its partitions' default
    return kind, relation


def _tablespace_help(ctx: FileContext, kind: str) -> str:
    if kind == "index" and ctx.pg_major >= 14:
        return (
            "Rebuild the index in the new tablespace without blocking: REINDEX (TABLESPACE new_space) INDEX "
            "CONCURRENTLY ..., alone in a migration marked `-- lockgate: no-transaction`."
        )
    return (
        "Create relations in the right tablespace from the start; move existing ones outside migrations "
        "(pg_repack --tablespace), or at a quiet time with a short lock_timeout."
    )


@statement_rule(
    id="set-tablespace",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt", "AlterTableMoveAllStmt"],
    summary="`ALTER ... SET TABLESPACE` on an existing table, index or materialized view.",
    why="""
        Moving a relation to another tablespace copies every block of it (and a table's indexes stay
        where they are) while holding an ACCESS EXCLUSIVE lock: no reads or writes until the copy is
        done, minutes to hours for a large table. `ALTER ... ALL IN TABLESPACE ... SET TABLESPACE`
        does that for every relation in the tablespace. From PostgreSQL 14 an index can be moved
        without blocking with `REINDEX (TABLESPACE ...) CONCURRENTLY`; a table needs `pg_repack` or a
        quiet moment. A partitioned table has no storage of its own (its `SET TABLESPACE` only sets
        where new partitions go) and is not reported.
    """,
    bad="""
        ALTER TABLE public.events SET TABLESPACE archive;
    """,
    good="""
        -- lockgate: no-transaction
        REINDEX (TABLESPACE archive) INDEX CONCURRENTLY public.events_created_at_idx;
    """,
    help="Move relations outside migrations (pg_repack --tablespace; REINDEX (TABLESPACE ...) CONCURRENTLY "
    "for indexes on PostgreSQL 14+).",
    pg_versions="With `pg_major` 14 or later the help for an index suggests `REINDEX (TABLESPACE ...) "
    "CONCURRENTLY`.",
)
def set_tablespace(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if statement.kind == "AlterTableMoveAllStmt":
        lock = locks.with_article(locks.target_mode(statement) or locks.ACCESS_EXCLUSIVE)
        node = statement.node
        kind = _RELATION_KINDS.get(str(node.get("objtype", "OBJECT_TABLE")), "relation")
        yield Violation(
            ctx.statement_span_head(statement),
            f"ALTER {kind.upper()} ALL IN TABLESPACE {node.get('orig_tablespacename', '?')} SET TABLESPACE "
            f"{node.get('new_tablespacename', '?')} copies every {kind} stored there, each under {lock} "
            "that blocks its reads and writes for the whole copy",
            _tablespace_help(ctx, kind),
        )
        return
    moved = _moved_relation(ctx, statement)
    if moved is None:
        return
    kind, relation = moved
    lock = locks.with_article(locks.target_mode(statement) or locks.ACCESS_EXCLUSIVE)
    blocked = "every query planned on its table" if kind == "index" else "reads and writes"
    yield Violation(
        ctx.statement_span_head(statement),
        f"SET TABLESPACE copies {kind} {ctx.qualified(relation)} block by block under {lock}, blocking "
        f"{blocked} for the whole copy",
        _tablespace_help(ctx, kind),
    )


@statement_rule(
    id="add-exclusion-constraint",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ADD CONSTRAINT ... EXCLUDE` on an existing table.",
    why="""
        An exclusion constraint builds its index (usually GiST) and checks every row against every
        other while holding an ACCESS EXCLUSIVE lock: no reads or writes for the whole build. Unlike a
        UNIQUE constraint there is no lock-light recipe: an exclusion constraint cannot be added
        `NOT VALID`, cannot be built `CONCURRENTLY`, and cannot adopt an index built beforehand
        (`USING INDEX` accepts only unique B-tree indexes). The migration also fails if existing rows
        already conflict. Add exclusion constraints when the table is created, or plan the lock.
    """,
    bad="""
        ALTER TABLE public.bookings ADD CONSTRAINT bookings_no_overlap
          EXCLUDE USING gist (room_id WITH =, during WITH &&);
    """,
    good="""
        CREATE TABLE public.bookings (
          room_id bigint NOT NULL,
          during tstzrange NOT NULL,
          CONSTRAINT bookings_no_overlap EXCLUDE USING gist (room_id WITH =, during WITH &&)
        );
    """,
    help="Add it when the table is created; on a busy table, alone in a migration at a quiet time with a "
    "short lock_timeout.",
)
def add_exclusion_constraint(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        constraint = nodes.command_constraint(cmd)
        if cmd.get("subtype") != "AT_AddConstraint" or not constraint:
            continue
        if constraint.get("contype") != "CONSTR_EXCLUSION":
            continue
        method = str(constraint.get("access_method") or "btree")
        yield Violation(
            ctx.span_at(statement, constraint),
            f"EXCLUDE builds a {method} index on {table} and checks every row under "
            f"{locks.with_article(locks.alter_command_lock(cmd))}, blocking reads and writes for the whole "
            "build; an exclusion constraint cannot be built CONCURRENTLY or added NOT VALID",
        )
