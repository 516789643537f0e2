"""lockgate's own state files (the caches under ``.lockgate/``), written whole or not at all.

One writer for the checksum cache, the catalog operations cache and the lint result cache: the same
directory creation, ``.gitignore`` and atomic replace, so none of them can drift from the others.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def replace_state_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it that then replaces it: a concurrent
    reader sees the old file or the new one, never half of either, and two writers leave the last one's.
    A directory made here gets a ``.gitignore`` of ``*``, so caches never turn up in ``git status``. A
    read-only disk is no error (the caches are caches), and no temporary file is left behind."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        try:
            path.parent.mkdir(parents=True)
        except FileExistsError:  # (or made by a concurrent run just now)
            pass
        else:
            (path.parent / ".gitignore").write_text("*\n", encoding="utf-8")
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
