"""Reading what a client sent: the POST body's action and the history page's query parameters.

Strict on purpose: an unknown field or action is a 400 that names it, never silently ignored, because a
client that sends ``{"action": "run", "to": 2025...}`` believing it is honoured must be told it is not. For the
same reason a key given twice is refused rather than resolved (parsers disagree on which one wins), and any
body the JSON parser cannot take — invalid UTF-8, a 10,000-digit number, arrays nested thousands deep — is a
400, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from lockgate.api.actions import ACTIONS

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000_000


class BadRequest(Exception):
    """The request cannot be understood; ``str(exc)`` says why, in one line."""


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` is ``application/json`` (parameters such as ``charset`` aside)."""
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


def parse_options(body: bytes) -> tuple[str, bool]:
    """``(action, atomic)`` of a ``POST /api/migrations`` body: ``{"action": "run" | "dry-run" | "validate"}``,
    with ``"atomic": true`` allowed beside ``run`` and ``dry-run`` (every pending migration in one
    transaction; the dry run shows what would refuse that)."""
    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=_unique_keys)
    except RecursionError:
        raise BadRequest(
            'the body is nested too deeply: it must be a JSON object like {"action": "run"}'
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and int's digit limit, are ValueErrors
        raise BadRequest(f'the body must be a JSON object like {{"action": "run"}} ({exc})') from None
    if not isinstance(document, dict):
        raise BadRequest('the body must be a JSON object like {"action": "run"}')
    unknown = sorted(set(document) - {"action", "atomic"})
    if unknown:
        names = ", ".join(repr(name[:40]) for name in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise BadRequest(f"unknown field(s): {names}; the fields are 'action' and 'atomic'")
    atomic = document.get("atomic", False)
    if not isinstance(atomic, bool):
        raise BadRequest("'atomic' must be true or false")
    action = document.get("action")
    if action not in ACTIONS:
        # Not repr() of whatever was sent: a list nested 900 deep has no short (or even finite-stack) repr.
        shown = (
            repr(action[:40])
            if isinstance(action, str)
            else "None"
            if action is None
            else type(action).__name__
        )
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise BadRequest(f"unknown action {shown}: expected one of {', '.join(map(repr, ACTIONS))}")
    if atomic and action == "validate":
        raise BadRequest("'atomic' applies to the 'run' and 'dry-run' actions only")
    return str(action), atomic


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document: dict[str, object] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"the key {key[:40]!r} is given twice")
        document[key] = value
    return document


def parse_page(query: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` (1..200, default 50) and ``offset`` (default 0) of ``GET /api/migrations/history``."""
    limit = _integer(query, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = _integer(query, "offset", 0, 0, MAX_OFFSET)
    return limit, offset


def _integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest(f"query parameter {name!r} must be a whole number from {low} to {high}, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(f"query parameter {name!r} must be from {low} to {high}, got {value}")
    return value
