"""Compatibility rule on column defaults: a NOT NULL column left without a default while old code runs.

During a deploy the previous application version keeps inserting rows the way it always did: without
the column it does not know about, or without a column it relied on the default for. A NOT NULL column
with no default turns each of those INSERTs into a not-null violation. Django's ``AddField`` writes
exactly that (``ADD COLUMN ... DEFAULT x NOT NULL`` then ``ALTER COLUMN ... DROP DEFAULT``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.statements import Statement


class _State:
    """What is known of one column as the file runs; ``None`` is unknown (a column from the catalog has
    a known NOT NULL but an unknown default)."""

    __slots__ = ("added", "default", "generated", "not_null")

    def __init__(self, not_null: bool | None) -> None:
        self.added = False
        self.not_null = not_null
        self.default: bool | None = None
        self.generated = False


def _is_null(expression: Any) -> bool:
    return bool((nodes.unwrap(expression, "A_Const") or {}).get("isnull"))


def _drops_default(cmd: dict[str, Any]) -> bool:
    """``ALTER COLUMN ... DROP DEFAULT`` or ``SET DEFAULT NULL``."""
    return cmd.get("subtype") == "AT_ColumnDefault" and (cmd.get("def") is None or _is_null(cmd.get("def")))


def _apply(state: _State, cmd: dict[str, Any], column: str) -> _State:
    subtype = cmd.get("subtype")
    definition = nodes.command_column(cmd)
    if subtype == "AT_AddColumn" and definition is not None and definition.get("colname") == column:
        kinds = {constraint.get("contype"): constraint for constraint in nodes.constraints(definition)}
        state = _State(bool(kinds.keys() & {"CONSTR_NOTNULL", "CONSTR_PRIMARY"}))
        state.added = True
        default = kinds.get("CONSTR_DEFAULT")
        state.default = default is not None and not _is_null(default.get("raw_expr"))
        state.generated = bool(kinds.keys() & {"CONSTR_IDENTITY", "CONSTR_GENERATED"})
    elif cmd.get("name") != column:
        pass
    elif subtype == "AT_ColumnDefault":
        state.default = not _drops_default(cmd)
    elif subtype in ("AT_SetNotNull", "AT_DropNotNull"):
        state.not_null = subtype == "AT_SetNotNull"
    elif subtype == "AT_DropColumn":
        state = _State(False)
    return state


_TOUCHES = frozenset({"AT_ColumnDefault", "AT_SetNotNull", "AT_DropNotNull", "AT_DropColumn", "AT_AddColumn"})


def _touches(cmd: dict[str, Any], column: str) -> bool:
    definition = nodes.command_column(cmd) or {}
    return cmd.get("subtype") in _TOUCHES and column in (cmd.get("name"), definition.get("colname"))


def _visible_state(
    ctx: FileContext, statement: Statement, stop: dict[str, Any], column: str
) -> _State | None:
    """The column as other sessions first see it after command ``stop`` of ``statement``: at commit
    (the whole file in a transactional migration; the statement, or its ``DO`` block, otherwise).
    None when a later command in that window changes the column's default or nullability again: the
    state is judged there instead."""
    relation = statement.node.get("relation")
    table = ctx.qualified(relation)
    old = ctx.old_column(relation, column)
    state = _State(old.not_null if old is not None else None)
    passed = False
    here = ctx.parent(statement)
    for other in ctx.executed:
        if passed and not ctx.transactional and ctx.parent(other) is not here:
            break
        if other.kind != "AlterTableStmt" or ctx.qualified(other.node.get("relation")) != table:
            continue
        for cmd in ctx.alter_commands(other):
            if passed and _touches(cmd, column):
                return None
            state = _apply(state, cmd, column)
            passed = passed or cmd is stop
    return state if passed else None


@statement_rule(
    id="drop-default-on-not-null",
    family="compatibility",
    severity="warning",
    kinds=["AlterTableStmt"],
    summary="A NOT NULL column of an existing table left without a default (`DROP DEFAULT` after "
    "`ADD COLUMN ... DEFAULT x NOT NULL`...).",
    why="""
        Code deployed before the migration does not write a column it does not know about, and code
        that relied on a column's default does not write it either. Once the column is NOT NULL with
        no default, every such INSERT fails with a not-null violation, from the moment the migration
        commits until every instance runs code that writes the column. The classic case is Django's
        `AddField`, which adds `... DEFAULT x NOT NULL` (to fill existing rows) and drops the default
        right after. Adding the column with a default, dropping the default and then setting NOT NULL
        is the same hazard, and so is adding it nullable, backfilling and setting it NOT NULL. What
        counts is the column at commit (a default dropped and set again in the same transaction is
        fine). A column the migrations before this file made NOT NULL is known from the history.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN priority integer DEFAULT 0 NOT NULL;
        ALTER TABLE public.orders ALTER COLUMN priority DROP DEFAULT;
    """,
    good="""
        -- 20250901120000_add_orders_priority.sql
        ALTER TABLE public.orders ADD COLUMN priority integer DEFAULT 0 NOT NULL;

        -- 20250915120000_drop_orders_priority_default.sql
        -- every running version of the code writes priority by now
        -- lockgate-ignore: drop-default-on-not-null
        ALTER TABLE public.orders ALTER COLUMN priority DROP DEFAULT;
    """,
    help="Keep the default until every running version of the code writes the column; drop it in a "
    "later migration (or keep it).",
)
def drop_default_on_not_null(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    for cmd in ctx.alter_commands(statement):
        subtype, column = cmd.get("subtype"), str(cmd.get("name") or "")
        if not _drops_default(cmd) and subtype != "AT_SetNotNull":
            continue
        if not ctx.is_existing_table(relation, statement):
            return
        table = ctx.qualified(relation)
        state = _visible_state(ctx, statement, cmd, column)
        if state is None or not state.not_null or state.default is not False or state.generated:
            continue
        if subtype == "AT_SetNotNull":
            if not state.added:  # a column from the history: lockgate does not know its default
                continue
            what = "SET NOT NULL"
        else:
            what = "DROP DEFAULT" if cmd.get("def") is None else "SET DEFAULT NULL"
        yield Violation(ctx.statement_span_head(statement), f"{what} {_consequence(state, table, column)}")


def _consequence(state: _State, table: str, column: str) -> str:
    if state.added:
        return (
            f"leaves {table}.{column} NOT NULL with no default: code deployed before this migration does "
            f"not know {column}, so its INSERTs omit it and fail with a not-null violation"
        )
    return (
        f"leaves NOT NULL column {table}.{column} with no default: INSERTs that omit {column} (relying on "
        "its default) fail with a not-null violation"
    )
