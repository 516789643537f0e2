"""The pre-commit entries (``python -m ...``, as .pre-commit-hooks.yaml runs them) given a FIFO, a socket
or a symlink leading out of the migrations directory: named in one line, never a wait."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookrepo import Repo

NEW = "migrations/20250102000000_add_orders.sql"
TIMEOUT = 60


def hook(repo: Repo, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=repo.root,
        env=repo.env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.fixture
def committed(repo: Repo) -> Repo:
    repo.write("migrations/20250101000000_init.sql")
    repo.commit()
    return repo


@pytest.fixture(params=["fifo", "socket"])
def special(request: pytest.FixtureRequest, committed: Repo) -> Iterator[str]:
    """A FIFO or a listening unix socket at ``NEW``; yields how messages name it."""
    path = committed.root / NEW
    if request.param == "fifo":
        os.mkfifo(path)
        yield "a FIFO"
        return
    server = socket.socket(socket.AF_UNIX)
    cwd = Path.cwd()
    os.chdir(path.parent)  # a relative name: socket paths are limited to ~100 bytes
    try:
        server.bind(path.name)
    finally:
        os.chdir(cwd)
    with server:
        yield "a socket"


def test_lint_hook(committed: Repo, special: str) -> None:
    proc = hook(committed, "lockgate.lint", NEW)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert f"{NEW}:1:1: error[unreadable-file] not a regular file ({special})" in proc.stdout


def test_naming_hook(committed: Repo, special: str) -> None:
    proc = hook(committed, "lockgate.hooks.naming", NEW)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, f"{NEW}: not a regular file ({special})\n", "")


def test_immutable_hook_does_not_read_the_file(committed: Repo, special: str) -> None:
    """It judges staged changes from git, which never stores a FIFO or socket: nothing to report."""
    proc = hook(committed, "lockgate.hooks.immutable", NEW)
    assert (proc.returncode, proc.stderr) == (0, "")


@pytest.mark.parametrize("written", ["absolute", "relative"])
def test_symlink_leading_out(committed: Repo, written: str) -> None:
    outside = committed.write("elsewhere/evil.sql", "CREATE TABLE evil (id int);\n")
    link = committed.root / NEW
    link.symlink_to(outside if written == "absolute" else Path("../elsewhere/evil.sql"))
    committed.stage(NEW)
    expected = f"symlink to {outside}, outside "
    proc = hook(committed, "lockgate.lint", NEW)
    assert proc.returncode == 1 and f"{NEW}:1:1: error[unreadable-file] {expected}" in proc.stdout, (
        proc.stdout
    )
    proc = hook(committed, "lockgate.hooks.naming", NEW)
    assert proc.returncode == 1 and proc.stdout.startswith(f"{NEW}: {expected}"), proc.stdout
    assert len(proc.stdout.splitlines()) == 1


def test_symlink_inside_passes(committed: Repo) -> None:
    committed.write("migrations/shared/orders.sql.txt")
    (committed.root / NEW).symlink_to("shared/orders.sql.txt")
    committed.stage(NEW, "migrations/shared/orders.sql.txt")
    for module in ("lockgate.lint", "lockgate.hooks.naming", "lockgate.hooks.immutable"):
        proc = hook(committed, module, NEW)
        assert proc.returncode == 0, (module, proc.stdout, proc.stderr)
