"""What a tracking row records about *who* and *where*: actor, host, git commit, lockgate version.

Collected once per run (a ``git rev-parse`` per migration would dominate a thousand-migration run).
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lockgate import __version__


def _git_commit(directory: Path) -> str | None:
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _actor() -> str:
    if os.environ.get("GITHUB_ACTOR"):
        return os.environ["GITHUB_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _storable(text: str) -> str:
    """``text`` as jsonb will take it: an environment variable that is not UTF-8 (``GITHUB_ACTOR``) reaches
    Python as lone surrogates, which JSON escapes as ``\\udcff`` and PostgreSQL then refuses — failing the
    migration's tracking row, and with it the migration. Shown escaped instead, as are NULs."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def run_metadata(via: str, directory: Path, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Metadata shared by every row one run writes; doors add their own keys through ``extra``."""
    metadata: dict[str, Any] = {
        "lockgate_version": __version__,
        "via": via,
        "actor": _storable(_actor()),
        "host": _storable(socket.gethostname()),
    }
    commit = _git_commit(directory if directory.is_dir() else Path.cwd())
    if commit:
        metadata["git_commit"] = _storable(commit)
    metadata.update(extra or {})
    return metadata
