"""End to end: real ``git commit`` runs, through the pre-commit framework and through ``hooks/pre-commit``.

The pre-commit framework installs lockgate from a git snapshot of this checkout into a hook environment
under one ``PRE_COMMIT_HOME`` shared by the whole session (and by every xdist worker), so the ~15 s
environment build happens once. ``pre-commit try-repo`` cannot share it (it always uses a throw-away
store), so it is exercised by one test only.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest
from hookrepo import GOOD_SQL, Repo, init_repo, isolated_git_env

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
INIT = "migrations/20250101000000_init.sql"
# CREATE INDEX CONCURRENTLY cannot run in the transaction the rest of the file runs in.
BAD_SQL = "create table orders (id bigint);\n\ncreate index concurrently orders_id on accounts (id);\n"
# Passes every lint rule: the hooks must let good work through, not only stop bad work.
ORDERS_SQL = "create table orders (id bigint primary key);\nalter table orders enable row level security;\n"
HOOK_IDS = ("lockgate-lint", "lockgate-naming", "lockgate-immutable")

lint_available = pytest.mark.skipif(
    find_spec("lockgate.lint.subcommand") is None,
    reason="`lockgate lint` (lockgate.lint.subcommand) has not landed",
)


@dataclass(frozen=True)
class HookSource:
    """A commit of this checkout that pre-commit can clone, and the store its environments go to."""

    path: Path
    rev: str
    pre_commit_home: Path


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp directory all xdist workers of this run share (each worker's basetemp is inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _snapshot(source: Path, dest: Path, env: dict[str, str]) -> str:
    """Clone ``source`` and commit its uncommitted changes to tracked files, as ``try-repo`` does."""

    def git(*args: str, cwd: Path, extra: dict[str, str] | None = None) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, env={**env, **(extra or {})}, check=True, capture_output=True, text=True
        ).stdout

    git("clone", "--quiet", str(source), str(dest), cwd=source.parent)
    git(
        "checkout",
        "--quiet",
        "-B",
        "lockgate-test-snapshot",
        git("rev-parse", "HEAD", cwd=source).strip(),
        cwd=dest,
    )
    if subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=source, env=env).returncode != 0:
        into_snapshot = {
            "GIT_INDEX_FILE": str(dest / ".git" / "index"),
            "GIT_OBJECT_DIRECTORY": str(dest / ".git" / "objects"),
        }
        staged = git("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMRT", cwd=source).split("\0")
        if any(staged):
            git("add", "--", *[name for name in staged if name], cwd=source, extra=into_snapshot)
        git("add", "--update", cwd=source, extra=into_snapshot)
        git("commit", "--quiet", "--no-verify", "-m", "uncommitted changes", cwd=dest)
    return git("rev-parse", "HEAD", cwd=dest).strip()


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> HookSource:
    shared = _shared_dir(tmp_path_factory)
    snapshot, rev_file = shared / "lockgate-hook-source", shared / "lockgate-hook-source.rev"
    with _exclusive(shared / "lockgate-hook-source.lock"):
        if not rev_file.exists():
            shutil.rmtree(snapshot, ignore_errors=True)
            home = shared / "lockgate-hook-source-home"
            home.mkdir(exist_ok=True)
            (home / "gitconfig").write_text("[user]\n\tname = Snapshot\n\temail = snapshot@example.com\n")
            rev_file.write_text(_snapshot(REPO_ROOT, snapshot, isolated_git_env(home)))
    return HookSource(snapshot, rev_file.read_text().strip(), shared / "lockgate-pre-commit-home")


@dataclass(frozen=True)
class Project:
    """A user's repository with one committed migration and a hook installed."""

    repo: Repo
    env: dict[str, str]

    def commit(self, message: str = "change") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "commit", "-m", message],
            cwd=self.repo.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def head_message(self) -> str:
        return self.repo.git("log", "-1", "--format=%s").stdout.strip()


def _project(tmp_path: Path) -> Repo:
    repo = init_repo(tmp_path / "project", tmp_path / "home")
    repo.write(INIT)
    repo.write("README.md", "A project.\n")
    repo.commit("initial schema")
    return repo


@pytest.fixture
def framework_project(tmp_path: Path, hook_source: HookSource) -> Project:
    """Hooks installed with ``pre-commit install`` from a ``.pre-commit-config.yaml``."""
    repo = _project(tmp_path)
    hooks = "".join(f"      - id: {hook_id}\n" for hook_id in HOOK_IDS)
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {hook_source.path}\n    rev: {hook_source.rev}\n    hooks:\n{hooks}",
    )
    repo.commit("configure pre-commit")
    env = {**repo.env, "PRE_COMMIT_HOME": str(hook_source.pre_commit_home)}
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo.root, env=env, check=True)
    return Project(repo, env)


@pytest.fixture
def plain_project(tmp_path: Path) -> Project:
    """``hooks/pre-commit`` copied to ``.git/hooks``, with the test venv's ``lockgate`` on PATH."""
    repo = _project(tmp_path)
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    shutil.copyfile(REPO_ROOT / "hooks" / "pre-commit", hook)
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env = {**repo.env, "PATH": f"{VENV_BIN}{os.pathsep}{repo.env.get('PATH', '')}"}
    env.pop("LOCKGATE", None)
    return Project(repo, env)


@pytest.fixture(params=["framework", "plain"])
def project(request: pytest.FixtureRequest) -> Project:
    fixture: Project = request.getfixturevalue(f"{request.param}_project")
    return fixture


def assert_blocked(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for text in expected:
        assert text in output, output


def test_good_migration_commits(project: Project) -> None:
    project.repo.write("migrations/20250102000000_add_orders.sql", ORDERS_SQL)
    project.repo.stage("migrations/20250102000000_add_orders.sql")
    result = project.commit("add orders")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.head_message() == "add orders"


@lint_available
def test_unsafe_sql_is_blocked_with_rule_and_line(project: Project) -> None:
    project.repo.write("migrations/20250102000000_add_orders.sql", BAD_SQL)
    project.repo.stage("migrations/20250102000000_add_orders.sql")
    assert_blocked(project.commit(), "migrations/20250102000000_add_orders.sql:3:", "mixed-transaction")
    assert project.head_message() != "change"


def test_misnamed_file_is_blocked_with_the_suggested_name(project: Project) -> None:
    project.repo.write("migrations/Add Orders.sql", ORDERS_SQL)
    project.repo.stage("migrations/Add Orders.sql")
    result = project.commit()
    assert_blocked(result, "migrations/Add Orders.sql: migration files must be named")
    assert re.search(r"\(rename to migrations/\d{14}_add_orders\.sql\)", result.stdout + result.stderr)


def test_edit_of_committed_migration_is_blocked(project: Project) -> None:
    project.repo.write(INIT, GOOD_SQL.replace("bigint", "integer"))
    project.repo.stage(INIT)
    assert_blocked(
        project.commit(), f"{INIT}: error[checksum-mismatch] modifies a migration already committed on HEAD"
    )


def test_commit_all_of_an_unstaged_edit_is_blocked(project: Project) -> None:
    """``git commit -a`` stages into a temporary index (GIT_INDEX_FILE) that the hooks must read."""
    project.repo.write(INIT, GOOD_SQL.replace("bigint", "integer"))
    result = subprocess.run(
        ["git", "commit", "-a", "-m", "sneaky"],
        cwd=project.repo.root,
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert_blocked(result, f"{INIT}: error[checksum-mismatch] modifies a migration already committed on HEAD")


def test_rename_of_committed_migration_is_blocked(project: Project) -> None:
    project.repo.git("mv", INIT, "migrations/20250101000000_initial.sql")
    assert_blocked(project.commit(), f"renames {INIT}, a migration already committed on HEAD")


def test_delete_of_committed_migration_is_blocked(project: Project) -> None:
    project.repo.git("rm", "--quiet", INIT)
    assert_blocked(
        project.commit(), f"{INIT}: error[missing-file] deletes a migration already committed on HEAD"
    )


def test_whitespace_edit_of_committed_migration_commits(project: Project) -> None:
    project.repo.write(INIT, "-- the accounts\n" + GOOD_SQL.replace(" (", "(\n  "))
    project.repo.stage(INIT)
    result = project.commit("reformat")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_run_from_the_base_branch_checks_the_whole_branch(framework_project: Project) -> None:
    """``pre-commit run --from-ref main --to-ref HEAD``: commits already made on the branch count."""
    repo = framework_project.repo
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.write(INIT, GOOD_SQL.replace("bigint", "integer"))
    repo.commit("edit a committed migration, skipping the hooks")
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--from-ref", "main", "--to-ref", "HEAD"],
        cwd=repo.root,
        env=framework_project.env,
        capture_output=True,
        text=True,
    )
    assert_blocked(result, f"{INIT}: error[checksum-mismatch] modifies a migration already committed on main")


def test_plain_hook_ignores_commits_without_migrations(plain_project: Project) -> None:
    """No migration staged: the hook must not even need lockgate."""
    env = {**plain_project.env, "LOCKGATE": str(plain_project.repo.root / "no-such-lockgate")}
    plain_project.repo.write("README.md", "Changed.\n")
    plain_project.repo.stage("README.md")
    result = subprocess.run(
        ["git", "commit", "-m", "docs"], cwd=plain_project.repo.root, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_plain_hook_uses_lockgate_variable_and_reports_a_missing_binary(plain_project: Project) -> None:
    path_without_venv = os.pathsep.join(
        entry for entry in plain_project.env["PATH"].split(os.pathsep) if Path(entry) != VENV_BIN
    )
    plain_project.repo.write("migrations/20250102000000_add_orders.sql", ORDERS_SQL)
    plain_project.repo.stage("migrations/20250102000000_add_orders.sql")

    def commit(**extra: str) -> subprocess.CompletedProcess[str]:
        env = {**plain_project.env, "PATH": path_without_venv, **extra}
        return subprocess.run(
            ["git", "commit", "-m", "add orders"],
            cwd=plain_project.repo.root,
            env=env,
            capture_output=True,
            text=True,
        )

    missing = commit()
    assert missing.returncode == 1
    assert "'lockgate' not found" in missing.stderr
    found = commit(LOCKGATE=str(VENV_BIN / "lockgate"))
    assert found.returncode == 0, found.stdout + found.stderr


def test_try_repo_runs_the_hooks_from_this_checkout(tmp_path: Path) -> None:
    """``pre-commit try-repo`` as a hook author would: includes uncommitted changes, fresh environment."""
    repo = _project(tmp_path)
    repo.write("migrations/add_orders.sql", ORDERS_SQL)
    repo.git("rm", "--quiet", INIT)
    repo.git("add", "--all")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(REPO_ROOT),
            "--files",
            "migrations/add_orders.sql",
        ],
        cwd=repo.root,
        env=repo.env,
        capture_output=True,
        text=True,
    )
    assert_blocked(
        result,
        "migrations/add_orders.sql: migration files must be named",
        f"{INIT}: error[missing-file] deletes a migration already committed on HEAD",
    )


def _lockgate(project: Project, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**project.env, "LOCKGATE_DATABASE_URL": db_url}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [str(VENV_BIN / "lockgate"), *args],
        cwd=project.repo.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_hook_validate_and_run_agree_on_edits_of_an_applied_migration(project: Project, db_url: str) -> None:
    """One verdict from commit to deploy: a comment-only edit passes every gate with the same warning and
    runs nothing; a semantic edit is blocked by the hook and, forced past it, by validate and run under
    the same rule id."""
    applied = _lockgate(project, db_url, "run")
    assert applied.returncode == 0, applied.stdout + applied.stderr

    project.repo.write(INIT, GOOD_SQL + "-- reviewed by the DBA\n")
    project.repo.stage(INIT)
    committed = project.commit("comment on the migration")
    assert committed.returncode == 0, committed.stdout + committed.stderr
    for command in ("validate", "run"):
        result = _lockgate(project, db_url, command)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "cosmetic-edit" in output and "checksum-mismatch" not in output
    assert "nothing to do" in _lockgate(project, db_url, "run").stdout

    project.repo.write(INIT, GOOD_SQL.replace("bigint", "integer"))
    project.repo.stage(INIT)
    assert_blocked(project.commit(), f"{INIT}: error[checksum-mismatch]")
    forced = project.repo.git("commit", "--no-verify", "-m", "forced")
    assert forced.returncode == 0
    for command in ("validate", "run"):
        result = _lockgate(project, db_url, command)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "checksum-mismatch" in result.stdout + result.stderr
