"""Supabase rules on policy expressions: per-row ``auth.*()`` calls, always-true write policies, and
trust in user-editable metadata (family ``supabase``).

One walk of each policy expression serves two of the rules (``_scan_policy_expression``): policies are
the most common Supabase statement, so those walks were most of the family's time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.lint.rules._supabase import (
    TRUTHY,
    policy_label,
)
from lockgate.statements import Statement

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
                f"{policy_label(ctx, statement)} calls {label} per row in {clause}; wrap it as "
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
        f"{policy_label(ctx, statement)} lets {roles} {command.upper()} any row ({clauses} always "
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
                f"{policy_label(ctx, statement)} trusts user_metadata in {clause}; any signed-in user "
                "can set it and pass the check",
            )
