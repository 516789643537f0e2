"""``lockgate check-immutable``: committed migrations can be added to, never edited, renamed or deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from hookrepo import GOOD_SQL, Repo

from lockgate.checks.immutability import Edit, compare
from lockgate.cli import main as cli_main
from lockgate.hooks.immutable import main

INIT = "migrations/20250101000000_init.sql"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


@pytest.fixture
def committed(repo: Repo) -> Repo:
    """A repository whose last commit holds one migration."""
    repo.write(INIT)
    repo.write("README.md", "docs\n")
    repo.commit("initial schema")
    return repo


def test_addition_passes(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    committed.write("migrations/20250102000000_add_orders.sql")
    committed.stage("migrations/20250102000000_add_orders.sql")
    assert run(capsys, "migrations/20250102000000_add_orders.sql") == (0, [], "")


def test_nothing_staged_passes(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys) == (0, [], "")


def test_edit_is_blocked(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    committed.write(INIT, GOOD_SQL.replace("email text not null", "email varchar(100)"))
    committed.stage(INIT)
    code, out, _ = run(capsys, INIT)
    assert code == 1
    assert len(out) == 1
    assert out[0].startswith(
        f"{INIT}: error[checksum-mismatch] modifies a migration already committed on HEAD (revert it with `git checkout "
    )
    assert out[0].endswith(f" -- {INIT}` and put the change in a new migration: lockgate create <name>)")


def test_unstaged_edit_is_not_what_gets_committed(
    committed: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    committed.write(INIT, "drop table accounts;\n")
    assert run(capsys, INIT) == (0, [], "")


def test_whitespace_and_comment_edit_is_a_warning(
    committed: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    committed.write(
        INIT,
        "-- accounts of the app\nCREATE TABLE accounts (\n  id bigint primary key,\n"
        "  email text not null -- login\n);\n/* RLS */ ALTER TABLE accounts\n  ENABLE ROW LEVEL SECURITY;",
    )
    committed.stage(INIT)
    code, out, _ = run(capsys, INIT)
    assert code == 0
    assert out == [
        f"{INIT}: warning[cosmetic-edit] only whitespace or comments changed in a migration already committed "
        "on HEAD (allowed: databases that applied it report the same cosmetic-edit warning and run nothing; "
        "`lockgate repair --cosmetic` records the new checksum there)"
    ]


def test_line_ending_change_is_silent(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    committed.write(INIT, "\ufeff" + GOOD_SQL.replace("\n", "\r\n"))
    committed.stage(INIT)
    assert run(capsys, INIT) == (0, [], "")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # pglast's fingerprint ignores constants, so it would call these "the same".
        ("alter table t alter c set default 1;", "alter table t alter c set default 2;"),
        ("create table t (c text default 'a');", "create table t (c text default 'b');"),
        ("select 1;", "select 1; select 1;"),
        ("create index i on t (c);", "-- lockgate: no-transaction\ncreate index i on t (c);"),
        ("\\i other.sql\n", "\\i another.sql\n"),
    ],
)
def test_compare_counts_any_meaningful_change(old: str, new: str) -> None:
    assert compare(old.encode(), new.encode()) is Edit.SEMANTIC


def test_compare_treats_invalid_utf8_as_a_change() -> None:
    assert compare(b"select 1;", b"select '\xff';") is Edit.SEMANTIC


def test_rename_is_blocked(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    committed.git("mv", INIT, "migrations/20250101000000_initial schema.sql")
    code, out, _ = run(capsys, "migrations/20250101000000_initial schema.sql")
    assert code == 1
    assert out == [
        f"migrations/20250101000000_initial schema.sql: error[renamed-migration] renames {INIT}, "
        "a migration already committed on HEAD "
        f"(rename it back with `git mv 'migrations/20250101000000_initial schema.sql' {INIT}`; "
        "put any change in a new migration)"
    ]


def test_moving_a_file_into_migrations_is_an_addition(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("drafts/20250102000000_add_orders.sql")
    repo.write("migrations/.keep", "")
    repo.commit()
    repo.git("mv", "drafts/20250102000000_add_orders.sql", "migrations/20250102000000_add_orders.sql")
    assert run(capsys, "migrations/20250102000000_add_orders.sql") == (0, [], "")


def test_delete_is_blocked_without_any_file_argument(
    committed: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    committed.git("rm", "--quiet", INIT)
    code, out, _ = run(capsys)
    assert code == 1
    assert len(out) == 1
    assert out[0].startswith(
        f"{INIT}: error[missing-file] deletes a migration already committed on HEAD (restore it with `git checkout "
    )


def test_other_files_are_ignored(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    committed.git("rm", "--quiet", "README.md")
    committed.write("scripts/report.sql", "select 1;\n")
    committed.commit()
    committed.write("scripts/report.sql", "select 2;\n")
    committed.stage("scripts/report.sql")
    assert run(capsys) == (0, [], "")


def test_pattern_option_and_file_arguments_widen_what_counts(
    committed: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    """A custom ``files:`` pattern: the argument's neighbours count, as does ``--pattern``."""
    for number, name in enumerate(["db/sql/001.sql", "db/sql/002.sql", "db/sql/003.sql", "db/other/004.sql"]):
        committed.write(name, f"create table t{number} (id bigint primary key);\n")
    committed.commit()
    committed.git("rm", "--quiet", "db/sql/001.sql", "db/other/004.sql")
    committed.git("mv", "db/sql/003.sql", "db/sql/003_renamed.sql")
    committed.write("db/sql/002.sql", "create table changed (id bigint primary key);\n")
    committed.stage("db/sql/002.sql")

    assert run(capsys) == (0, [], "")
    code, out, _ = run(capsys, "db/sql/002.sql", "db/sql/003_renamed.sql")
    assert code == 1
    assert sorted(line.split(":")[0] for line in out) == [
        "db/sql/001.sql",
        "db/sql/002.sql",
        "db/sql/003_renamed.sql",
    ]
    code, out, _ = run(capsys, "--pattern", r"^db/.*\.sql$")
    assert code == 1
    assert len(out) == 4


def test_invalid_pattern_is_a_usage_error(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--pattern", "(")
    assert code == 2
    assert err.startswith("error: --pattern '(': not a regular expression")


def test_empty_repository_passes_and_says_why(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write(INIT)
    repo.stage(INIT)
    code, out, _ = run(capsys, INIT)
    assert code == 0
    assert out == ["lockgate check-immutable: no commits yet, so no migration is committed"]


def test_unknown_base_is_a_usage_error(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--base", "origin/main")
    assert (code, out) == (2, [])
    assert err == (
        "error: --base origin/main: no such branch, tag or commit (in CI, fetch it: git fetch origin main)\n"
    )


def test_not_a_repository_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys)
    assert code == 2
    assert "not inside a git repository" in err


def test_base_branch_compares_with_the_merge_base(
    committed: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    """What CI runs on a pull request: the branch's own commits are judged, not main's later ones."""
    committed.git("checkout", "--quiet", "-b", "feature")
    committed.write(INIT, GOOD_SQL.replace("bigint", "int"))
    committed.write("migrations/20250103000000_add_users.sql")
    committed.commit("edit a committed migration on a branch")
    committed.git("checkout", "--quiet", "main")
    committed.write("migrations/20250102000000_add_orders.sql")
    committed.git("rm", "--quiet", "README.md")
    committed.commit("main moves on")
    committed.git("checkout", "--quiet", "feature")

    assert run(capsys) == (0, [], "")  # against HEAD the edit is already committed
    code, out, _ = run(capsys, "--base", "main")
    assert code == 1
    assert len(out) == 1
    assert out[0].startswith(
        f"{INIT}: error[checksum-mismatch] modifies a migration already committed on main (revert it with"
    )


def test_pre_commit_from_ref_is_the_default_base(
    committed: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pre-commit run --from-ref origin/main --to-ref HEAD`` in CI exports PRE_COMMIT_FROM_REF."""
    committed.git("checkout", "--quiet", "-b", "feature")
    committed.git("rm", "--quiet", INIT)
    committed.commit("delete a committed migration on a branch")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "main")
    code, out, _ = run(capsys)
    assert code == 1
    assert out[0].startswith(f"{INIT}: error[missing-file] deletes a migration already committed on main")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "gone")
    code, _, err = run(capsys)
    assert code == 2
    assert err.startswith("error: PRE_COMMIT_FROM_REF gone: no such branch, tag or commit")
    assert run(capsys, "--base", "HEAD") == (0, [], "")


def test_cli_command_exits_with_the_hook_status(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    committed.git("rm", "--quiet", INIT)
    assert cli_main(["check-immutable"]) == 1
    assert f"{INIT}: error[missing-file] deletes a migration" in capsys.readouterr().out


def test_unusual_file_names_arrive_intact(committed: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    name = 'migrations/20250102000000_crème "brûlée"\tv2.sql'
    committed.write(name)
    committed.commit()
    committed.git("rm", "--quiet", name)
    code, out, _ = run(capsys)
    assert code == 1
    assert out[0].startswith(f"{name}: error[missing-file] deletes a migration already committed on HEAD")
