"""Files on disk -> ``Migration`` objects (version, name, text, checksum), without parsing SQL.

Reading and hashing ten thousand files is cheap; parsing them is not, so SQL is parsed only on demand
(``Migration.parse()``) by the stages that need statements: the runner and the linter. ``status`` and
``validate`` never pay for it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lockgate.checksum import BOM, checksum, normalise_text
from lockgate.checksum_cache import ChecksumCache, discard, stat_key
from lockgate.errors import ConfigError, SourceError
from lockgate.files import NotRegularFile, SymlinkOutside, check_link_target, kind, read_regular_file
from lockgate.naming import NameError_, ParsedName, parse_filename
from lockgate.statements import ParsedSql, SqlError, parse_sql


@dataclass(frozen=True)
class Migration:
    """One migration file: what its name says and what it contains."""

    path: Path
    version: int
    version_text: str
    name: str
    checksum: str
    loaded_text: str | None = field(default=None, repr=False, compare=False)
    """The text as read when the checksum was computed; None when the checksum came from the cache."""
    cache_file: Path | None = field(default=None, repr=False, compare=False)
    """The checksum cache the checksum came from, if it did."""

    @cached_property
    def text(self) -> str:
        """The file's text; read now if discovery took the checksum from the cache, and then checked
        against that checksum so a file edited meanwhile is never parsed under the old checksum.

        A mismatch also discards the cache: whether the file changed meanwhile or the cache was wrong,
        the next run then reads every file again, so "run the command again" is always the cure."""
        if self.loaded_text is not None:
            return self.loaded_text
        text = read_text(self.path)
        if checksum(text) != self.checksum:
            if self.cache_file is not None:
                discard(self.cache_file)
            raise SourceError(f"{self.path}: changed while lockgate was reading it; run the command again")
        return text

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def id(self) -> str:
        """The tracking-table key: the file name without ``.sql`` (unique even for legacy versions)."""
        return self.path.name[: -len(".sql")]

    @cached_property
    def parsed(self) -> ParsedSql:
        """Statements with line numbers; raises ``SourceError`` naming the file and line."""
        return parse_migration_text(self.path, self.text)

    def where(self, line: int | None = None) -> str:
        return f"{self.path}:{line}" if line else str(self.path)


@dataclass(frozen=True)
class UnrecognisedFile:
    """A ``.sql`` file in the migrations directory whose name does not parse; never silently skipped."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Source:
    """Everything found in the migrations directory, in version order."""

    directory: Path
    migrations: tuple[Migration, ...]
    unrecognised: tuple[UnrecognisedFile, ...] = ()

    def by_version(self) -> dict[int, list[Migration]]:
        grouped: dict[int, list[Migration]] = {}
        for migration in self.migrations:
            grouped.setdefault(migration.version, []).append(migration)
        return grouped


def read_text(path: Path | str) -> str:
    """Read a migration as UTF-8; a clear error for unreadable, non-regular (``files``) or non-UTF-8 files."""
    try:
        data = read_regular_file(path)
    except NotRegularFile as exc:
        raise SourceError(f"{path}: {exc.strerror}; a migration must be a regular file") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def load_migration(path: Path, parsed_name: ParsedName | None = None) -> Migration:
    """Read one file whose name is already known to be valid."""
    parsed_name = parsed_name or parse_filename(path.name)
    text = read_text(path)
    return Migration(
        path=path,
        version=parsed_name.version,
        version_text=parsed_name.version_text,
        name=parsed_name.name,
        checksum=checksum(text),
        loaded_text=text,
    )


def _cached(cache: ChecksumCache, path: Path, parsed_name: ParsedName, entry: os.DirEntry[str]) -> Migration:
    try:
        result = entry.stat()
    except OSError:
        return load_migration(path, parsed_name)  # read_text turns the problem into a clear error
    if not stat.S_ISREG(result.st_mode):
        raise SourceError(
            f"{path}: not a regular file ({kind(result.st_mode)}); a migration must be a regular file"
        )
    key = stat_key(result)
    known = cache.get(path.name, key)
    if known is None:
        migration = load_migration(path, parsed_name)
        cache.put(path.name, key, migration.checksum)
        return migration
    return Migration(
        path,
        parsed_name.version,
        parsed_name.version_text,
        parsed_name.name,
        known,
        cache_file=cache.location,
    )


def _check_link(entry: os.DirEntry[str], path: Path, directory: Path) -> None:
    """A symlink must resolve inside the migrations directory (see ``lockgate.files`` for why)."""
    if entry.is_symlink():  # free: the directory listing carries the entry's type
        try:
            check_link_target(path, directory)
        except SymlinkOutside as exc:
            raise SourceError(f"{path}: {exc.strerror}") from None


def parse_migration_text(path: Path, text: str) -> ParsedSql:
    """Parse, naming the file and line of any problem. An empty or comment-only file parses to no
    statements: it is a migration that does nothing (real histories have them: Ory Kratos ships one per
    dialect it skips, ``supabase migration new`` writes an empty file), and the plan decides whether that
    is a warning or, with ``empty_migrations = "error"``, an error."""
    try:
        return parse_sql(normalise_text(text))
    except SqlError as exc:
        raise SourceError(f"{path}:{exc.line}:{exc.column}: {exc.message}") from None


def discover(directory: Path, cache_dir: Path | None = None) -> Source:
    """All ``*.sql`` files directly in ``directory``, sorted by version then file name.

    Every one must be a regular file, or a symlink to one inside ``directory``; anything else (a FIFO,
    a socket, a directory named ``x.sql``, a link leading out) is a ``SourceError`` naming it, never a
    wait or a silent skip (see ``lockgate.files``).

    With ``cache_dir`` (read-only commands only), checksums of unchanged files come from the checksum
    cache there instead of reading and hashing every file; see ``checksum_cache``."""
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ConfigError(
            f"migrations directory {directory} {what} (set --dir, LOCKGATE_MIGRATIONS_DIR "
            "or migrations_dir in [tool.lockgate])"
        )
    migrations: list[Migration] = []
    unrecognised: list[UnrecognisedFile] = []
    # os.scandir and plain string sorting: pathlib's glob and Path comparisons cost ~0.3 s per 10,000 files;
    # the directory entries also stat without building a path string for each file.
    with os.scandir(directory) as scan:
        entries = sorted((entry for entry in scan if entry.name.endswith(".sql")), key=_entry_name)
    cache = ChecksumCache.load(cache_dir, directory) if cache_dir is not None else None
    child = _child_maker(directory)
    for entry in entries:
        path = child(entry.name)
        try:
            parsed_name = parse_filename(entry.name)
        except NameError_ as exc:
            unrecognised.append(UnrecognisedFile(path, str(exc)))
            continue
        _check_link(entry, path, directory)
        migrations.append(
            _cached(cache, path, parsed_name, entry) if cache else load_migration(path, parsed_name)
        )
    if cache is not None:
        cache.save({entry.name for entry in entries})
    # Stable: files are already in name order, so this is (version, file name) order.
    migrations.sort(key=_version)
    return Source(directory, tuple(migrations), tuple(unrecognised))


def _entry_name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _version(migration: Migration) -> int:
    return migration.version


def _child_maker(directory: Path) -> Callable[[str], Path]:
    """``directory / name`` for many names. pathlib's own ``iterdir`` builds children with the internal
    ``_make_child_relpath``, which skips re-parsing the directory part (2.5x faster over 10,000 files); use it
    when this Python has it."""
    make = getattr(directory, "_make_child_relpath", None)
    if callable(make):
        probe = make("probe.sql")
        if isinstance(probe, Path) and probe == directory / "probe.sql":
            return make  # type: ignore[no-any-return]
    return directory.joinpath


__all__ = ["BOM", "Migration", "Source", "UnrecognisedFile", "discover", "load_migration", "read_text"]
