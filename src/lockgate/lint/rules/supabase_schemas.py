"""Supabase rules on Supabase's own schemas: DDL inside them, extensions installed into ``public``, and
foreign keys to ``auth.users`` columns other than ``id`` (family ``supabase``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from lockgate import locks
from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Span, Violation
from lockgate.lint.registry import statement_rule
from lockgate.lint.rules._supabase import (
    AUTH_USERS,
    schema_of,
)
from lockgate.lint.supabase_config import MANAGED_SCHEMAS
from lockgate.statements import Statement

FIXED_SCHEMA_EXTENSIONS = frozenset({"plpgsql", "pg_cron", "pg_graphql", "pgsodium", "supabase_vault"})
"""Extensions that are not relocatable and always install into their own schema."""


# -- references into Supabase's schemas ------------------------------------------------------------
def _table_constraints(statement: Statement) -> list[dict[str, Any]]:
    """The ``Constraint`` nodes of a CREATE TABLE / ALTER TABLE, in source order.

    Looked up where the grammar puts them instead of with ``nodes.find``, which indexes every node of
    the statement (column types, defaults, check expressions) and was most of this rule's time.
    Constraints appear only as table elements or ``ALTER TABLE`` command definitions, each either
    the ``Constraint`` itself (``CONSTRAINT ... FOREIGN KEY``, ``ADD CONSTRAINT``) or a ``ColumnDef``
    carrying it (``col uuid REFERENCES ...``, ``ADD COLUMN``); expressions cannot hold one (a
    sub-select cannot contain DDL). ``constraints``/``nnconstraints`` are empty in a raw parse tree
    but would be searched by ``nodes.find``, so they are too.
    """
    node = statement.node
    found: list[dict[str, Any]] = []
    if statement.kind == "CreateStmt":
        _element_constraints(node.get("tableElts"), found)
        _element_constraints(node.get("constraints"), found)
        _element_constraints(node.get("nnconstraints"), found)
    else:
        definitions = [
            definition
            for item in node.get("cmds") or ()
            if (cmd := nodes.unwrap(item, "AlterTableCmd")) is not None
            and (definition := cmd.get("def")) is not None
        ]
        if definitions:  # ENABLE ROW LEVEL SECURITY, SET/DROP ...: nothing defined
            _element_constraints(definitions, found)
    return found


def _element_constraints(elements: Any, found: list[dict[str, Any]]) -> None:
    """Append the ``Constraint`` of each element: the element itself or a ``ColumnDef``'s."""
    if elements.__class__ is not list and elements.__class__ is not tuple:
        return
    for element in elements:
        if element.__class__ is not dict:
            continue
        constraint = element.get("Constraint")
        if constraint.__class__ is dict:
            found.append(constraint)
            continue
        column = element.get("ColumnDef")
        if column.__class__ is dict:
            for item in column.get("constraints") or ():
                constraint = item.get("Constraint") if item.__class__ is dict else None
                if constraint.__class__ is dict:
                    found.append(constraint)


@statement_rule(
    id="auth-users-foreign-key-not-id",
    family="supabase",
    severity="error",
    kinds=["CreateStmt", "AlterTableStmt"],
    summary="A foreign key to an `auth.users` column other than `id`.",
    why="""
        Supabase Auth owns `auth.users` and may change or rewrite its other columns (emails change,
        phone numbers are cleared, columns are altered by Auth upgrades); a foreign key on them can
        block Auth's own updates and sign-ups, and those values are not stable identifiers. Only the
        primary key `id` is supported as a reference target.
    """,
    bad="""
        CREATE TABLE private.invites (email text REFERENCES auth.users (email));
    """,
    good="""
        CREATE TABLE private.invites (user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE);
    """,
    help="Reference `auth.users (id)` and look other fields up through it.",
)
def auth_users_foreign_key_not_id(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    for fields in _table_constraints(statement):
        if fields.get("contype") != "CONSTR_FOREIGN":
            continue
        if ctx.qualified(fields.get("pktable")) != AUTH_USERS:
            continue
        columns = nodes.name_list(fields.get("pk_attrs"))
        if columns and columns != ["id"]:
            yield Violation(
                ctx.span_at(statement, fields),
                f"foreign key to auth.users ({', '.join(columns)}): only auth.users (id) is stable; "
                "Auth may change or rewrite the other columns",
            )


@statement_rule(
    id="extension-in-public",
    family="supabase",
    severity="warning",
    kinds=["CreateExtensionStmt"],
    summary="`CREATE EXTENSION` into `public` (no `SCHEMA` clause, or `SCHEMA public`).",
    why="""
        Objects an extension creates in `public` are served by the Data API, clutter the API schema
        and type generation, and can collide with your own names. Supabase installs extensions into
        the `extensions` schema, which is on the default search_path (splinter lint
        `0014_extension_in_public`).
    """,
    bad="""
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    """,
    good="""
        CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;
    """,
    help="Add `WITH SCHEMA extensions`.",
)
def extension_in_public(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    name = str(statement.node.get("extname", ""))
    if name.lower() in FIXED_SCHEMA_EXTENSIONS:
        return
    schema_option = nodes.def_elem(statement.node.get("options"), "schema")
    schema = (nodes.unwrap((schema_option or {}).get("arg"), "String") or {}).get("sval")
    if schema_option is not None and schema != nodes.DEFAULT_SCHEMA:
        return
    where = "SCHEMA public" if schema_option is not None else "no SCHEMA clause (usually public)"
    yield Violation(
        ctx.statement_span_head(statement),
        f"extension {name} is installed with {where}; its objects are served by the API and clutter it",
    )


# -- Supabase-managed schemas -----------------------------------------------------------------------
class _Target(NamedTuple):
    """One object a DDL statement changes."""

    schema: str
    name: str
    anchor: Any
    """Node to point at (None: the statement's first line)."""
    table: str | None
    """``schema.table`` the object is, or hangs on (triggers, policies), when it is table-like."""


def _drop_target(node: dict[str, Any], obj: Any) -> _Target:
    kind = str(node.get("removeType", ""))
    parts: list[str] = []
    if isinstance(obj, dict):
        if "ObjectWithArgs" in obj:
            parts = nodes.name_list((obj["ObjectWithArgs"] or {}).get("objname"))
        elif "TypeName" in obj:
            parts = nodes.name_list((obj["TypeName"] or {}).get("names"))
        elif "List" in obj:
            parts = nodes.name_list((obj["List"] or {}).get("items"))
        elif "String" in obj:
            parts = nodes.name_list([obj])
    name = ".".join(parts)
    if kind in ("OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE") and len(parts) >= 2:
        table = locks.dotted_name(parts[:-1])
        return _Target(table.split(".")[0], f"{parts[-1]} on {table}", None, table)
    if kind == "OBJECT_SCHEMA":
        return _Target(name, name, None, None)
    schema = parts[0] if len(parts) > 1 else nodes.DEFAULT_SCHEMA
    return _Target(schema, name, None, locks.dotted_name(parts) if kind in _TABLE_DROPS else None)


_TABLE_DROPS = {"OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE", "OBJECT_INDEX"}


_RELATION_FIELDS = {
    "CreateStmt": "relation",
    "AlterTableStmt": "relation",
    "IndexStmt": "relation",
    "CreateTrigStmt": "relation",
    "RenameStmt": "relation",
    "ViewStmt": "view",
    "CreatePolicyStmt": "table",
    "AlterPolicyStmt": "table",
    "CreateSeqStmt": "sequence",
    "AlterSeqStmt": "sequence",
    "CompositeTypeStmt": "typevar",
}


_ON_TABLE = {"IndexStmt", "CreateTrigStmt", "CreatePolicyStmt", "AlterPolicyStmt"}


def _managed_targets(ctx: FileContext, statement: Statement) -> Iterator[_Target]:
    """Each object the DDL statement creates, changes or drops."""
    node = statement.node
    relation_field = _RELATION_FIELDS.get(statement.kind)
    if statement.kind == "CreateTableAsStmt":
        relation_field = None
        relation = (node.get("into") or {}).get("rel")
        yield _Target(schema_of(relation), ctx.qualified(relation), relation, ctx.qualified(relation))
    if relation_field is not None and node.get(relation_field):
        relation = node[relation_field]
        name = ctx.qualified(relation)
        label = f"on {name}" if statement.kind in _ON_TABLE else name
        yield _Target(schema_of(relation), label, relation, name)
    elif statement.kind in ("CreateFunctionStmt", "CreateEnumStmt", "AlterEnumStmt", "AlterFunctionStmt"):
        if statement.kind == "AlterFunctionStmt":
            names = (nodes.unwrap(node.get("func"), "ObjectWithArgs") or {}).get("objname")
        else:
            names = node.get("funcname") if statement.kind == "CreateFunctionStmt" else node.get("typeName")
        name = nodes.qualified_list_name(names)
        yield _Target(name.split(".")[0], name, None, None)
    elif statement.kind == "DropStmt":
        for obj in node.get("objects") or []:
            yield _drop_target(node, obj)


def _may_touch_managed(statement: Statement) -> bool:
    """False when ``_managed_targets`` can only yield a target outside Supabase's schemas.

    Most DDL names one relation: its schema is checked here without building the targets (two
    qualified names and a label each), which the rule did for every table, index and policy.
    """
    node = statement.node
    kind = statement.kind
    if kind == "CreateTableAsStmt":
        relation = (node.get("into") or {}).get("rel")
    else:
        field = _RELATION_FIELDS.get(kind)
        if field is None:
            return True  # functions, types, DROP: the full look
        relation = node.get(field)
        if not relation:
            return False  # no target at all
    if relation.__class__ is not dict:
        return False  # ``_schema_of`` is ``public``
    inner = relation.get("RangeVar")
    fields = inner if inner.__class__ is dict else relation
    return (fields.get("schemaname") or nodes.DEFAULT_SCHEMA) in MANAGED_SCHEMAS


def _allowed_in_managed(statement: Statement, table: str | None) -> bool:
    """Supabase's documented extension points: triggers on auth.users, storage access policies."""
    node = statement.node
    kind = statement.kind
    remove = str(node.get("removeType", "")) if kind == "DropStmt" else ""
    if table == AUTH_USERS and (kind == "CreateTrigStmt" or remove == "OBJECT_TRIGGER"):
        return True
    storage_tables = ("storage.objects", "storage.buckets")
    return table in storage_tables and (
        kind in ("CreatePolicyStmt", "AlterPolicyStmt") or remove == "OBJECT_POLICY"
    )


@statement_rule(
    id="supabase-managed-schema-ddl",
    family="supabase",
    severity="warning",
    kinds=[
        "CreateStmt",
        "AlterTableStmt",
        "IndexStmt",
        "CreateTrigStmt",
        "RenameStmt",
        "ViewStmt",
        "CreatePolicyStmt",
        "AlterPolicyStmt",
        "CreateSeqStmt",
        "AlterSeqStmt",
        "CompositeTypeStmt",
        "CreateTableAsStmt",
        "CreateFunctionStmt",
        "CreateEnumStmt",
        "AlterEnumStmt",
        "AlterFunctionStmt",
        "DropStmt",
    ],
    summary="DDL on a Supabase-managed schema (`auth`, `storage`, `realtime`, `vault`, `extensions`...).",
    why="""
        Supabase creates and upgrades `auth`, `storage`, `realtime`, `vault`, `graphql`,
        `supabase_functions`, `pgsodium`, `net` and `extensions` itself. Your tables, functions and
        indexes there are not part of `supabase db dump`, can be overwritten or break platform
        upgrades, and Supabase restricts what `postgres` may do there on hosted projects. Two
        extension points are documented and allowed: triggers on `auth.users` (to fill a profile
        table) and policies on `storage.objects` / `storage.buckets` (to grant storage access).
    """,
    bad="""
        ALTER TABLE auth.users ADD COLUMN plan text;
    """,
    good="""
        CREATE TABLE public.accounts (
          user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
          plan text NOT NULL DEFAULT 'free'
        );
        ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
    """,
    help="Keep your objects in your own schema (public or a private one) and reference Supabase's.",
)
def supabase_managed_schema_ddl(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    if not _may_touch_managed(statement):
        return
    for target in _managed_targets(ctx, statement):
        if target.schema not in MANAGED_SCHEMAS or _allowed_in_managed(statement, target.table):
            continue
        span: Span = (
            ctx.span_at(statement, target.anchor)
            if target.anchor is not None
            else ctx.statement_span_head(statement)
        )
        yield Violation(
            span,
            f"{_verb(statement)} {target.name} changes Supabase-managed schema {target.schema}; "
            "platform upgrades own it and may overwrite or break on your change",
        )
        return


_VERBS = {
    "CreateStmt": "CREATE TABLE",
    "AlterTableStmt": "ALTER TABLE",
    "IndexStmt": "CREATE INDEX",
    "CreateTrigStmt": "CREATE TRIGGER",
    "RenameStmt": "RENAME",
    "ViewStmt": "CREATE VIEW",
    "CreatePolicyStmt": "CREATE POLICY",
    "AlterPolicyStmt": "ALTER POLICY",
    "CreateSeqStmt": "CREATE SEQUENCE",
    "AlterSeqStmt": "ALTER SEQUENCE",
    "CompositeTypeStmt": "CREATE TYPE",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "CreateFunctionStmt": "CREATE FUNCTION",
    "CreateEnumStmt": "CREATE TYPE",
    "AlterEnumStmt": "ALTER TYPE",
    "AlterFunctionStmt": "ALTER FUNCTION",
}


def _verb(statement: Statement) -> str:
    """The statement's kind as SQL keywords (``ALTER TABLE``), for messages."""
    if statement.kind == "CreateTableAsStmt" and statement.node.get("objtype") == "OBJECT_MATVIEW":
        return "CREATE MATERIALIZED VIEW"
    if statement.kind == "DropStmt":
        removed = str(statement.node.get("removeType", "")).removeprefix("OBJECT_").replace("_", " ")
        return f"DROP {removed}".strip()
    return _VERBS.get(statement.kind, statement.kind)
