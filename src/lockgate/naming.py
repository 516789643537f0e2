"""Migration file names: ``<version>_<name>.sql`` where version is a UTC timestamp.

The version is what orders migrations and what ``schema_migrations.version`` stores. Fourteen digits
(``YYYYMMDDHHMMSS``) is the rule; eight (``YYYYMMDD``) is accepted for older projects and orders as
midnight of that day, so ``20250828_a.sql`` and ``20250828000000_b.sql`` are the same instant: duplicates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

FILENAME = re.compile(r"^(?P<version>\d+)_(?P<name>.+)\.sql$")
SNAKE_NAME = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


class ParsedName:
    """What a file name says: the normalised 14-digit version, the text as written, and the name.

    A slotted class: ``discover`` builds one per file (10,000 in a long-lived project), and the naming
    hook imports this module, so it pays neither for a frozen dataclass nor for importing ``typing``.
    """

    __slots__ = ("name", "version", "version_text")

    def __init__(self, version: int, version_text: str, name: str) -> None:
        self.version = version
        self.version_text = version_text
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParsedName) and (self.version, self.version_text, self.name) == (
            other.version,
            other.version_text,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.version, self.version_text, self.name))

    def __repr__(self) -> str:
        return f"ParsedName(version={self.version}, version_text={self.version_text!r}, name={self.name!r})"

    @property
    def instant(self) -> datetime:
        return version_to_datetime(self.version)


class NameError_(ValueError):
    """A file name that does not follow the rule; the message says how to fix it."""


def _moment(digits: str) -> datetime:
    """``YYYYMMDD[HHMMSS]`` -> an aware UTC datetime; ValueError if it is not a real instant.

    Built with the datetime constructor rather than ``strptime``: ``status`` over ten thousand
    migrations calls this for every version, and strptime is ~20x slower."""
    time_part = digits[8:] or "000000"
    return datetime(
        int(digits[0:4]),
        int(digits[4:6]),
        int(digits[6:8]),
        int(time_part[0:2]),
        int(time_part[2:4]),
        int(time_part[4:6]),
        tzinfo=UTC,
    )


@lru_cache(maxsize=65536)
def version_to_datetime(version: int) -> datetime:
    return _moment(f"{version:014d}")


def parse_filename(filename: str) -> ParsedName:
    """Parse ``20250829120000_add_user_preferences.sql``; raise ``NameError_`` saying what is wrong."""
    match = FILENAME.match(filename)
    if not match:
        raise NameError_(
            f"{filename}: migration files must be named <YYYYMMDDHHMMSS>_<name>.sql "
            f"(try: {suggest_filename(filename)})"
        )
    digits, name = match.group("version"), match.group("name")
    if len(digits) not in (8, 14):
        raise NameError_(
            f"{filename}: version {digits} has {len(digits)} digits; use a 14-digit UTC timestamp "
            f"YYYYMMDDHHMMSS (try: {suggest_filename(filename)})"
        )
    version = int(digits) * 1_000_000 if len(digits) == 8 else int(digits)
    try:
        version_to_datetime(version)  # validates, and warms the cache the plan's gap check reads
    except ValueError:
        layout = "YYYYMMDDHHMMSS" if len(digits) == 14 else "YYYYMMDD"
        raise NameError_(f"{filename}: version {digits} is not a real date and time ({layout})") from None
    return ParsedName(version=version, version_text=digits, name=name)


def snake_case(description: str) -> str:
    """``"Add user preferences table"`` -> ``add_user_preferences_table``."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", description).lower())
    return "_".join(words)


def timestamp_version(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def suggest_filename(filename: str, moment: datetime | None = None) -> str:
    """A name that passes the rule, keeping whatever words the original had."""
    stem = filename[:-4] if filename.endswith(".sql") else filename
    stem = re.sub(r"^\d+_?", "", stem)
    return f"{timestamp_version(moment)}_{snake_case(stem) or 'migration'}.sql"


def next_version(existing: list[int], now: datetime) -> str:
    """Now, or one second after the newest version if that is later (two creates in one second, clock
    skew): a new migration must always sort last."""
    from datetime import timedelta

    candidate = now.replace(microsecond=0)
    if existing:
        newest = version_to_datetime(max(existing))
        candidate = max(candidate, newest + timedelta(seconds=1))
    return timestamp_version(candidate)
