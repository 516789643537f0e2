"""Lock-safety rules on constraints: validation scans under heavy locks (family ``lock-safety``).

Adding a CHECK, FOREIGN KEY or NOT NULL constraint to an existing table scans every row while holding the
lock ``lockgate.locks`` gives the subcommand; the ``NOT VALID`` + ``VALIDATE CONSTRAINT`` recipe moves the
scan under a lock that lets traffic continue. Tables created earlier in the same file are exempt.
"""

from __future__ import annotations

from collections.abc import Iterator

from lockgate import locks
from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.lint.rules._fixes import checked_not_null, not_valid_then_validate
from lockgate.statements import Statement


@statement_rule(
    id="constraint-without-not-valid",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ADD CONSTRAINT ... CHECK` or `FOREIGN KEY` without `NOT VALID` on an existing table.",
    why="""
        Adding a CHECK constraint scans the whole table under an ACCESS EXCLUSIVE lock (no reads, no
        writes); adding a foreign key scans it under a SHARE ROW EXCLUSIVE lock on both tables (no
        writes to either). Add the constraint `NOT VALID` (instant: only new rows are checked), then
        `VALIDATE CONSTRAINT` in a later migration, which scans under a SHARE UPDATE EXCLUSIVE lock
        that lets reads and writes continue.
    """,
    bad="""
        ALTER TABLE public.orders ADD CONSTRAINT orders_customer_fk
          FOREIGN KEY (customer_id) REFERENCES public.customers (id);
    """,
    good="""
        ALTER TABLE public.orders ADD CONSTRAINT orders_customer_fk
          FOREIGN KEY (customer_id) REFERENCES public.customers (id) NOT VALID;
        -- in the next migration:
        ALTER TABLE public.orders VALIDATE CONSTRAINT orders_customer_fk;
    """,
    help="Add it NOT VALID, then VALIDATE CONSTRAINT in a separate migration.",
)
def constraint_without_not_valid(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        constraint = nodes.command_constraint(cmd)
        if (
            cmd.get("subtype") != "AT_AddConstraint"
            or constraint is None
            or constraint.get("skip_validation")
        ):
            continue
        lock = locks.with_article(locks.alter_command_lock(cmd))
        if constraint.get("contype") == "CONSTR_CHECK":
            message = (
                f"ADD CONSTRAINT ... CHECK scans {table} under {lock}, blocking reads "
                "and writes until every row is checked"
            )
        elif constraint.get("contype") == "CONSTR_FOREIGN":
            referenced = ctx.qualified(constraint.get("pktable"))
            message = (
                f"ADD CONSTRAINT ... FOREIGN KEY scans {table} under {lock} on {table} "
                f"and {referenced}, blocking writes to both until every row is checked"
            )
        else:
            continue
        fix = not_valid_then_validate(
            statement, table, constraint.get("conname"), len(statement.node.get("cmds") or [])
        )
        yield Violation(ctx.span_at(statement, constraint), message, fix=fix)


@statement_rule(
    id="validate-constraint-in-same-transaction",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`VALIDATE CONSTRAINT` in the transaction that added the constraint `NOT VALID`.",
    why="""
        `NOT VALID` followed by `VALIDATE CONSTRAINT` only helps when they run in separate
        transactions: `ADD CONSTRAINT` takes an ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE
        (FOREIGN KEY) lock that is held until commit, so validating in the same transaction scans the
        table while still holding it.
    """,
    bad="""
        ALTER TABLE public.orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
        ALTER TABLE public.orders VALIDATE CONSTRAINT orders_total_positive;
    """,
    good="""
        -- 20250901120000_add_orders_total_check.sql
        ALTER TABLE public.orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;

        -- 20250901120100_validate_orders_total_check.sql
        ALTER TABLE public.orders VALIDATE CONSTRAINT orders_total_positive;
    """,
    help="Move VALIDATE CONSTRAINT to the next migration.",
)
def validate_in_same_transaction(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if not ctx.transactional:
        return
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        if cmd.get("subtype") != "AT_ValidateConstraint":
            continue
        name = str(cmd.get("name"))
        if (table, name) in _not_valid_constraints(ctx, statement):
            yield Violation(
                ctx.statement_span_head(statement),
                f"VALIDATE CONSTRAINT {name} runs in the transaction that added it, so the lock "
                f"ADD CONSTRAINT "
                f"took on {table} is held for the whole validation scan",
            )


def _not_valid_constraints(ctx: FileContext, before: Statement) -> set[tuple[str, str]]:
    found = set()
    for statement in ctx.executed[: ctx.ordinal(before)]:
        if statement.kind != "AlterTableStmt":
            continue
        table = ctx.qualified(statement.node.get("relation"))
        for cmd in ctx.alter_commands(statement):
            constraint = nodes.command_constraint(cmd)
            if constraint and constraint.get("skip_validation") and constraint.get("conname"):
                found.add((table, str(constraint["conname"])))
    return found


@statement_rule(
    id="add-column-with-references",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ADD COLUMN ... REFERENCES` on an existing table.",
    why="""
        A column added with an inline `REFERENCES` creates a validated foreign key at once: it takes
        a SHARE ROW EXCLUSIVE lock on the referenced table (blocking its writes) on top of the ACCESS
        EXCLUSIVE lock on the altered table. Add the column, then the foreign key `NOT VALID`, then
        validate it in a later migration.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN customer_id bigint REFERENCES public.customers (id);
    """,
    good="""
        ALTER TABLE public.orders ADD COLUMN customer_id bigint;
        ALTER TABLE public.orders ADD CONSTRAINT orders_customer_fk
          FOREIGN KEY (customer_id) REFERENCES public.customers (id) NOT VALID;
    """,
    help="Add the column without REFERENCES, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID.",
)
def add_column_with_references(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        column = nodes.command_column(cmd)
        if cmd.get("subtype") != "AT_AddColumn" or column is None:
            continue
        for constraint in nodes.constraints(column):
            if constraint.get("contype") == "CONSTR_FOREIGN":
                referenced = ctx.qualified(constraint.get("pktable"))
                yield Violation(
                    ctx.span_at(statement, constraint),
                    f"ADD COLUMN {column.get('colname')} ... REFERENCES {referenced} takes "
                    f"{locks.with_article(locks.FOREIGN_KEY_LOCK)} on {referenced} and "
                    f"{locks.with_article(locks.alter_command_lock(cmd))} on {table}",
                )


def _not_null_checks(ctx: FileContext, table: str) -> set[str]:
    """Columns of ``table`` with a validated ``CHECK (col IS NOT NULL)`` added in this file."""
    columns = set()
    for statement in ctx.executed:
        if statement.kind != "AlterTableStmt" or ctx.qualified(statement.node.get("relation")) != table:
            continue
        for cmd in ctx.alter_commands(statement):
            constraint = nodes.command_constraint(cmd)
            if (
                not constraint
                or constraint.get("contype") != "CONSTR_CHECK"
                or constraint.get("skip_validation")
            ):
                continue
            test = nodes.unwrap(constraint.get("raw_expr"), "NullTest") or {}
            if test.get("nulltesttype") == "IS_NOT_NULL":
                fields = nodes.name_list((nodes.unwrap(test.get("arg"), "ColumnRef") or {}).get("fields"))
                columns.update(fields[-1:])
    return columns


def _touches_constraints(ctx: FileContext, table: str) -> bool:
    """The file validates or drops a constraint of ``table``: the PG 12+ SET NOT NULL recipe."""
    for statement in ctx.executed:
        if statement.kind == "AlterTableStmt" and ctx.qualified(statement.node.get("relation")) == table:
            for cmd in ctx.alter_commands(statement):
                if cmd.get("subtype") in {"AT_ValidateConstraint", "AT_DropConstraint"}:
                    return True
    return False


@statement_rule(
    id="set-not-null",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ALTER COLUMN ... SET NOT NULL` without a validated `CHECK (col IS NOT NULL)`.",
    why="""
        `SET NOT NULL` scans the whole table under an ACCESS EXCLUSIVE lock to prove there are no
        NULLs. From PostgreSQL 12 the scan is skipped when a validated `CHECK (col IS NOT NULL)`
        constraint already proves it: add that check `NOT VALID`, validate it in a later migration
        (no blocking lock), then `SET NOT NULL` and drop the check. lockgate accepts the file when it
        validates or drops a constraint of the same table, or adds a validated
        `CHECK (col IS NOT NULL)` before the `SET NOT NULL`.
    """,
    bad="""
        ALTER TABLE public.orders ALTER COLUMN customer_id SET NOT NULL;
    """,
    good="""
        -- 20250901120000: ALTER TABLE public.orders
        --   ADD CONSTRAINT orders_customer_id_not_null CHECK (customer_id IS NOT NULL) NOT VALID;
        -- 20250901120100:
        ALTER TABLE public.orders VALIDATE CONSTRAINT orders_customer_id_not_null;
        ALTER TABLE public.orders ALTER COLUMN customer_id SET NOT NULL;
        ALTER TABLE public.orders DROP CONSTRAINT orders_customer_id_not_null;
    """,
    help="Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in the next migration, then SET NOT NULL.",
    pg_versions="Before PostgreSQL 12 (`pg_major` < 12) the check constraint does not avoid the scan; "
    "the message says so.",
)
def set_not_null(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in ctx.existing_alter_commands(statement):
        if cmd.get("subtype") != "AT_SetNotNull":
            continue
        column = str(cmd.get("name"))
        if ctx.pg_major >= 12 and (
            column in _not_null_checks(ctx, table) or _touches_constraints(ctx, table)
        ):
            continue
        help_text = None
        if ctx.pg_major < 12:
            help_text = (
                f"PostgreSQL {ctx.pg_major} always scans; keep the column nullable with a validated "
                "CHECK (col IS NOT NULL) instead, or upgrade to 12+."
            )
        yield Violation(
            ctx.statement_span_head(statement),
            f"SET NOT NULL on {table}.{column} scans the table under "
            f"{locks.with_article(locks.alter_command_lock(cmd))}, blocking reads and writes",
            help_text,
            fix=checked_not_null(table, column) if ctx.pg_major >= 12 else None,
        )
