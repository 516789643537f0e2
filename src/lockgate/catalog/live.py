"""The catalog read from a real database (the target, read-only, or a shadow with the history applied):
exact types, indexes (and which are invalid), partitioned tables, function volatility, and estimated sizes
(``pg_class.reltuples`` / ``relpages``, ``pg_total_relation_size``) that let lint tell a 48-million-row
table from an empty one.

Three catalog queries on the caller's connection, read-only; schemas PostgreSQL and Supabase manage
themselves are left out (their objects are not the project's, and a platform upgrade changes them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockgate.catalog.model import Catalog, Column, Index, Table

if TYPE_CHECKING:
    import psycopg

MANAGED_SCHEMAS = (
    "pg_catalog",
    "information_schema",
    "pg_toast",
    "auth",
    "storage",
    "realtime",
    "_realtime",
    "supabase_functions",
    "supabase_migrations",
    "extensions",
    "graphql",
    "graphql_public",
    "pgbouncer",
    "pgsodium",
    "pgsodium_masks",
    "vault",
    "net",
    "cron",
    "_analytics",
    "pg_net",
)
"""Schemas left out of the model: PostgreSQL's own, and the ones Supabase creates and upgrades."""

_TABLES = """
SELECT n.nspname || '.' || c.relname, c.relkind = 'p', GREATEST(c.reltuples, 0)::float8,
       c.reltuples >= 0 AND c.relpages > 0 OR c.reltuples > 0, pg_catalog.pg_total_relation_size(c.oid)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL (%(managed)s) AND n.nspname NOT LIKE 'pg_temp%%'
"""

_COLUMNS = """
SELECT n.nspname || '.' || c.relname, a.attname, t.typname, a.atttypmod, a.attnotnull, t.typcategory
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname <> ALL (%(managed)s) AND n.nspname NOT LIKE 'pg_temp%%'
ORDER BY a.attrelid, a.attnum
"""

_INDEXES = """
SELECT n.nspname || '.' || ic.relname, n.nspname || '.' || tc.relname, i.indisvalid,
       ARRAY(SELECT a.attname FROM unnest(i.indkey) AS k(attnum)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname <> ALL (%(managed)s) AND n.nspname NOT LIKE 'pg_temp%%'
"""

_FUNCTIONS = """
SELECT n.nspname || '.' || p.proname, p.provolatile
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind = 'f'
"""

_POLICIES = """
SELECT schemaname || '.' || tablename || ': ' || policyname,
       concat_ws(' ', permissive, cmd, 'TO', array_to_string(roles, ','), 'USING', qual, 'WITH CHECK', with_check)
FROM pg_catalog.pg_policies
WHERE schemaname <> ALL (%(managed)s)
"""

_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}


def _typmods(type_name: str, typmod: int) -> tuple[int, ...]:
    """``atttypmod`` decoded the way ``format_type`` does for the types whose size matters here."""
    if typmod < 0:
        return ()
    if type_name in {"varchar", "bpchar"}:
        return (typmod - 4,)
    if type_name == "numeric":
        value = typmod - 4
        return ((value >> 16) & 0xFFFF, value & 0xFFFF)
    if type_name in {"varbit", "bit"}:
        return (typmod,)
    return ()


def read_catalog(conn: psycopg.Connection[Any], source: str = "target") -> Catalog:
    """The model of the database ``conn`` is connected to (read-only queries; the caller owns the
    transaction)."""
    catalog = Catalog(source, conn.info.server_version // 10000)
    params = {"managed": list(MANAGED_SCHEMAS)}
    columns: dict[str, dict[str, Column]] = {}
    for table, name, type_name, typmod, not_null, category in conn.execute(_COLUMNS, params).fetchall():
        shown = f"{type_name[1:]}[]" if category == "A" and type_name.startswith("_") else type_name
        columns.setdefault(table, {})[name] = Column(name, shown, _typmods(type_name, typmod), not_null)
    # A shadow holds only the rows its migrations inserted: its sizes would make every table look empty,
    # and an empty table is no lock hazard. Sizes are the target's to tell.
    sizes = source != "shadow"
    for name, partitioned, rows, known, size in conn.execute(_TABLES, params).fetchall():
        catalog.tables[name] = Table(
            name,
            columns.get(name, {}),
            partitioned=bool(partitioned),
            rows=float(rows) if known and sizes else None,
            bytes=int(size) if sizes else None,
        )
    for name, table, valid, names in conn.execute(_INDEXES, params).fetchall():
        catalog.indexes[name] = Index(name, table, tuple(names), valid=bool(valid))
    for name, definition in conn.execute(_POLICIES, params).fetchall():
        catalog.policies[name] = definition
    for name, volatile in conn.execute(_FUNCTIONS).fetchall():
        catalog.functions.setdefault(name, _VOLATILITY.get(volatile, "volatile"))
    return catalog
