"""The catalog each file of a history meets, built when asked for, not all at once.

Why lazy: a copy of the catalog before every file is quadratic memory — each copy holds every table the
files before it created — and a ten-year history of 10,000 migrations needed 2 GB for copies nobody held
at the same time (lint looks at one file after another). ``Snapshots`` keeps the operations, replays them
forward on one working catalog, and hands out a copy of the state before the file asked for. Lint asks in
file order, so each request applies one file's operations and makes one copy, as building them all did;
a request for an earlier file (a forked lint worker starting its share, a caller going back) restarts from
the nearest checkpoint, a copy kept every ~√n files, so memory stays near n·√n table entries instead of n².
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from lockgate.catalog.history import Op, apply
from lockgate.catalog.model import Catalog

Step = tuple[str, int, list[Op]]
"""``(file name, version, schema operations)``: one file of a history, in replay order."""


def ops_digest(ops: list[Op]) -> str:
    """SHA-256 of a file's operations as JSON (as the cache stores them: a fresh parse's tuples and the
    cache's lists give the same digest)."""
    return hashlib.sha256(json.dumps(ops, separators=(",", ":")).encode()).hexdigest()


class Snapshots(Mapping[str, Catalog]):
    """File name -> the catalog before that file: ``base`` plus the operations of every step before it.

    Each value is a fresh copy the caller may keep or change; asking twice builds it twice.
    """

    def __init__(
        self, base: Catalog, steps: Iterable[Step], ops_digests: Sequence[str] | None = None
    ) -> None:
        self._base = base.copy()
        self._steps = list(steps)
        self._ops_digests = list(ops_digests) if ops_digests is not None else None
        """Each step's ``directory.ops_digest``, when its reader had them cached (else computed here)."""
        self._index = {name: position for position, (name, _, _) in enumerate(self._steps)}
        self._every = max(8, math.isqrt(len(self._steps)))
        self._checkpoints: dict[int, Catalog] = {0: self._base}
        self._cursor = 0
        self._working = self._base.copy()
        self._digests: list[str] = []

    def __getitem__(self, name: str) -> Catalog:
        return self._before(self._index[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def steps_digest(self, name: str) -> str:
        """SHA-256 of the steps before ``name`` — their versions and operations, not the base: over one base,
        equal digests mean equal catalogs. Lint's result cache keys a file's findings by it, so a comment
        edited in an earlier migration keeps the later files' results and a schema change does not."""
        if not self._digests:  # all at once, with no hash object kept: a spawned lint worker pickles this
            given = (
                self._ops_digests
                if self._ops_digests is not None and len(self._ops_digests) == len(self._steps)
                else None
            )
            hasher = hashlib.sha256()
            for position, (_, version, ops) in enumerate(self._steps):
                self._digests.append(hasher.hexdigest())
                digest = given[position] if given is not None else ops_digest(ops)
                hasher.update(f"{version}\t{digest}\n".encode())
        return self._digests[self._index[name]]

    def view(self, name: str) -> Catalog:
        """The catalog before ``name`` without a copy: valid only until the next request, and never to be
        changed. Lint judges one file at a time and only reads the catalog, so it needs no copy per file
        (a tenth of what the history costs lint)."""
        self._advance(self._index[name])
        return self._working

    def _before(self, position: int) -> Catalog:
        self._advance(position)
        return self._working.copy()

    def _advance(self, position: int) -> None:
        if position < self._cursor:  # back to the nearest checkpoint at or before it
            start = position - position % self._every
            self._working = self._checkpoints[start].copy()
            self._cursor = start
        while self._cursor < position:
            _, version, ops = self._steps[self._cursor]
            apply(self._working, ops, version)
            self._cursor += 1
            if self._cursor % self._every == 0 and self._cursor not in self._checkpoints:
                self._checkpoints[self._cursor] = self._working.copy()


class ByPath(Mapping[Path, Catalog]):
    """Path -> the catalog that file meets, over one ``Snapshots`` per directory: still built when asked
    for (lint's files may come from several migration directories)."""

    def __init__(
        self,
        by_directory: Mapping[Path, Mapping[str, Catalog]],
        files: Iterable[Path] | Mapping[Path, Mapping[str, Path]],
    ) -> None:
        """``files``: the paths, or — when the caller grouped them already — directory -> name -> path.
        Each path's directory and name are looked up once: ``path.parent`` builds a new Path (and hashes
        it) at every call, which cost lint more than the catalogs themselves."""
        grouped: Mapping[Path, Mapping[str, Path]]
        if isinstance(files, Mapping):
            grouped = files
        else:
            collected: dict[Path, dict[str, Path]] = {}
            for path in files:
                collected.setdefault(path.parent, {})[path.name] = path
            grouped = collected
        self._files: dict[Path, tuple[Mapping[str, Catalog], str]] = {}
        for directory, names in grouped.items():
            snapshots = by_directory.get(directory)
            if snapshots is None:
                continue
            for name, path in names.items():
                if name in snapshots:
                    self._files[path] = (snapshots, name)

    def __getitem__(self, path: Path) -> Catalog:
        snapshots, name = self._files[path]
        return snapshots[name]

    def view(self, path: Path) -> Catalog | None:
        """``Snapshots.view`` of the file (None when it has no history): read-only, until the next call."""
        found = self._files.get(path)
        if found is None:
            return None
        snapshots, name = found
        return snapshots.view(name) if isinstance(snapshots, Snapshots) else snapshots[name]

    def __iter__(self) -> Iterator[Path]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def steps_digest_or_none(self, path: Path) -> str | None:
        """``steps_digest`` of ``path``, None when it has no history (one look-up: lint asks per file)."""
        found = self._files.get(path)
        if found is None:
            return None
        snapshots, name = found
        return snapshots.steps_digest(name) if isinstance(snapshots, Snapshots) else None

    def steps_digest(self, path: Path) -> str:
        """``Snapshots.steps_digest`` of the file in its directory's history (``KeyError`` if it has none)."""
        snapshots, name = self._files[path]
        if not isinstance(snapshots, Snapshots):
            raise TypeError(f"{path.parent}: catalogs without steps")
        return snapshots.steps_digest(name)
