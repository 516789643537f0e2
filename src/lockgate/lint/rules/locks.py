"""Lock-safety rules: heavy locks held on tables that already exist (family ``lock-safety``).

Only tables that exist before the migration matter: a table created earlier in the same file (``t`` and
``public.t`` are the same table) has no readers or writers to block, so every rule here asks
``ctx.is_existing_table(...)`` first. Messages follow squawk: name the lock, what it blocks, and the
safe alternative.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import file_rule, statement_rule
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
    yield Violation(
        ctx.statement_span_head(statement),
        f"{kind} takes a SHARE lock on {ctx.qualified(relation)}, blocking writes for the whole build",
    )


def _index_names(statement: Statement) -> list[str]:
    """``schema.name`` of each index a ``DROP INDEX`` names."""
    names = []
    for item in statement.node.get("objects", []):
        parts = nodes.name_list((nodes.unwrap(item, "List") or {}).get("items"))
        if parts:
            names.append(".".join(parts[-2:]) if len(parts) > 1 else f"public.{parts[0]}")
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
        yield Violation(
            ctx.statement_span_head(statement),
            f"DROP INDEX {', '.join(existing)} takes an ACCESS EXCLUSIVE lock on its table, blocking "
            "reads and writes while it waits for running transactions",
        )


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
        concurrently and drop the old one.
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
    if kind == "TABLE" and not ctx.is_existing_table(relation, statement):
        return
    if kind == "INDEX" and ctx.is_new_index(ctx.qualified(relation), statement):
        return
    target = ctx.qualified(relation) if relation else str(node.get("name") or "")
    help_text = None
    if ctx.pg_major < 12:
        help_text = (
            f"PostgreSQL {ctx.pg_major} has no REINDEX CONCURRENTLY: CREATE INDEX CONCURRENTLY a copy, "
            "then DROP INDEX CONCURRENTLY the old one."
        )
    yield Violation(
        ctx.statement_span_head(statement),
        f"REINDEX {kind} {target} blocks writes to the table (SHARE lock) and reads through the index "
        "(ACCESS EXCLUSIVE lock) for the whole rebuild".replace("  ", " "),
        help_text,
    )


def _existing_alter(ctx: FileContext, statement: Statement) -> list[dict[str, Any]]:
    """The ALTER TABLE commands of ``statement`` when its table exists before the migration."""
    if not ctx.is_existing_table(statement.node.get("relation"), statement):
        return []
    return ctx.alter_commands(statement)


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
    for cmd in _existing_alter(ctx, statement):
        constraint = nodes.command_constraint(cmd)
        if (
            cmd.get("subtype") != "AT_AddConstraint"
            or constraint is None
            or constraint.get("skip_validation")
        ):
            continue
        if constraint.get("contype") == "CONSTR_CHECK":
            message = (
                f"ADD CONSTRAINT ... CHECK scans {table} under an ACCESS EXCLUSIVE lock, blocking reads "
                "and writes until every row is checked"
            )
        elif constraint.get("contype") == "CONSTR_FOREIGN":
            referenced = ctx.qualified(constraint.get("pktable"))
            message = (
                f"ADD CONSTRAINT ... FOREIGN KEY scans {table} under a SHARE ROW EXCLUSIVE lock on {table} "
                f"and {referenced}, blocking writes to both until every row is checked"
            )
        else:
            continue
        yield Violation(ctx.span_at(statement, constraint), message)


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
    for cmd in _existing_alter(ctx, statement):
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
    for cmd in _existing_alter(ctx, statement):
        column = nodes.command_column(cmd)
        if cmd.get("subtype") != "AT_AddColumn" or column is None:
            continue
        for constraint in nodes.constraints(column):
            if constraint.get("contype") == "CONSTR_FOREIGN":
                referenced = ctx.qualified(constraint.get("pktable"))
                yield Violation(
                    ctx.span_at(statement, constraint),
                    f"ADD COLUMN {column.get('colname')} ... REFERENCES {referenced} takes a "
                    "SHARE ROW EXCLUSIVE "
                    f"lock on {referenced} and an ACCESS EXCLUSIVE lock on {table}",
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
    for cmd in _existing_alter(ctx, statement):
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
                    f"{kind} builds its index on {table} under an ACCESS EXCLUSIVE lock, blocking reads and "
                    "writes for the whole build",
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
    for cmd in _existing_alter(ctx, statement):
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
            f"SET NOT NULL on {table}.{column} scans the table under an ACCESS EXCLUSIVE lock, "
            "blocking reads "
            "and writes",
            help_text,
        )


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


def _volatile_call(expression: Any) -> str | None:
    for fields in nodes.find(expression, "FuncCall"):
        if nodes.function_name(fields) in VOLATILE_FUNCTIONS:
            return nodes.function_name(fields)
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
    for cmd in _existing_alter(ctx, statement):
        column = nodes.command_column(cmd)
        if cmd.get("subtype") != "AT_AddColumn" or column is None:
            continue
        default = _default(column)
        if default is None or _is_null(default.get("raw_expr")):
            continue
        volatile = _volatile_call(default.get("raw_expr"))
        if volatile:
            reason = f"volatile default {volatile}()"
        elif ctx.pg_major < 11:
            reason = f"a default (PostgreSQL {ctx.pg_major} rewrites for any default)"
        else:
            continue
        yield Violation(
            ctx.span_at(statement, default),
            f"ADD COLUMN {column.get('colname')} with {reason} rewrites {table} under an ACCESS EXCLUSIVE "
            "lock, blocking reads and writes",
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
    for cmd in _existing_alter(ctx, statement):
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
                f"adding {kind} column {column.get('colname')} rewrites {table} under an "
                "ACCESS EXCLUSIVE lock, "
                "blocking reads and writes",
            )


# Target types a change to is (normally) binary-compatible: varchar -> text, varchar(n) -> varchar(m > n)
# or unlimited, numeric(p, s) -> numeric with more precision. The old type is not known to the linter.
_NO_REWRITE_TARGETS = {"text", "varchar", "numeric", "citext"}


@statement_rule(
    id="alter-column-type",
    family="lock-safety",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ALTER COLUMN ... TYPE` that rewrites an existing table.",
    why="""
        Changing a column's type rewrites the table and rebuilds its indexes under an ACCESS
        EXCLUSIVE lock (`int` -> `bigint` on a large table can take hours). Binary-compatible changes
        do not rewrite: `varchar(n)` -> `text`, widening `varchar(n)`, dropping the length limit, or
        raising a `numeric`'s precision. lockgate cannot see the column's old type, so a change to
        `text`, `varchar`, `varchar(n)` or `numeric(p, s)` without `USING` is assumed to be one of
        those; any `USING` clause or other target type is reported.
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
    table = ctx.qualified(statement.node.get("relation"))
    for cmd in _existing_alter(ctx, statement):
        column = nodes.command_column(cmd)
        if cmd.get("subtype") != "AT_AlterColumnType" or column is None:
            continue
        target = nodes.type_name(column.get("typeName"))
        using = column.get("raw_default") is not None
        if target in _NO_REWRITE_TARGETS and not using:
            continue
        yield Violation(
            ctx.span_at(statement, column),
            f"ALTER COLUMN {cmd.get('name')} TYPE {target}{' USING ...' if using else ''} rewrites {table} "
            "under an ACCESS EXCLUSIVE lock, blocking reads and writes",
        )


def _vacuum_full(node: dict[str, Any]) -> bool:
    option = nodes.def_elem(node.get("options"), "full")
    if option is None:
        return False
    value = nodes.unwrap(option.get("arg"), "String") or {}
    return str(value.get("sval", "true")).lower() not in {"false", "off", "0"}


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
    if not statement.node.get("is_vacuumcmd") or not _vacuum_full(statement.node):
        return
    relations = _relations(ctx, statement)
    existing = [ctx.qualified(r) for r in relations if ctx.is_existing_table(r, statement)]
    if relations and not existing:
        return
    target = ", ".join(existing) if existing else "every table in the database"
    yield Violation(
        ctx.statement_span_head(statement),
        f"VACUUM FULL rewrites {target} under an ACCESS EXCLUSIVE lock, blocking reads and writes",
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
        f"CLUSTER rewrites {target} under an ACCESS EXCLUSIVE lock, blocking reads and writes",
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
        f"REFRESH MATERIALIZED VIEW takes an ACCESS EXCLUSIVE lock on {ctx.qualified(relation)}, blocking "
        "reads for the whole refresh",
    )


# ALTER TABLE sub-commands that take less than ACCESS EXCLUSIVE (PostgreSQL's AlterTableGetLockLevel).
_WEAKER_ALTER = {
    "AT_ValidateConstraint",
    "AT_SetStatistics",
    "AT_ClusterOn",
    "AT_DropCluster",
    "AT_SetRelOptions",
    "AT_ResetRelOptions",
    "AT_EnableTrig",
    "AT_EnableAlwaysTrig",
    "AT_EnableReplicaTrig",
    "AT_EnableTrigAll",
    "AT_EnableTrigUser",
    "AT_DisableTrig",
    "AT_DisableTrigAll",
    "AT_DisableTrigUser",
    "AT_AttachPartition",
    "AT_DetachPartitionFinalize",
    "AT_SetCompression",
}
_ACCESS_EXCLUSIVE_MODE = 8
_RENAMES_ON_TABLES = {
    "OBJECT_TABLE",
    "OBJECT_COLUMN",
    "OBJECT_TABCONSTRAINT",
    "OBJECT_MATVIEW",
    "OBJECT_TRIGGER",
}


def _access_exclusive_tables(statement: Statement) -> list[Any]:
    """Tables ``statement`` locks in ACCESS EXCLUSIVE mode (as RangeVar dicts or ``schema.name``)."""
    node, kind = statement.node, statement.kind
    if kind == "AlterTableStmt":
        for cmd in nodes.alter_table_commands(node):
            constraint = nodes.command_constraint(cmd) or {}
            if cmd.get("subtype") == "AT_DetachPartition" and (cmd.get("def") or {}).get(
                "PartitionCmd", {}
            ).get("concurrent"):
                continue
            if cmd.get("subtype") not in _WEAKER_ALTER and constraint.get("contype") != "CONSTR_FOREIGN":
                return [node.get("relation")]
        return []
    if kind in {"TruncateStmt"}:
        return list(node.get("relations", []))
    if kind == "LockStmt":
        return list(node.get("relations", [])) if node.get("mode", 8) == _ACCESS_EXCLUSIVE_MODE else []
    if kind == "DropStmt" and node.get("removeType") in {"OBJECT_TABLE", "OBJECT_MATVIEW"}:
        return [
            ".".join(nodes.name_list((nodes.unwrap(o, "List") or {}).get("items"))) for o in node["objects"]
        ]
    if kind in {"CreatePolicyStmt", "AlterPolicyStmt"}:
        return [node.get("table")]
    if kind == "DropStmt" and node.get("removeType") in {"OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE"}:
        # objects are [schema.]table.name: the lock is on the table
        return [
            ".".join(nodes.name_list((nodes.unwrap(o, "List") or {}).get("items"))[:-1])
            for o in node["objects"]
        ]
    if kind == "RuleStmt" or (kind == "RenameStmt" and node.get("renameType") in _RENAMES_ON_TABLES):
        return [node.get("relation")]
    if kind == "ClusterStmt" and node.get("relation"):
        return [node.get("relation")]
    if kind == "RefreshMatViewStmt" and not node.get("concurrent"):
        return [node.get("relation")]
    if kind == "VacuumStmt" and _vacuum_full(node):
        return [(nodes.unwrap(r, "VacuumRelation") or {}).get("relation") for r in node.get("rels") or []]
    return []


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
    if not ctx.transactional:
        return
    locked: dict[str, int] = {}
    for statement in ctx.executed:
        for relation in _access_exclusive_tables(statement):
            if relation is None or not ctx.is_existing_table(relation, statement):
                continue
            name = ctx.normalise_name(relation) if isinstance(relation, str) else ctx.qualified(relation)
            if name in locked:
                continue
            if locked:
                first, line = next(iter(locked.items()))
                yield Violation(
                    ctx.statement_span_head(statement),
                    f"this transaction already holds an ACCESS EXCLUSIVE lock on {first} (line {line}) and "
                    f"now takes one on {name}; both stay blocked until COMMIT and lock-order deadlocks "
                    "become possible",
                )
            locked[name] = ctx.parent(statement).line


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
