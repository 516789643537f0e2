"""What a migration tells the database, as one digest: its parse tree without positions and comments.

Two texts with the same fingerprint differ only in whitespace and comments, so they cannot do
different things to a database. pglast's own fingerprint is not used: it ignores constants (it is
made to group queries), so ``DEFAULT 1`` -> ``DEFAULT 2`` would look harmless. Constants, the
``-- lockgate:`` directives and the transaction characteristics are part of the meaning and kept.

The tree is serialised with an explicit stack, not recursion: PostgreSQL accepts statements nested
far deeper than Python's recursion limit, and a hook must never crash on a file the database takes.
"""

from __future__ import annotations

from typing import Any

from lockgate.statements import ParsedSql

_POSITION_KEYS = frozenset({"location", "stmt_len", "stmt_location"})


def _is_position(key: str) -> bool:
    return key in _POSITION_KEYS or key.endswith("_location")


def canonical(node: Any) -> str:
    """A canonical text of a JSON-like tree with every position key left out (iteratively)."""
    out: list[str] = []
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if item.__class__ is _Token:
            out.append(item.text)
        elif isinstance(item, dict):
            out.append("{")
            parts: list[Any] = []
            for key in sorted(item):
                if _is_position(key):
                    continue
                parts.extend((_Token(repr(key) + ":"), item[key], _Token(",")))
            parts.append(_Token("}"))
            stack.extend(reversed(parts))
        elif isinstance(item, list):
            out.append("[")
            parts = []
            for element in item:
                parts.extend((element, _Token(",")))
            parts.append(_Token("]"))
            stack.extend(reversed(parts))
        else:
            out.append(repr(item))
    return "".join(out)


class _Token:
    """Literal output text on the serialisation stack (told apart from tree values by its class)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def fingerprint(parsed: ParsedSql) -> str:
    """SHA-256 of the directives, the statement kinds and their position-free trees."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(repr(sorted(parsed.directives)).encode())
    for statement in parsed.statements:
        digest.update(b"\0" + statement.kind.encode() + b"\0")
        digest.update(canonical(statement.node).encode("utf-8"))
    return digest.hexdigest()
