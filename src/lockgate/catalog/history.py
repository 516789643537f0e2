"""The schema a migration history builds, replayed statically through PostgreSQL's parser (no database).

Each file is reduced to a short list of schema operations (``ops``: create/drop/rename a table, add/drop/
retype a column, create/drop an index, create a function with its volatility...), then the operations of
the files before a migration are applied in version order to get the catalog that migration will meet.

Only what the parse tree states is recorded: a ``CREATE TABLE ... AS`` table has columns of unknown type,
a ``DO`` block's dynamic SQL is not followed, and an object the history never mentions is simply absent,
so rules fall back to what they did without a catalog. The operations are plain tuples so that a cache
can keep them per file (``ops_cache``): the pre-commit hook then replays a thousand files without
parsing them again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lockgate.catalog.model import Catalog, Column, Index, Table
from lockgate.locks import dotted_name, qualified_name
from lockgate.statements import Node, ParsedSql

Op = tuple[Any, ...] | list[Any]


def _names(items: Any) -> list[str]:
    out: list[str] = []
    for item in items or []:
        string = item.get("String", item) if isinstance(item, dict) else {}
        if isinstance(string, dict) and "sval" in string:
            out.append(str(string["sval"]))
    return out


def _type(type_node: Any) -> tuple[str, tuple[int, ...]]:
    node = (type_node or {}).get("TypeName", type_node or {})
    names = _names(node.get("names"))
    mods: list[int] = []
    for item in node.get("typmods") or []:
        const = item.get("A_Const", {}) if isinstance(item, dict) else {}
        ival = const.get("ival")
        if isinstance(ival, dict):
            mods.append(int(ival.get("ival", 0)))
    array = "[]" if node.get("arrayBounds") else ""
    return (names[-1] + array if names else ""), tuple(mods)


def _column(definition: Node) -> tuple[str, str, tuple[int, ...], bool]:
    type_name, mods = _type(definition.get("typeName"))
    not_null = any(
        (item.get("Constraint", {}).get("contype") in {"CONSTR_NOTNULL", "CONSTR_PRIMARY"})
        for item in definition.get("constraints") or []
    )
    return str(definition.get("colname", "")), type_name, mods, not_null


def file_ops(parsed: ParsedSql) -> list[Op]:
    """The schema operations of one parsed migration, in statement order."""
    return statement_ops((statement.kind, statement.node) for statement in parsed.statements)


def statement_ops(statements: Iterable[tuple[str, Node]]) -> list[Op]:
    """The schema operations of ``(node kind, node)`` pairs, in order."""
    ops: list[Op] = []
    for kind, node in statements:
        handler = _HANDLERS.get(kind)
        if handler is not None:
            ops.extend(handler(node))
    return ops


def _create_table(node: Node) -> list[Op]:
    relation = node.get("relation") or {}
    if relation.get("relpersistence") == "t":
        return []
    columns = [_column(item["ColumnDef"]) for item in node.get("tableElts") or [] if "ColumnDef" in item]
    return [("create_table", qualified_name(relation), columns, bool(node.get("partspec")))]


def _create_table_as(node: Node) -> list[Op]:
    into = node.get("into") or {}
    relation = into.get("rel") or {}
    if relation.get("relpersistence") == "t" or node.get("objtype") not in (None, "OBJECT_TABLE"):
        return []
    return [("create_table", qualified_name(relation), [], False)]


def _alter_table(node: Node) -> list[Op]:
    if node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
        return []
    table = qualified_name(node.get("relation"))
    ops: list[Op] = []
    for item in node.get("cmds") or []:
        cmd = item.get("AlterTableCmd", {})
        subtype, name = cmd.get("subtype"), cmd.get("name")
        definition = (cmd.get("def") or {}).get("ColumnDef")
        if subtype == "AT_AddColumn" and definition:
            ops.append(("add_column", table, *_column(definition)))
        elif subtype == "AT_DropColumn":
            ops.append(("drop_column", table, name))
        elif subtype == "AT_AlterColumnType" and definition is not None:
            type_name, mods = _type(definition.get("typeName"))
            ops.append(("alter_type", table, name, type_name, mods))
        elif subtype in {"AT_SetNotNull", "AT_DropNotNull"}:
            ops.append(("not_null", table, name, subtype == "AT_SetNotNull"))
    return ops


def _rename(node: Node) -> list[Op]:
    kind = node.get("renameType")
    new = str(node.get("newname", ""))
    if kind == "OBJECT_TABLE":
        old = qualified_name(node.get("relation"))
        return [("rename_table", old, f"{old.rsplit('.', 1)[0]}.{new}")]
    if kind == "OBJECT_COLUMN" and node.get("relationType", "OBJECT_TABLE") == "OBJECT_TABLE":
        return [("rename_column", qualified_name(node.get("relation")), node.get("subname"), new)]
    if kind == "OBJECT_INDEX":
        old = qualified_name(node.get("relation"))
        return [("rename_index", old, f"{old.rsplit('.', 1)[0]}.{new}")]
    return []


def _drop(node: Node) -> list[Op]:
    kind = {"OBJECT_TABLE": "drop_table", "OBJECT_INDEX": "drop_index"}.get(node.get("removeType", ""))
    if kind is None:
        return []
    return [
        (kind, dotted_name(_names(item.get("List", {}).get("items")))) for item in node.get("objects") or []
    ]


def _create_index(node: Node) -> list[Op]:
    table = qualified_name(node.get("relation"))
    name = node.get("idxname")
    if not name:
        return []
    columns = tuple(
        str(item.get("IndexElem", {}).get("name"))
        for item in node.get("indexParams") or []
        if item.get("IndexElem", {}).get("name")
    )
    return [("create_index", f"{table.rsplit('.', 1)[0]}.{name}", table, columns)]


def _create_function(node: Node) -> list[Op]:
    volatility = "volatile"
    for option in node.get("options") or []:
        element = option.get("DefElem", {})
        if element.get("defname") == "volatility":
            volatility = str((element.get("arg") or {}).get("String", {}).get("sval", "volatile"))
    return [("create_function", dotted_name(_names(node.get("funcname"))), volatility)]


_HANDLERS = {
    "CreateStmt": _create_table,
    "CreateTableAsStmt": _create_table_as,
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "DropStmt": _drop,
    "IndexStmt": _create_index,
    "CreateFunctionStmt": _create_function,
}


def apply(catalog: Catalog, ops: Iterable[Op], version: int | None = None) -> None:
    """Apply one file's operations to ``catalog`` in place (tables replaced, never mutated: snapshots
    taken before stay as they were)."""
    for op in ops:
        _APPLY[op[0]](catalog, version, *op[1:])


def _apply_create_table(
    catalog: Catalog, version: int | None, name: str, columns: list[Any], partitioned: bool
) -> None:
    built = {column[0]: Column(column[0], column[1], tuple(column[2]), bool(column[3])) for column in columns}
    catalog.tables[name] = Table(name, built, partitioned=partitioned, created_in=version)


def _with_table(catalog: Catalog, name: str, **changes: object) -> None:
    table = catalog.tables.get(name)
    if table is not None:
        catalog.tables[name] = table.replaced(**changes)


def _apply_add_column(
    catalog: Catalog, version: int | None, table: str, name: str, type_name: str, mods: Any, not_null: bool
) -> None:
    found = catalog.tables.get(table)
    if found is not None:
        _with_table(
            catalog, table, columns={**found.columns, name: Column(name, type_name, tuple(mods), not_null)}
        )


def _apply_drop_column(catalog: Catalog, version: int | None, table: str, name: str) -> None:
    found = catalog.tables.get(table)
    if found is not None and name in found.columns:
        _with_table(catalog, table, columns={k: v for k, v in found.columns.items() if k != name})
        for index_name, index in list(catalog.indexes.items()):
            if index.table == table and name in index.columns:
                del catalog.indexes[index_name]


def _apply_alter_type(
    catalog: Catalog, version: int | None, table: str, name: str, type_name: str, mods: Any
) -> None:
    found = catalog.tables.get(table)
    if found is not None and name in found.columns:
        column = found.columns[name].replaced(type_name=type_name, typmods=tuple(mods))
        _with_table(catalog, table, columns={**found.columns, name: column})


def _apply_not_null(catalog: Catalog, version: int | None, table: str, name: str, value: bool) -> None:
    found = catalog.tables.get(table)
    if found is not None and name in found.columns:
        _with_table(
            catalog, table, columns={**found.columns, name: found.columns[name].replaced(not_null=value)}
        )


def _apply_rename_table(catalog: Catalog, version: int | None, old: str, new: str) -> None:
    table = catalog.tables.pop(old, None)
    if table is not None:
        catalog.tables[new] = table.replaced(name=new)
        for name, index in list(catalog.indexes.items()):
            if index.table == old:
                catalog.indexes[name] = Index(index.name, new, index.columns)


def _apply_rename_column(catalog: Catalog, version: int | None, table: str, old: str, new: str) -> None:
    found = catalog.tables.get(table)
    if found is not None and old in found.columns:
        columns = {
            (new if key == old else key): (value.replaced(name=new) if key == old else value)
            for key, value in found.columns.items()
        }
        _with_table(catalog, table, columns=columns)
        for name, index in list(catalog.indexes.items()):
            if index.table == table and old in index.columns:
                catalog.indexes[name] = Index(
                    index.name, table, tuple(new if c == old else c for c in index.columns)
                )


def _apply_rename_index(catalog: Catalog, version: int | None, old: str, new: str) -> None:
    index = catalog.indexes.pop(old, None)
    if index is not None:
        catalog.indexes[new] = Index(new, index.table, index.columns)


def _apply_drop_table(catalog: Catalog, version: int | None, name: str) -> None:
    catalog.tables.pop(name, None)
    for index_name, index in list(catalog.indexes.items()):
        if index.table == name:
            del catalog.indexes[index_name]


def _apply_drop_index(catalog: Catalog, version: int | None, name: str) -> None:
    catalog.indexes.pop(name, None)


def _apply_create_index(catalog: Catalog, version: int | None, name: str, table: str, columns: Any) -> None:
    catalog.indexes[name] = Index(name, table, tuple(columns))


def _apply_create_function(catalog: Catalog, version: int | None, name: str, volatility: str) -> None:
    catalog.functions[name] = volatility


_APPLY: dict[str, Any] = {
    "create_table": _apply_create_table,
    "add_column": _apply_add_column,
    "drop_column": _apply_drop_column,
    "alter_type": _apply_alter_type,
    "not_null": _apply_not_null,
    "rename_table": _apply_rename_table,
    "rename_column": _apply_rename_column,
    "rename_index": _apply_rename_index,
    "drop_table": _apply_drop_table,
    "drop_index": _apply_drop_index,
    "create_index": _apply_create_index,
    "create_function": _apply_create_function,
}
