"""The range of every numeric setting, and why: checked when settings are read, never at first use.

A value that is only wrong at its first use fails late and confusingly: ``lock_timeout = 3000000s`` is
above PostgreSQL's limit, so every migration of a run failed with ``invalid value for parameter``,
recorded as a failure each time. So each number is checked where it is read (flag, environment variable,
config file, Action input) against what it is used for, and the error names the setting, where the value
came from, and the range.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from lockgate.durations import format_ms, parse_duration_ms

PG_MAX_MS = 2_147_483_647
"""PostgreSQL's largest ``lock_timeout``/``statement_timeout``: INT_MAX milliseconds (about 24.9 days)."""

_WHOLE = re.compile(r"\s*([+-]?\d+)\s*", re.ASCII)

MAX_RETRY_WAIT_MS = 3_600_000
"""The longest wait before one retry (``retry_backoff * 2 ** (lock_retries - 1)``): a deploy that would
sleep longer than an hour between attempts is stalled, not patient."""


class Limit(NamedTuple):
    """An inclusive range, and what the ends mean (shown with every error)."""

    low: int
    high: int
    note: str = ""


DURATIONS = {
    "lock_timeout": Limit(
        1,
        PG_MAX_MS,
        "the most PostgreSQL accepts; 0 (no timeout) is refused: a migration would wait for its lock "
        "forever while every query on the table queues behind it",
    ),
    "statement_timeout": Limit(
        1,
        PG_MAX_MS,
        "the most PostgreSQL accepts; 0 (no timeout) is refused: a runaway statement would hold its "
        "locks forever",
    ),
    "lock_wait": Limit(0, PG_MAX_MS, "0 = give up at once if another run holds the lock"),
    "retry_backoff": Limit(0, MAX_RETRY_WAIT_MS),
    "max_version_gap": Limit(0, 36_500 * 86_400_000, "0 turns the check off"),
}
"""Durations in milliseconds, by setting."""

COUNTS = {
    "lock_retries": Limit(0, 100),
    "pg_major": Limit(9, 99, "a PostgreSQL major version"),
    "jobs": Limit(0, 256, "0 = one per CPU"),
}


def _range(limit: Limit, unit: str) -> str:
    if unit == "ms":
        text = f"{limit.low}ms to {limit.high}ms ({format_ms(limit.high)})"
    else:
        text = f"{limit.low} to {limit.high}"
    return f"expected {text}{'; ' + limit.note if limit.note else ''}"


def duration_setting(name: str, value: object) -> int:
    """``value`` (text, or a number of milliseconds from TOML) as milliseconds within ``DURATIONS[name]``;
    ``ValueError`` naming the accepted range otherwise."""
    limit = DURATIONS[name]
    try:
        milliseconds = parse_duration_ms(value)  # type: ignore[arg-type]  # it checks the type itself
    except ValueError as exc:
        raise ValueError(f"{exc}; {_range(limit, 'ms')}") from None
    if not limit.low <= milliseconds <= limit.high:
        shown = value.strip() if isinstance(value, str) else value
        raise ValueError(f"{shown!r} ({milliseconds} ms) is out of range: {_range(limit, 'ms')}")
    return milliseconds


def count_setting(name: str, value: object) -> int:
    """``value`` (an integer, or its decimal text) within ``COUNTS[name]``; ``ValueError`` otherwise.

    A float is refused even when whole (``2.0``): a count written as a float is a typo worth a question."""
    limit = COUNTS[name]
    match = _WHOLE.fullmatch(value) if isinstance(value, str) else None
    if value.__class__ is int:
        number: int = value
    elif match is not None and len(match.group(1)) <= 30:
        number = int(match.group(1))
    elif match is not None:
        raise ValueError(f"{match.group(1)[:20]}... is out of range: {_range(limit, '')}")
    else:
        raise ValueError(f"{value!r} is not a whole number; {_range(limit, '')}")
    if not limit.low <= number <= limit.high:
        raise ValueError(f"{number} is out of range: {_range(limit, '')}")
    return number


def retry_wait_ms(lock_retries: int, retry_backoff_ms: int) -> int:
    """The longest wait before a retry: the runner doubles ``retry_backoff`` after each lock timeout."""
    return retry_backoff_ms * 2 ** (lock_retries - 1) if lock_retries > 0 else 0
