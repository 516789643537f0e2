"""Supabase security rules: data exposed through the Supabase Data API by mistake (family ``supabase``).

Supabase serves every table and view in its *exposed* schemas over HTTP (PostgREST), and by default
grants the `anon` and `authenticated` roles full privileges on them: row level security is the only
thing between a browser holding the public anon key and every row. These rules catch, in the
migration, what Supabase's own database advisor (splinter) reports only after deploy. Semantics follow
splinter's lints where one exists (named in each rule's "why").

Exposed schemas come from lockgate's config (``exposed_schemas``), else ``[api] schemas`` in
``supabase/config.toml``, else ``public``; Supabase's own schemas are never treated as exposed here
(changing them at all is what ``supabase-managed-schema-ddl`` reports).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Span, Violation
from lockgate.lint.registry import file_rule, statement_rule
from lockgate.statements import Statement

MANAGED_SCHEMAS = frozenset(
    {
        "auth",
        "storage",
        "realtime",
        "vault",
        "supabase_functions",
        "supabase_migrations",
        "graphql",
        "graphql_public",
        "pgsodium",
        "pgsodium_masks",
        "net",
        "extensions",
        "pgbouncer",
    }
)
"""Schemas Supabase creates and upgrades itself (the set splinter excludes from its lints)."""

DEFAULT_EXPOSED = ("public",)
AUTH_USERS = "auth.users"
PER_ROW_FUNCTIONS = {
    ("auth", "uid"): "auth.uid()",
    ("auth", "jwt"): "auth.jwt()",
    ("auth", "role"): "auth.role()",
    ("auth", "email"): "auth.email()",
    ("current_setting",): "current_setting()",
    ("pg_catalog", "current_setting"): "current_setting()",
}
"""Functions splinter's ``auth_rls_initplan`` wants wrapped in ``(select ...)``; current_setting()
(how auth.uid() reads the JWT) has the same per-row cost."""

API_ROLES = frozenset({"public", "anon", "authenticated"})
"""Roles API requests run as (``public`` includes them). Like splinter, always-true policies for other
roles are taken as deliberate: ``service_role`` bypasses RLS anyway, custom roles are granted on purpose."""

FIXED_SCHEMA_EXTENSIONS = frozenset({"plpgsql", "pg_cron", "pg_graphql", "pgsodium", "supabase_vault"})
"""Extensions that are not relocatable and always install into their own schema."""

TRUTHY = frozenset({"true", "on", "yes", "1", "t", "y"})


# -- exposed schemas ----------------------------------------------------------------------------
def api_schemas(config_toml: Path) -> tuple[str, ...] | None:
    """``[api] schemas`` of a Supabase ``config.toml``; None when the file or key is missing or bad.

    A broken file is not this rule family's to report (``supabase start`` does that), so it falls back
    to the default rather than failing the lint.
    """
    import tomllib  # only when there is a file to read: the import costs hook start-up time

    try:
        document = tomllib.loads(config_toml.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    api = document.get("api")
    schemas = api.get("schemas") if isinstance(api, dict) else None
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        return None
    return tuple(s.strip() for s in schemas if s.strip())


def resolve_exposed_schemas(
    configured: tuple[str, ...], root: Path, migrations_path: Path | None = None
) -> tuple[str, ...]:
    """Exposed schemas: lockgate config, else ``supabase/config.toml [api] schemas``, else ``public``.

    Looked for where ``settings.resolve_pg_major`` looks for ``[db] major_version``: under the config
    root and beside a ``supabase/migrations`` directory.
    """
    from lockgate.project import supabase_config_files

    if configured:
        return configured
    for candidate in supabase_config_files(root, migrations_path):
        schemas = api_schemas(candidate)
        if schemas:
            return schemas
    return DEFAULT_EXPOSED


@lru_cache(maxsize=64)
def _schemas_beside(directory: str) -> tuple[str, ...] | None:
    """``[api] schemas`` for migrations in ``directory``: ``supabase/migrations`` has its
    ``config.toml`` one level up, a top-level ``migrations`` may sit beside ``supabase/``."""
    folder = Path(directory)
    if folder.name != "migrations":
        return None
    if folder.parent.name == "supabase":
        candidate = folder.parent / "config.toml"
    else:
        candidate = folder.parent / "supabase" / "config.toml"
    return api_schemas(candidate) if candidate.is_file() else None


def exposed_schemas(ctx: FileContext) -> frozenset[str]:
    """The schemas the Data API serves, minus Supabase's own.

    The lint settings only carry lockgate's ``exposed_schemas`` (defaulting to ``public``), so when
    that is the default, the ``supabase/config.toml`` beside the file's ``migrations`` directory is
    read (once per directory).
    """
    schemas: tuple[str, ...] = tuple(ctx.exposed_schemas)
    if schemas == DEFAULT_EXPOSED:
        schemas = _resolved_schemas_beside(os.path.dirname(ctx.path) or ".")
    return _served(schemas)


@lru_cache(maxsize=64)
def _served(schemas: tuple[str, ...]) -> frozenset[str]:
    """``schemas`` minus Supabase's own, built once per configuration rather than per rule and file."""
    return frozenset(schemas) - MANAGED_SCHEMAS


@lru_cache(maxsize=64)
def _resolved_schemas_beside(directory: str) -> tuple[str, ...]:
    """``_schemas_beside`` for a file's directory, resolved once per directory (``Path.resolve`` is a
    system call per path component: too slow to repeat for every rule of every file).

    Keyed by directory, not by file: a per-file cache missed on every file of a run longer than its
    size, and a file's directory is one ``os.path.dirname`` away.
    """
    try:
        resolved = str(Path(directory).resolve())
    except (OSError, RuntimeError, ValueError):  # unresolvable paths (loops, NUL bytes)
        resolved = ""
    return _schemas_beside(resolved) or DEFAULT_EXPOSED


# -- tree helpers ----------------------------------------------------------------------------------
def _schema_of(relation: Any) -> str:
    return ((nodes.unwrap(relation, "RangeVar") or {}).get("schemaname")) or nodes.DEFAULT_SCHEMA


def _is_temp(relation: Any) -> bool:
    return (nodes.unwrap(relation, "RangeVar") or {}).get("relpersistence") == "t"


def _alter_commands(statement: Statement) -> Iterator[dict[str, Any]]:
    for command in statement.node.get("cmds") or []:
        cmd = nodes.unwrap(command, "AlterTableCmd")
        if cmd is not None:
            yield cmd


def _rls_enabled_tables(ctx: FileContext) -> set[str]:
    enabled: set[str] = set()
    for statement in ctx.executed:
        if statement.kind != "AlterTableStmt":
            continue
        for command in statement.node.get("cmds") or ():
            cmd = nodes.unwrap(command, "AlterTableCmd")
            if cmd is not None and cmd.get("subtype") == "AT_EnableRowSecurity":
                enabled.add(ctx.qualified(statement.node.get("relation")))
                break
    return enabled


def _option_truthy(elem: dict[str, Any]) -> bool:
    """A boolean reloption's value: no argument means true (``WITH (security_invoker)``)."""
    arg = elem.get("arg")
    if arg is None:
        return True
    if isinstance(arg, dict):
        for kind in ("String", "Boolean", "Integer"):
            inner = arg.get(kind)
            if isinstance(inner, dict):
                value = inner.get("sval", inner.get("boolval", inner.get("ival", "")))
                return str(value).lower() in TRUTHY or value is True
    return False


def _policy_label(ctx: FileContext, statement: Statement) -> str:
    return (
        f'policy "{statement.node.get("policy_name", "?")}" on {ctx.qualified(statement.node.get("table"))}'
    )


_POLICY_CLAUSES = (("qual", "USING"), ("with_check", "WITH CHECK"))
"""A policy's expression fields and the clause each is written as."""


def _function_key(call: dict[str, Any]) -> tuple[str, ...]:
    """The lower-case name parts of a ``FuncCall`` (``("auth", "uid")``).

    ``nodes.name_list`` inlined: this runs for every function call of every policy.
    """
    parts: list[str] = []
    for item in call.get("funcname") or ():
        if item.__class__ is dict:
            inner = item.get("String")
            string = inner if inner.__class__ is dict else item
            if "sval" in string:
                parts.append(str(string["sval"]).lower())
    return tuple(parts)


def _names_raw_user_meta_data(fields: Any) -> bool:
    """Whether a ``ColumnRef``'s name parts include ``raw_user_meta_data`` (``nodes.name_list``
    inlined: every column reference of every policy is checked)."""
    for item in fields or ():
        if item.__class__ is dict:
            inner = item.get("String")
            string = inner if inner.__class__ is dict else item
            if "sval" in string and str(string["sval"]) == "raw_user_meta_data":
                return True
    return False


class _PolicyScan(NamedTuple):
    """What the policy-expression rules need from one expression, found in a single walk."""

    per_row: list[tuple[dict[str, Any], str]]
    """auth.*() / current_setting() calls not in the select list of a sub-select, with their labels.

    ``(select auth.uid())`` is planned as an InitPlan and runs once per query; anywhere else
    (including a sub-select's WHERE clause, which may be correlated) it runs per row.
    """
    metadata: dict[str, Any] | None
    """``_user_metadata_reference`` of the expression."""


_JWT_FUNCTIONS = frozenset({("auth", "jwt"), ("current_setting",), ("pg_catalog", "current_setting")})
"""Functions that read the JWT claims (where Auth copies ``user_metadata`` to)."""

_LEAF_NODES = frozenset({"String", "Integer", "Float", "Boolean", "BitString", "A_Star", "ParamRef"})
"""Node types with no node inside: the scan does not descend into them (nor into ``A_Const`` and
``ColumnRef``, whose parts are constants, Strings and ``*``)."""

_SCANNED = _LEAF_NODES | {"SelectStmt", "FuncCall", "ColumnRef", "A_Const"}

_SCAN_LIMIT = 1024
_scans: dict[int, tuple[Any, _PolicyScan]] = {}


def _scan_policy_expression(expression: Any) -> _PolicyScan:
    """One walk of a policy expression for both ``auth-call-per-row`` and ``policy-uses-user-metadata``.

    Each rule used to walk the expression itself (auth-call-per-row after a full ``nodes.index`` to
    see whether there was a FuncCall at all): policies are the most common Supabase statement, so
    those walks were most of the family's time. Cached by identity like ``nodes.index`` (the entry
    holds ``expression``, so its id cannot be reused while the entry lives).

    Per-row calls come out in the order of the walk auth-call-per-row always used, because findings
    at the same position (every call in a DO block's statement points at the same line) are reported
    in that order: a popped dict's entries are looked at in order, its children then popped last
    first, lists in order. The fields of a node (the dict under a type name) are pushed at once
    rather than as one more stack entry: the same dicts are popped in the same order, since type
    names are looked for among the entries of the dicts holding nodes, never among node fields.
    ``_user_metadata_reference`` wants the *first* match in source order (``nodes.walk``); the scan
    meets the same nodes, so a single candidate is that match, and only with several is the
    source-order walk repeated to choose.
    """
    identity = id(expression)
    cached = _scans.get(identity)
    if cached is not None and cached[0] is expression:
        return cached[1]
    per_row: list[tuple[dict[str, Any], str]] = []
    reads_jwt = False
    column_refs = 0
    metadata_column: dict[str, Any] | None = None
    constants = 0
    metadata_constant: dict[str, Any] | None = None
    labels, scanned = PER_ROW_FUNCTIONS, _SCANNED
    stack: list[tuple[Any, bool]] = []
    pop, push = stack.pop, stack.append
    if expression.__class__ is dict or expression.__class__ is list:
        push((expression, False))
    while stack:
        current, wrapped = pop()
        if current.__class__ is list:
            for item in reversed(current):
                if item.__class__ is dict or item.__class__ is list:
                    push((item, wrapped))
            continue
        for key, value in current.items():
            if value.__class__ is list:
                push((value, wrapped))
            elif value.__class__ is not dict:
                continue
            elif key >= "a":  # a field (or a wrapper under one): looked into when popped
                push((value, wrapped))
            else:  # a node type name (pglast's are capitalised, field names are not)
                if key in scanned:
                    if key == "SelectStmt":
                        for name, child in value.items():
                            if child.__class__ is dict or child.__class__ is list:
                                push((child, name == "targetList"))
                        continue
                    if key == "FuncCall":
                        function = _function_key(value)
                        label = labels.get(function)
                        if label is not None and not wrapped:
                            per_row.append((value, label))
                        if function in _JWT_FUNCTIONS:
                            reads_jwt = True
                    else:
                        if key == "ColumnRef":
                            if _names_raw_user_meta_data(value.get("fields")):
                                column_refs += 1
                                metadata_column = value
                        elif key == "A_Const":
                            text = (value.get("sval") or {}).get("sval")
                            if isinstance(text, str) and "user_metadata" in text:
                                constants += 1
                                metadata_constant = value
                        continue
                for child in value.values():
                    if child.__class__ is dict or child.__class__ is list:
                        push((child, wrapped))
    if column_refs > 1 or (column_refs == 0 and reads_jwt and constants > 1):
        metadata = _user_metadata_reference(expression)  # several candidates: the first in source order
    elif column_refs:
        metadata = metadata_column
    else:
        metadata = metadata_constant if reads_jwt else None
    scan = _PolicyScan(per_row, metadata)
    if len(_scans) >= _SCAN_LIMIT:
        _scans.clear()
    _scans[identity] = (expression, scan)
    return scan


def _always_true(expression: Any) -> bool:
    """``true``, ``'true'::boolean`` or ``1 = 1``: an expression that admits every row."""
    if not isinstance(expression, dict):
        return False
    if "A_Const" in expression:
        return ((expression["A_Const"] or {}).get("boolval") or {}).get("boolval") is True
    if "TypeCast" in expression:
        cast = expression["TypeCast"] or {}
        value = nodes.string_constant(cast.get("arg"))
        return nodes.type_name(cast.get("typeName")) == "bool" and str(value).lower() in TRUTHY
    expr = expression.get("A_Expr")
    if not isinstance(expr, dict) or expr.get("kind") != "AEXPR_OP":
        return False
    if nodes.name_list(expr.get("name")) != ["="]:
        return False
    left = nodes.unwrap(expr.get("lexpr"), "A_Const") if "A_Const" in (expr.get("lexpr") or {}) else None
    right = nodes.unwrap(expr.get("rexpr"), "A_Const") if "A_Const" in (expr.get("rexpr") or {}) else None
    if left is None or right is None:
        return False
    return {k: v for k, v in left.items() if k != "location"} == {
        k: v for k, v in right.items() if k != "location"
    }


def _policy_roles(statement: Statement) -> set[str]:
    """Role names of a policy; ``public`` for ``TO public`` or no TO clause."""
    roles: set[str] = set()
    for item in statement.node.get("roles") or []:
        spec = nodes.unwrap(item, "RoleSpec") or {}
        if spec.get("roletype") == "ROLESPEC_PUBLIC":
            roles.add("public")
        elif spec.get("rolename"):
            roles.add(str(spec["rolename"]))
        else:
            roles.add(str(spec.get("roletype", "")).removeprefix("ROLESPEC_").lower())
    return roles or {"public"}


# -- RLS on tables -----------------------------------------------------------------------------------
@file_rule(
    id="rls-not-enabled",
    family="supabase",
    severity="error",
    summary="A table created in an exposed schema without `ENABLE ROW LEVEL SECURITY` in the same file.",
    why="""
        Supabase serves every table in its exposed schemas (`public` unless configured) through the
        Data API and grants `anon` and `authenticated` full privileges on them by default, so a new
        table without row level security can be read and written by anyone holding the public anon
        key, which ships in every browser bundle. Enable RLS in the migration that creates the table
        (splinter lint `0013_rls_disabled_in_public`), then add policies for what each role may do.
    """,
    bad="""
        CREATE TABLE public.invoices (id bigint PRIMARY KEY, customer_id uuid NOT NULL);
    """,
    good="""
        CREATE TABLE public.invoices (id bigint PRIMARY KEY, customer_id uuid NOT NULL);
        ALTER TABLE public.invoices ENABLE ROW LEVEL SECURITY;
    """,
    help="Add `ALTER TABLE <table> ENABLE ROW LEVEL SECURITY;` after the CREATE TABLE, then add policies.",
)
def rls_not_enabled(ctx: FileContext) -> Iterator[Violation]:
    exposed = exposed_schemas(ctx)
    enabled: set[str] | None = None  # looked for only once a table in an exposed schema is created
    for statement in ctx.executed:
        kind = statement.kind
        if kind == "CreateStmt":
            relation = statement.node.get("relation")
        elif kind == "CreateTableAsStmt" and statement.node.get("objtype") == "OBJECT_TABLE":
            relation = (statement.node.get("into") or {}).get("rel")
        else:
            continue
        if _is_temp(relation) or _schema_of(relation) not in exposed:
            continue
        if enabled is None:
            enabled = _rls_enabled_tables(ctx)
        name = ctx.qualified(relation)
        if name in enabled:
            continue
        yield Violation(
            ctx.span_at(statement, relation),
            f"table {name} is created in exposed schema {_schema_of(relation)} without ENABLE ROW LEVEL "
            "SECURITY; anyone with the anon key can read and change every row through the API",
        )


@statement_rule(
    id="rls-disabled",
    family="supabase",
    severity="error",
    kinds=["AlterTableStmt"],
    summary="`ALTER TABLE ... DISABLE ROW LEVEL SECURITY`.",
    why="""
        Disabling RLS switches off every policy on the table at once: in an exposed schema every row
        becomes readable and writable by anyone holding the public anon key. Policies that are too
        strict should be fixed, not bypassed; server-side code that must see every row should use
        the `service_role` key, which bypasses RLS without opening the table to everyone.
    """,
    bad="""
        ALTER TABLE public.orders DISABLE ROW LEVEL SECURITY;
    """,
    good="""
        CREATE POLICY "Staff read all orders" ON public.orders
          FOR SELECT TO authenticated USING ((SELECT auth.jwt() ->> 'user_role') = 'staff');
    """,
    help="Keep RLS on; write a policy for the access you need (or use the service_role key server-side).",
)
def rls_disabled(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    if _is_temp(relation):
        return
    for cmd in _alter_commands(statement):
        if cmd.get("subtype") == "AT_DisableRowSecurity":
            yield Violation(
                ctx.statement_span_head(statement),
                f"DISABLE ROW LEVEL SECURITY on {ctx.qualified(relation)} switches off all its policies; "
                "through the API every row becomes readable and writable by any role with table grants",
            )


@file_rule(
    id="policy-without-rls",
    family="supabase",
    severity="warning",
    summary="A policy on a table created in this file that never enables row level security.",
    why="""
        Policies do nothing until row level security is enabled on the table: the author believes
        access is restricted while every row is open (splinter lint `0007_policy_exists_rls_disabled`).
        Only tables created in the same file are checked; for older tables lockgate cannot know
        whether an earlier migration enabled RLS.
    """,
    bad="""
        CREATE TABLE public.notes (id bigint PRIMARY KEY, owner_id uuid NOT NULL);
        CREATE POLICY "Owners read notes" ON public.notes
          FOR SELECT TO authenticated USING ((SELECT auth.uid()) = owner_id);
    """,
    good="""
        CREATE TABLE public.notes (id bigint PRIMARY KEY, owner_id uuid NOT NULL);
        ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
        CREATE POLICY "Owners read notes" ON public.notes
          FOR SELECT TO authenticated USING ((SELECT auth.uid()) = owner_id);
    """,
    help="Add `ALTER TABLE <table> ENABLE ROW LEVEL SECURITY;` so the policy takes effect.",
)
def policy_without_rls(ctx: FileContext) -> Iterator[Violation]:
    enabled: set[str] | None = None  # looked for only in files that create a policy
    for statement in ctx.executed:
        if statement.kind != "CreatePolicyStmt":
            continue
        if enabled is None:
            enabled = _rls_enabled_tables(ctx)
        table = statement.node.get("table")
        name = ctx.qualified(table)
        if name in enabled or _is_temp(table) or name not in ctx.created_tables(before=statement):
            continue
        yield Violation(
            ctx.span_at(statement, table),
            f"{_policy_label(ctx, statement)} has no effect: RLS is never enabled on {name}, so every "
            "row stays open",
        )


# -- policy expressions ----------------------------------------------------------------------------
@statement_rule(
    id="auth-call-per-row",
    family="supabase",
    severity="warning",
    kinds=["CreatePolicyStmt", "AlterPolicyStmt"],
    summary="A policy calls `auth.uid()`/`auth.jwt()`/`auth.role()`/`current_setting()` per row.",
    why="""
        A function call in a policy expression is evaluated for every row the query touches;
        `auth.uid()` parses the JWT settings each time, which makes large scans many times slower.
        Wrapped as `(select auth.uid())`, PostgreSQL plans it as an InitPlan and evaluates it once per
        query. This is Supabase's performance advisor lint `0003_auth_rls_initplan`; calls in a
        sub-select's WHERE clause are reported too, since a correlated sub-select runs per row.
    """,
    bad="""
        CREATE POLICY "Owners read orders" ON public.orders
          FOR SELECT TO authenticated USING (auth.uid() = owner_id);
    """,
    good="""
        CREATE POLICY "Owners read orders" ON public.orders
          FOR SELECT TO authenticated USING ((SELECT auth.uid()) = owner_id);
    """,
    help="Wrap the call in a sub-select, e.g. `(select auth.uid())`, so it is evaluated once per query.",
)
def auth_call_per_row(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    for key, clause in _POLICY_CLAUSES:
        expression = node.get(key)
        if expression is None:
            continue
        for call, label in _scan_policy_expression(expression).per_row:
            wrapped = "(select current_setting(...))" if label == "current_setting()" else f"(select {label})"
            yield Violation(
                ctx.span_at(statement, call),
                f"{_policy_label(ctx, statement)} calls {label} per row in {clause}; wrap it as "
                f"{wrapped} so it is evaluated once",
            )


@statement_rule(
    id="always-true-write-policy",
    family="supabase",
    severity="warning",
    kinds=["CreatePolicyStmt"],
    summary="A permissive INSERT/UPDATE/DELETE/ALL policy whose `USING` or `WITH CHECK` is always true.",
    why="""
        `USING (true)` on an UPDATE, DELETE or ALL policy, or `WITH CHECK (true)` on an INSERT,
        UPDATE or ALL policy, lets every role it applies to change every row: row level security is on
        but protects nothing. Read-only `FOR SELECT ... USING (true)` is a common deliberate choice and
        is not reported. Like splinter lint `0024_rls_policy_always_true`, only policies that apply to
        the API roles (`anon`, `authenticated`, or `public`, the default) are checked: `service_role`
        bypasses RLS anyway and custom roles are granted deliberately.
    """,
    bad="""
        CREATE POLICY "Anyone can edit posts" ON public.posts
          FOR UPDATE TO authenticated USING (true) WITH CHECK (true);
    """,
    good="""
        CREATE POLICY "Authors edit their posts" ON public.posts
          FOR UPDATE TO authenticated
          USING ((SELECT auth.uid()) = author_id) WITH CHECK ((SELECT auth.uid()) = author_id);
    """,
    help="Restrict the policy to the rows the role may change, e.g. `(select auth.uid()) = owner_id`.",
)
def always_true_write_policy(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    command = str(node.get("cmd_name") or "all").lower()
    if not node.get("permissive") or command == "select" or not _policy_roles(statement) & API_ROLES:
        return
    qual, check = node.get("qual"), node.get("with_check")
    open_using = command in ("update", "delete", "all") and (qual is None or _always_true(qual))
    open_check = _always_true(check) or (
        check is None and (command == "insert" or (command in ("update", "all") and open_using))
    )
    if not (open_using or open_check):
        return
    clauses = " and ".join(
        clause for clause, is_open in (("USING", open_using), ("WITH CHECK", open_check)) if is_open
    )
    anchor = qual if open_using and qual is not None else check if check is not None else None
    if isinstance(anchor, dict) and "TypeCast" in anchor:
        anchor = (anchor["TypeCast"] or {}).get("arg")  # a cast's location is its `::`
    span = ctx.span_at(statement, anchor) if anchor is not None else ctx.statement_span_head(statement)
    roles = ", ".join(sorted(_policy_roles(statement)))
    yield Violation(
        span,
        f"{_policy_label(ctx, statement)} lets {roles} {command.upper()} any row ({clauses} always "
        "true); RLS protects nothing for this command",
    )


def _user_metadata_reference(expression: Any) -> dict[str, Any] | None:
    """The node reading user-editable metadata: ``raw_user_meta_data``, or a ``'user_metadata'``
    key taken from the JWT (auth.jwt() or current_setting('request.jwt.claims'))."""
    reads_jwt = False
    metadata_key: dict[str, Any] | None = None
    for kind, fields in nodes.walk(expression):
        if kind == "FuncCall" and _function_key(fields) in (
            ("auth", "jwt"),
            ("current_setting",),
            ("pg_catalog", "current_setting"),
        ):
            reads_jwt = True
        elif kind == "ColumnRef" and "raw_user_meta_data" in nodes.name_list(fields.get("fields")):
            return fields
        elif kind == "A_Const" and metadata_key is None:
            value = (fields.get("sval") or {}).get("sval")
            if isinstance(value, str) and "user_metadata" in value:
                metadata_key = fields
    return metadata_key if reads_jwt else None


@statement_rule(
    id="policy-uses-user-metadata",
    family="supabase",
    severity="error",
    kinds=["CreatePolicyStmt", "AlterPolicyStmt"],
    summary="A policy reads `user_metadata` / `raw_user_meta_data`, which users can edit themselves.",
    why="""
        Supabase Auth lets every signed-in user change their own `user_metadata` from the browser
        (`supabase.auth.updateUser({ data: ... })`); it is stored as `auth.users.raw_user_meta_data`
        and copied into the JWT. A policy that trusts it (`auth.jwt() -> 'user_metadata' ->> 'role'`)
        can be satisfied by anyone who sets the value themselves. Use `app_metadata`, which only the
        server can write, or a table the user cannot modify (splinter lint
        `0015_rls_references_user_metadata`).
    """,
    bad="""
        CREATE POLICY "Admins read all" ON public.orders FOR SELECT TO authenticated
          USING ((SELECT auth.jwt()) -> 'user_metadata' ->> 'role' = 'admin');
    """,
    good="""
        CREATE POLICY "Admins read all" ON public.orders FOR SELECT TO authenticated
          USING ((SELECT auth.jwt()) -> 'app_metadata' ->> 'role' = 'admin');
    """,
    help="Use `app_metadata` (server-written) or a role table users cannot change, never `user_metadata`.",
)
def policy_uses_user_metadata(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    for key, clause in _POLICY_CLAUSES:
        expression = node.get(key)
        if expression is None:
            continue
        reference = _scan_policy_expression(expression).metadata
        if reference is not None:
            yield Violation(
                ctx.span_at(statement, reference),
                f"{_policy_label(ctx, statement)} trusts user_metadata in {clause}; any signed-in user "
                "can set it and pass the check",
            )


# -- functions and views ----------------------------------------------------------------------------
@statement_rule(
    id="security-definer-without-search-path",
    family="supabase",
    severity="error",
    kinds=["CreateFunctionStmt"],
    summary="A `SECURITY DEFINER` function without `SET search_path`.",
    why="""
        A SECURITY DEFINER function runs with its owner's privileges (on Supabase usually `postgres`)
        but resolves unqualified names through the caller's `search_path`. A caller who can create
        objects in a schema on that path can plant a function or operator the definer then runs with
        elevated rights. Pin the path (`SET search_path = ''` and schema-qualified names is safest;
        splinter lint `0011_function_search_path_mutable`).
    """,
    bad="""
        CREATE FUNCTION public.is_admin() RETURNS boolean
          LANGUAGE sql SECURITY DEFINER
          AS $$ SELECT EXISTS (SELECT 1 FROM admins WHERE user_id = auth.uid()) $$;
    """,
    good="""
        CREATE FUNCTION public.is_admin() RETURNS boolean
          LANGUAGE sql SECURITY DEFINER SET search_path = ''
          AS $$ SELECT EXISTS (SELECT 1 FROM public.admins WHERE user_id = auth.uid()) $$;
    """,
    help="Add `SET search_path = ''` to the function and schema-qualify every name in its body.",
)
def security_definer_without_search_path(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    options = statement.node.get("options")
    security = nodes.def_elem(options, "security")
    if security is None or not _option_truthy(security) or _sets_search_path(options):
        return
    name = nodes.qualified_list_name(statement.node.get("funcname"))
    if name in _search_path_set_later(ctx, statement):
        return
    yield Violation(
        ctx.span_at(statement, security),
        f"SECURITY DEFINER function {name} runs with its owner's rights but the caller's search_path; "
        "a caller can hijack unqualified names",
    )


def _sets_search_path(options: Any) -> bool:
    for option in options or []:
        elem = nodes.unwrap(option, "DefElem") or {}
        setting = nodes.unwrap(elem.get("arg"), "VariableSetStmt") or {}
        if elem.get("defname") == "set" and str(setting.get("name", "")).lower() == "search_path":
            return True
    return False


def _search_path_set_later(ctx: FileContext, statement: Statement) -> set[str]:
    """Functions given a search_path by an ``ALTER FUNCTION ... SET search_path`` after ``statement``
    (the same fix, written as a separate statement)."""
    after = ctx.ordinal(statement)
    return {
        nodes.qualified_list_name(
            (nodes.unwrap(later.node.get("func"), "ObjectWithArgs") or {}).get("objname")
        )
        for later in ctx.executed[after + 1 :]
        if later.kind == "AlterFunctionStmt" and _sets_search_path(later.node.get("actions"))
    }


def _exposed_view(ctx: FileContext, statement: Statement, exposed: frozenset[str]) -> Any:
    """The view's RangeVar when ``statement`` creates a (materialized) view in an exposed schema."""
    if statement.kind == "ViewStmt":
        relation = statement.node.get("view")
    elif statement.kind == "CreateTableAsStmt" and statement.node.get("objtype") == "OBJECT_MATVIEW":
        relation = (statement.node.get("into") or {}).get("rel")
    else:
        return None
    if relation is None or _is_temp(relation) or _schema_of(relation) not in exposed:
        return None
    return relation


def _security_invoker_setting(options: Any) -> bool | None:
    elem = nodes.def_elem(options, "security_invoker")
    return None if elem is None else _option_truthy(elem)


def _hidden_from_api(ctx: FileContext) -> set[str]:
    """Relations whose SELECT is revoked in this file (and not granted again) from both ``anon`` and
    ``authenticated``: the API roles cannot read them, which is what splinter's privilege check asks."""
    revoked: dict[str, set[str]] = {}
    for statement in ctx.executed:
        node = statement.node
        if statement.kind != "GrantStmt" or node.get("objtype") != "OBJECT_TABLE":
            continue
        privileges = {
            str((nodes.unwrap(item, "AccessPriv") or {}).get("priv_name", "")).lower()
            for item in node.get("privileges") or []
        }
        if privileges and "select" not in privileges:
            continue
        roles = {
            "public" if spec.get("roletype") == "ROLESPEC_PUBLIC" else str(spec.get("rolename", ""))
            for spec in (nodes.unwrap(item, "RoleSpec") or {} for item in node.get("grantees") or [])
        }
        if "public" in roles:
            roles |= {"anon", "authenticated"}
        for relation in node.get("objects") or []:
            names = revoked.setdefault(ctx.qualified(relation), set())
            if node.get("is_grant"):
                names -= roles
            else:
                names |= roles
    return {name for name, roles in revoked.items() if {"anon", "authenticated"} <= roles}


def _views_made_invoker(ctx: FileContext) -> set[str]:
    """Views switched to security_invoker by a later ``ALTER VIEW ... SET (security_invoker = ...)``."""
    made: set[str] = set()
    for statement in ctx.executed:
        if statement.kind != "AlterTableStmt":
            continue
        for cmd in _alter_commands(statement):
            if cmd.get("subtype") != "AT_SetRelOptions":
                continue
            items = (nodes.unwrap(cmd.get("def"), "List") or {}).get("items")
            if _security_invoker_setting(items):
                made.add(ctx.qualified(statement.node.get("relation")))
    return made


@file_rule(
    id="view-without-security-invoker",
    family="supabase",
    severity="error",
    summary="A view in an exposed schema without `security_invoker = true` (PostgreSQL 15+).",
    why="""
        A view runs its query with the privileges of its owner (on Supabase, `postgres`, which
        bypasses row level security), so a view over RLS-protected tables in an exposed schema serves
        every row to anyone who can select from the view. Since PostgreSQL 15,
        `WITH (security_invoker = true)` makes the view check privileges and policies as the querying
        user (splinter lint `0010_security_definer_view`). A view whose SELECT is revoked from both
        `anon` and `authenticated` later in the same file is not served, and is not reported.
    """,
    bad="""
        CREATE VIEW public.order_totals AS
          SELECT owner_id, sum(total) AS total FROM public.orders GROUP BY owner_id;
    """,
    good="""
        CREATE VIEW public.order_totals WITH (security_invoker = true) AS
          SELECT owner_id, sum(total) AS total FROM public.orders GROUP BY owner_id;
    """,
    help="Create the view `WITH (security_invoker = true)` (or move it to a schema the API does not serve).",
    pg_versions="PostgreSQL 15 and later; `security_invoker` does not exist before 15, so the rule is "
    "silent when `pg_major` < 15 (there, revoke the view from anon/authenticated instead).",
)
def view_without_security_invoker(ctx: FileContext) -> Iterator[Violation]:
    if ctx.pg_major < 15 or not any(statement.kind == "ViewStmt" for statement in ctx.executed):
        return  # most files create no view: skip looking for ALTER VIEW and REVOKE
    exposed = exposed_schemas(ctx)
    made_invoker = _views_made_invoker(ctx) | _hidden_from_api(ctx)
    for statement in ctx.executed:
        if statement.kind != "ViewStmt":
            continue
        relation = _exposed_view(ctx, statement, exposed)
        if relation is None or ctx.qualified(relation) in made_invoker:
            continue
        if _security_invoker_setting(statement.node.get("options")):
            continue
        yield Violation(
            ctx.span_at(statement, relation),
            f"view {ctx.qualified(relation)} in exposed schema {_schema_of(relation)} runs as its owner and "
            "bypasses row level security; create it WITH (security_invoker = true)",
        )


@statement_rule(
    id="view-exposes-auth-users",
    family="supabase",
    severity="error",
    kinds=["ViewStmt", "CreateTableAsStmt"],
    summary="A view or materialized view in an exposed schema reads `auth.users`.",
    why="""
        `auth.users` holds every user's email, phone, encrypted password and sign-in details, and
        is deliberately not served by the API. A view over it in an exposed schema publishes those
        columns to `anon` and `authenticated` (splinter lint `0002_auth_users_exposed`). Keep public
        profile data in your own table (filled by a trigger on `auth.users`) with RLS.
        Not reported when the file revokes SELECT on the view from both `anon` and `authenticated`.
    """,
    bad="""
        CREATE VIEW public.user_directory AS SELECT id, email FROM auth.users;
    """,
    good="""
        CREATE VIEW public.user_directory WITH (security_invoker = true) AS
          SELECT id, username FROM public.profiles;
    """,
    help="Copy the fields you need into a public table with RLS (a trigger on auth.users) and query that.",
)
def view_exposes_auth_users(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = _exposed_view(ctx, statement, exposed_schemas(ctx))
    if relation is None or ctx.qualified(relation) in _hidden_from_api(ctx):
        return
    for fields in nodes.find(statement.node.get("query"), "RangeVar"):
        if ctx.qualified(fields) == AUTH_USERS:
            yield Violation(
                ctx.span_at(statement, fields),
                f"view {ctx.qualified(relation)} in exposed schema {_schema_of(relation)} reads auth.users; "
                "user emails and sign-in data become readable through the API",
            )
            return


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
        table = _dotted_name(parts[:-1])
        return _Target(table.split(".")[0], f"{parts[-1]} on {table}", None, table)
    if kind == "OBJECT_SCHEMA":
        return _Target(name, name, None, None)
    schema = parts[0] if len(parts) > 1 else nodes.DEFAULT_SCHEMA
    return _Target(schema, name, None, _dotted_name(parts) if kind in _TABLE_DROPS else None)


_TABLE_DROPS = {"OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE", "OBJECT_INDEX"}


def _dotted_name(parts: list[str]) -> str:
    """``[schema, ]name`` parts as ``schema.name`` (``public`` when unqualified)."""
    return ".".join(parts[-2:]) if len(parts) > 1 else f"{nodes.DEFAULT_SCHEMA}.{''.join(parts)}"


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
        yield _Target(_schema_of(relation), ctx.qualified(relation), relation, ctx.qualified(relation))
    if relation_field is not None and node.get(relation_field):
        relation = node[relation_field]
        name = ctx.qualified(relation)
        label = f"on {name}" if statement.kind in _ON_TABLE else name
        yield _Target(_schema_of(relation), label, relation, name)
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
