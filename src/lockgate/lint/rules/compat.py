"""Compatibility rules: changes that break application code still running against the old schema.

During a deploy the old application version keeps running while (and after) the migration applies:
it still selects the dropped column, writes to the renamed table, sends the renamed enum value. Each
rule here names what the old code will hit. Objects created earlier in the same file have no old code
depending on them, so dropping or renaming those is harmless and stays quiet (``t`` and ``public.t``
are the same table).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.statements import Statement

_TABLE_KINDS = {"OBJECT_TABLE": "table", "OBJECT_FOREIGN_TABLE": "foreign table"}


def object_name(obj: Any) -> str:
    """A DropStmt object (``List`` of names, ``String``, ``TypeName``, a function's ``ObjectWithArgs``) as a
    dotted name."""
    if not isinstance(obj, dict):
        return ""
    if "List" in obj:
        return ".".join(nodes.name_list((obj["List"] or {}).get("items")))
    if "String" in obj:
        return str((obj["String"] or {}).get("sval", ""))
    if "TypeName" in obj:
        return ".".join(nodes.name_list((obj["TypeName"] or {}).get("names")))
    if "ObjectWithArgs" in obj:  # DROP FUNCTION / PROCEDURE / AGGREGATE: without it the name was blank
        return ".".join(nodes.name_list((obj["ObjectWithArgs"] or {}).get("objname")))
    return ""


def _created_before(ctx: FileContext, statement: Statement, kind: str, name_of: Any) -> set[str]:
    """Names (as ``name_of`` returns them) of ``kind`` statements that run before ``statement``."""
    limit = ctx.ordinal(statement)
    found: set[str] = set()
    for number, earlier in enumerate(ctx.executed):
        if number >= limit:
            break
        if earlier.kind == kind:
            found.add(name_of(earlier.node))
    return found


def _created_schemas(ctx: FileContext, statement: Statement) -> set[str]:
    return _created_before(ctx, statement, "CreateSchemaStmt", lambda node: str(node.get("schemaname", "")))


def _created_types(ctx: FileContext, statement: Statement) -> set[str]:
    return _created_before(
        ctx, statement, "CreateEnumStmt", lambda node: nodes.qualified_list_name(node.get("typeName"))
    )


def _existing_dropped_tables(ctx: FileContext, statement: Statement) -> list[str]:
    """Tables a DROP TABLE removes that exist before this migration (not created earlier in the file)."""
    names = [object_name(obj) for obj in statement.node.get("objects") or []]
    return [ctx.normalise_name(name) for name in names if name and ctx.is_existing_table(name, statement)]


@statement_rule(
    id="drop-table",
    family="compatibility",
    severity="warning",
    kinds=["DropStmt"],
    summary="`DROP TABLE` on a table that exists before the migration.",
    why="""
        The application version that is still running when the migration applies (and any other
        service, report or job reading the table) fails on its next query, and the data is gone: a
        rollback of the deploy cannot bring it back. Remove the code that uses the table first, deploy
        that, and drop the table in a later migration, ideally after renaming it for a while or
        keeping a backup.
    """,
    bad="""
        DROP TABLE public.legacy_orders;
    """,
    good="""
        -- after a deploy in which no code reads or writes public.legacy_orders any more:
        -- lockgate-ignore: drop-table
        DROP TABLE public.legacy_orders;
    """,
    help="Stop using the table in a deploy first, then drop it in a later migration (and keep a backup).",
)
def drop_table(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    kind = _TABLE_KINDS.get(str(statement.node.get("removeType", "")))
    if kind is None:
        return
    existing = _existing_dropped_tables(ctx, statement)
    if existing:
        yield Violation(
            ctx.statement_span_head(statement),
            f"DROP TABLE removes {kind} {', '.join(existing)} and its data; code still running against "
            "the old schema fails on its next query",
        )


@statement_rule(
    id="drop-column",
    family="compatibility",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="`ALTER TABLE ... DROP COLUMN` on a table that exists before the migration.",
    why="""
        Application code deployed before the migration still names the column in its SELECT, INSERT
        and UPDATE statements (ORMs often list every column), so it fails as soon as the column is
        gone, and the column's data cannot be restored by rolling the deploy back. Stop reading and
        writing the column in one deploy, then drop it in a later migration.
    """,
    bad="""
        ALTER TABLE public.orders DROP COLUMN legacy_status;
    """,
    good="""
        -- after a deploy in which no code uses orders.legacy_status any more:
        -- lockgate-ignore: drop-column
        ALTER TABLE public.orders DROP COLUMN legacy_status;
    """,
    help="Remove every use of the column in a deploy first, then drop it in a later migration.",
)
def drop_column(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    if statement.node.get("objtype") not in (None, "OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return
    if not ctx.is_existing_table(relation, statement):
        return
    for command in statement.node.get("cmds") or []:
        cmd = nodes.unwrap(command, "AlterTableCmd") or {}
        if cmd.get("subtype") == "AT_DropColumn":
            yield Violation(
                ctx.statement_span_head(statement),
                f"DROP COLUMN {cmd.get('name', '?')} on {ctx.qualified(relation)} breaks code still "
                "selecting or writing it, and its data is lost",
            )


@statement_rule(
    id="drop-schema",
    family="compatibility",
    severity="warning",
    kinds=["DropStmt"],
    summary="`DROP SCHEMA` on a schema that exists before the migration.",
    why="""
        Dropping a schema removes every object in it that code may still use (with `CASCADE`, every
        table, view and function, with their data). Move or drop the objects one at a time, each after
        the code using it is gone.
    """,
    bad="""
        DROP SCHEMA reporting CASCADE;
    """,
    good="""
        -- after a deploy in which nothing uses the reporting schema:
        -- lockgate-ignore: drop-schema, drop-cascade
        DROP SCHEMA reporting CASCADE;
    """,
    help="Drop the schema only after no code uses anything in it (drop its objects one by one).",
)
def drop_schema(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if statement.node.get("removeType") != "OBJECT_SCHEMA":
        return
    created = _created_schemas(ctx, statement)
    existing = [
        name for name in (object_name(o) for o in statement.node.get("objects") or []) if name not in created
    ]
    if existing:
        yield Violation(
            ctx.statement_span_head(statement),
            f"DROP SCHEMA removes {', '.join(existing)}; code using any object in it fails",
        )


@statement_rule(
    id="drop-cascade",
    family="compatibility",
    severity="warning",
    kinds=["DropStmt", "AlterTableStmt"],
    summary="`DROP ... CASCADE` silently drops every dependent object too.",
    why="""
        `CASCADE` drops whatever depends on the object (views, foreign keys, policies, functions,
        triggers, defaults) without listing them. The migration looks like it drops one thing and
        breaks several, possibly ones other teams own. Without `CASCADE` PostgreSQL refuses and names
        the dependents, so they can be dropped or changed explicitly.
    """,
    bad="""
        DROP TYPE public.order_status CASCADE;
    """,
    good="""
        ALTER TABLE public.orders ALTER COLUMN status TYPE text;
        DROP TYPE public.order_status;
    """,
    help="Drop the dependent objects explicitly, then drop without CASCADE.",
)
def drop_cascade(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    if statement.kind == "DropStmt":
        if node.get("behavior") != "DROP_CASCADE":
            return
        if _TABLE_KINDS.get(str(node.get("removeType", ""))) and not _existing_dropped_tables(ctx, statement):
            return
        kind = str(node.get("removeType", "OBJECT_")).removeprefix("OBJECT_").replace("_", " ")
        names = ", ".join(object_name(obj) for obj in node.get("objects") or [])
        yield Violation(
            ctx.statement_span_head(statement),
            f"DROP {kind} {names} CASCADE also drops every object that depends on it, unlisted",
        )
        return
    relation = node.get("relation")
    if not ctx.is_existing_table(relation, statement):
        return
    for command in node.get("cmds") or []:
        cmd = nodes.unwrap(command, "AlterTableCmd") or {}
        if cmd.get("behavior") == "DROP_CASCADE":
            what = str(cmd.get("subtype", "")).removeprefix("AT_Drop").lower() or "object"
            yield Violation(
                ctx.statement_span_head(statement),
                f"dropping {what} {cmd.get('name', '?')} of {ctx.qualified(relation)} with CASCADE also "
                "drops every object that depends on it, unlisted",
            )


@statement_rule(
    id="truncate-table",
    family="compatibility",
    severity="warning",
    kinds=["TruncateStmt"],
    summary="`TRUNCATE` on a table that exists before the migration.",
    why="""
        `TRUNCATE` deletes every row at once, cannot be limited with a WHERE clause, and takes an
        ACCESS EXCLUSIVE lock. In a migration it almost always means data loss in production that was
        only meant for a development database.
    """,
    bad="""
        TRUNCATE public.events;
    """,
    good="""
        DELETE FROM public.events WHERE created_at < now() - interval '90 days';
    """,
    help="Delete only the rows you mean to, with a WHERE clause (in batches on large tables).",
)
def truncate_table(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    existing = [
        ctx.qualified(relation)
        for relation in statement.node.get("relations") or []
        if ctx.is_existing_table(relation, statement)
    ]
    if existing:
        yield Violation(
            ctx.statement_span_head(statement),
            f"TRUNCATE deletes every row of {', '.join(existing)}",
        )


@statement_rule(
    id="rename-table",
    family="compatibility",
    severity="warning",
    kinds=["RenameStmt"],
    summary="Renaming a table that exists before the migration.",
    why="""
        Code deployed before the migration still uses the old name and fails from the moment the
        rename commits until the new code is everywhere. Supabase clients (`supabase.from('orders')`)
        and PostgREST's schema cache see the change at once.
    """,
    bad="""
        ALTER TABLE public.orders RENAME TO purchases;
    """,
    good="""
        -- the view below keeps the old name working until no code uses it:
        -- lockgate-ignore: rename-table
        ALTER TABLE public.orders RENAME TO purchases;
        CREATE VIEW public.orders WITH (security_invoker = true) AS SELECT * FROM public.purchases;
        -- drop the view once no code uses the old name
    """,
    help="Keep the old name working (a view over the renamed table) until all code uses the new name.",
)
def rename_table(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    relation = node.get("relation")
    if node.get("renameType") not in _TABLE_KINDS or not ctx.is_existing_table(relation, statement):
        return
    yield Violation(
        ctx.span_at(statement, relation),
        f"renaming {ctx.qualified(relation)} to {node.get('newname', '?')} breaks code still using "
        "the old name",
    )


@statement_rule(
    id="rename-column",
    family="compatibility",
    severity="warning",
    kinds=["RenameStmt"],
    summary="Renaming a column of a table or view that exists before the migration.",
    why="""
        Code deployed before the migration still selects and writes the old column name and fails
        until every instance runs the new code. Add the new column, write both, backfill, switch reads,
        then drop the old column in a later migration.
    """,
    bad="""
        ALTER TABLE public.orders RENAME COLUMN total TO total_cents;
    """,
    good="""
        ALTER TABLE public.orders ADD COLUMN total_cents bigint;
        -- backfill, write both from the application, switch reads, then drop the old column later
    """,
    help="Add a new column and migrate to it in steps (expand, migrate, contract) instead of renaming.",
)
def rename_column(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    relation = node.get("relation")
    if node.get("renameType") != "OBJECT_COLUMN" or not ctx.is_existing_table(relation, statement):
        return
    yield Violation(
        ctx.span_at(statement, relation),
        f"renaming column {node.get('subname', '?')} of {ctx.qualified(relation)} to "
        f"{node.get('newname', '?')} breaks code still using the old name",
    )


def _unbounded_dml(ctx: FileContext, statement: Statement, verb: str) -> Iterator[Violation]:
    node = statement.node
    relation = node.get("relation")
    if node.get("whereClause") is not None or not ctx.is_existing_table(relation, statement):
        return
    yield Violation(
        ctx.statement_span_head(statement),
        f"{verb} without WHERE changes every row of {ctx.qualified(relation)} in one transaction, "
        "locking them all",
    )


@statement_rule(
    id="update-without-where",
    family="compatibility",
    severity="warning",
    kinds=["UpdateStmt"],
    summary="`UPDATE` without a `WHERE` clause on a table that exists before the migration.",
    why="""
        An unbounded UPDATE rewrites every row in one transaction: it row-locks the whole table
        (blocking concurrent writers until the migration commits), doubles the table's size on disk
        until vacuum catches up, and is easy to get wrong. Backfills on existing tables should be
        bounded and batched; if every row really must change, say so with a WHERE clause.
    """,
    bad="""
        UPDATE public.orders SET currency = 'EUR';
    """,
    good="""
        UPDATE public.orders SET currency = 'EUR' WHERE currency IS NULL AND id BETWEEN 1 AND 10000;
    """,
    help="Bound the UPDATE with a WHERE clause (and batch it on large tables).",
)
def update_without_where(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    yield from _unbounded_dml(ctx, statement, "UPDATE")


@statement_rule(
    id="delete-without-where",
    family="compatibility",
    severity="warning",
    kinds=["DeleteStmt"],
    summary="`DELETE` without a `WHERE` clause on a table that exists before the migration.",
    why="""
        An unbounded DELETE removes every row, usually by mistake (a development clean-up that reached
        production), row-locks them all until the migration commits, and cannot be undone by rolling
        back the deploy.
    """,
    bad="""
        DELETE FROM public.sessions;
    """,
    good="""
        DELETE FROM public.sessions WHERE expires_at < now();
    """,
    help="Add a WHERE clause naming the rows to delete.",
)
def delete_without_where(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    yield from _unbounded_dml(ctx, statement, "DELETE")


@statement_rule(
    id="rename-enum-value",
    family="compatibility",
    severity="warning",
    kinds=["AlterEnumStmt"],
    summary="`ALTER TYPE ... RENAME VALUE` on an enum that exists before the migration.",
    why="""
        Stored rows switch to the new label at once, but code deployed before the migration still
        sends and compares the old label: its inserts fail with "invalid input value for enum" and
        its comparisons silently stop matching. Add the new value, migrate rows and code to it, and
        stop using the old one.
    """,
    bad="""
        ALTER TYPE public.order_status RENAME VALUE 'canceled' TO 'cancelled';
    """,
    good="""
        ALTER TYPE public.order_status ADD VALUE IF NOT EXISTS 'cancelled';
        -- later, after the code writes 'cancelled': UPDATE the rows still holding 'canceled'
    """,
    help="Add the new value with ADD VALUE and move code and rows to it instead of renaming.",
)
def rename_enum_value(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    if not node.get("oldVal"):
        return
    type_name = nodes.qualified_list_name(node.get("typeName"))
    if type_name in _created_types(ctx, statement):
        return
    yield Violation(
        ctx.statement_span_head(statement),
        f"renaming value '{node.get('oldVal')}' of enum {type_name} to '{node.get('newVal', '?')}' "
        "breaks code still sending or comparing the old label",
    )
