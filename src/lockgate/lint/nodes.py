"""Small helpers over pglast's JSON parse tree (plain dicts), shared by all rules.

Node-typed fields appear as ``{"TypeName": {...}}`` wrappers; fields of a fixed struct type (a
``RangeVar`` relation, a ``TypeName``) appear unwrapped. These helpers accept both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Relation names are normalised in one place, lockgate.locks; rules keep reaching them through here.
from lockgate.locks import DEFAULT_SCHEMA as DEFAULT_SCHEMA
from lockgate.locks import qualified_name as qualified_name
from lockgate.statements import Node


def unwrap(node: Any, kind: str) -> Node | None:
    """``node`` as a ``kind`` node whether or not it carries the ``{kind: ...}`` wrapper."""
    if node.__class__ is not dict:
        return None
    inner = node.get(kind)
    return inner if inner.__class__ is dict else node


def walk(node: Any) -> Iterator[tuple[str, Node]]:
    """Every wrapped node under ``node`` (depth-first, in source order) as ``(type name, fields)``.

    Iterative rather than recursive: parse trees of generated SQL can be deeper than Python's stack.
    This is the hottest loop of the linter, hence the class checks instead of ``isinstance``.
    """
    stack: list[tuple[str | None, Any]] = [(None, node)]
    pop, push = stack.pop, stack.append
    while stack:
        key, current = pop()
        if current.__class__ is dict:
            if key is not None and key[:1].isupper():
                yield key, current
            for child_key, value in reversed(current.items()):
                if value.__class__ is dict or value.__class__ is list:
                    push((child_key, value))
        elif current.__class__ is list:
            for item in reversed(current):
                if item.__class__ is dict or item.__class__ is list:
                    push((None, item))


_INDEX_LIMIT = 4096
_index_cache: dict[int, tuple[Any, dict[str, list[Node]]]] = {}


def index(node: Any) -> dict[str, list[Node]]:
    """Every wrapped node under ``node`` grouped by type name (source order within a type).

    Many rules look for one kind of node in the same statement; walking the tree once per statement
    instead of once per rule halves the linter's time. Cached by identity: the cache holds a reference
    to ``node`` so its id cannot be reused while the entry lives, and it is emptied when it grows.
    """
    identity = id(node)
    cached = _index_cache.get(identity)
    if cached is not None and cached[0] is node:
        return cached[1]
    grouped: dict[str, list[Node]] = {}
    # ``walk`` inlined (no generator round trip per node): this is the linter's hottest loop.
    stack: list[tuple[str | None, Any]] = [(None, node)]
    pop, push = stack.pop, stack.append
    while stack:
        key, current = pop()
        if current.__class__ is dict:
            if key is not None and key[:1].isupper():
                found = grouped.get(key)
                if found is None:
                    grouped[key] = [current]
                else:
                    found.append(current)
            for child_key, value in reversed(current.items()):
                if value.__class__ is dict or value.__class__ is list:
                    push((child_key, value))
        elif current.__class__ is list:
            for item in reversed(current):
                if item.__class__ is dict or item.__class__ is list:
                    push((None, item))
    if len(_index_cache) >= _INDEX_LIMIT:
        _index_cache.clear()
    _index_cache[identity] = (node, grouped)
    return grouped


def find(node: Any, kind: str) -> list[Node]:
    """The ``kind`` nodes under ``node``, in source order (see ``index``)."""
    return index(node).get(kind, [])


def name_list(names: Any) -> list[str]:
    """``[{"String": {"sval": "pg_catalog"}}, ...]`` -> ``["pg_catalog", ...]``."""
    out: list[str] = []
    for item in names or []:
        string = unwrap(item, "String")
        if string is not None and "sval" in string:
            out.append(str(string["sval"]))
    return out


def qualified_list_name(names: Any, default_schema: str = DEFAULT_SCHEMA) -> str:
    """A dotted name list (types, functions) as ``schema.name``."""
    parts = name_list(names)
    if len(parts) == 1:
        return f"{default_schema}.{parts[0]}"
    return ".".join(parts[-2:])


def type_name(type_node: Any) -> str:
    """The last part of a TypeName (``int4``, ``varchar``, ``text``, or a user type name)."""
    parts = name_list((unwrap(type_node, "TypeName") or {}).get("names"))
    return parts[-1] if parts else ""


def type_modifiers(type_node: Any) -> list[int]:
    """Integer type modifiers (``varchar(20)`` -> ``[20]``, ``numeric(10, 2)`` -> ``[10, 2]``)."""
    mods: list[int] = []
    for item in (unwrap(type_node, "TypeName") or {}).get("typmods", []) or []:
        const = unwrap(item, "A_Const") or {}
        ival = const.get("ival")
        if isinstance(ival, dict):
            mods.append(int(ival.get("ival", 0)))
    return mods


def string_constant(node: Any) -> str | None:
    """The value of an ``A_Const`` string literal, else None."""
    const = unwrap(node, "A_Const")
    if not const or not isinstance(const.get("sval"), dict):
        return None
    value = const["sval"].get("sval", "")
    return str(value)


def def_elem(options: Any, name: str) -> Node | None:
    """The ``DefElem`` called ``name`` in an options list."""
    for option in options or []:
        elem = unwrap(option, "DefElem")
        if elem is not None and elem.get("defname") == name:
            return elem
    return None


def location(node: Any) -> int | None:
    """The byte offset of a node (wrapped or not), when pglast recorded one (-1 means unknown)."""
    if not isinstance(node, dict):
        return None
    if len(node) == 1:
        inner = next(iter(node.values()))
        if isinstance(inner, dict) and "location" in inner:
            node = inner
    value = node.get("location")
    return value if isinstance(value, int) and value >= 0 else None


def alter_table_commands(node: Node) -> list[Node]:
    """The ``AlterTableCmd`` dicts of an ``ALTER TABLE`` statement (empty for other object types)."""
    if node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
        return []
    return [cmd for item in node.get("cmds", []) if (cmd := unwrap(item, "AlterTableCmd")) is not None]


def constraints(column_def: Any) -> list[Node]:
    """The ``Constraint`` dicts attached to a ``ColumnDef`` (NOT NULL, DEFAULT, REFERENCES...)."""
    column = unwrap(column_def, "ColumnDef") or {}
    return [
        c for item in column.get("constraints", []) or [] if (c := unwrap(item, "Constraint")) is not None
    ]


def command_constraint(cmd: Node) -> Node | None:
    """The ``Constraint`` of an ``ADD CONSTRAINT`` command."""
    definition = cmd.get("def")
    if isinstance(definition, dict) and "Constraint" in definition:
        return unwrap(definition, "Constraint")
    return None


def command_column(cmd: Node) -> Node | None:
    """The ``ColumnDef`` of an ``ADD COLUMN`` / ``ALTER COLUMN TYPE`` command."""
    definition = cmd.get("def")
    if isinstance(definition, dict) and "ColumnDef" in definition:
        return unwrap(definition, "ColumnDef")
    return None


def function_name(func_call: Node) -> str:
    """The unqualified, lower-case name of a ``FuncCall``."""
    parts = name_list(func_call.get("funcname"))
    return parts[-1].lower() if parts else ""
