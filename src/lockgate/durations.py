"""Human durations (``2s``, ``500ms``, ``5min``) as milliseconds.

Settings like ``lock_timeout`` are written by people in config files and flags; a bare integer means
milliseconds, exactly as PostgreSQL reads ``SET lock_timeout = 2000``.
"""

from __future__ import annotations

import re

_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


def parse_duration_ms(text: str | int | float) -> int:
    """Return the duration in milliseconds; raise ``ValueError`` with the accepted forms."""
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 2s or 500ms, got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a duration cannot be negative: {text!r}")
        return int(text)
    match = _DURATION.match(text.lower())
    if not match or match.group(2) not in {"", *_UNITS_MS}:
        raise ValueError(f"expected a duration such as 2s, 500ms, 5min or 1h, got {text!r}")
    unit = _UNITS_MS.get(match.group(2), 1)
    return int(float(match.group(1)) * unit)


def format_ms(milliseconds: int | float) -> str:
    """Short human form for reports: ``840 ms``, ``12.3 s``, ``4 min 05 s``."""
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds >= 86_400:
        return f"{seconds / 86_400:g} days"
    minutes, rest = divmod(int(seconds), 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes} min {rest:02d} s"
