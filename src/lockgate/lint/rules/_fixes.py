"""The safe rewrite of a flagged statement, as SQL a reviewer can paste (``Violation.fix``).

Written from the statement's own text where a keyword is all that changes (``CONCURRENTLY``), and from
the parse tree's names otherwise; None whenever the rewrite cannot be written with certainty (a multi-
command ``ALTER TABLE``, an unnamed constraint), so the fix shown is never a guess.
"""

from __future__ import annotations

import re

from lockgate.statements import Statement

_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_CREATE_INDEX = re.compile(r"^(CREATE\s+(?:UNIQUE\s+)?INDEX)\s+", re.IGNORECASE)
_DROP_INDEX = re.compile(r"^(DROP\s+INDEX)\s+", re.IGNORECASE)
_REINDEX = re.compile(r"^(REINDEX\s+(?:\([^)]*\)\s*)?(?:INDEX|TABLE))\s+", re.IGNORECASE)
NO_TRANSACTION = "-- lockgate: no-transaction   (in a migration file of its own)\n"


def ident(name: str) -> str:
    """A name as SQL spells it: bare when PostgreSQL would fold it to itself, else double-quoted."""
    return name if _PLAIN.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def qualified(name: str) -> str:
    """``schema.name`` with each part quoted as needed; ``public.`` left implicit."""
    schema, _, relation = name.rpartition(".")
    if schema in ("", "public"):
        return ident(relation)
    return f"{ident(schema)}.{ident(relation)}"


def concurrently(statement: Statement) -> str | None:
    """``CREATE INDEX``, ``DROP INDEX`` or ``REINDEX`` with ``CONCURRENTLY``, in a no-transaction file."""
    text = statement.text.strip()
    for pattern in (_CREATE_INDEX, _DROP_INDEX, _REINDEX):
        if pattern.match(text):
            return NO_TRANSACTION + pattern.sub(r"\1 CONCURRENTLY ", text, count=1) + ";"
    return None


def not_valid_then_validate(
    statement: Statement, table: str, constraint: str | None, commands: int
) -> str | None:
    """``ADD CONSTRAINT ... NOT VALID`` (instant), then ``VALIDATE CONSTRAINT`` (no write lock)."""
    if commands != 1 or not constraint:
        return None
    return (
        f"{statement.text.strip()} NOT VALID;\n"
        f"ALTER TABLE {qualified(table)} VALIDATE CONSTRAINT {ident(constraint)};"
    )


def checked_not_null(table: str, column: str) -> str:
    """PostgreSQL 12+ skips the scan of ``SET NOT NULL`` when a validated CHECK already proves it."""
    check = ident(_short(f"{table.rpartition('.')[2]}_{column}_not_null"))
    target, name = qualified(table), ident(column)
    return (
        f"ALTER TABLE {target} ADD CONSTRAINT {check} CHECK ({name} IS NOT NULL) NOT VALID;\n"
        f"ALTER TABLE {target} VALIDATE CONSTRAINT {check};\n"
        f"ALTER TABLE {target} ALTER COLUMN {name} SET NOT NULL;\n"
        f"ALTER TABLE {target} DROP CONSTRAINT {check};"
    )


def checked_first(table: str, column: str, condition: str, new_type: str) -> str:
    """Prove every row fits before a narrowing type change, without blocking writes while it is checked."""
    check = ident(_short(f"{table.rpartition('.')[2]}_{column}_fits"))
    target = qualified(table)
    return (
        f"ALTER TABLE {target} ADD CONSTRAINT {check} CHECK ({condition}) NOT VALID;\n"
        f"ALTER TABLE {target} VALIDATE CONSTRAINT {check};\n"
        f"-- then, in a later migration, when no row violates it:\n"
        f"ALTER TABLE {target} ALTER COLUMN {ident(column)} TYPE {new_type};"
    )


def _short(name: str) -> str:
    """Fit PostgreSQL's 63-byte identifiers (longer ones are silently truncated)."""
    encoded = name.encode("utf-8")
    return encoded[:63].decode("utf-8", "ignore") if len(encoded) > 63 else name
