"""pglast's JSON parse trees -> Python dicts, however deep PostgreSQL's parser let them grow.

The C decoder of ``json`` recurses once per nesting level and gives up with ``RecursionError`` at
Python's recursion limit (about 1,000 levels, and from Python 3.12 a fixed C limit that no setting
raises). PostgreSQL's parser accepts far deeper input: ``SELECT 'b' || 'b' || ...`` with 600 terms is
already ~1,800 levels of JSON, and such files do exist (generated SQL, long concatenations). So the C
decoder is tried first (it is ten times faster and nearly every file fits), and a deep document is
decoded by an iterative decoder with an explicit stack instead. Its input is libpg_query's own output,
so it only needs to be correct for well-formed JSON: it refuses unknown tokens, unbalanced brackets and
trailing data, but does not check where commas and colons stand.
"""

from __future__ import annotations

import json
import re
from typing import Any

scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]  # public, untyped in typeshed

_TOKEN = re.compile(
    r"[ \t\n\r]*(?:(?P<open_object>\{)|(?P<open_array>\[)|(?P<close>[\]}])|(?P<separator>[,:])"
    r"|(?P<string>\")|(?P<literal>true|false|null)"
    r"|(?P<number>-?(?:0|[1-9][0-9]*)(?P<fraction>(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)))"
)
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def loads(document: str) -> Any:
    """Decode ``document``; nesting depth is limited only by memory."""
    try:
        return json.loads(document)
    except RecursionError:
        return loads_iterative(document)


def loads_iterative(document: str) -> Any:
    """The iterative decoder (public so tests can check it against ``json.loads`` on shallow input)."""
    containers: list[Any] = []
    pending_keys: list[str | None] = []
    position = 0
    while True:
        match = _TOKEN.match(document, position)
        if match is None:
            raise ValueError(f"invalid JSON at offset {position}")
        position = match.end()
        kind = match.lastgroup
        value: Any
        if kind == "separator":
            continue
        if kind == "open_object" or kind == "open_array":
            containers.append({} if kind == "open_object" else [])
            pending_keys.append(None)
            continue
        if kind == "close":
            if not containers:
                raise ValueError(f"unbalanced JSON at offset {position - 1}")
            value = containers.pop()
            pending_keys.pop()
        elif kind == "string":
            value, position = scanstring(document, position)
            if containers and containers[-1].__class__ is dict and pending_keys[-1] is None:
                pending_keys[-1] = value
                continue
        elif kind == "literal":
            value = _LITERALS[match.group("literal")]
        else:
            text = match.group("number")
            value = float(text) if match.group("fraction") else int(text)
        if not containers:
            if document[position:].strip():
                raise ValueError(f"extra data after JSON at offset {position}")
            return value
        parent = containers[-1]
        if parent.__class__ is dict:
            key = pending_keys[-1]
            if key is None:
                raise ValueError(f"JSON object value without a key at offset {position}")
            parent[key] = value
            pending_keys[-1] = None
        else:
            parent.append(value)
