"""Which lock each statement takes on which existing table, for the pull-request plan table.

A reviewer of a migration needs one fact the SQL does not spell out: *what does this block while it
runs?* The answer comes from the statement kind (read from pglast's parse tree, never from text) and
PostgreSQL's documented lock levels ("Explicit Locking", table-level lock modes, and each command's
reference page). The table below is the whole knowledge; everything else walks the parse tree.

Only tables that already exist matter: a table created earlier in the same plan has no readers yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lockgate.statements import Statement

Node = dict[str, Any]

# PostgreSQL's table-level lock modes, weakest first (the docs' "Conflicting Lock Modes" order).
LOCK_MODES = (
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
)
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"

# Statement kinds with one fixed lock on their target relation(s); (plain, CONCURRENTLY) where it differs.
STATEMENT_LOCKS: dict[str, tuple[str, str]] = {
    "IndexStmt": ("SHARE", SHARE_UPDATE_EXCLUSIVE),  # CREATE INDEX [CONCURRENTLY]
    "ReindexStmt": ("SHARE", SHARE_UPDATE_EXCLUSIVE),  # REINDEX [CONCURRENTLY] (table lock)
    "RefreshMatViewStmt": (ACCESS_EXCLUSIVE, "EXCLUSIVE"),  # REFRESH MATERIALIZED VIEW [CONCURRENTLY]
    "TruncateStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "ClusterStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "CreateTrigStmt": (SHARE_ROW_EXCLUSIVE, SHARE_ROW_EXCLUSIVE),
    "RuleStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "CreatePolicyStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "AlterPolicyStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "CreateStatsStmt": (SHARE_UPDATE_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE),
    "InsertStmt": ("ROW EXCLUSIVE", "ROW EXCLUSIVE"),
    "UpdateStmt": ("ROW EXCLUSIVE", "ROW EXCLUSIVE"),
    "DeleteStmt": ("ROW EXCLUSIVE", "ROW EXCLUSIVE"),
    "MergeStmt": ("ROW EXCLUSIVE", "ROW EXCLUSIVE"),
}

# ALTER TABLE subcommands weaker than ACCESS EXCLUSIVE (the ALTER TABLE reference page, "Notes").
ALTER_TABLE_LOCKS: dict[str, str] = {
    "AT_SetStatistics": SHARE_UPDATE_EXCLUSIVE,
    "AT_ClusterOn": SHARE_UPDATE_EXCLUSIVE,
    "AT_DropCluster": SHARE_UPDATE_EXCLUSIVE,
    "AT_SetRelOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_ResetRelOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_ValidateConstraint": SHARE_UPDATE_EXCLUSIVE,
    "AT_AttachPartition": SHARE_UPDATE_EXCLUSIVE,
    "AT_DetachPartitionFinalize": SHARE_UPDATE_EXCLUSIVE,
    "AT_EnableTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableAlwaysTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableReplicaTrig": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigAll": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigAll": SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigUser": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigUser": SHARE_ROW_EXCLUSIVE,
}

# LOCK TABLE ... IN <mode>: pglast gives PostgreSQL's LOCKMODE number (1 = ACCESS SHARE).
_LOCKMODE_NUMBERS = dict(enumerate(LOCK_MODES, start=1))


@dataclass(frozen=True, order=True)
class TableLock:
    """``mode`` taken on ``table`` by the statement at ``line``."""

    table: str
    mode: str
    line: int

    def __str__(self) -> str:
        return f"{self.mode} on {self.table}"


def strength(mode: str) -> int:
    return LOCK_MODES.index(mode)


def relation_name(range_var: Node) -> str:
    schema = range_var.get("schemaname")
    name = str(range_var.get("relname", "?"))
    return f"{schema}.{name}" if schema else name


def _qualified(items: Iterable[Node]) -> str:
    return ".".join(str(item.get("String", {}).get("sval", "?")) for item in items)


def _foreign_key_targets(constraints: Iterable[Node]) -> Iterator[str]:
    for constraint in constraints:
        body = constraint.get("Constraint", {})
        if body.get("contype") == "CONSTR_FOREIGN" and "pktable" in body:
            yield relation_name(body["pktable"])


def _alter_table(node: Node) -> Iterator[tuple[str, str]]:
    """The strongest subcommand lock on the table, plus SHARE ROW EXCLUSIVE on referenced tables."""
    table = relation_name(node.get("relation", {}))
    modes: list[str] = []
    for wrapped in node.get("cmds", []):
        command = wrapped.get("AlterTableCmd", {})
        subtype = str(command.get("subtype", ""))
        definition = command.get("def", {})
        if subtype == "AT_AddConstraint":
            references = list(_foreign_key_targets([definition]))
            if references:
                modes.append(SHARE_ROW_EXCLUSIVE)
                yield from ((reference, SHARE_ROW_EXCLUSIVE) for reference in references)
                continue
        if subtype == "AT_AddColumn":
            column_constraints = definition.get("ColumnDef", {}).get("constraints", [])
            yield from ((ref, SHARE_ROW_EXCLUSIVE) for ref in _foreign_key_targets(column_constraints))
        modes.append(ALTER_TABLE_LOCKS.get(subtype, ACCESS_EXCLUSIVE))
    if modes:
        yield table, max(modes, key=strength)


def _create_table(node: Node) -> Iterator[tuple[str, str]]:
    """A new table locks nothing but the tables its foreign keys reference."""
    for element in node.get("tableElts", []):
        if "Constraint" in element:
            yield from ((ref, SHARE_ROW_EXCLUSIVE) for ref in _foreign_key_targets([element]))
        column = element.get("ColumnDef", {})
        yield from ((ref, SHARE_ROW_EXCLUSIVE) for ref in _foreign_key_targets(column.get("constraints", [])))


def _drop(node: Node) -> Iterator[tuple[str, str]]:
    remove_type = node.get("removeType")
    if remove_type not in {"OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_VIEW", "OBJECT_MATVIEW"}:
        return
    mode = SHARE_UPDATE_EXCLUSIVE if node.get("concurrent") else ACCESS_EXCLUSIVE
    for item in node.get("objects", []):
        yield _qualified(item.get("List", {}).get("items", [])), mode


def _rename(node: Node) -> Iterator[tuple[str, str]]:
    if "relation" not in node:
        return
    # Renaming an index takes SHARE UPDATE EXCLUSIVE since PostgreSQL 12; everything else ACCESS EXCLUSIVE.
    mode = SHARE_UPDATE_EXCLUSIVE if node.get("renameType") == "OBJECT_INDEX" else ACCESS_EXCLUSIVE
    yield relation_name(node["relation"]), mode


def _vacuum(node: Node) -> Iterator[tuple[str, str]]:
    full = any(option.get("DefElem", {}).get("defname") == "full" for option in node.get("options", []))
    mode = ACCESS_EXCLUSIVE if full else SHARE_UPDATE_EXCLUSIVE
    for rel in node.get("rels", []):
        yield relation_name(rel.get("VacuumRelation", {}).get("relation", {})), mode


def _lock(node: Node) -> Iterator[tuple[str, str]]:
    mode = _LOCKMODE_NUMBERS.get(int(node.get("mode", 8)), ACCESS_EXCLUSIVE)
    for rel in node.get("relations", []):
        yield relation_name(rel.get("RangeVar", {})), mode


def _fixed(kind: str, node: Node) -> Iterator[tuple[str, str]]:
    plain, concurrent = STATEMENT_LOCKS[kind]
    mode = concurrent if node.get("concurrent") or _has_concurrently_option(node) else plain
    relations = [node[key] for key in ("relation", "table") if isinstance(node.get(key), dict)]
    relations += [rel.get("RangeVar", {}) for rel in node.get("relations", [])]
    for relation in relations:
        yield relation_name(relation), mode


def _has_concurrently_option(node: Node) -> bool:
    """REINDEX spells CONCURRENTLY as an option (``params``), not a flag."""
    return any(p.get("DefElem", {}).get("defname") == "concurrently" for p in node.get("params", []))


_WALKERS = {
    "AlterTableStmt": _alter_table,
    "CreateStmt": _create_table,
    "DropStmt": _drop,
    "RenameStmt": _rename,
    "VacuumStmt": _vacuum,
    "LockStmt": _lock,
}


def statement_locks(statement: Statement) -> list[TableLock]:
    """Every (table, lock mode) one statement takes; empty for statements that lock no table."""
    walker = _WALKERS.get(statement.kind)
    if walker is not None:
        pairs = list(walker(statement.node))
    elif statement.kind in STATEMENT_LOCKS:
        pairs = list(_fixed(statement.kind, statement.node))
    else:
        pairs = []
    return [TableLock(table, mode, statement.line) for table, mode in pairs]


def created_tables(statement: Statement) -> list[str]:
    """Tables a statement creates: later statements on them lock nothing anyone else is using."""
    if statement.kind == "CreateStmt":
        return [relation_name(statement.node.get("relation", {}))]
    if statement.kind == "CreateTableAsStmt":
        into = statement.node.get("into", {})
        return [relation_name(into.get("rel", {}))]
    return []


def _bare(name: str) -> str:
    return name.removeprefix("public.")


def locks_on_existing_tables(statements: Iterable[Statement], created: set[str]) -> list[TableLock]:
    """Locks on tables that exist before the plan runs; ``created`` grows with tables the plan makes.

    Names lose their ``public.`` prefix, which is where unqualified names resolve in a migration
    (lockgate never changes ``search_path``), so ``accounts`` and ``public.accounts`` are one table.
    """
    found: list[TableLock] = []
    for statement in statements:
        for lock in statement_locks(statement):
            table = _bare(lock.table)
            if table not in created:
                found.append(TableLock(table, lock.mode, lock.line))
        created.update(_bare(name) for name in created_tables(statement))
    return found


def summarise(locks: Iterable[TableLock]) -> list[str]:
    """One ``MODE on table`` per table, the strongest mode each table gets, strongest first."""
    strongest: dict[str, str] = {}
    for lock in locks:
        current = strongest.get(lock.table)
        if current is None or strength(lock.mode) > strength(current):
            strongest[lock.table] = lock.mode
    ordered = sorted(strongest.items(), key=lambda item: (-strength(item[1]), item[0]))
    return [f"{mode} on {table}" for table, mode in ordered]
