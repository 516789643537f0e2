"""What a migration tells the database, as one digest: its parse tree without positions and comments.

Two texts with the same fingerprint differ only in whitespace and comments, so they cannot do
different things to a database. pglast's own fingerprint is not used: it ignores constants (it is
made to group queries), so ``DEFAULT 1`` -> ``DEFAULT 2`` would look harmless. Constants, the
``-- lockgate:`` directives and the transaction characteristics are part of the meaning and kept.

The digest is taken over libpg_query's JSON text with the position keys cut out by one regular
expression (C speed, no tree walk: ``run`` records a fingerprint for every migration it applies). Keys
come out of libpg_query in a fixed order, and a string constant that looks like a position key is
escaped in JSON (``\\"location\\"``), so it is never cut. The parser's PostgreSQL major version is part of
the digest: a new parser may shape trees differently, and an edit must then look semantic, never the
reverse.
"""

from __future__ import annotations

import re

from lockgate.statements import ParsedSql

VERSION = "1"
"""Bumped whenever the digest's input changes; a fingerprint of another version never matches."""

_POSITIONS = re.compile(r'"(?:[a-z_]*location|stmt_len)":-?\d+,?')


def fingerprint(parsed: ParsedSql) -> str:
    """``v<VERSION>:pg<major>:<sha256>`` of the directives and the position-free parse tree."""
    import hashlib

    from lockgate import pgparser

    major = pgparser.postgresql_major()
    digest = hashlib.sha256()
    digest.update(",".join(sorted(parsed.directives)).encode())
    digest.update(b"\0")
    digest.update(_POSITIONS.sub("", parsed.tree).encode("utf-8"))
    return f"v{VERSION}:pg{major}:{digest.hexdigest()}"
