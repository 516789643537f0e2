"""Lock-safety rules on constraints: validation scans under heavy locks (family ``lock-safety``).

Adding a CHECK, FOREIGN KEY or NOT NULL constraint to an existing table scans every row while holding the
lock ``lockgate.locks`` gives the subcommand; the ``NOT VALID`` + ``VALIDATE CONSTRAINT`` recipe moves the
scan under a lock that lets traffic continue. Tables created earlier in the same file are exempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
    kinds=["AlterTableStmt", "AlterDomainStmt"],
    summary="`ADD CONSTRAINT ... CHECK` or `FOREIGN KEY` without `NOT VALID` on an existing table or domain.",
    why="""
        Adding a CHECK constraint scans the whole table under an ACCESS EXCLUSIVE lock (no reads, no
        writes); adding a foreign key scans it under a SHARE ROW EXCLUSIVE lock on both tables (no
        writes to either). Add the constraint `NOT VALID` (instant: only new rows are checked), then
        `VALIDATE CONSTRAINT` in a later migration, which scans under a SHARE UPDATE EXCLUSIVE lock
        that lets reads and writes continue.

        `ALTER DOMAIN ... ADD CONSTRAINT` (and `ALTER DOMAIN ... SET NOT NULL`) checks every column of
        that type in every table under a SHARE lock on each table (no writes) until all rows are
        checked. Add a domain CHECK `NOT VALID` (instant; new values are checked). A domain's
        `VALIDATE CONSTRAINT` takes the same SHARE lock (PostgreSQL 15 to 18 at least), so run it on
        its own at a quiet time, or leave the constraint `NOT VALID` once a query shows no bad rows.
        A domain `NOT NULL` cannot be `NOT VALID`: use `CHECK (VALUE IS NOT NULL) NOT VALID`. Domains
        created earlier in the same file are exempt.
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
    if statement.kind == "AlterDomainStmt":
        yield from _domain_constraint_without_not_valid(ctx, statement)
        return
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


def _domain_constraint_without_not_valid(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    """``ALTER DOMAIN ... ADD CONSTRAINT`` (validated) and ``ALTER DOMAIN ... SET NOT NULL``."""
    node = statement.node
    subtype = node.get("subtype")
    constraint = nodes.unwrap(node.get("def"), "Constraint") or {}
    if subtype == "C":  # ADD CONSTRAINT
        if constraint.get("skip_validation") or constraint.get("contype") not in {
            "CONSTR_CHECK",
            "CONSTR_NOTNULL",
        }:
            return
        what = "ADD CONSTRAINT ... CHECK" if constraint.get("contype") == "CONSTR_CHECK" else "ADD NOT NULL"
    elif subtype == "O":  # SET NOT NULL
        what = "SET NOT NULL"
    else:
        return
    domain = nodes.qualified_list_name(node.get("typeName"))
    if domain in _created_domains(ctx, statement):
        return
    lock = locks.with_article(locks.DOMAIN_CHECK_LOCK)
    users = _domain_users(ctx, domain)
    where = f"every table with a column of type {domain}" + (f" ({', '.join(users)})" if users else "")
    help_text = None
    if what != "ADD CONSTRAINT ... CHECK":
        help_text = (
            "A domain NOT NULL cannot be NOT VALID: add CHECK (VALUE IS NOT NULL) NOT VALID instead, and "
            "validate it at a quiet time (VALIDATE takes the same SHARE lock)."
        )
    yield Violation(
        ctx.span_at(statement, constraint) if constraint else ctx.statement_span_head(statement),
        f"ALTER DOMAIN {domain} {what} checks {where} under {lock} on each, blocking writes until "
        "every row is checked",
        help_text
        or "Add it NOT VALID (instant; new values are checked); VALIDATE CONSTRAINT later, at a quiet time "
        "(on a domain it takes the same SHARE lock).",
    )


def _created_domains(ctx: FileContext, before: Statement) -> set[str]:
    return {
        nodes.qualified_list_name(statement.node.get("domainname"))
        for statement in ctx.executed[: ctx.ordinal(before)]
        if statement.kind == "CreateDomainStmt"
    }


def _domain_users(ctx: FileContext, domain: str) -> list[str]:
    """``table.column`` of the columns the catalog says have the domain's type (first five)."""
    if ctx.catalog is None:
        return []
    bare = domain.rsplit(".", 1)[-1]
    found = [
        f"{table.name}.{column.name}"
        for table in ctx.catalog.tables.values()
        for column in table.columns.values()
        if column.type_name in {bare, f"{bare}[]"}
    ]
    return found[:5] + (["..."] if len(found) > 5 else [])


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


def _not_null_columns(constraint: dict[str, Any]) -> list[str]:
    """Columns a CHECK constraint proves NOT NULL: ``CHECK (col IS NOT NULL)``, also inside an ``AND``
    (PostgreSQL's proof is predicate implication, which sees through conjunctions); and the columns of a
    ``NOT NULL col`` constraint (PostgreSQL 18 can add those NOT VALID)."""
    if constraint.get("contype") == "CONSTR_NOTNULL":
        return nodes.name_list(constraint.get("keys"))
    if constraint.get("contype") != "CONSTR_CHECK":
        return []
    columns: list[str] = []
    pending = [constraint.get("raw_expr")]
    while pending:
        expression = pending.pop()
        boolean = nodes.unwrap(expression, "BoolExpr") if "BoolExpr" in (expression or {}) else None
        if boolean is not None and boolean.get("boolop") == "AND_EXPR":
            pending.extend(boolean.get("args") or [])
            continue
        test = nodes.unwrap(expression, "NullTest") if "NullTest" in (expression or {}) else None
        if test is not None and test.get("nulltesttype") == "IS_NOT_NULL":
            fields = nodes.name_list((nodes.unwrap(test.get("arg"), "ColumnRef") or {}).get("fields"))
            columns.extend(fields[-1:])
    return columns


def _not_null_proofs(ctx: FileContext, table: str, before: Statement) -> tuple[set[str], bool]:
    """What this file establishes for ``table`` before ``before`` runs: the columns a *validated* CHECK
    (col IS NOT NULL) covers, and whether it validates a constraint whose definition the file does not
    show (added by an earlier migration: given the benefit of the doubt).

    A constraint added ``NOT VALID`` proves nothing until ``VALIDATE CONSTRAINT``; a constraint dropped
    again proves nothing either; one on another column proves nothing for this one.
    """
    added: dict[str, list[str]] = {}  # constraint name -> the columns it covers, once it is validated
    pending: dict[str, list[str]] = {}  # added NOT VALID, not validated yet
    unknown_validated = False
    for statement in ctx.executed[: ctx.ordinal(before)]:
        if statement.kind != "AlterTableStmt" or ctx.qualified(statement.node.get("relation")) != table:
            continue
        for cmd in ctx.alter_commands(statement):
            subtype, name = cmd.get("subtype"), str(cmd.get("name") or "")
            constraint = nodes.command_constraint(cmd)
            if subtype == "AT_AddConstraint" and constraint:
                columns = _not_null_columns(constraint)
                key = str(constraint.get("conname") or f"#{len(added) + len(pending)}")
                (pending if constraint.get("skip_validation") else added)[key] = columns
            elif subtype == "AT_ValidateConstraint":
                if name in pending:
                    added[name] = pending.pop(name)
                elif name not in added:
                    unknown_validated = True
            elif subtype == "AT_DropConstraint":
                added.pop(name, None)
                pending.pop(name, None)
    return {column for columns in added.values() for column in columns}, unknown_validated


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
        (no blocking lock), then `SET NOT NULL` and drop the check. lockgate stays quiet when, before
        the `SET NOT NULL`, the file adds a validated `CHECK (col IS NOT NULL)` on that column, or adds
        it `NOT VALID` and then validates it. A check on another column, one never validated, or one
        dropped again proves nothing. When the file validates a constraint an earlier migration added
        (its definition is not in the file), lockgate trusts it. PostgreSQL 18's
        `ADD CONSTRAINT ... NOT NULL col` scans the same way and is judged the same.
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
        constraint = nodes.command_constraint(cmd) or {}
        if cmd.get("subtype") == "AT_SetNotNull":
            what, columns = "SET NOT NULL", [str(cmd.get("name"))]
        elif constraint.get("contype") == "CONSTR_NOTNULL" and not constraint.get("skip_validation"):
            # PostgreSQL 18's ADD CONSTRAINT name NOT NULL col: the same scan, the same proof skips it
            what, columns = "ADD CONSTRAINT ... NOT NULL", nodes.name_list(constraint.get("keys"))
        else:
            continue
        for column in columns:
            if ctx.pg_major >= 12:
                proven, unknown_validated = _not_null_proofs(ctx, table, statement)
                if column in proven or unknown_validated:
                    continue
            help_text = None
            if ctx.pg_major < 12:
                help_text = (
                    f"PostgreSQL {ctx.pg_major} always scans; keep the column nullable with a validated "
                    "CHECK (col IS NOT NULL) instead, or upgrade to 12+."
                )
            yield Violation(
                ctx.statement_span_head(statement),
                f"{what} on {table}.{column} scans the table under "
                f"{locks.with_article(locks.alter_command_lock(cmd))}, blocking reads and writes",
                help_text,
                fix=checked_not_null(table, column) if ctx.pg_major >= 12 else None,
            )
