"""Which lock each statement takes on which relation: lockgate's one table of PostgreSQL's lock levels.

A reviewer of a migration needs one fact the SQL does not spell out: *what does this block while it
runs?* The answer comes from the statement kind (read from pglast's parse tree, never from text) and
PostgreSQL's documented lock levels ("Explicit Locking", each command's reference page, and
``AlterTableGetLockLevel`` in ``tablecmds.c`` for ``ALTER TABLE``). This module is the whole of that
knowledge; the PR plan table, the lint stage's lock-safety rules, ``lockgate run --dry-run`` and the
API's pending list all ask it, so they cannot disagree.

Only relations that already exist matter: a table created earlier in the same file (or the same plan)
has no readers or writers yet. ``CreatedRelations`` tracks what statements create, and names are
normalised here too (``t`` and ``public.t`` are one table: unqualified names resolve to ``public``,
because lockgate never changes ``search_path``).

Pure and light: no database, no click, no dataclasses (the lint hook imports it on its start-up path).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from lockgate.errors import LockgateError
from lockgate.statements import Node

if TYPE_CHECKING:
    from lockgate.source import Migration
    from lockgate.statements import Statement


DEFAULT_SCHEMA = "public"

# PostgreSQL's table-level lock modes, weakest first (the docs' "Conflicting Lock Modes" order; a
# LOCK TABLE statement's ``mode`` is the 1-based position here).
ACCESS_SHARE = "ACCESS SHARE"
ROW_SHARE = "ROW SHARE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
SHARE = "SHARE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
LOCK_MODES = (
    ACCESS_SHARE,
    ROW_SHARE,
    ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    EXCLUSIVE,
    ACCESS_EXCLUSIVE,
)
_STRENGTH = {mode: number for number, mode in enumerate(LOCK_MODES)}
CONFLICTS: dict[str, frozenset[str]] = {
    ACCESS_SHARE: frozenset({ACCESS_EXCLUSIVE}),
    ROW_SHARE: frozenset({EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ROW_EXCLUSIVE: frozenset({SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE_UPDATE_EXCLUSIVE: frozenset(LOCK_MODES[3:]),
    SHARE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, *LOCK_MODES[5:]}),
    SHARE_ROW_EXCLUSIVE: frozenset(LOCK_MODES[2:]),
    EXCLUSIVE: frozenset(LOCK_MODES[1:]),
    ACCESS_EXCLUSIVE: frozenset(LOCK_MODES),
}
"""Which held modes each requested mode waits for: PostgreSQL's table-level conflict matrix (the docs'
"Conflicting Lock Modes"). ``blockers`` uses it to name the session a lock timeout waited on."""
_LOCKMODE_NUMBERS = dict(enumerate(LOCK_MODES, start=1))

FOREIGN_KEY_LOCK = SHARE_ROW_EXCLUSIVE
"""Adding a foreign key adds triggers to both tables: this lock on the table and on the one it references."""
REINDEX_TABLE_LOCK = SHARE
"""REINDEX (without CONCURRENTLY) on the table whose indexes it rebuilds: writes wait."""
REINDEX_INDEX_LOCK = ACCESS_EXCLUSIVE
"""REINDEX (without CONCURRENTLY) on each index it rebuilds: queries that would use it wait."""
DOMAIN_CHECK_LOCK = SHARE
"""Checking a domain's values (``ALTER DOMAIN`` adding a validated constraint, ``SET NOT NULL``, and also
``VALIDATE CONSTRAINT``, through PostgreSQL 18 at least): on every table with a column of the domain, while
each of its rows is checked (``typecmds.c``'s ``get_rels_with_domain``). Writes wait."""

# What a lock is on, as the statement spells it. Lint's lock-safety rules care about tables and
# materialized views (they hold rows); the PR plan table shows every kind.
TABLE = "table"
MATERIALIZED_VIEW = "materialized view"
VIEW = "view"
INDEX = "index"
SEQUENCE = "sequence"
FOREIGN_TABLE = "foreign table"
TYPE = "type"
ROW_HOLDING = frozenset({TABLE, MATERIALIZED_VIEW})

_OBJECT_KINDS = {
    "OBJECT_TABLE": TABLE,
    "OBJECT_MATVIEW": MATERIALIZED_VIEW,
    "OBJECT_VIEW": VIEW,
    "OBJECT_INDEX": INDEX,
    "OBJECT_SEQUENCE": SEQUENCE,
    "OBJECT_FOREIGN_TABLE": FOREIGN_TABLE,
    "OBJECT_TYPE": TYPE,
    "OBJECT_ATTRIBUTE": TYPE,
}

# Statement kinds with one fixed lock on the relation(s) they name: (plain, CONCURRENTLY).
_STATEMENT_LOCKS: dict[str, tuple[str, str]] = {
    "IndexStmt": (SHARE, SHARE_UPDATE_EXCLUSIVE),  # CREATE INDEX [CONCURRENTLY]
    "RefreshMatViewStmt": (ACCESS_EXCLUSIVE, EXCLUSIVE),  # REFRESH MATERIALIZED VIEW [CONCURRENTLY]
    "TruncateStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "ClusterStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "CreateTrigStmt": (SHARE_ROW_EXCLUSIVE, SHARE_ROW_EXCLUSIVE),
    "RuleStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "CreatePolicyStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "AlterPolicyStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
    "CreateStatsStmt": (SHARE_UPDATE_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE),
    "InsertStmt": (ROW_EXCLUSIVE, ROW_EXCLUSIVE),
    "UpdateStmt": (ROW_EXCLUSIVE, ROW_EXCLUSIVE),
    "DeleteStmt": (ROW_EXCLUSIVE, ROW_EXCLUSIVE),
    "MergeStmt": (ROW_EXCLUSIVE, ROW_EXCLUSIVE),
    # ALTER TABLE|INDEX|MATERIALIZED VIEW ALL IN TABLESPACE ... SET TABLESPACE: every relation it moves
    # (it names none, so ``targets`` yields nothing: which relations live in a tablespace is not known here).
    "AlterTableMoveAllStmt": (ACCESS_EXCLUSIVE, ACCESS_EXCLUSIVE),
}
_STATEMENT_KINDS = {"RefreshMatViewStmt": MATERIALIZED_VIEW}

# ALTER TABLE subcommands weaker than ACCESS EXCLUSIVE (PostgreSQL's AlterTableGetLockLevel; everything
# else, SET COMPRESSION included, takes ACCESS EXCLUSIVE). Foreign keys and DETACH PARTITION
# CONCURRENTLY depend on the command's definition: see ``alter_command_lock``.
_ALTER_TABLE_LOCKS: dict[str, str] = {
    "AT_SetStatistics": SHARE_UPDATE_EXCLUSIVE,
    "AT_SetOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_ResetOptions": SHARE_UPDATE_EXCLUSIVE,
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

# DROP of these objects locks the table they belong to (``[schema.]table.name``) in ACCESS EXCLUSIVE mode.
_DROPS_ON_TABLES = frozenset({"OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE"})
_DROPPED_RELATIONS = frozenset({"OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_VIEW", "OBJECT_MATVIEW"})


class RelationLock:
    """``mode`` taken on ``relation`` (``schema.name``), which is a ``kind`` (``table``, ``index``...).

    A slotted class rather than a NamedTuple: defining a NamedTuple costs the lint hook's start-up more
    than this whole module's other definitions, and lint imports this module on every commit.
    """

    __slots__ = ("kind", "mode", "relation")

    def __init__(self, relation: str, mode: str, kind: str = TABLE) -> None:
        self.relation = relation
        self.mode = mode
        self.kind = kind

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RelationLock) and (self.relation, self.mode, self.kind) == (
            other.relation,
            other.mode,
            other.kind,
        )

    def __hash__(self) -> int:
        return hash((self.relation, self.mode, self.kind))

    def __repr__(self) -> str:
        return f"RelationLock({self.relation!r}, {self.mode!r}, {self.kind!r})"


class TableLock:
    """``mode`` taken on ``table`` (as shown: ``public.`` dropped) by the statement at ``line``."""

    __slots__ = ("line", "mode", "table")

    def __init__(self, table: str, mode: str, line: int) -> None:
        self.table = table
        self.mode = mode
        self.line = line

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableLock) and (self.table, self.mode, self.line) == (
            other.table,
            other.mode,
            other.line,
        )

    def __hash__(self) -> int:
        return hash((self.table, self.mode, self.line))

    def __repr__(self) -> str:
        return f"TableLock({self.table!r}, {self.mode!r}, {self.line})"

    def __str__(self) -> str:
        return f"{self.mode} on {self.table}"


# -- lock modes ------------------------------------------------------------------------------------
def strength(mode: str) -> int:
    """Position in ``LOCK_MODES``: a stronger mode conflicts with more."""
    return _STRENGTH[mode]


def strongest(modes: Iterable[str]) -> str | None:
    return max(modes, key=strength, default=None)


def with_article(mode: str) -> str:
    """``a SHARE lock`` / ``an ACCESS EXCLUSIVE lock``, for messages."""
    return f"{'an' if mode[0] in 'AEIOU' else 'a'} {mode} lock"


# -- names -----------------------------------------------------------------------------------------
def qualified_name(relation: Any, default_schema: str = DEFAULT_SCHEMA) -> str:
    """``schema.name`` of a RangeVar dict, wrapped or not (``public`` when unqualified), so ``t`` ==
    ``public.t``."""
    if relation.__class__ is not dict:
        return f"{default_schema}."
    rangevar = relation.get("RangeVar", relation)
    return f"{rangevar.get('schemaname') or default_schema}.{rangevar.get('relname', '')}"


def normalise_name(name: str) -> str:
    """A ``[schema.]name`` string as ``schema.name``."""
    return name if "." in name else f"{DEFAULT_SCHEMA}.{name}"


def dotted_name(parts: Sequence[str]) -> str:
    """A name list (``[catalog, ][schema, ]name``) as ``schema.name`` (``public`` when unqualified)."""
    return ".".join(parts[-2:]) if len(parts) > 1 else f"{DEFAULT_SCHEMA}.{''.join(parts)}"


def display_name(name: str) -> str:
    """How a plan shows a relation: without ``public.``, where unqualified names resolve."""
    return name.removeprefix(f"{DEFAULT_SCHEMA}.")


def _names(items: Any) -> list[str]:
    """``[{"String": {"sval": "app"}}, ...]`` -> ``["app", ...]``."""
    out: list[str] = []
    for item in items or ():
        string = item.get("String", item) if item.__class__ is dict else None
        if string.__class__ is dict and "sval" in string:
            out.append(str(string["sval"]))
    return out


def _unwrap(node: Any, kind: str) -> Node:
    if node.__class__ is not dict:
        return {}
    inner = node.get(kind)
    return inner if inner.__class__ is dict else node


def _defelem_named(options: Any, name: str) -> Node | None:
    for option in options or ():
        elem = _unwrap(option, "DefElem")
        if elem.get("defname") == name:
            return elem
    return None


# -- what one statement locks ------------------------------------------------------------------------
def alter_command_lock(cmd: Node) -> str:
    """The lock one ``ALTER TABLE`` subcommand (an ``AlterTableCmd`` dict) takes on the altered table."""
    subtype = str(cmd.get("subtype", ""))
    definition = cmd.get("def")
    if subtype == "AT_AddConstraint" and _unwrap(definition, "Constraint").get("contype") == "CONSTR_FOREIGN":
        return FOREIGN_KEY_LOCK
    if subtype == "AT_DetachPartition" and _unwrap(definition, "PartitionCmd").get("concurrent"):
        return SHARE_UPDATE_EXCLUSIVE
    return _ALTER_TABLE_LOCKS.get(subtype, ACCESS_EXCLUSIVE)


def is_vacuum_full(node: Node) -> bool:
    """``VACUUM FULL`` / ``VACUUM (FULL [true])``, not ``VACUUM (FULL false)``."""
    option = _defelem_named(node.get("options"), "full")
    if option is None:
        return False
    value = _unwrap(option.get("arg"), "String")
    return str(value.get("sval", "true")).lower() not in {"false", "off", "0"}


def _is_concurrent(node: Node) -> bool:
    """``CONCURRENTLY``: a flag on most statements, an option (``params``) on REINDEX."""
    return bool(node.get("concurrent")) or _defelem_named(node.get("params"), "concurrently") is not None


def _alter_commands(node: Node) -> list[Node]:
    return [cmd for item in node.get("cmds") or () if (cmd := _unwrap(item, "AlterTableCmd"))]


def target_mode(statement: Statement) -> str | None:
    """The lock ``statement`` takes on the relation(s) it names; None when it takes none lockgate tracks.

    Known even when the statement names no relation (``VACUUM FULL;`` locks every table it reaches).
    """
    kind, node = statement.kind, statement.node
    if kind in _STATEMENT_LOCKS:
        plain, concurrent = _STATEMENT_LOCKS[kind]
        return concurrent if _is_concurrent(node) else plain
    if kind == "AlterTableStmt":
        return strongest(alter_command_lock(cmd) for cmd in _alter_commands(node))
    if kind == "ReindexStmt":
        if _is_concurrent(node):
            return SHARE_UPDATE_EXCLUSIVE
        return REINDEX_INDEX_LOCK if node.get("kind") == "REINDEX_OBJECT_INDEX" else REINDEX_TABLE_LOCK
    if kind == "DropStmt":
        remove = node.get("removeType")
        if remove in _DROPS_ON_TABLES:
            return ACCESS_EXCLUSIVE
        if remove in _DROPPED_RELATIONS:
            return SHARE_UPDATE_EXCLUSIVE if node.get("concurrent") else ACCESS_EXCLUSIVE
        return None
    if kind == "RenameStmt":
        # Renaming an index takes SHARE UPDATE EXCLUSIVE since PostgreSQL 12; everything else ACCESS EXCLUSIVE.
        return SHARE_UPDATE_EXCLUSIVE if node.get("renameType") == "OBJECT_INDEX" else ACCESS_EXCLUSIVE
    if kind == "VacuumStmt":
        return ACCESS_EXCLUSIVE if is_vacuum_full(node) else SHARE_UPDATE_EXCLUSIVE
    if kind == "LockStmt":
        return _LOCKMODE_NUMBERS.get(int(node.get("mode", 8)), ACCESS_EXCLUSIVE)
    return None


def targets(statement: Statement) -> Iterator[tuple[str, str]]:
    """``(schema.name, relation kind)`` of each relation ``target_mode`` applies to."""
    kind, node = statement.kind, statement.node
    if kind == "AlterTableStmt":
        relation_kind = _OBJECT_KINDS.get(str(node.get("objtype", "OBJECT_TABLE")), TABLE)
        yield qualified_name(node.get("relation")), relation_kind
    elif kind == "ReindexStmt":
        if node.get("relation"):
            index = node.get("kind") == "REINDEX_OBJECT_INDEX"
            yield qualified_name(node["relation"]), INDEX if index else TABLE
    elif kind == "DropStmt":
        remove = str(node.get("removeType", ""))
        for item in node.get("objects") or ():
            parts = _names(_unwrap(item, "List").get("items"))
            if remove in _DROPS_ON_TABLES:
                yield dotted_name(parts[:-1]), TABLE
            else:
                yield dotted_name(parts), _OBJECT_KINDS[remove]
    elif kind == "RenameStmt":
        if node.get("relation"):
            rename = str(node.get("renameType", ""))
            spelled = str(node.get("relationType", "")) if rename == "OBJECT_COLUMN" else rename
            yield qualified_name(node["relation"]), _OBJECT_KINDS.get(spelled, TABLE)
    elif kind == "VacuumStmt":
        for item in node.get("rels") or ():
            yield qualified_name(_unwrap(item, "VacuumRelation").get("relation")), TABLE
    else:
        relation_kind = _STATEMENT_KINDS.get(kind, TABLE)
        for key in ("relation", "table"):  # CREATE POLICY names its table ``table``
            if node.get(key).__class__ is dict:
                yield qualified_name(node[key]), relation_kind
        for item in node.get("relations") or ():  # TRUNCATE, LOCK
            yield qualified_name(item), relation_kind


def _foreign_key_targets(constraints: Iterable[Any] | None) -> Iterator[str]:
    for item in constraints or ():
        constraint = _unwrap(item, "Constraint")
        if constraint.get("contype") == "CONSTR_FOREIGN" and "pktable" in constraint:
            yield qualified_name(constraint["pktable"])


def _referenced(statement: Statement) -> Iterator[str]:
    """Tables a statement's new foreign keys reference (each gets ``FOREIGN_KEY_LOCK``)."""
    kind, node = statement.kind, statement.node
    if kind == "AlterTableStmt":
        for cmd in _alter_commands(node):
            subtype = cmd.get("subtype")
            if subtype == "AT_AddConstraint":
                yield from _foreign_key_targets([cmd.get("def")])
            elif subtype == "AT_AddColumn":
                yield from _foreign_key_targets(_unwrap(cmd.get("def"), "ColumnDef").get("constraints"))
    elif kind == "CreateStmt":
        for element in node.get("tableElts") or ():
            if "Constraint" in element:
                yield from _foreign_key_targets([element])
            else:
                yield from _foreign_key_targets(_unwrap(element, "ColumnDef").get("constraints"))


def statement_locks(statement: Statement) -> list[RelationLock]:
    """Every lock one statement takes: the tables its foreign keys reference first, then its own target(s);
    empty for statements that lock no relation lockgate tracks (a new table itself, GRANT, SELECT...)."""
    found = [RelationLock(name, FOREIGN_KEY_LOCK) for name in _referenced(statement)]
    mode = target_mode(statement)
    if mode is not None:
        found.extend(RelationLock(name, mode, kind) for name, kind in targets(statement))
    return found


# -- what statements create ------------------------------------------------------------------------
def created_table(statement: Statement) -> str | None:
    """The table (``schema.name``) a ``CREATE TABLE [AS]`` / ``CREATE MATERIALIZED VIEW`` creates."""
    if statement.kind == "CreateStmt":
        return qualified_name(statement.node.get("relation"))
    if statement.kind == "CreateTableAsStmt":
        return qualified_name((statement.node.get("into") or {}).get("rel"))
    return None


def created_index(statement: Statement) -> str | None:
    """The index (``schema.name``, in its table's schema) a named ``CREATE INDEX`` creates."""
    node = statement.node
    if statement.kind != "IndexStmt" or not node.get("idxname"):
        return None
    schema = (node.get("relation") or {}).get("schemaname") or DEFAULT_SCHEMA
    return f"{schema}.{node['idxname']}"


class CreatedRelations:
    """The relations statements create, each with the position of the statement that first created it.

    A table created at position ``p`` is new for every statement after ``p``: nobody else holds or waits
    for its locks. Positions are the caller's (a file's statement order for lint, a running count over a
    whole plan for the PR table and dry-run). A slotted class: lint builds one per file.
    """

    __slots__ = ("indexes", "partitioned", "recorded", "tables")

    def __init__(self) -> None:
        self.tables: dict[str, int] = {}
        self.partitioned: dict[str, int] = {}
        self.indexes: dict[str, int] = {}
        self.recorded = 0
        """How many statements ``add`` has seen: the next one's position."""

    def add(self, statement: Statement) -> None:
        """``record`` the next statement of a sequence that is read in order (a plan)."""
        self.record(statement, self.recorded)
        self.recorded += 1

    def record(self, statement: Statement, position: int) -> None:
        table = created_table(statement)
        if table is not None:
            self.tables.setdefault(table, position)
            if statement.kind == "CreateStmt" and statement.node.get("partspec"):
                self.partitioned.setdefault(table, position)
            return
        index = created_index(statement)
        if index is not None:
            self.indexes.setdefault(index, position)

    def new_table(self, name: str, position: int) -> bool:
        """True when table ``name`` (``schema.name``) was created before ``position``."""
        created = self.tables.get(name)
        return created is not None and created < position

    def new_partitioned_table(self, name: str, position: int) -> bool:
        created = self.partitioned.get(name)
        return created is not None and created < position

    def new_index(self, name: str, position: int) -> bool:
        created = self.indexes.get(name)
        return created is not None and created < position


# -- locks on existing tables, for plans ------------------------------------------------------------
def locks_on_existing_tables(statements: Iterable[Statement], created: CreatedRelations) -> list[TableLock]:
    """Locks on relations that exist before ``statements`` run; ``created`` grows with what they make
    (pass the same one for consecutive migrations of a plan)."""
    found: list[TableLock] = []
    for statement in statements:
        for lock in statement_locks(statement):
            if lock.relation not in created.tables:
                found.append(TableLock(display_name(lock.relation), lock.mode, statement.line))
        created.add(statement)
    return found


def summarise(locks: Iterable[TableLock]) -> list[str]:
    """One ``MODE on table`` per table, the strongest mode each table gets, strongest first."""
    strongest_by_table: dict[str, str] = {}
    for lock in locks:
        current = strongest_by_table.get(lock.table)
        if current is None or strength(lock.mode) > strength(current):
            strongest_by_table[lock.table] = lock.mode
    ordered = sorted(strongest_by_table.items(), key=lambda item: (-strength(item[1]), item[0]))
    return [f"{mode} on {table}" for table, mode in ordered]


def pending_locks(migrations: Iterable[Migration]) -> list[tuple[str, ...] | None]:
    """For each migration, in the order given (the order ``run`` applies them), ``summarise`` of the locks
    it takes on relations that exist before it; None for a file whose SQL does not parse (reported
    elsewhere as a problem). Tables an earlier migration of the list creates count as new."""
    created = CreatedRelations()
    summaries: list[tuple[str, ...] | None] = []
    for migration in migrations:
        try:
            body = migration.parsed.body
        except LockgateError:
            summaries.append(None)
            continue
        summaries.append(tuple(summarise(locks_on_existing_tables(body, created))))
    return summaries
