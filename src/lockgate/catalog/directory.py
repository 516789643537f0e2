"""The catalog each file of a migrations directory meets, from the directory's own history.

Light on purpose (no ``lockgate.source``, no dataclasses): lint and the pre-commit hook call it. Files are
read raw and identified by the SHA-256 of their bytes; each file's schema operations are kept in
``.lockgate/catalog-ops.json`` under that digest, so a commit that adds one file to a history of a
thousand parses one file, not a thousand. The cache is a cache: anything in it that is not exactly what
this module writes is ignored, and a digest can only ever name the bytes it was computed from.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lockgate.catalog.history import Op, statement_ops
from lockgate.catalog.model import Catalog
from lockgate.catalog.snapshots import Snapshots, ops_digest
from lockgate.checksum import normalise_text
from lockgate.files import read_regular_file
from lockgate.naming import NameError_, parse_filename
from lockgate.state_file import replace_state_file

CACHE_NAME = "catalog-ops.json"
FORMAT = 2
"""2: each entry is ``[operations digest, operations]`` (1 held the operations alone)."""


class OpsCache:
    """Schema operations by file digest — each with the digest of the operations themselves, which lint's
    result cache chains into a history digest without serialising every file's operations again on each
    run — loaded once and saved if anything new was computed."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.path = cache_dir / CACHE_NAME if cache_dir is not None else None
        self.ops: dict[str, tuple[str, list[Op]]] = {}
        self.used: set[str] = set()
        self.changed = False
        if self.path is not None:
            self.ops = _load(self.path)

    def get(self, digest: str, compute: Any) -> tuple[str, list[Op]]:
        """``(operations digest, operations)`` of the file whose bytes have ``digest``."""
        self.used.add(digest)
        found = self.ops.get(digest)
        if found is None:
            ops = compute()
            found = (ops_digest(ops), ops)
            self.ops[digest] = found
            self.changed = True
        return found

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        kept = {digest: list(entry) for digest, entry in self.ops.items() if digest in self.used}
        # A read-only checkout keeps no cache: the catalog is still right, only slower next time.
        replace_state_file(
            self.path, json.dumps({"format": FORMAT, "ops": kept}, separators=(",", ":")).encode()
        )


def _load(path: Path) -> dict[str, tuple[str, list[Op]]]:
    try:
        document = json.loads(read_regular_file(path))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return {}
    ops = document.get("ops")
    if not isinstance(ops, dict):
        return {}
    return {
        digest: (entry[0], entry[1])
        for digest, entry in ops.items()
        if isinstance(digest, str)
        and len(digest) == 64
        and isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and len(entry[0]) == 64
        and _valid_ops(entry[1])
    }


def _valid_ops(value: Any) -> bool:
    from lockgate.catalog.history import _APPLY

    return isinstance(value, list) and all(
        isinstance(op, list) and op and isinstance(op[0], str) and op[0] in _APPLY for op in value
    )


def _ops_of(data: bytes) -> list[Op]:
    """The schema operations of a file's bytes, from the bare parse tree (no statement objects, line
    numbers or directive checks: only the schema matters here). A file that does not parse, or holds a
    NUL byte, contributes none: lint reports it on its own."""
    from lockgate import pgparser, treejson

    try:
        text = normalise_text(data.decode("utf-8"))
        if "\0" in text:
            return []
        tree = treejson.loads(pgparser.parse_sql_json(text))
    except (UnicodeDecodeError, pgparser.ParseError, RecursionError, ValueError):
        return []
    kinds = [next(iter(raw["stmt"].items())) for raw in tree.get("stmts", [])]
    return [list(op) for op in statement_ops(kinds)]


def directory_catalogs(
    directory: Path, cache_dir: Path | None = None, contents: dict[str, tuple[str, bytes]] | None = None
) -> Snapshots:
    """File name -> the catalog that file meets: every migration of ``directory`` before it, replayed in
    version order (each built when asked for). Files whose names do not parse are left out (naming
    checks report them). ``contents`` as for ``directory_ops``."""
    digests: list[str] = []
    steps = directory_ops(directory, cache_dir, contents, digests)
    return Snapshots(Catalog("history"), steps, digests)


def on_database(
    base: Catalog, files: list[tuple[str, int, list[Op]]], applied: set[int]
) -> Mapping[str, Catalog]:
    """File name -> the catalog that file meets on a real database: ``base`` (read from it, with sizes)
    plus the operations of the files before it that the database has not applied yet. Tables those
    files create carry their version, so they count as new in the same plan."""
    return Snapshots(base, [(name, version, ops) for name, version, ops in files if version not in applied])


def directory_ops(
    directory: Path,
    cache_dir: Path | None = None,
    contents: dict[str, tuple[str, bytes]] | None = None,
    digests: list[str] | None = None,
) -> list[tuple[str, int, list[Op]]]:
    """``(file name, version, schema operations)`` of every migration of ``directory``, in version order.

    ``contents``, when given, receives each regular file's digest and bytes by name (not a symlink's):
    lint keys its result cache by them and lints those very bytes, so each file is read once and a result
    always matches its key.
    ``digests``, when given, receives each file's operations digest (``ops_digest``), in the same order."""
    entries: list[tuple[int, str, str, bool]] = []
    try:
        with os.scandir(directory) as scan:
            for entry in scan:
                if not entry.name.endswith(".sql"):
                    continue
                try:
                    parsed = parse_filename(entry.name)
                except NameError_:
                    continue
                entries.append((parsed.version, entry.name, entry.path, entry.is_symlink()))
    except OSError:
        return []
    entries.sort()
    cache = OpsCache(cache_dir)
    files: list[tuple[str, int, list[Op]]] = []
    for version, name, path, symlink in entries:
        try:
            data = read_regular_file(path)
        except OSError:
            continue
        digest = hashlib.sha256(data).hexdigest()
        if contents is not None and not symlink:  # a symlink's target is checked by its reader
            contents[name] = (digest, data)
        operations_digest, ops = cache.get(digest, lambda data=data: _ops_of(data))
        files.append((name, version, ops))
        if digests is not None:
            digests.append(operations_digest)
    cache.save()
    return files
