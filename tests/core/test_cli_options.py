"""The options a user reaches for first: ``-V``, the connection options before the command name, ``-q``, and
``FORCE_COLOR`` for lint — each as CLIs like git, psql and the Supabase CLI accept them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from core_helpers import CliRunner, add

from lockgate import __version__
from lockgate.lint.__main__ import wants_color


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_the_version_flag(flag: str) -> None:
    result = subprocess.run([sys.executable, "-m", "lockgate", flag], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == f"lockgate, version {__version__}\n"


@pytest.mark.db
def test_connection_options_before_the_command_name(
    project: Path, lockgate: CliRunner, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # a flag beats it
    before = lockgate("--database-url", db_url, "--dir", "migrations", "run")
    assert before.code == 0, before.text
    assert "applied 1 migration(s)" in before.out
    # Given both, the one after the command name wins (it is the more specific).
    after = lockgate(
        "--database-url", "postgresql://nobody@127.0.0.1:1/none", "status", "--database-url", db_url
    )
    assert after.code == 0, after.text
    assert "applied 1" in after.out
    wrong = lockgate("--dir", "nowhere", "status", "--database-url", db_url)
    assert wrong.code == 2 and "nowhere" in wrong.err


@pytest.mark.db
@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_prints_only_warnings_and_errors(project: Path, lockgate: CliRunner, where: str) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    add(project, "20250102000000_empty.sql", "-- nothing yet\n")
    run = lockgate("-q", "run") if where == "before" else lockgate("run", "-q")
    assert run.code == 0, run.text
    assert run.out == ""
    assert run.err.startswith("warning: [empty-migration]") and run.err.count("\n") == 1, run.err
    listed = lockgate("list", "-q", "--json") if where == "after" else lockgate("-q", "list", "--json")
    assert listed.out.startswith("{"), "JSON asked for is still printed"
    add(project, "20250103000000_bad.sql", "CREATE TABLE b (id int;\n")
    failed = lockgate("-q", "validate")
    assert failed.code == 1 and failed.out == "" and "error: [invalid-sql]" in failed.err
    assert lockgate("status").out != "", "-q does not outlive its invocation"


def test_force_color_turns_lint_colour_on_and_no_color_wins(tmp_path: Path) -> None:
    assert wants_color(False, {"FORCE_COLOR": "1"}) and not wants_color(False, {})
    assert not wants_color(True, {"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert wants_color(True, {"FORCE_COLOR": ""}) and not wants_color(False, {"FORCE_COLOR": ""})
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20250101000000_a.sql").write_text("CREATE INDEX i ON t (c);\n")
    environ = {key: value for key, value in os.environ.items() if key not in {"NO_COLOR", "FORCE_COLOR"}}
    for door in (["-m", "lockgate", "lint"], ["-m", "lockgate.lint"]):
        plain = subprocess.run(
            [sys.executable, *door, "migrations"], cwd=tmp_path, env=environ, capture_output=True, text=True
        )
        forced = subprocess.run(
            [sys.executable, *door, "migrations"],
            cwd=tmp_path,
            env={**environ, "FORCE_COLOR": "1"},
            capture_output=True,
            text=True,
        )
        assert "\x1b[" not in plain.stdout and "\x1b[" in forced.stdout, forced.stdout


def test_shell_completion_as_the_readme_says() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert 'eval "$(_LOCKGATE_COMPLETE=bash_source lockgate)"' in readme
    script = subprocess.run(
        [sys.executable, "-m", "lockgate"],
        env={**os.environ, "_LOCKGATE_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
    )
    assert "_lockgate_completion()" in script.stdout
    words = subprocess.run(
        [sys.executable, "-m", "lockgate"],
        env={
            **os.environ,
            "_LOCKGATE_COMPLETE": "bash_complete",
            "COMP_WORDS": "lockgate run --lock-t",
            "COMP_CWORD": "2",
        },
        capture_output=True,
        text=True,
    )
    assert words.stdout.split() == ["plain,--lock-timeout"]
