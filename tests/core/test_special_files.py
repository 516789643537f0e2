"""Only regular files are migrations: a FIFO, socket, device or directory named ``*.sql`` and a symlink
leading out of the migrations directory are refused by name, at once, by every command (never a wait)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from core_helpers import add

pytestmark = pytest.mark.db

GOOD = ("20250101000000_good.sql", "CREATE TABLE good (id int);\n")
BAD = "20250102000000_bad.sql"
KINDS = {"fifo": "a FIFO", "socket": "a socket", "directory": "a directory", "device": "a character device"}
TIMEOUT = 60  # a hang fails the test instead of the suite


@contextmanager
def special_file(path: Path, kind: str) -> Iterator[None]:
    """Create a non-regular file at ``path``; a bound socket stays open for the block."""
    if kind == "fifo":
        os.mkfifo(path)
        yield
    elif kind == "directory":
        path.mkdir()
        yield
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers
        except PermissionError:
            pytest.skip("creating a device node needs CAP_MKNOD")
        yield
    else:
        server = socket.socket(socket.AF_UNIX)
        cwd = Path.cwd()
        os.chdir(path.parent)  # a relative name: socket paths are limited to ~100 bytes
        try:
            server.bind(path.name)
        finally:
            os.chdir(cwd)
        with server:
            yield


def lockgate(project: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real console script, with a timeout: the bug this guards against is a hang."""
    env = {**os.environ, "LOCKGATE_DATABASE_URL": db_url, "LOCKGATE_RETRY_BACKOFF": "10ms"}
    return subprocess.run(
        [sys.executable, "-m", "lockgate", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def lint(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lockgate.lint", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def assert_untouched(conn: psycopg.Connection) -> None:
    assert conn.execute("SELECT to_regclass('public.good')").fetchone() == (None,)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["validate", "status", "run"])
def test_special_files_are_refused_at_once(
    project: Path, db_url: str, conn: psycopg.Connection, command: str, kind: str
) -> None:
    add(project, *GOOD)
    bad = project / "migrations" / BAD
    with special_file(bad, kind):
        proc = lockgate(project, db_url, command)
        second = lockgate(project, db_url, command)  # status/validate again: now with a checksum cache
    for result in (proc, second):
        assert result.returncode == 1, result.stdout + result.stderr
        assert (
            error_line(result)
            == f"error: {bad}: not a regular file ({KINDS[kind]}); a migration must be a regular file"
        )
    assert_untouched(conn)


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory"])
def test_lint_reports_special_files_as_findings(project: Path, kind: str) -> None:
    add(project, *GOOD)
    bad = project / "migrations" / BAD
    with special_file(bad, kind):
        # A directory named on the command line is a directory to lint, whatever its name.
        named = [] if kind == "directory" else [[f"migrations/{BAD}"]]
        for args in ([], ["migrations"], *named):
            proc = lint(project, *args)
            assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
            assert (
                f"migrations/{BAD}:1:1: error[unreadable-file] not a regular file ({KINDS[kind]})"
                in proc.stdout
            )


def _outside(project: Path, how: str) -> tuple[Path, str]:
    """Where a link leads, and how it is written (absolute or relative)."""
    elsewhere = project / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    (elsewhere / "evil.sql").write_text("CREATE TABLE evil (id int);\n", encoding="utf-8")
    if how == "absolute file":
        return elsewhere / "evil.sql", str(elsewhere / "evil.sql")
    if how == "relative file":
        return elsewhere / "evil.sql", "../elsewhere/evil.sql"
    if how == "directory":
        return elsewhere, str(elsewhere)
    return Path("/dev/null"), "/dev/null"


OUTSIDE = ["absolute file", "relative file", "directory", "device"]


@pytest.mark.parametrize("how", OUTSIDE)
@pytest.mark.parametrize("command", ["validate", "status", "run"])
def test_symlinks_leading_out_are_refused(
    project: Path, db_url: str, conn: psycopg.Connection, command: str, how: str
) -> None:
    add(project, *GOOD)
    link = project / "migrations" / BAD
    target, written = _outside(project, how)
    link.symlink_to(written)
    proc = lockgate(project, db_url, command)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert error_line(proc) == (
        f"error: {link}: symlink to {target}, outside {project / 'migrations'}; only files inside the "
        "directory are read (copy the file in instead)"
    )
    assert_untouched(conn)
    assert conn.execute("SELECT to_regclass('public.evil')").fetchone() == (None,)


@pytest.mark.parametrize("how", OUTSIDE)
def test_lint_refuses_symlinks_leading_out(project: Path, how: str) -> None:
    add(project, *GOOD)
    link = project / "migrations" / BAD
    target, written = _outside(project, how)
    link.symlink_to(written)
    for args in ([], [f"migrations/{BAD}"]):
        proc = lint(project, *args)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"migrations/{BAD}:1:1: error[unreadable-file] symlink to {target}, outside " in proc.stdout


def test_a_symlink_inside_the_directory_is_a_migration(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    """A link to a file inside the directory (or below it) is read: that file is tracked and reviewed."""
    add(project, *GOOD)
    shared = project / "migrations" / "shared"
    shared.mkdir()
    (shared / "create.sql.txt").write_text("CREATE TABLE linked (id int);\n", encoding="utf-8")
    (project / "migrations" / BAD).symlink_to("shared/create.sql.txt")
    for command in ("validate", "run", "status"):
        proc = lockgate(project, db_url, command)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert conn.execute("SELECT to_regclass('public.linked')").fetchone() == ("linked",)
    assert "unreadable-file" not in lint(project).stdout


def test_a_symlinked_migrations_directory_is_fine(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    """Containment is judged on resolved paths: a link written through the directory's own symlink
    (``project/migrations`` -> ``project/db/migrations``) still leads inside it."""
    real = project / "db" / "migrations"
    (real / "shared").mkdir(parents=True)
    (project / "migrations").rmdir()
    (project / "migrations").symlink_to(real)
    (real / "shared" / "one.sql.txt").write_text("CREATE TABLE one (id int);\n", encoding="utf-8")
    (real / "shared" / "two.sql.txt").write_text("CREATE TABLE two (id int);\n", encoding="utf-8")
    (real / "20250101000000_one.sql").symlink_to(project / "migrations" / "shared" / "one.sql.txt")
    (real / "20250102000000_two.sql").symlink_to(real / "shared" / "two.sql.txt")
    proc = lockgate(project, db_url, "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert conn.execute("SELECT to_regclass('public.one'), to_regclass('public.two')").fetchone() == (
        "one",
        "two",
    )
