"""The catalog model: what a statement needs to know about the schema it runs on.

Plain slotted classes (the lint hook's start-up budget has no room for dataclasses), treated as
immutable: a change to a table replaces its ``Table`` with a new one, so the snapshot taken before one
migration and the one after it share everything the migration did not touch.
"""

from __future__ import annotations


class Column:
    __slots__ = ("name", "not_null", "type_name", "typmods")

    def __init__(
        self, name: str, type_name: str, typmods: tuple[int, ...] = (), not_null: bool = False
    ) -> None:
        self.name = name
        self.type_name = type_name
        """The type's last name part as pglast spells it (``varchar``, ``text``, ``int4``, ``numeric``); ""
        when unknown (a ``CREATE TABLE ... AS``)."""
        self.typmods = typmods
        self.not_null = not_null

    def describe(self) -> str:
        mods = f"({', '.join(str(m) for m in self.typmods)})" if self.typmods else ""
        return f"{self.type_name}{mods}"

    def replaced(self, **changes: object) -> Column:
        values = {slot: getattr(self, slot) for slot in self.__slots__}
        values.update(changes)
        return Column(**values)

    def __repr__(self) -> str:
        return f"Column({self.name!r}, {self.describe()!r}, not_null={self.not_null})"


class Table:
    __slots__ = ("bytes", "columns", "created_in", "name", "partitioned", "rows")

    def __init__(
        self,
        name: str,
        columns: dict[str, Column] | None = None,
        *,
        partitioned: bool = False,
        created_in: int | None = None,
        rows: float | None = None,
        bytes: int | None = None,
    ) -> None:
        self.name = name
        self.columns = columns or {}
        self.partitioned = partitioned
        self.created_in = created_in
        """The version of the migration that created it (None: it predates the history, or a live one)."""
        self.rows = rows
        """Estimated rows (``pg_class.reltuples``) when read from a database; None when unknown."""
        self.bytes = bytes

    def replaced(self, **changes: object) -> Table:
        values = {slot: getattr(self, slot) for slot in self.__slots__}
        values.update(changes)
        name = values.pop("name")
        columns = values.pop("columns")
        return Table(name, columns, **values)

    def __repr__(self) -> str:
        return f"Table({self.name!r}, columns={list(self.columns)!r}, partitioned={self.partitioned})"


class Index:
    __slots__ = ("columns", "name", "table", "valid")

    def __init__(self, name: str, table: str, columns: tuple[str, ...] = (), valid: bool = True) -> None:
        self.name = name
        self.table = table
        self.columns = columns
        self.valid = valid
        """False for an index a failed ``CREATE INDEX CONCURRENTLY`` left behind (``pg_index.indisvalid``)."""


class Catalog:
    """Tables, indexes (``schema.name``) and functions (``schema.name`` → volatility), plus where the model
    came from (``history``, ``shadow``, ``target``) and that server's major version when known."""

    __slots__ = ("functions", "indexes", "pg_major", "policies", "source", "tables")

    def __init__(self, source: str = "history", pg_major: int | None = None) -> None:
        self.tables: dict[str, Table] = {}
        self.indexes: dict[str, Index] = {}
        self.functions: dict[str, str] = {}
        self.policies: dict[str, str] = {}
        """``schema.table: policy`` -> its definition as PostgreSQL prints it (a live catalog only)."""
        self.source = source
        self.pg_major = pg_major

    def copy(self) -> Catalog:
        twin = Catalog(self.source, self.pg_major)
        twin.tables = dict(self.tables)
        twin.indexes = dict(self.indexes)
        twin.functions = dict(self.functions)
        twin.policies = dict(self.policies)
        return twin

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    def column(self, table: str, column: str) -> Column | None:
        found = self.tables.get(table)
        return found.columns.get(column) if found is not None else None

    def volatility(self, function: str) -> str | None:
        """``immutable``, ``stable`` or ``volatile`` for a ``schema.name`` (or bare name) the catalog knows."""
        if function in self.functions:
            return self.functions[function]
        bare = function.rsplit(".", 1)[-1]
        matches = {
            volatility for name, volatility in self.functions.items() if name.rsplit(".", 1)[-1] == bare
        }
        return matches.pop() if len(matches) == 1 else None

    def size(self, table: str) -> str | None:
        """``~48M rows / 31 GB`` when a database said how big the table is; None from the history alone."""
        found = self.tables.get(table)
        if found is None or found.bytes is None:
            return None
        parts = [f"~{_count(found.rows)} rows"] if found.rows is not None else []
        return " / ".join([*parts, _bytes(found.bytes)])

    def indexes_on(self, table: str, column: str | None = None) -> list[Index]:
        return [
            index
            for index in self.indexes.values()
            if index.table == table and (column is None or column in index.columns)
        ]


def _count(rows: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rows >= limit:
            return f"{rows / limit:.0f}{suffix}" if rows / limit >= 10 else f"{rows / limit:.1f}{suffix}"
    return f"{rows:.0f}"


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 10 else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
