"""Human durations (``2s``, ``500ms``, ``5min``) as milliseconds.

Settings like ``lock_timeout`` are written by people in config files and flags; a bare integer means
milliseconds, exactly as PostgreSQL reads ``SET lock_timeout = 2000``.
"""

from __future__ import annotations

import math
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
_DURATION = re.compile(r"\s*([+-]?)(\d+)(?:\.(\d+))?\s*([a-z]*)\s*", re.ASCII)
_MAX_DIGITS = 30
"""Far beyond any limit (``limits``), and short of Python's refusal to convert 4,300-digit strings."""
_FORMS = "not a duration such as 2s, 500ms, 5min or 1h (units: ms, s, min, h, d)"


def parse_duration_ms(value: str | int | float) -> int:
    """Return the duration in whole milliseconds; raise ``ValueError`` with the accepted forms.

    Exact: ``0.1s`` is 100 ms with no float rounding, and a value that is not a whole number of
    milliseconds (``0.5ms``) is an error rather than silently truncated (to 0, which PostgreSQL reads
    as "no timeout"). Numbers from a TOML file count as milliseconds; ``inf`` and ``nan`` are refused.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is {_FORMS}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is {_FORMS}")
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number of milliseconds")
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return value
    match = _DURATION.fullmatch(value.lower())
    if not match or match.group(4) not in {"", *_UNITS_MS}:
        raise ValueError(f"{value!r} is {_FORMS}")
    sign, whole, fraction, unit = match.groups()
    fraction = fraction or ""
    if len(whole) + len(fraction) > _MAX_DIGITS:
        raise ValueError(f"{value.strip()!r} is far too large for a duration")
    scale: int = 10 ** len(fraction)
    milliseconds, remainder = divmod(int(whole + fraction) * _UNITS_MS.get(unit, 1), scale)
    if remainder:
        raise ValueError(f"{value.strip()!r} is not a whole number of milliseconds")
    if sign == "-" and milliseconds:
        raise ValueError(f"a duration cannot be negative, got {value.strip()!r}")
    return milliseconds


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
