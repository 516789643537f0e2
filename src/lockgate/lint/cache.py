"""Lint results by content, so that re-linting an unchanged tree costs a read and a hash per file.

Why: CI and the pre-commit hook lint the same migrations over and over, and a migration, once written,
hardly ever changes; parsing and checking it again only gives the same findings. A file's result is a
function of a few inputs, and its key is the SHA-256 of all of them, so a result is reused only where
linting again would give the very same one:

- the file's bytes (their SHA-256; on a miss, lint checks those same bytes, not a second read);
- the lockgate judging it: its version and its parser's PostgreSQL grammar — and, in a source checkout
  (an editable install), the size and time of every source file, since there a rule changes without a
  new version;
- every setting that can change a finding: ``LintSettings`` field by field (all but the summary's note);
- the catalog the file meets: the digest of the versions and schema operations of every earlier migration
  of its directory (``Snapshots.steps_digest``), or none. A lint against a real database never comes here:
  the database changes without any file changing;
- the display path, which every finding carries.

Stored in ``.lockgate/lint-results``: one ``marshal`` document (the wire format of ``lint.parallel``: built
in, nothing to import, and loading several times faster than JSON), after a header naming the format and
the payload's SHA-256; one entry per file, its newest result. A cache is only a cache: a file with another
header or checksum is ignored and rewritten, an entry is checked field by field before it is used, and one
whose key differs (other bytes, settings, history or lockgate) is a miss. Entries for files no longer
present are dropped. The file is written whole to a temporary name and renamed over the old one, so a
concurrent run reads the old file or the new one, never half of either, and the last writer wins; in a
read-only checkout there is simply no cache. (``marshal`` is not meant for data an attacker wrote; the
checksum keeps accidental damage from reaching it, and whoever can write ``.lockgate/`` can rewrite the
migrations themselves.)
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from lockgate.files import read_regular_file
from lockgate.lint.configuration import LintSettings
from lockgate.lint.findings import FileResult, from_wire, to_wire
from lockgate.state_file import replace_state_file

NAME = "lint-results"
FORMAT = 1
HEADER = b"lockgate lint results %d\n" % FORMAT
_CHECKSUM = 32  # bytes of SHA-256 after the header

Entry = tuple[bytes, Any]
"""``(key, to_wire(result))``."""


class ResultCache:
    """The results of one lint run's files: looked up before linting, saved once after."""

    def __init__(self, cache_dir: Path, settings: LintSettings) -> None:
        self.path = cache_dir / NAME
        self._salt = _salt(settings)
        self._entries = _load(self.path)
        self._seen: set[str] = set()
        self._changed = False

    def key(self, digest: str, steps: str | None, display: str) -> bytes:
        """The key of a file's result: its bytes' SHA-256 (hex), the digest of the history before it
        (None: it meets no catalog) and the path its findings show, on top of this run's lockgate and
        settings."""
        parts = (self._salt, digest, steps or "-", display)
        return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).digest()

    def get(self, slot: str, key: bytes) -> FileResult | None:
        """The result stored for ``slot`` (the file's absolute path) under ``key``, if valid."""
        self._seen.add(slot)
        entry = self._entries.get(slot)
        if entry is None or entry[0] != key:
            return None
        try:
            return from_wire(entry[1])
        except (TypeError, ValueError):
            return None

    def put(self, slot: str, key: bytes, result: FileResult) -> None:
        self._seen.add(slot)
        self._entries[slot] = (key, to_wire(result))
        self._changed = True

    def save(self) -> None:
        """Drop entries for files no longer present and, if anything changed, replace the file."""
        gone = _gone(slot for slot in self._entries if slot not in self._seen)
        for slot in gone:
            del self._entries[slot]
        if not (self._changed or gone):
            return
        payload = marshal.dumps(self._entries)
        # A read-only checkout keeps no cache: the results are right, only slower next time.
        replace_state_file(self.path, HEADER + hashlib.sha256(payload).digest() + payload)


def _gone(slots: Iterable[str]) -> list[str]:
    """The paths among ``slots`` that no longer exist: one directory listing per directory, not a ``stat``
    per file (a hook linting one staged file keeps the entries of the thousand beside it)."""
    by_directory: dict[str, list[str]] = {}
    for slot in slots:
        by_directory.setdefault(os.path.dirname(slot), []).append(slot)
    gone: list[str] = []
    for directory, inside in by_directory.items():
        try:
            present = set(os.listdir(directory))
        except OSError:
            present = set()
        gone.extend(slot for slot in inside if os.path.basename(slot) not in present)
    return gone


def _load(path: Path) -> dict[str, Entry]:
    """The entries of the cache file; nothing at all unless header, checksum and shape are exactly ours."""
    try:
        data = read_regular_file(path)
    except OSError:
        return {}
    start = len(HEADER) + _CHECKSUM
    if not data.startswith(HEADER) or hashlib.sha256(data[start:]).digest() != data[len(HEADER) : start]:
        return {}
    try:
        document = marshal.loads(data[start:])
    except (EOFError, ValueError, TypeError):
        return {}
    if type(document) is not dict:
        return {}
    return {
        slot: entry
        for slot, entry in document.items()
        if type(slot) is str
        and type(entry) is tuple
        and len(entry) == 2
        and type(entry[0]) is bytes
        and len(entry[0]) == hashlib.sha256().digest_size
    }


def _salt(settings: LintSettings) -> str:
    """What every key of one run shares: the lockgate judging, and the settings it judges with."""
    import lockgate
    from lockgate import pgparser

    parts = [f"format {FORMAT}", f"lockgate {lockgate.__version__}", f"grammar {pgparser.grammar_version()}"]
    parts += [
        f"{field} {_canonical(getattr(settings, field))!r}"
        for field in settings._fields
        if field != "note"  # said once under the summary, in no file's result
    ]
    parts += _source_stamp(os.path.dirname(lockgate.__file__))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """``value`` with sets sorted and enums as their values, so equal settings print equally."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(_canonical(item) for item in value)
    if isinstance(value, Mapping):
        return sorted((key, _canonical(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _source_stamp(package: str) -> list[str]:
    """Size and modification time of every source file of lockgate when it runs from a source checkout
    (under 1 ms); nothing for an installed one, whose version says it all (and whose files a fresh
    ``pip install`` in each CI job would stamp anew, losing the cache every time)."""
    if os.path.basename(os.path.dirname(package)) in ("site-packages", "dist-packages"):
        return []
    stamp: list[str] = []
    pending = [package]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.name.endswith(".py"):
                        status = entry.stat()
                        stamp.append(f"{entry.path} {status.st_size} {status.st_mtime_ns}")
                    elif entry.name != "__pycache__" and entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
        except OSError:  # a zipped install: nothing to stamp, the version stands alone
            continue
    return sorted(stamp)
