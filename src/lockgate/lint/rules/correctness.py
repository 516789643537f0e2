"""Apply-correctness rules: migrations that would fail, or stop half-way, at deploy time (errors).

lockgate applies each file in one transaction together with its tracking row, unless the file says
``-- lockgate: no-transaction`` or consists only of statements that refuse a transaction block. These
rules find what breaks that contract: statements PostgreSQL refuses inside a transaction block, stray
transaction control, enum values used before they are committed, and columns that cannot be added to
a table that has rows.
"""

from __future__ import annotations

from collections.abc import Iterator

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import file_rule, statement_rule
from lockgate.statements import Statement
from lockgate.unsupported import refusals

_OPENERS = {"BEGIN", "START"}
_CLOSERS = {"COMMIT", "ROLLBACK", "PREPARE", "COMMIT_PREPARED", "ROLLBACK_PREPARED"}
_SAVEPOINTS = {"SAVEPOINT", "RELEASE", "ROLLBACK_TO"}


def _control_word(statement: Statement) -> str:
    word = statement.transaction_control or ""
    return {"START": "START TRANSACTION", "ROLLBACK_TO": "ROLLBACK TO SAVEPOINT"}.get(
        word, word.replace("_", " ")
    )


@file_rule(
    id="mixed-transaction",
    family="apply-correctness",
    severity="error",
    summary="A statement that cannot run in a transaction block, in a file with other statements.",
    why="""
        lockgate applies a migration in one transaction with its tracking row, so that it either fully
        applies or not at all. PostgreSQL refuses some statements inside a transaction block
        (`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY`, `VACUUM`,
        `ALTER SYSTEM`, ...): the deploy fails with "cannot run inside a transaction block". A file
        made only of such statements is run outside a transaction automatically; mixed with anything
        else it cannot be. The same statements inside a `DO` block always fail.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN customer_id bigint;
        CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer_id);
    """,
    good="""
        -- 20250901120000_add_orders_customer_id.sql
        ALTER TABLE public.orders ADD COLUMN customer_id bigint;

        -- 20250901120100_index_orders_customer_id.sql
        -- lockgate: no-transaction
        CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer_id);
    """,
    help="Move the statement to its own migration file (marked `-- lockgate: no-transaction`).",
)
def mixed_transaction(ctx: FileContext) -> Iterator[Violation]:
    for statement in ctx.executed:
        reason = statement.non_transactional if ctx.is_embedded(statement) else None
        if reason:
            yield Violation(
                ctx.span(statement),
                f"{reason} cannot run inside a DO block (a DO block always runs in a transaction)",
                "Run the statement directly, in its own migration marked `-- lockgate: no-transaction`.",
            )
    if not ctx.transactional:
        return
    body = ctx.parsed.body
    blocking = [s for s in body if s.non_transactional]
    if not blocking or (len(blocking) == len(body) and not _has_stray_control(ctx)):
        return
    others = len(body) - len(blocking)
    for statement in blocking:
        yield Violation(
            ctx.statement_span_head(statement),
            f"{statement.non_transactional} cannot run inside a transaction block, and this file runs in "
            f"one transaction ({others} other statement{'s' if others != 1 else ''} in the file)",
        )


def _has_stray_control(ctx: FileContext) -> bool:
    return any(s.kind == "TransactionStmt" for s in ctx.parsed.body)


@file_rule(
    id="no-transaction-mixed",
    family="apply-correctness",
    severity="warning",
    summary="A `no-transaction` file with several statements can be left half-applied.",
    why="""
        A file marked `-- lockgate: no-transaction` runs each statement on its own. If the third
        statement fails, the first two stay applied but the migration is not recorded, so re-running
        it fails on the first statement. Keep such files to the statements that need it, ideally one,
        and make them idempotent (`IF NOT EXISTS`).
    """,
    bad="""
        -- lockgate: no-transaction
        ALTER TABLE public.orders ADD COLUMN customer_id bigint;
        CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer_id);
    """,
    good="""
        -- lockgate: no-transaction
        CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON public.orders (customer_id);
    """,
    help="Move the other statements to a normal (transactional) migration.",
)
def no_transaction_mixed(ctx: FileContext) -> Iterator[Violation]:
    if ctx.transactional:
        return
    body = [s for s in ctx.parsed.body if s.kind != "TransactionStmt"]
    if len(body) < 2 or all(s.non_transactional for s in body):
        return
    first = next((s for s in body if s.non_transactional), None)
    if first is None:
        yield Violation(
            ctx.statement_span_head(body[1]),
            f"this file is marked no-transaction but none of its {len(body)} statements needs it; "
            "if one fails, the ones before it stay applied",
            "Remove `-- lockgate: no-transaction` so the file applies atomically.",
        )
        return
    yield Violation(
        ctx.statement_span_head(first),
        f"{first.non_transactional} shares a no-transaction file with {len(body) - 1} other "
        "statement(s); a failure half-way leaves the migration half-applied and unrecorded",
    )


@file_rule(
    id="transaction-control",
    kinds=["TransactionStmt"],
    family="apply-correctness",
    severity="error",
    summary="`BEGIN`/`COMMIT`/`ROLLBACK` other than one wrapping `BEGIN ... COMMIT`.",
    why="""
        lockgate runs each migration in its own transaction and records it in the same transaction.
        A `COMMIT` in the middle of a file commits part of the migration without its tracking row; a
        `ROLLBACK` silently undoes it. One `BEGIN;` first and `COMMIT;` last (as Supabase templates
        write) is recognised and fine. Savepoints are fine.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN note text;
        COMMIT;
        ALTER TABLE public.orders ADD COLUMN paid boolean;
    """,
    good="""
        BEGIN;
        ALTER TABLE public.orders ADD COLUMN note text;
        ALTER TABLE public.orders ADD COLUMN paid boolean;
        COMMIT;
    """,
    help="Remove it (lockgate owns the transaction), or split the file into several migrations.",
)
def transaction_control(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.transactional:
        return
    unmatched = {id(s) for s in _unmatched_begins(ctx.statements)}
    for statement in ctx.parsed.body:
        word = statement.transaction_control
        if word is None or word in _SAVEPOINTS or id(statement) in unmatched:
            continue
        yield Violation(
            ctx.span(statement),
            f"{_control_word(statement)} inside a migration: lockgate runs the file in one transaction with "
            "its tracking row, so this would commit or undo part of it",
        )


def _unmatched_begins(statements: tuple[Statement, ...]) -> list[Statement]:
    open_begins: list[Statement] = []
    for statement in statements:
        word = statement.transaction_control
        if word in _OPENERS:
            open_begins.append(statement)
        elif word in _CLOSERS and not statement.node.get("chain"):
            open_begins.clear()
    return open_begins[:1]


@file_rule(
    id="begin-without-commit",
    kinds=["TransactionStmt"],
    family="apply-correctness",
    severity="error",
    summary="`BEGIN` with no `COMMIT` after it.",
    why="""
        An unterminated `BEGIN` usually means the end of the file was lost (a bad merge, an editor
        crash) or that `COMMIT` was misspelt in a comment. Applied as-is, the migration's intent is
        unclear: nothing in the file says the work is complete.
    """,
    bad="""
        BEGIN;
        ALTER TABLE public.orders ADD COLUMN note text;
    """,
    good="""
        BEGIN;
        ALTER TABLE public.orders ADD COLUMN note text;
        COMMIT;
    """,
    help="Add the missing COMMIT; at the end of the file, or remove the BEGIN.",
)
def begin_without_commit(ctx: FileContext) -> Iterator[Violation]:
    for statement in _unmatched_begins(ctx.statements):
        yield Violation(ctx.span(statement), f"{_control_word(statement)} is never committed in this file")


@file_rule(
    id="unsupported-statement",
    family="apply-correctness",
    severity="error",
    summary="A statement that cannot work in a migration (`COPY ... FROM stdin`, `BEGIN` in a no-transaction file...).",
    why="""
        lockgate sends each statement as plain SQL, in the file's transaction or, for a file marked
        `-- lockgate: no-transaction`, each on its own. Some statements cannot work that way:
        `COPY ... FROM stdin` waits for rows only psql can send, `COPY ... TO stdout` has nowhere to
        send its rows, transaction control or `LOCK TABLE` in a no-transaction file would leave a
        transaction open or lock nothing, `SET LOCAL` there changes nothing, `SET TRANSACTION` after
        other statements is refused by PostgreSQL, and a `READ ONLY` transaction cannot write the
        tracking row. Changing `standard_conforming_strings` or `client_encoding` (`SET`, `SET NAMES`,
        `set_config`) changes how PostgreSQL reads the statements after it, so they would no longer mean
        what lint, validate and the reviewer read: lockgate keeps both fixed (on, UTF8) for every
        migration. `lockgate validate` and `lockgate run` refuse the same statements before anything
        runs.
    """,
    bad="""
        COPY public.countries (code, name) FROM stdin;
    """,
    good="""
        INSERT INTO public.countries (code, name) VALUES ('FR', 'France'), ('JP', 'Japan');
    """,
    help="Rewrite it as plain SQL that runs in the migration's transaction (the message says how).",
)
def unsupported_statement(ctx: FileContext) -> Iterator[Violation]:
    for refusal in refusals(ctx.parsed):
        yield Violation(
            ctx.span(refusal.statement), refusal.reason, refusal.fix[:1].upper() + refusal.fix[1:] + "."
        )


def _plpgsql_kinds(ctx: FileContext, statement: Statement, kinds: set[str]) -> Iterator[tuple[str, int]]:
    body = ctx.plpgsql(statement)
    if body is None:
        return
    for kind, fields in nodes.walk(body.tree):
        if kind in kinds:
            yield kind, body.file_line(fields.get("lineno"))


@statement_rule(
    id="transaction-control-in-do",
    family="apply-correctness",
    severity="error",
    kinds=["DoStmt"],
    summary="`COMMIT`/`ROLLBACK` inside a `DO` block in a transactional migration.",
    why="""
        PL/pgSQL can commit only when the `DO` block is not itself inside a transaction block. In a
        migration that lockgate runs in a transaction, PostgreSQL raises "invalid transaction
        termination" and the deploy fails. Even outside a transaction, committing from a `DO` block
        breaks the all-or-nothing guarantee of the migration.
    """,
    bad="""
        DO $$
        BEGIN
          UPDATE public.orders SET status = 'archived' WHERE created_at < now() - interval '1 year';
          COMMIT;
        END $$;
    """,
    good="""
        UPDATE public.orders SET status = 'archived' WHERE created_at < now() - interval '1 year';
    """,
    help="Remove the COMMIT/ROLLBACK; for batched backfills, run them outside migrations.",
)
def transaction_control_in_do(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if not ctx.transactional:
        return
    for kind, line in _plpgsql_kinds(ctx, statement, {"PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback"}):
        word = "COMMIT" if kind.endswith("commit") else "ROLLBACK"
        yield Violation(
            ctx.line_span(line),
            f"{word} inside a DO block fails with 'invalid transaction termination': lockgate runs this "
            "migration in a transaction",
        )


def _added_enum_values(ctx: FileContext) -> list[tuple[int, str, str]]:
    added = []
    for number, statement in enumerate(ctx.executed):
        if (
            statement.kind == "AlterEnumStmt"
            and statement.node.get("newVal")
            and not statement.node.get("oldVal")
        ):
            type_name = nodes.qualified_list_name(statement.node.get("typeName"))
            added.append((number, type_name, str(statement.node["newVal"])))
    return added


@file_rule(
    id="enum-value-used-in-transaction",
    kinds=["AlterEnumStmt"],
    family="apply-correctness",
    severity="error",
    summary="An enum value added with `ALTER TYPE ... ADD VALUE` is used later in the same transaction.",
    why="""
        PostgreSQL does not let a transaction use an enum value it added itself until it commits:
        the later statement fails with "unsafe use of new value". Because lockgate applies a file in
        one transaction, adding a value and using it (in an `UPDATE`, a default, a partial index,
        a check) must be split into two migrations.
    """,
    bad="""
        ALTER TYPE public.order_status ADD VALUE 'archived';
        UPDATE public.orders SET status = 'archived' WHERE created_at < '2020-01-01';
    """,
    good="""
        -- 20250901120000_add_archived_status.sql
        ALTER TYPE public.order_status ADD VALUE 'archived';

        -- 20250901120100_archive_old_orders.sql
        UPDATE public.orders SET status = 'archived' WHERE created_at < '2020-01-01';
    """,
    help="Add the enum value in its own migration, and use it in a later one.",
)
def enum_value_used_in_transaction(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.transactional:
        return
    added = _added_enum_values(ctx)
    if not added:
        return
    for number, statement in enumerate(ctx.executed):
        values = {value: type_name for added_at, type_name, value in added if added_at < number}
        if not values:
            continue
        for fields in nodes.find(statement.node, "A_Const"):
            value = nodes.string_constant({"A_Const": fields})
            if value is not None and value in values:
                yield Violation(
                    ctx.token_span(statement, {"A_Const": fields}),
                    f"enum value '{value}' of {values[value]} is used in the transaction that adds it; "
                    "PostgreSQL rejects this with 'unsafe use of new value'",
                )


@statement_rule(
    id="enum-add-value-in-transaction",
    family="apply-correctness",
    severity="error",
    kinds=["AlterEnumStmt"],
    summary="`ALTER TYPE ... ADD VALUE` inside a transaction on PostgreSQL before 12.",
    why="""
        Before PostgreSQL 12, `ALTER TYPE ... ADD VALUE` cannot run inside a transaction block, so a
        migration that lockgate applies in a transaction fails at deploy time.
    """,
    bad="""
        ALTER TYPE public.order_status ADD VALUE 'archived';
        ALTER TABLE public.orders ADD COLUMN archived_at timestamptz;
    """,
    good="""
        -- lockgate: no-transaction
        ALTER TYPE public.order_status ADD VALUE IF NOT EXISTS 'archived';
    """,
    help="Put it alone in a migration marked `-- lockgate: no-transaction` (or target PostgreSQL 12+).",
    pg_versions="Only reported when the target PostgreSQL major version (`pg_major`) is below 12.",
)
def enum_add_value_in_transaction(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if ctx.pg_major >= 12 or not ctx.transactional or not statement.node.get("newVal"):
        return
    if statement.node.get("oldVal"):
        return
    yield Violation(
        ctx.statement_span_head(statement),
        f"ALTER TYPE ... ADD VALUE cannot run inside a transaction block on PostgreSQL {ctx.pg_major}",
    )


@statement_rule(
    id="concurrent-index-on-partitioned-table",
    family="apply-correctness",
    severity="error",
    kinds=["IndexStmt"],
    summary="`CREATE INDEX CONCURRENTLY` on a partitioned table.",
    why="""
        PostgreSQL cannot build an index concurrently on a partitioned table ("cannot create index on
        partitioned table concurrently"). Build it `ON ONLY` the parent (which is quick and leaves it
        invalid), build each partition's index concurrently, then attach them. lockgate knows a table
        is partitioned when the same file created it with `PARTITION BY`.
    """,
    bad="""
        CREATE TABLE public.events (id bigint, at timestamptz) PARTITION BY RANGE (at);
        CREATE INDEX CONCURRENTLY events_at_idx ON public.events (at);
    """,
    good="""
        CREATE INDEX events_at_idx ON ONLY public.events (at);
        CREATE INDEX CONCURRENTLY events_2025_at_idx ON public.events_2025 (at);
        ALTER INDEX public.events_at_idx ATTACH PARTITION public.events_2025_at_idx;
    """,
    help="Create the index ON ONLY the parent, index each partition CONCURRENTLY, then ATTACH PARTITION.",
)
def concurrent_index_on_partitioned(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    if statement.node.get("concurrent") and ctx.is_partitioned_table(relation, statement):
        yield Violation(
            ctx.statement_span_head(statement),
            f"CREATE INDEX CONCURRENTLY fails on partitioned table {ctx.qualified(relation)}",
        )


_SERIAL_TYPES = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}


@statement_rule(
    id="add-not-null-column-without-default",
    family="apply-correctness",
    severity="error",
    kinds=["AlterTableStmt"],
    summary="`ADD COLUMN ... NOT NULL` without a `DEFAULT` on an existing table.",
    why="""
        Existing rows would get NULL in the new column, which the NOT NULL constraint forbids, so the
        migration fails on any table that has rows ("column contains null values"), typically in
        production and not in an empty development database.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN currency text NOT NULL;
    """,
    good="""
        ALTER TABLE public.orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR';
    """,
    help="Add a constant DEFAULT (cheap from PostgreSQL 11), or add the column nullable and backfill.",
)
def add_not_null_column_without_default(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    if not ctx.is_existing_table(relation, statement):
        return
    for cmd in ctx.alter_commands(statement):
        column = nodes.command_column(cmd)
        if cmd.get("subtype") != "AT_AddColumn" or column is None:
            continue
        kinds = {c.get("contype") for c in nodes.constraints(column)}
        if not kinds & {"CONSTR_NOTNULL", "CONSTR_PRIMARY"}:
            continue
        if kinds & {"CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"}:
            continue
        if nodes.type_name(column.get("typeName")) in _SERIAL_TYPES:
            continue
        yield Violation(
            ctx.span_at(statement, column),
            f"ADD COLUMN {column.get('colname')} NOT NULL without a DEFAULT fails if "
            f"{ctx.qualified(relation)} has any rows",
        )
