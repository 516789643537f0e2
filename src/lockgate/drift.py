"""Drift: the target's schema compared with the schema its own applied history builds.

A hand-made change in production (a column added in the SQL editor, an index dropped during an incident,
a policy loosened to debug) is invisible to checksums: the history still says everything is applied. The
next migration then trips on it, or worse, the change silently stays. ``compare`` takes two catalogs
(``lockgate.catalog``: the target, and a shadow database with exactly the applied migrations) and lists
every table, column, index and policy that one has and the other lacks or defines differently. Sizes,
statistics and lockgate's own tracking tables are not schema and are left out; so are the schemas
PostgreSQL and Supabase manage themselves (``catalog.live.MANAGED_SCHEMAS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from lockgate.catalog.model import Catalog, Column

ADDED = "added"
"""In the target, not built by the history: made by hand (or by another tool)."""
MISSING = "missing"
"""Built by the history, gone from the target: dropped by hand."""
CHANGED = "changed"
"""In both, defined differently."""


class Drift(NamedTuple):
    kind: str
    object: str
    """``table public.orders``, ``column public.orders.note``, ``index public.orders_note``, ``policy ...``."""
    detail: str

    def line(self) -> str:
        return f"{self.kind} {self.object}: {self.detail}"


def compare(target: Catalog, built: Catalog, ignore_tables: frozenset[str] = frozenset()) -> list[Drift]:
    """Every difference between the ``target`` and the schema its history ``built``, in a stable order."""
    found: list[Drift] = []
    tables = (set(target.tables) | set(built.tables)) - ignore_tables
    for name in sorted(tables):
        here, there = target.tables.get(name), built.tables.get(name)
        if here is None:
            found.append(
                Drift(MISSING, f"table {name}", "the history creates it; the target has no such table")
            )
        elif there is None:
            found.append(Drift(ADDED, f"table {name}", "in the target, created by no applied migration"))
        else:
            found += _columns(name, here.columns, there.columns)
    found += _named("index", _index_shapes(target, ignore_tables), _index_shapes(built, ignore_tables))
    found += _named(
        "policy", _without(target.policies, ignore_tables), _without(built.policies, ignore_tables)
    )
    return found


def _columns(table: str, here: Mapping[str, Column], there: Mapping[str, Column]) -> list[Drift]:
    found: list[Drift] = []
    for name in sorted(set(here) | set(there)):
        mine, theirs = here.get(name), there.get(name)
        where = f"column {table}.{name}"
        if mine is None:
            found.append(Drift(MISSING, where, "the history adds it; the target has no such column"))
        elif theirs is None:
            found.append(Drift(ADDED, where, f"{_shape(mine)} in the target, added by no applied migration"))
        elif _shape(mine) != _shape(theirs):
            found.append(
                Drift(CHANGED, where, f"{_shape(mine)} in the target, {_shape(theirs)} per the history")
            )
    return found


def _shape(column: Column) -> str:
    return f"{column.describe()}{' NOT NULL' if column.not_null else ''}"


def _index_shapes(catalog: Catalog, ignore_tables: frozenset[str]) -> dict[str, str]:
    return {
        name: f"on {index.table} ({', '.join(index.columns)}){'' if index.valid else ' INVALID'}"
        for name, index in catalog.indexes.items()
        if index.table not in ignore_tables
    }


def _without(policies: dict[str, str], ignore_tables: frozenset[str]) -> dict[str, str]:
    return {name: text for name, text in policies.items() if name.split(": ", 1)[0] not in ignore_tables}


def _named(kind: str, here: dict[str, str], there: dict[str, str]) -> list[Drift]:
    found: list[Drift] = []
    for name in sorted(set(here) | set(there)):
        mine, theirs = here.get(name), there.get(name)
        if mine is None:
            found.append(
                Drift(MISSING, f"{kind} {name}", f"the history creates it ({theirs}); the target lacks it")
            )
        elif theirs is None:
            found.append(
                Drift(ADDED, f"{kind} {name}", f"{mine} in the target, created by no applied migration")
            )
        elif mine != theirs:
            found.append(Drift(CHANGED, f"{kind} {name}", f"{mine} in the target; {theirs} per the history"))
    return found
