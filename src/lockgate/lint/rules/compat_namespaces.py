"""Compatibility rules on whole namespaces: renaming a schema, dropping a database.

One statement, and every query that names the schema (or every connection to the database) breaks at
once, with no way to keep the old name working while code moves: there is no schema alias, and a
dropped database's data is gone. A schema created earlier in the same file has no code using it yet.
"""

from __future__ import annotations

from collections.abc import Iterator

from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.statements import Statement


def _created_schemas(ctx: FileContext, before: Statement) -> set[str]:
    return {
        str(statement.node.get("schemaname", ""))
        for statement in ctx.executed[: ctx.ordinal(before)]
        if statement.kind == "CreateSchemaStmt"
    }


@statement_rule(
    id="rename-schema",
    family="compatibility",
    severity="warning",
    kinds=["RenameStmt"],
    summary="`ALTER SCHEMA ... RENAME TO` on a schema that exists before the migration.",
    why="""
        Views, foreign keys and triggers follow the rename (they refer to objects by id), but
        everything that names the schema in text does not: the running application's queries,
        function bodies, `search_path` settings of roles and functions, scheduled jobs, grants in
        provisioning scripts, and the list of schemas an API (PostgREST, Supabase) exposes. All of it
        fails from the moment the rename commits. PostgreSQL has no schema alias to bridge the gap:
        create the new schema, give the code views (or the moved objects) there, switch the code, and
        only then retire the old schema.
    """,
    bad="""
        ALTER SCHEMA accounting RENAME TO billing;
    """,
    good="""
        CREATE SCHEMA billing;
        CREATE VIEW billing.invoices WITH (security_invoker = true) AS SELECT * FROM accounting.invoices;
        -- switch the code to billing.*, then move the tables and drop accounting in later migrations
    """,
    help="Create the new schema alongside, move code to it, then retire the old one in a later migration.",
)
def rename_schema(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    if node.get("renameType") != "OBJECT_SCHEMA":
        return
    old, new = str(node.get("subname", "")), str(node.get("newname", ""))
    if old in _created_schemas(ctx, statement):
        return
    yield Violation(
        ctx.statement_span_head(statement),
        f"renaming schema {old} to {new} breaks every query, function body and search_path that still "
        f"names {old}",
    )


@statement_rule(
    id="drop-database",
    family="compatibility",
    severity="error",
    kinds=["DropdbStmt"],
    summary="`DROP DATABASE` in a migration.",
    why="""
        `DROP DATABASE` deletes a whole database with every table and row in it, cannot be rolled
        back (it refuses to run in a transaction), and with `WITH (FORCE)` first disconnects whoever
        is using it. A migration runs unattended against every environment, production included: a
        statement written for a local reset or a one-off clean-up does the same there. Decommission a
        database by hand, after a backup, never from a migration.
    """,
    bad="""
        DROP DATABASE IF EXISTS legacy_reports;
    """,
    good="""
        -- decommissioning legacy_reports: stop new connections now; a person drops it after a backup
        REVOKE CONNECT ON DATABASE legacy_reports FROM PUBLIC;
    """,
    help="Drop databases by hand after a backup, never from a migration.",
)
def drop_database(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    name = str(statement.node.get("dbname", "?"))
    yield Violation(
        ctx.statement_span_head(statement),
        f"DROP DATABASE {name} deletes the whole database and all its data, in every environment this "
        "migration reaches",
    )
