"""A cache of file checksums for the read-only commands (``status``, ``list``, ``validate``).

Reading and hashing ten thousand migrations is most of what ``status`` costs; a ``stat`` is a tenth of
that. The cache is keyed the way git's index is: inode, size, and the modification *and change* times in
nanoseconds. The change time (ctime) is set by the kernel on every write and cannot be set by users
(``touch -d`` moves only mtime), so an edited file always misses the cache — the checksum guarantee does
not rest on anyone's clock discipline. ``run`` never uses the cache: it reads and hashes every file it
applies, so the recorded checksum is always that of the text that ran.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

CACHE_FILE = "checksums.json"
FORMAT = 1

Key = tuple[int, int, int, int]


def stat_key(result: os.stat_result) -> Key:
    return (result.st_ino, result.st_size, result.st_mtime_ns, result.st_ctime_ns)


@dataclass
class ChecksumCache:
    """Checksums by file name for one migrations directory; ``save`` writes it back if it changed."""

    location: Path
    directory: str
    entries: dict[str, tuple[Key, str]] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def load(cls, state_dir: Path, directory: Path) -> ChecksumCache:
        location = state_dir / CACHE_FILE
        cache = cls(location, str(directory.resolve()))
        try:
            document = json.loads(location.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            return cache
        entries = document.get("directories", {}).get(cache.directory, {})
        if isinstance(entries, dict):
            for name, value in entries.items():
                if value.__class__ is list and len(value) == 5:
                    ino, size, mtime, ctime, digest = value
                    if ino.__class__ is size.__class__ is mtime.__class__ is ctime.__class__ is int:
                        cache.entries[name] = ((ino, size, mtime, ctime), str(digest))
        return cache

    def get(self, name: str, key: Key) -> str | None:
        found = self.entries.get(name)
        return found[1] if found is not None and found[0] == key else None

    def put(self, name: str, key: Key, checksum: str) -> None:
        self.entries[name] = (key, checksum)
        self.dirty = True

    def save(self, present: set[str]) -> None:
        """Write the cache (only files still present), atomically; a read-only disk is not an error."""
        stale = set(self.entries) - present
        if not self.dirty and not stale:
            return
        for name in stale:
            del self.entries[name]
        try:
            try:
                document = json.loads(self.location.read_text(encoding="utf-8"))
                directories = document.get("directories", {}) if document.get("format") == FORMAT else {}
            except (OSError, ValueError, AttributeError):
                directories = {}
            directories[self.directory] = {
                name: [*key, checksum] for name, (key, checksum) in sorted(self.entries.items())
            }
            if not self.location.parent.is_dir():
                self.location.parent.mkdir(parents=True)
                (self.location.parent / ".gitignore").write_text("*\n", encoding="utf-8")
            temporary = self.location.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps({"format": FORMAT, "directories": directories}), encoding="utf-8")
            os.replace(temporary, self.location)
        except OSError:
            return
