"""A cache of file checksums for the read-only commands (``status``, ``list``, ``validate``).

Reading and hashing ten thousand migrations is most of what ``status`` costs; a ``stat`` is a tenth of
that. ``run`` never uses the cache: it reads and hashes every file it applies, so the recorded checksum is
always that of the text that ran.

Why a cached checksum can be trusted, and when it is not:

- An entry is keyed the way git's index is: inode, size, and the modification *and change* times in
  nanoseconds, and it is used only when all four equal the file's ``stat`` now. The change time (ctime)
  is set by the kernel on every write and cannot be set by users (``touch -d`` moves only mtime), so an
  edited file always misses the cache; a copied or re-checked-out file has a new inode and ctime too.
  The guarantee does not rest on anyone's clock discipline.
- One gap remains, the one git calls "racy": file times have a granularity (a kernel tick, or 2 s on
  FAT), so a file written twice within one tick, with the same size, keeps its key. If lockgate hashed it
  between the two writes, the entry would hold the first text under the key of the second, for as long
  as the file is left alone. So an entry is stored only for a file unchanged for ``RACY_NS`` before the
  cache was loaded (before its ``stat``): any later write lands in a later tick and changes the key.
  Files edited in the last few seconds are simply hashed again next time.
- The file itself is never trusted: anything that is not exactly what ``save`` writes (another format,
  wrong types or nesting, a truncated or binary file, a directory or FIFO in its place, numbers too large
  to parse) is ignored entry by entry or as a whole, and the cache is rebuilt. A well-formed entry with a
  wrong checksum (written by hand, say) is used only while the file keeps exactly that key, and the
  first time the file's text is read for parsing its checksum is checked again: a mismatch discards the
  whole cache (``Migration.text``).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockgate.files import read_regular_file
from lockgate.state_file import replace_state_file

CACHE_FILE = "checksums.json"
FORMAT = 1
RACY_NS = 3_000_000_000
"""How long a file must have been left alone before its checksum is cached: more than the coarsest
common file-time granularity (FAT's 2 s) plus a kernel tick."""

Key = tuple[int, int, int, int]
Entries = dict[str, tuple[Key, str]]

_DIGEST = re.compile(r"[0-9a-f]{64}")


def stat_key(result: os.stat_result) -> Key:
    return (result.st_ino, result.st_size, result.st_mtime_ns, result.st_ctime_ns)


def discard(location: Path) -> None:
    """Delete the cache file, so the next read-only command reads and hashes every file again."""
    try:
        location.unlink()
    except OSError:
        return


def _read_directories(location: Path) -> dict[str, Any]:
    """The ``directories`` object of a cache file in our format; empty for anything else, never an error."""
    try:
        document = json.loads(read_regular_file(location))
    except (OSError, ValueError, RecursionError):  # ValueError: bad JSON, bad UTF-8, a 5,000-digit number
        return {}
    if document.__class__ is not dict:
        return {}
    version = document.get("format")
    directories = document.get("directories")
    if version.__class__ is not int or version != FORMAT or directories.__class__ is not dict:
        return {}
    return directories


def _entries(raw: Any) -> Entries:
    """The well-formed entries of one directory: ``name: [ino, size, mtime_ns, ctime_ns, sha256 hex]``.

    Exact classes, not isinstance: ``true`` is an ``int`` to isinstance, and ``1.0`` equals ``1``."""
    entries: Entries = {}
    if raw.__class__ is not dict:
        return entries
    for name, value in raw.items():
        if value.__class__ is list and len(value) == 5:
            ino, size, mtime, ctime, digest = value
            if (
                ino.__class__ is size.__class__ is mtime.__class__ is ctime.__class__ is int
                and digest.__class__ is str
                and _DIGEST.fullmatch(digest)
            ):
                entries[name] = ((ino, size, mtime, ctime), digest)
    return entries


def _as_json(entries: Entries) -> dict[str, list[int | str]]:
    return {name: [*key, checksum] for name, (key, checksum) in sorted(entries.items())}


@dataclass
class ChecksumCache:
    """Checksums by file name for one migrations directory; ``save`` writes it back if it changed."""

    location: Path
    directory: str
    entries: Entries = field(default_factory=dict)
    dirty: bool = False
    loaded_ns: int = field(default_factory=time.time_ns)

    @classmethod
    def load(cls, state_dir: Path, directory: Path) -> ChecksumCache:
        """The cache for ``directory``; empty when the file is missing or not exactly what we write."""
        location = state_dir / CACHE_FILE
        cache = cls(location, str(directory.resolve()))
        cache.entries = _entries(_read_directories(location).get(cache.directory))
        return cache

    def get(self, name: str, key: Key) -> str | None:
        found = self.entries.get(name)
        return found[1] if found is not None and found[0] == key else None

    def put(self, name: str, key: Key, checksum: str) -> None:
        """Remember a checksum just computed; not for a file changed too recently (the racy case above)."""
        if max(key[2], key[3]) >= self.loaded_ns - RACY_NS:
            if self.entries.pop(name, None) is not None:
                self.dirty = True
            return
        self.entries[name] = (key, checksum)
        self.dirty = True

    def save(self, present: set[str]) -> None:
        """Write the cache (only files still present), atomically; a read-only disk is not an error.

        Other directories' entries are kept when they are well formed and their directory still
        exists, so that two projects sharing a state directory do not keep rebuilding each other's."""
        stale = set(self.entries) - present
        if not self.dirty and not stale:
            return
        for name in stale:
            del self.entries[name]
        directories = {
            directory: _as_json(_entries(raw))
            for directory, raw in _read_directories(self.location).items()
            if directory != self.directory and os.path.isdir(directory)
        }
        directories[self.directory] = _as_json(self.entries)
        replace_state_file(
            self.location, json.dumps({"format": FORMAT, "directories": directories}).encode("utf-8")
        )
