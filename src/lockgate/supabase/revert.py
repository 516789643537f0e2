"""``lockgate create --revert VERSION``: scaffold the migration that undoes another, from pglast's parse tree.

A revert is never run automatically: it is written as a new, forward migration for a human to read and
ship. Each statement of the original is inverted in reverse order (CREATE → DROP ... IF EXISTS with the
exact signature, ADD COLUMN → DROP COLUMN, ENABLE RLS → DISABLE, GRANT → REVOKE, RENAME → rename back).
``CREATE OR REPLACE`` of a function, view or trigger that an earlier migration already defined is inverted
by restoring that earlier definition, not by dropping it; ``DROP`` of a function, view, policy, trigger or
named index is inverted by re-creating it as the last earlier migration defined it (the common Supabase
"drop policy, create policy" pair reverts cleanly). Changes to objects the same file creates need no
inverse of their own: dropping the object undoes them.

What cannot be inverted from the text alone — dropped data or definitions, UPDATE/DELETE, a column's old
type or default — is never guessed: the file gets a comment block naming the statement and its line, and
the command exits 1 so nobody ships it unread.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, GrantTargetType, ObjectType
from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS
from pglast.stream import RawStream

from lockgate.errors import SourceError
from lockgate.naming import next_version
from lockgate.source import Migration, discover
from lockgate.statements import Statement

_PLAIN_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]*$")
_QUOTE_KEYWORDS = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS


class NotInvertible(Exception):
    """A statement whose inverse cannot be known from the migration text; the message says why."""


@dataclass(frozen=True)
class Skipped:
    """A statement the revert leaves out on purpose, and why (shown as a comment in the file)."""

    line: int
    summary: str
    reason: str


@dataclass
class Revert:
    """The inverse statements in run order, plus what could not be inverted."""

    statements: list[str] = field(default_factory=list)
    not_invertible: list[Skipped] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.not_invertible


def quote_ident(name: str) -> str:
    """An identifier as PostgreSQL needs it written (quoted only when it must be)."""
    if _PLAIN_IDENTIFIER.match(name) and name not in _QUOTE_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _names(nodes: Any) -> str:
    return ".".join(quote_ident(node.sval) for node in nodes)


def _deparse(node: Any) -> str:
    return str(RawStream()(node))


def _relation_key(relation: Any) -> tuple[str, str]:
    return (relation.schemaname or "public", relation.relname)


def _names_key(nodes: Any) -> tuple[str, str]:
    names = [node.sval for node in nodes]
    return (names[0], names[1]) if len(names) >= 2 else ("public", names[0])


def _summary(statement: Statement) -> str:
    flat = " ".join(statement.text.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."


@dataclass
class _Created:
    """Objects the migration itself creates: later changes to them need no inverse."""

    relations: set[tuple[str, str]] = field(default_factory=set)
    schemas: set[str] = field(default_factory=set)
    functions: set[tuple[str, str]] = field(default_factory=set)
    types: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True)
class _Definition:
    """The statement that last defined an object in the migrations, and where it is."""

    node: Any
    text: str
    origin: str


_Definitions = dict[tuple[str, ...], _Definition]


def _function_key(funcname: Any, parameters: Any) -> tuple[str, ...]:
    schema, name = _names_key(funcname)
    return ("function", schema, name, *_signature_types(parameters))


def _signature_types(parameters: Any) -> list[str]:
    """Types of the arguments that identify a function: IN, INOUT and VARIADIC ones (not OUT/TABLE)."""
    types = []
    for parameter in parameters or ():
        mode = getattr(parameter.mode, "value", parameter.mode)
        if mode in ("o", "t"):
            continue
        types.append(_deparse(parameter.argType))
    return types


def _definition_key(node: Any) -> tuple[str, ...] | None:
    """What a CREATE statement defines, keyed the way a DROP of the same object names it."""
    if isinstance(node, ast.CreateFunctionStmt):
        return _function_key(node.funcname, node.parameters)
    if isinstance(node, ast.ViewStmt):
        return ("view", *_relation_key(node.view))
    if isinstance(node, ast.CreatePolicyStmt):
        return ("policy", *_relation_key(node.table), str(node.policy_name))
    if isinstance(node, ast.CreateTrigStmt):
        return ("trigger", *_relation_key(node.relation), str(node.trigname))
    if isinstance(node, ast.IndexStmt) and node.idxname:
        relation: Any = node.relation
        return ("index", relation.schemaname or "public", node.idxname)
    return None


_DROP_KINDS = {
    ObjectType.OBJECT_FUNCTION: "function",
    ObjectType.OBJECT_PROCEDURE: "function",
    ObjectType.OBJECT_VIEW: "view",
    ObjectType.OBJECT_POLICY: "policy",
    ObjectType.OBJECT_TRIGGER: "trigger",
    ObjectType.OBJECT_INDEX: "index",
}


def _dropped_keys(node: Any, definitions: _Definitions) -> list[tuple[str, ...] | None]:
    """The definition key of each object a DROP names (None when it cannot be told)."""
    kind = _DROP_KINDS.get(node.removeType)
    keys: list[tuple[str, ...] | None] = []
    for item in node.objects or ():
        if kind is None:
            keys.append(None)
        elif kind == "function":
            schema, name = _names_key(item.objname)
            if item.args_unspecified:
                matches = [key for key in definitions if key[:3] == ("function", schema, name)]
                keys.append(matches[0] if len(matches) == 1 else None)
            else:
                keys.append(("function", schema, name, *(_deparse(arg) for arg in item.objargs or ())))
        elif kind in ("policy", "trigger"):
            names = [part.sval for part in item]
            table = _names_key([ast.String(sval=n) for n in names[:-1]])
            keys.append((kind, *table, names[-1]))
        else:
            keys.append((kind, *_names_key(item)))
    return keys


def _track(node: Any, text: str, origin: str, definitions: _Definitions) -> None:
    """Keep ``definitions`` as of after this statement."""
    key = _definition_key(node)
    if key is not None:
        definitions[key] = _Definition(node, text, origin)
    elif isinstance(node, ast.DropStmt):
        for dropped in _dropped_keys(node, definitions):
            if dropped is not None:
                definitions.pop(dropped, None)


def earlier_definitions(earlier: Sequence[Migration]) -> _Definitions:
    """The latest earlier definition of each function, view, policy, trigger and named index."""
    definitions: _Definitions = {}
    for migration in earlier:
        try:
            body = migration.parsed.body
        except SourceError:
            continue  # an older file that does not parse defines nothing we could restore
        for statement in body:
            if statement.kind in {
                "CreateFunctionStmt",
                "ViewStmt",
                "CreatePolicyStmt",
                "CreateTrigStmt",
                "IndexStmt",
                "DropStmt",
            }:
                node = parse_sql(statement.text)[0].stmt
                _track(node, statement.text, f"{migration.filename}:{statement.line}", definitions)
    return definitions


def build_revert(migration: Migration, earlier: Sequence[Migration] = ()) -> Revert:
    """Invert ``migration``'s statements in reverse order; ``earlier`` are the migrations before it."""
    definitions = earlier_definitions(earlier)
    created = _Created()
    parsed = [(statement, parse_sql(statement.text)[0].stmt) for statement in migration.parsed.body]
    inverses: list[list[str]] = []
    revert = Revert()
    for statement, node in parsed:
        try:
            inverses.append(_invert(node, created, definitions))
        except NotInvertible as exc:
            inverses.append([])
            revert.not_invertible.append(Skipped(statement.line, _summary(statement), str(exc)))
        _remember_created(node, created)
        _track(node, statement.text, f"{migration.filename}:{statement.line}", definitions)
    for statements in reversed(inverses):
        revert.statements.extend(statements)
    return revert


def _remember_created(node: Any, created: _Created) -> None:
    if isinstance(node, ast.CreateStmt):
        created.relations.add(_relation_key(node.relation))
    elif isinstance(node, ast.CreateTableAsStmt):
        into: Any = node.into
        created.relations.add(_relation_key(into.rel))
    elif isinstance(node, ast.ViewStmt) and not node.replace:
        created.relations.add(_relation_key(node.view))
    elif isinstance(node, ast.CreateSeqStmt):
        created.relations.add(_relation_key(node.sequence))
    elif isinstance(node, ast.CreateSchemaStmt):
        created.schemas.add(str(node.schemaname))
    elif isinstance(node, ast.CreateFunctionStmt):
        created.functions.add(_names_key(node.funcname))
    elif isinstance(node, ast.CreateEnumStmt | ast.CreateRangeStmt):
        created.types.add(_names_key(node.typeName))
    elif isinstance(node, ast.CreateDomainStmt):
        created.types.add(_names_key(node.domainname))
    elif isinstance(node, ast.CompositeTypeStmt):
        created.types.add(_relation_key(node.typevar))


# Statements that change no schema object: session settings, maintenance, locks, savepoints.
_NOTHING_TO_UNDO = (
    ast.VariableSetStmt,
    ast.VacuumStmt,
    ast.ReindexStmt,
    ast.ClusterStmt,
    ast.RefreshMatViewStmt,
    ast.LockStmt,
    ast.TransactionStmt,
    ast.CheckPointStmt,
)


def _invert(node: Any, created: _Created, definitions: _Definitions) -> list[str]:
    if isinstance(node, _NOTHING_TO_UNDO) or _changes_only_created_objects(node, created):
        return []
    handler = _HANDLERS.get(type(node))
    if handler is None:
        raise NotInvertible(
            _NOT_INVERTIBLE.get(type(node), f"lockgate does not know how to undo {type(node).__name__}")
        )
    return handler(node, definitions)


def _changes_only_created_objects(node: Any, created: _Created) -> bool:
    """True for a change to an object this same migration creates (dropping the object undoes it)."""
    relation = None
    if isinstance(node, ast.AlterTableStmt | ast.CreatePolicyStmt | ast.AlterPolicyStmt | ast.CreateTrigStmt):
        relation = (
            node.relation if not isinstance(node, ast.CreatePolicyStmt | ast.AlterPolicyStmt) else node.table
        )
    elif isinstance(node, ast.IndexStmt | ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        relation = node.relation
    elif isinstance(node, ast.CommentStmt):
        return _comment_target_created(node, created)
    elif isinstance(node, ast.GrantStmt):
        return _grant_targets_created(node, created)
    elif isinstance(node, ast.AlterFunctionStmt):
        function: Any = node.func
        return _names_key(function.objname) in created.functions
    return relation is not None and _relation_key(relation) in created.relations


def _comment_target_created(node: Any, created: _Created) -> bool:
    target = node.object
    if node.objtype in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW):
        return _names_key(target) in created.relations
    if node.objtype == ObjectType.OBJECT_COLUMN:
        return _names_key(target[:-1]) in created.relations
    if node.objtype == ObjectType.OBJECT_SCHEMA:
        return getattr(target, "sval", None) in created.schemas
    if node.objtype in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE):
        return _names_key(target.objname) in created.functions
    if node.objtype == ObjectType.OBJECT_TYPE:
        return _names_key(target.names) in created.types
    return False


def _grant_targets_created(node: Any, created: _Created) -> bool:
    objects = node.objects or ()
    if node.targtype == GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        return all(item.sval in created.schemas for item in objects)
    if node.objtype in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_SEQUENCE):
        return all(_relation_key(item) in created.relations for item in objects)
    if node.objtype == ObjectType.OBJECT_SCHEMA:
        return all(item.sval in created.schemas for item in objects)
    if node.objtype in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE, ObjectType.OBJECT_ROUTINE):
        return all(_names_key(item.objname) in created.functions for item in objects)
    return False


# -- handlers: node -> inverse statements --------------------------------------------------------------


def _drop_table(node: Any, definitions: _Definitions) -> list[str]:
    kind = "FOREIGN TABLE" if isinstance(node, ast.CreateForeignTableStmt) else "TABLE"
    return [f"DROP {kind} IF EXISTS {_deparse(node.relation)}"]


def _drop_table_as(node: Any, definitions: _Definitions) -> list[str]:
    kind = "MATERIALIZED VIEW" if node.objtype == ObjectType.OBJECT_MATVIEW else "TABLE"
    return [f"DROP {kind} IF EXISTS {_deparse(node.into.rel)}"]


def _drop_index(node: Any, definitions: _Definitions) -> list[str]:
    if not node.idxname:
        raise NotInvertible(
            "an index without a name gets one PostgreSQL chooses; name it (CREATE INDEX name ON ...) so the "
            "revert can drop exactly that index"
        )
    schema = node.relation.schemaname
    name = f"{quote_ident(schema)}.{quote_ident(node.idxname)}" if schema else quote_ident(node.idxname)
    # An index built CONCURRENTLY is dropped CONCURRENTLY: the file then runs outside a transaction, as the
    # original had to, and writers are not blocked while it runs.
    return [f"DROP INDEX {'CONCURRENTLY ' if node.concurrent else ''}IF EXISTS {name}"]


def _replace_or_drop(node: Any, definitions: _Definitions) -> list[str]:
    """A function or view: restore the earlier definition when one exists, else drop it."""
    key = _definition_key(node)
    earlier = definitions.get(key) if key else None
    if earlier is not None:
        return [_restore(earlier, replace=True)]
    if isinstance(node, ast.ViewStmt):
        return [f"DROP VIEW IF EXISTS {_deparse(node.view)}"]
    kind = "PROCEDURE" if node.is_procedure else "FUNCTION"
    return [f"DROP {kind} IF EXISTS {_names(node.funcname)}({', '.join(_signature_types(node.parameters))})"]


def _restore(definition: _Definition, *, replace: bool = False, concurrent: bool | None = None) -> str:
    """The earlier CREATE again: as written when it fits, else re-printed with OR REPLACE/CONCURRENTLY set."""
    node = definition.node
    needs_replace = replace and not getattr(node, "replace", True)
    needs_concurrency = concurrent is not None and bool(getattr(node, "concurrent", False)) != concurrent
    text = definition.text
    if needs_replace or needs_concurrency:
        changed: Any = copy.deepcopy(node)
        if needs_replace:
            changed.replace = True
        if needs_concurrency:
            changed.concurrent = concurrent
        text = _deparse(changed)
    return f"-- as defined in {definition.origin}\n{text}"


def _drop_trigger(node: Any, definitions: _Definitions) -> list[str]:
    key = _definition_key(node)
    earlier = definitions.get(key) if key else None
    if node.replace and earlier is not None:
        return [_restore(earlier, replace=True)]
    return [f"DROP TRIGGER IF EXISTS {quote_ident(node.trigname)} ON {_deparse(node.relation)}"]


def _recreate_dropped(node: Any, definitions: _Definitions) -> list[str]:
    """DROP of a function, view, policy, trigger or index: re-create it as an earlier migration defined it.

    Tables, columns, types and everything holding data are never re-created: their data is gone."""
    if node.removeType not in _DROP_KINDS:
        raise NotInvertible(_NOT_INVERTIBLE[ast.DropStmt])
    restored = []
    for key in _dropped_keys(node, definitions):
        definition = definitions.get(key) if key else None
        if definition is None:
            raise NotInvertible(
                "DROP of an object no earlier migration defines (created by hand, or by name only): "
                "re-create it by hand if it existed"
            )
        restored.append(_restore(definition, concurrent=bool(node.concurrent)))
    return list(reversed(restored))


def _drop_policy(node: Any, definitions: _Definitions) -> list[str]:
    return [f"DROP POLICY IF EXISTS {quote_ident(node.policy_name)} ON {_deparse(node.table)}"]


def _drop_type(node: Any, definitions: _Definitions) -> list[str]:
    if isinstance(node, ast.CompositeTypeStmt):
        typevar: Any = node.typevar  # a RangeVar whose inh=False would deparse as "ONLY name"
        name = quote_ident(typevar.relname)
        return [
            f"DROP TYPE IF EXISTS {quote_ident(typevar.schemaname) + '.' + name if typevar.schemaname else name}"
        ]
    if isinstance(node, ast.CreateDomainStmt):
        return [f"DROP DOMAIN IF EXISTS {_names(node.domainname)}"]
    return [f"DROP TYPE IF EXISTS {_names(node.typeName)}"]


def _drop_schema(node: Any, definitions: _Definitions) -> list[str]:
    if node.schemaElts:
        raise NotInvertible("CREATE SCHEMA with elements: split the elements into their own statements")
    return [f"DROP SCHEMA IF EXISTS {quote_ident(node.schemaname)}"]


def _drop_extension(node: Any, definitions: _Definitions) -> list[str]:
    return [f"DROP EXTENSION IF EXISTS {quote_ident(node.extname)}"]


def _drop_sequence(node: Any, definitions: _Definitions) -> list[str]:
    return [f"DROP SEQUENCE IF EXISTS {_deparse(node.sequence)}"]


def _flip_grant(node: Any, definitions: _Definitions) -> list[str]:
    inverse = copy.deepcopy(node)
    inverse.is_grant = not node.is_grant
    if node.is_grant:
        inverse.grant_option = False  # undo the whole grant, not only its grant option
    elif node.grant_option:
        raise NotInvertible("REVOKE GRANT OPTION FOR: whether the grant option was held before is unknown")
    return [_deparse(inverse)]


def _flip_role_grant(node: Any, definitions: _Definitions) -> list[str]:
    inverse = copy.deepcopy(node)
    inverse.is_grant = not node.is_grant
    inverse.opt = None
    return [_deparse(inverse)]


_RELATION_RENAMES = {
    ObjectType.OBJECT_TABLE,
    ObjectType.OBJECT_VIEW,
    ObjectType.OBJECT_MATVIEW,
    ObjectType.OBJECT_INDEX,
    ObjectType.OBJECT_SEQUENCE,
    ObjectType.OBJECT_FOREIGN_TABLE,
}
_SUBNAME_RENAMES = {
    ObjectType.OBJECT_COLUMN,
    ObjectType.OBJECT_TABCONSTRAINT,
    ObjectType.OBJECT_POLICY,
    ObjectType.OBJECT_TRIGGER,
    ObjectType.OBJECT_SCHEMA,
}


def _rename_back(node: Any, definitions: _Definitions) -> list[str]:
    inverse = copy.deepcopy(node)
    if node.renameType in _RELATION_RENAMES:
        inverse.relation.relname, inverse.newname = node.newname, node.relation.relname
    elif node.renameType in _SUBNAME_RENAMES:
        inverse.subname, inverse.newname = node.newname, node.subname
    elif isinstance(node.object, ast.ObjectWithArgs):
        function: Any = node.object
        names = list(function.objname)
        inverse.object.objname = (*names[:-1], ast.String(sval=node.newname))
        inverse.newname = names[-1].sval
    elif isinstance(node.object, tuple):
        names = list(node.object or ())
        inverse.object = (*names[:-1], ast.String(sval=node.newname))
        inverse.newname = names[-1].sval
    elif isinstance(node.object, ast.String):
        inverse.object, inverse.newname = ast.String(sval=node.newname), node.object.sval
    else:
        raise NotInvertible("lockgate does not know how to rename this kind of object back")
    return [_deparse(inverse)]


_FLIPPED_COMMANDS = {
    AlterTableType.AT_EnableRowSecurity: "DISABLE ROW LEVEL SECURITY",
    AlterTableType.AT_DisableRowSecurity: "ENABLE ROW LEVEL SECURITY",
    AlterTableType.AT_ForceRowSecurity: "NO FORCE ROW LEVEL SECURITY",
    AlterTableType.AT_NoForceRowSecurity: "FORCE ROW LEVEL SECURITY",
}


_TRIGGER_FLIPS = {
    AlterTableType.AT_EnableTrig: "DISABLE TRIGGER",
    AlterTableType.AT_DisableTrig: "ENABLE TRIGGER",
    AlterTableType.AT_EnableTrigAll: "DISABLE TRIGGER ALL",
    AlterTableType.AT_DisableTrigAll: "ENABLE TRIGGER ALL",
    AlterTableType.AT_EnableTrigUser: "DISABLE TRIGGER USER",
    AlterTableType.AT_DisableTrigUser: "ENABLE TRIGGER USER",
}


def _alter_table(node: Any, definitions: _Definitions) -> list[str]:
    if node.objtype != ObjectType.OBJECT_TABLE:
        raise NotInvertible("only ALTER TABLE is inverted (not ALTER INDEX/VIEW/SEQUENCE ...)")
    actions = [action for command in node.cmds if (action := _invert_table_command(command))]
    if not actions:
        return []
    exists = " IF EXISTS" if node.missing_ok else ""
    statement = f"ALTER TABLE{exists} {_deparse(node.relation)} {', '.join(reversed(actions))}"
    if _FLIPPED_COMMANDS[AlterTableType.AT_EnableRowSecurity] in actions:
        # Undoing ENABLE is what was asked for, but it exposes the table through the API again: say so in
        # the file, where the reviewer reads it, and keep lockgate's own hook from rejecting the revert.
        statement = (
            "-- lockgate-ignore: rls-disabled -- this revert restores the table as it was before RLS was "
            "enabled: check who can read and write it through the API before applying\n" + statement
        )
    return [statement]


def _invert_table_command(command: Any) -> str:
    subtype = command.subtype
    if subtype in _FLIPPED_COMMANDS:
        return _FLIPPED_COMMANDS[subtype]
    if subtype == AlterTableType.AT_AddColumn:
        return f"DROP COLUMN IF EXISTS {quote_ident(command.def_.colname)}"
    if subtype == AlterTableType.AT_SetNotNull:
        return f"ALTER COLUMN {quote_ident(command.name)} DROP NOT NULL"
    if subtype == AlterTableType.AT_DropNotNull:
        return f"ALTER COLUMN {quote_ident(command.name)} SET NOT NULL"
    if subtype == AlterTableType.AT_AddConstraint:
        name = command.def_.conname
        if not name:
            raise NotInvertible(
                "a constraint without a name gets one PostgreSQL chooses; name it (ADD CONSTRAINT name ...) so "
                "the revert can drop exactly that constraint"
            )
        return f"DROP CONSTRAINT IF EXISTS {quote_ident(name)}"
    if subtype == AlterTableType.AT_ValidateConstraint:
        return ""  # validating checks existing rows; the constraint itself is unchanged
    if subtype in _TRIGGER_FLIPS:
        target = f" {quote_ident(command.name)}" if command.name else ""
        return f"{_TRIGGER_FLIPS[subtype]}{target}"
    reasons = {
        AlterTableType.AT_DropColumn: "DROP COLUMN destroyed the column and its data",
        AlterTableType.AT_DropConstraint: "DROP CONSTRAINT: its definition is not in this migration",
        AlterTableType.AT_AlterColumnType: "ALTER COLUMN TYPE: the old type (and any data it rounded) is unknown",
        AlterTableType.AT_ColumnDefault: "SET/DROP DEFAULT: the previous default is unknown",
    }
    raise NotInvertible(
        reasons.get(subtype, f"ALTER TABLE ... {subtype.name.removeprefix('AT_')} is not inverted")
    )


_HANDLERS: dict[type, Callable[[Any, _Definitions], list[str]]] = {
    ast.CreateStmt: _drop_table,
    ast.CreateForeignTableStmt: _drop_table,
    ast.CreateTableAsStmt: _drop_table_as,
    ast.IndexStmt: _drop_index,
    ast.ViewStmt: _replace_or_drop,
    ast.CreateFunctionStmt: _replace_or_drop,
    ast.CreateTrigStmt: _drop_trigger,
    ast.CreatePolicyStmt: _drop_policy,
    ast.CreateEnumStmt: _drop_type,
    ast.CompositeTypeStmt: _drop_type,
    ast.CreateRangeStmt: _drop_type,
    ast.CreateDomainStmt: _drop_type,
    ast.CreateSchemaStmt: _drop_schema,
    ast.CreateExtensionStmt: _drop_extension,
    ast.CreateSeqStmt: _drop_sequence,
    ast.GrantStmt: _flip_grant,
    ast.GrantRoleStmt: _flip_role_grant,
    ast.RenameStmt: _rename_back,
    ast.AlterTableStmt: _alter_table,
    ast.DropStmt: _recreate_dropped,
}

_NOT_INVERTIBLE: dict[type, str] = {
    ast.DropStmt: "DROP destroyed the object (and its data); only functions, views, policies, triggers and "
    "indexes an earlier migration defines are re-created",
    ast.UpdateStmt: "UPDATE changed data; the old values are not in this migration",
    ast.DeleteStmt: "DELETE removed rows; they are not in this migration",
    ast.InsertStmt: "INSERT into an existing table: which rows to delete is a decision for a human",
    ast.TruncateStmt: "TRUNCATE removed every row",
    ast.DoStmt: "a DO block runs arbitrary code",
    ast.SelectStmt: "SELECT may call functions with side effects (cron.schedule, vault.create_secret, ...): "
    "undo them by hand, or delete this note if it only reads",
    ast.AlterEnumStmt: "ALTER TYPE ... ADD VALUE cannot be undone (PostgreSQL cannot drop an enum value)",
    ast.CommentStmt: "COMMENT ON an existing object: the previous comment is unknown",
    ast.AlterFunctionStmt: "ALTER FUNCTION: the previous settings are unknown",
    ast.AlterPolicyStmt: "ALTER POLICY: the previous definition is unknown",
}


def render_revert(migration: Migration, revert: Revert, date: str) -> str:
    """The revert file: a header, a loud comment block for what was not inverted, then the statements, each
    that lockgate's own linter would flag carrying an explained ``-- lockgate-ignore`` (undoing a migration
    is exactly the destructive change the rule warns about, and the reason belongs where the reviewer reads
    it), so the generated file passes ``lockgate lint`` as written."""
    header = _header(migration, revert, date)
    statements = list(revert.statements)
    for statement_index, rules in _flagged(header, statements).items():
        reasons = "; ".join(
            _REASONS.get(rule, _DEFAULT_REASON).format(file=migration.filename) for rule in rules
        )
        statements[statement_index] = (
            f"-- lockgate-ignore: {', '.join(rules)} -- {reasons}\n" + statements[statement_index]
        )
    return _assemble(header, statements)


def _header(migration: Migration, revert: Revert, date: str) -> list[str]:
    lines = [
        f"-- Migration: Revert {migration.id}",
        f"-- Date: {date}",
        f"-- Description: undoes {migration.filename} (generated by `lockgate create --revert "
        f"{migration.version_text}`): the inverse of each statement, in reverse order. Review before shipping.",
        "",
    ]
    if revert.not_invertible:
        rule = "-- " + "=" * 100
        lines += [
            rule,
            f"-- NOT REVERTED: {len(revert.not_invertible)} statement(s) of {migration.filename} cannot be undone "
            "automatically.",
            "-- Write their inverse by hand (or decide that none is needed), then delete this block.",
            "--",
        ]
        for skipped in revert.not_invertible:
            lines += [f"-- {migration.filename}:{skipped.line}: {skipped.summary}", f"--   {skipped.reason}"]
        lines += [rule, ""]
    return lines


def _assemble(header: list[str], statements: list[str]) -> str:
    lines = list(header)
    for statement in statements:
        lines += [f"{statement};", ""]
    return "\n".join(lines)


_REASONS = {
    "drop-table": "undoing {file}, which created this table",
    "drop-column": "undoing {file}, which added this column",
    "drop-schema": "undoing {file}, which created this schema",
    "drop-index-without-concurrently": "a revert is one transaction with the rest of the undo, which DROP INDEX "
    "CONCURRENTLY cannot join",
    "access-exclusive-multiple-tables": "undoing {file} locks the tables it changed; apply it while they are quiet",
    "rename-table": "undoing {file}, which renamed this table",
    "rename-column": "undoing {file}, which renamed this column",
}
_DEFAULT_REASON = "part of undoing {file}; review it before shipping"


def _flagged(header: list[str], statements: list[str]) -> dict[int, list[str]]:
    """Which statements (by index) lockgate's linter flags, and for which rules, in the revert as written
    (the Supabase rules included: a revert may be shipped to a Supabase project)."""
    from lockgate.lint.configuration import build_settings
    from lockgate.lint.engine import lint_text

    text = _assemble(header, statements)
    first_line = len(header) + 1
    starts: list[int] = []
    line = first_line
    for statement in statements:
        starts.append(line)
        line += f"{statement};".count("\n") + 2
    flagged: dict[int, list[str]] = {}
    settings = build_settings(extra_select=["supabase"])
    for finding in lint_text(text, "<revert>", settings).findings:
        index = max((i for i, start in enumerate(starts) if start <= finding.line), default=None)
        if index is None:
            continue
        rules = flagged.setdefault(index, [])
        if finding.rule_id not in rules:
            rules.append(finding.rule_id)
    return flagged


def write_revert(directory: Path, version: str, now: datetime) -> tuple[Path, Revert]:
    """Write ``<next timestamp>_revert_<name>.sql`` undoing the migration with ``version`` in ``directory``;
    the ``create --revert`` door prints what it wrote and what it could not invert."""
    migrations = discover(directory).migrations
    matches = [m for m in migrations if version in (m.version_text, str(m.version))]
    if not matches:
        raise SourceError(f"--revert {version}: no migration file has that version in {directory}")
    if len(matches) > 1:
        raise SourceError(
            f"--revert {version}: {len(matches)} files have that version ({', '.join(m.filename for m in matches)})"
        )
    (migration,) = matches
    earlier = [m for m in migrations if m.version < migration.version]
    revert = build_revert(migration, earlier)
    filename = f"{next_version([m.version for m in migrations], now)}_revert_{migration.name}.sql"
    path = directory / filename
    with path.open("x", encoding="utf-8") as handle:
        handle.write(render_revert(migration, revert, now.strftime("%Y-%m-%d")))
    return path, revert
