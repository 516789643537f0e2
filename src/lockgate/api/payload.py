"""Reading what a client sent: the POST body's action and the history page's query parameters.

Strict on purpose: an unknown field or action is a 400 that names it, never silently ignored, because a
client that sends ``{"action": "run", "to": 2025...}`` believing it is honoured must be told it is not.
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


def parse_action(body: bytes) -> str:
    """The action of a ``POST /api/migrations`` body: ``{"action": "run" | "dry-run" | "validate"}``."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f'the body must be a JSON object like {{"action": "run"}} ({exc})') from None
    if not isinstance(document, dict):
        raise BadRequest('the body must be a JSON object like {"action": "run"}')
    unknown = sorted(set(document) - {"action"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(map(repr, unknown))}; the only field is 'action'")
    action = document.get("action")
    if action not in ACTIONS:
        raise BadRequest(f"unknown action {action!r}: expected one of {', '.join(map(repr, ACTIONS))}")
    return str(action)


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
