"""Lock-safety rules on how long a migration holds and waits for locks (family ``lock-safety``).

Locks are held until the migration's transaction commits, and a statement waiting for one queues every
later query on the table behind it. ``lockgate.locks`` says which lock each statement takes on which
relation; these rules look at the transaction as a whole and at the timeouts that bound the waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate import locks
from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import file_rule, statement_rule
from lockgate.statements import Statement


@file_rule(
    id="access-exclusive-multiple-tables",
    family="lock-safety",
    severity="warning",
    summary="ACCESS EXCLUSIVE locks on two or more existing tables in one transaction.",
    why="""
        Locks are held until the migration's transaction commits. Taking ACCESS EXCLUSIVE locks on
        several busy tables blocks all of them for as long as the slowest step, and acquiring them
        one after another while application transactions lock them in another order is a classic
        deadlock. Change one existing table per migration.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN note text;
        ALTER TABLE public.customers ADD COLUMN note text;
    """,
    good="""
        -- 20250901120000_add_orders_note.sql
        ALTER TABLE public.orders ADD COLUMN note text;

        -- 20250901120100_add_customers_note.sql
        ALTER TABLE public.customers ADD COLUMN note text;
    """,
    help="Split the migration so each transaction takes ACCESS EXCLUSIVE on one existing table.",
)
def access_exclusive_multiple_tables(ctx: FileContext) -> Iterator[Violation]:
    """One finding per transaction, at the statement that takes the second table's lock, naming every table
    the transaction locks: on real histories (``docs/lint-corpus.md``) a file that changes eight tables
    produced seven findings saying the same thing, and the fix (split the migration) is one decision."""
    if not ctx.transactional:
        return
    locked: dict[str, int] = {}  # table -> line of the statement that first locks it
    second: Statement | None = None
    for statement in ctx.executed:
        for name in _access_exclusive_tables(statement):
            if name in locked or not ctx.is_existing_table(name, statement):
                continue
            if locked and second is None:
                second = statement
            locked[name] = ctx.parent(statement).line
    if second is None:
        return
    first, line = next(iter(locked.items()))
    others = [f"{name} (line {where})" for name, where in list(locked.items())[1:]]
    shown = ", ".join(others[:_LISTED]) + (
        f" and {len(others) - _LISTED} more" if len(others) > _LISTED else ""
    )
    yield Violation(
        ctx.statement_span_head(second),
        f"this transaction already holds {locks.with_article(locks.ACCESS_EXCLUSIVE)} on {first} "
        f"(line {line}) and then takes one on {shown}; all stay blocked until COMMIT and lock-order "
        "deadlocks become possible",
    )


_LISTED = 5
"""Tables named in the message beyond the first; a migration that rewrites a schema can lock dozens."""


def _access_exclusive_tables(statement: Statement) -> list[str]:
    """Tables and materialized views (``schema.name``) ``statement`` locks in ACCESS EXCLUSIVE mode, as
    ``lockgate.locks`` says; views, indexes and sequences are not tables (the tables a new foreign key
    references only ever get SHARE ROW EXCLUSIVE)."""
    if locks.target_mode(statement) != locks.ACCESS_EXCLUSIVE:
        return []
    return [name for name, kind in locks.targets(statement) if kind in locks.ROW_HOLDING]


_TIMEOUTS = {"lock_timeout", "statement_timeout"}


def _is_zero(value: Any) -> bool:
    const = nodes.unwrap(value, "A_Const") or {}
    if "ival" in const:
        return int((const.get("ival") or {}).get("ival", 0)) == 0
    text = nodes.string_constant(value)
    if text is None:
        return False
    digits = text.strip().lower().rstrip("abcdefghijklmnopqrstuvwxyz ").strip()
    return digits in {"0", "0.0"}


@statement_rule(
    id="disabled-timeout",
    family="lock-safety",
    severity="warning",
    kinds=["VariableSetStmt", "SelectStmt", "AlterRoleSetStmt", "AlterDatabaseSetStmt"],
    summary="`SET lock_timeout = 0` or `statement_timeout = 0` (also per role or database) in a migration.",
    why="""
        lockgate sets `lock_timeout` so that a migration waiting for a lock gives up (and retries)
        instead of queueing every other query behind it. Setting it to 0 disables that protection:
        an `ALTER TABLE` stuck behind a long transaction blocks all traffic to the table for as long
        as it waits. A `statement_timeout` of 0 lets a runaway statement hold its locks forever.
    """,
    bad="""
        SET lock_timeout = 0;
        ALTER TABLE public.orders ADD COLUMN note text;
    """,
    good="""
        SET lock_timeout = '5s';
        ALTER TABLE public.orders ADD COLUMN note text;
    """,
    help="Remove it (lockgate sets sensible timeouts), or set a bounded value such as '5s'.",
)
def disabled_timeout(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    if statement.kind != "SelectStmt":
        setting = node if statement.kind == "VariableSetStmt" else node.get("setstmt") or {}
        name = str(setting.get("name", "")).lower()
        args = setting.get("args") or []
        if name in _TIMEOUTS and setting.get("kind") == "VAR_SET_VALUE" and args and _is_zero(args[0]):
            scope = {
                "AlterRoleSetStmt": f" for every session of role {(node.get('role') or {}).get('rolename', '')}",
                "AlterDatabaseSetStmt": f" for every session in database {node.get('dbname', '')}",
            }.get(statement.kind, "")
            yield Violation(
                ctx.statement_span_head(statement),
                f"SET {name} = 0 disables the timeout{scope}: {_TIMEOUT_RISK[name]}",
            )
        return
    for fields in nodes.find(node, "FuncCall"):
        if nodes.function_name(fields) == "set_config":
            args = fields.get("args") or []
            name = (nodes.string_constant(args[0]) or "").lower() if args else ""
            if name in _TIMEOUTS and len(args) > 1 and _is_zero(args[1]):
                yield Violation(
                    ctx.span_at(statement, {"FuncCall": fields}),
                    f"set_config('{name}', '0') disables the timeout: {_TIMEOUT_RISK[name]}",
                )


_TIMEOUT_RISK = {
    "lock_timeout": "a blocked statement waits forever while every query on the table queues behind it",
    "statement_timeout": "a runaway statement can hold its locks indefinitely",
}


_BACKFILLS = {
    "UpdateStmt": "UPDATE {}",
    "DeleteStmt": "DELETE FROM {}",
    "MergeStmt": "MERGE INTO {}",
    "InsertStmt": "INSERT INTO {} ... SELECT",
}
_CLOSERS = {"COMMIT", "ROLLBACK", "COMMIT_PREPARED", "ROLLBACK_PREPARED"}


def _backfilled(statement: Statement) -> Any:
    """The table (RangeVar) a row-by-row data change writes; None for ``INSERT ... VALUES`` (a seed row
    or two, not a backfill) and for statements that change no rows."""
    if statement.kind not in _BACKFILLS:
        return None
    node = statement.node
    if statement.kind == "InsertStmt":
        select = nodes.unwrap(node.get("selectStmt"), "SelectStmt") or {}
        if not select.get("fromClause") and not select.get("larg"):
            return None
    return node.get("relation")


def _blocks_writes(mode: str) -> bool:
    """Conflicts with the ROW EXCLUSIVE lock every other session's INSERT/UPDATE/DELETE needs."""
    return locks.strength(mode) >= locks.strength(locks.SHARE)


@file_rule(
    id="backfill-under-lock",
    family="lock-safety",
    severity="warning",
    kinds=list(_BACKFILLS),
    summary="A backfill (`UPDATE`, `DELETE`, `MERGE`, `INSERT ... SELECT`) of a table this transaction "
    "already locked with DDL.",
    why="""
        Locks are held until the migration's transaction commits. When an `ALTER TABLE` (ACCESS
        EXCLUSIVE), a new foreign key (SHARE ROW EXCLUSIVE), a `CREATE INDEX` (SHARE) or a `LOCK
        TABLE` comes first, the backfill that follows runs with that lock still held: the table is
        blocked for writes (and, under ACCESS EXCLUSIVE, for reads) for the whole backfill, which on a
        large table takes minutes, not the milliseconds the DDL needed. A `WHERE` clause does not
        help: it is the lock, not the row count, that blocks everyone else. Commit the DDL first and
        backfill in a later migration (in batches on large tables). Tables created earlier in the
        same file are new and exempt.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN currency text;
        UPDATE public.orders SET currency = 'EUR' WHERE currency IS NULL;
    """,
    good="""
        -- 20250901120000_add_orders_currency.sql
        ALTER TABLE public.orders ADD COLUMN currency text;

        -- 20250901120100_backfill_orders_currency.sql
        UPDATE public.orders SET currency = 'EUR' WHERE currency IS NULL AND id BETWEEN 1 AND 10000;
    """,
    help="Commit the DDL first: move the backfill to a later migration (batched on large tables).",
)
def backfill_under_lock(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.transactional or all(_backfilled(statement) is None for statement in ctx.executed):
        return  # most files with DML only seed rows (INSERT ... VALUES): no lock bookkeeping for them
    held: dict[str, tuple[str, Statement]] = {}  # table -> (strongest write-blocking lock, who took it)
    for statement in ctx.executed:
        if statement.transaction_control in _CLOSERS:
            held.clear()  # a stray COMMIT (transaction-control reports it) releases what came before
            continue
        relation = _backfilled(statement)
        if relation is not None:
            table = ctx.qualified(relation)
            if table in held and ctx.is_existing_table(relation, statement):
                mode, taker = held[table]
                blocked = "reads and writes" if mode == locks.ACCESS_EXCLUSIVE else "writes"
                yield Violation(
                    ctx.statement_span_head(statement),
                    f"{_BACKFILLS[statement.kind].format(table)} runs while this transaction holds "
                    f"{locks.with_article(mode)} on it (taken on line {ctx.parent(taker).line}): every "
                    f"other session's {blocked} wait until the whole backfill commits",
                )
        for lock in locks.statement_locks(statement):
            if lock.kind not in locks.ROW_HOLDING or not _blocks_writes(lock.mode):
                continue
            before = held.get(lock.relation)
            if before is None or locks.strength(lock.mode) > locks.strength(before[0]):
                held[lock.relation] = (lock.mode, statement)
