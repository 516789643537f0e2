"""``lockgate check-naming``: each rule fires on a bad name and stays quiet on a good one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hookrepo import Repo

from lockgate.cli import main as cli_main
from lockgate.hooks.naming import main


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


NOW_NAME = re.compile(r"\(rename to migrations/\d{14}_(?P<name>[a-z0-9_]+)\.sql\)$")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_good_new_file_passes(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20250101000000_init.sql")
    repo.commit()
    repo.write("migrations/20250102000000_add_orders.sql")
    assert run(capsys, "migrations/20250102000000_add_orders.sql") == (0, [], "")


def test_no_files_is_fine(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys) == (0, [], "")


def test_missing_version_suggests_a_name(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/Add Users.sql")
    code, out, _ = run(capsys, "migrations/Add Users.sql")
    assert code == 1
    assert len(out) == 1
    assert out[0].startswith(
        "migrations/Add Users.sql: migration files must be named <YYYYMMDDHHMMSS>_<name>.sql"
    )
    match = NOW_NAME.search(out[0])
    assert match and match["name"] == "add_users"


def test_suggestion_is_what_create_would_produce_now(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/add_users.sql")
    before = stamp(datetime.now(UTC))
    _, out, _ = run(capsys, "migrations/add_users.sql")
    after = stamp(datetime.now(UTC))
    suggested = re.search(r"rename to migrations/(\d{14})_add_users\.sql", out[0])
    assert suggested and before <= suggested.group(1) <= after


def test_wrong_digit_count(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/2025_add_users.sql")
    code, out, _ = run(capsys, "migrations/2025_add_users.sql")
    assert code == 1
    assert "version 2025 has 4 digits" in out[0]
    assert NOW_NAME.search(out[0])


def test_name_not_snake_case_keeps_a_good_version(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20250102000000_AddUsers.sql")
    code, out, _ = run(capsys, "migrations/20250102000000_AddUsers.sql")
    assert code == 1
    assert out == [
        "migrations/20250102000000_AddUsers.sql: name 'AddUsers' is not snake_case "
        "(rename to migrations/20250102000000_add_users.sql)"
    ]


def test_not_a_real_date(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20251301000000_add_users.sql")
    code, out, _ = run(capsys, "migrations/20251301000000_add_users.sql")
    assert code == 1
    assert "version 20251301000000 is not a real date" in out[0]
    assert NOW_NAME.search(out[0])


def test_future_version_fires(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"migrations/{stamp(datetime.now(UTC) + timedelta(days=2))}_add_users.sql"
    repo.write(name)
    code, out, _ = run(capsys, name)
    assert code == 1
    assert "is in the future" in out[0]
    assert NOW_NAME.search(out[0])


def test_clock_skew_within_a_day_is_allowed(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"migrations/{stamp(datetime.now(UTC) + timedelta(hours=12))}_add_users.sql"
    repo.write(name)
    assert run(capsys, name) == (0, [], "")


def test_duplicate_version_in_directory(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20250102000000_add_users.sql")
    repo.write("migrations/20250102000000_add_orders.sql")
    code, out, _ = run(
        capsys, "migrations/20250102000000_add_orders.sql", "migrations/20250102000000_add_users.sql"
    )
    assert code == 1
    assert [line.split(";")[0] for line in out] == [
        "migrations/20250102000000_add_orders.sql: version 20250102000000 is also used by "
        "20250102000000_add_users.sql",
        "migrations/20250102000000_add_users.sql: version 20250102000000 is also used by "
        "20250102000000_add_orders.sql",
    ]


def test_same_version_in_another_directory_is_not_a_duplicate(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("migrations/20250102000000_add_users.sql")
    repo.write("supabase/migrations/20250102000000_add_users.sql")
    assert run(capsys, "migrations/20250102000000_add_users.sql") == (0, [], "")


def test_legacy_date_version_is_midnight_so_duplicates_a_midnight_timestamp(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("migrations/20250101_init.sql")
    repo.commit()
    repo.write("migrations/20250101000000_add_users.sql")
    code, out, _ = run(capsys, "migrations/20250101000000_add_users.sql")
    assert code == 1
    assert out[0].startswith(
        "migrations/20250101000000_add_users.sql: version 20250101000000 is also used by 20250101_init.sql"
    )


def test_new_legacy_version_needs_14_digits(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20250102_add_users.sql")
    code, out, _ = run(capsys, "migrations/20250102_add_users.sql")
    assert code == 1
    assert "legacy 8-digit date; new migrations need a 14-digit UTC timestamp" in out[0]


def test_committed_files_are_not_rechecked(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    """Renaming a committed file is what check-immutable forbids; naming must not demand it."""
    repo.write("migrations/20250101_Legacy Init.sql")
    repo.commit()
    assert run(capsys, "migrations/20250101_Legacy Init.sql") == (0, [], "")


def test_new_file_older_than_base_fires(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20250105000000_add_orders.sql")
    repo.commit()
    repo.write("migrations/20250103000000_add_users.sql")
    code, out, _ = run(capsys, "migrations/20250103000000_add_users.sql")
    assert code == 1
    assert out[0].startswith(
        "migrations/20250103000000_add_users.sql: sorts before 20250105000000_add_orders.sql, already on HEAD"
    )
    match = NOW_NAME.search(out[0])
    assert match and match["name"] == "add_users"


def test_base_branch_is_compared_not_just_head(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20250101000000_init.sql")
    repo.commit()
    repo.git("branch", "feature")
    repo.write("migrations/20250105000000_add_orders.sql")
    repo.commit("a newer migration lands on main after the branch was made")
    repo.git("checkout", "--quiet", "feature")
    repo.write("migrations/20250103000000_add_users.sql")

    assert run(capsys, "migrations/20250103000000_add_users.sql") == (0, [], "")
    code, out, _ = run(capsys, "--base", "main", "migrations/20250103000000_add_users.sql")
    assert code == 1
    assert "sorts before 20250105000000_add_orders.sql, already on main" in out[0]


def test_pre_commit_from_ref_is_the_default_base(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("migrations/20250105000000_add_orders.sql")
    repo.commit()
    repo.git("checkout", "--quiet", "-b", "feature", "HEAD")
    repo.write("migrations/20250103000000_add_users.sql")
    repo.commit("an older-named migration committed on the branch")
    assert run(capsys, "migrations/20250103000000_add_users.sql") == (0, [], "")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "main")
    code, out, _ = run(capsys, "migrations/20250103000000_add_users.sql")
    assert code == 1
    assert "sorts before 20250105000000_add_orders.sql, already on main" in out[0]


def test_suggestion_sorts_after_a_sibling_slightly_ahead_of_this_clock(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    """As ``lockgate create`` does: one second after the newest file when that is later than now."""
    ahead = (datetime.now(UTC) + timedelta(hours=6)).replace(microsecond=0)
    repo.write(f"migrations/{stamp(ahead)}_from_a_fast_clock.sql")
    repo.commit()
    repo.write("migrations/add_users.sql")
    _, out, _ = run(capsys, "migrations/add_users.sql")
    assert out[0].endswith(f"(rename to migrations/{stamp(ahead + timedelta(seconds=1))}_add_users.sql)")


def test_unknown_base_is_a_usage_error(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20250101000000_init.sql")
    repo.commit()
    code, out, err = run(capsys, "--base", "origin/nope", "migrations/20250101000000_init.sql")
    assert (code, out) == (2, [])
    assert err.strip() == (
        "error: --base origin/nope: no such branch, tag or commit (in CI, fetch it: git fetch origin nope)"
    )


def test_empty_repository_checks_names_only(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/20250101000000_init.sql")
    repo.write("migrations/init.sql")
    code, out, _ = run(capsys, "migrations/20250101000000_init.sql", "migrations/init.sql")
    assert code == 1
    assert len(out) == 1 and out[0].startswith("migrations/init.sql: ")


def test_outside_git_checks_names_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "20250101000000_init.sql").write_text("select 1;")
    assert run(capsys, "20250101000000_init.sql") == (0, [], "")
    code, _, err = run(capsys, "--base", "main", "20250101000000_init.sql")
    assert code == 2
    assert "not inside a git repository" in err


def test_paths_are_resolved_from_a_subdirectory(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("migrations/20250105000000_add_orders.sql")
    repo.commit()
    repo.write("migrations/20250103000000_add_users.sql")
    monkeypatch.chdir(repo.root / "migrations")
    code, out, _ = run(capsys, "20250103000000_add_users.sql", "20250105000000_add_orders.sql")
    assert code == 1
    assert len(out) == 1 and out[0].startswith("20250103000000_add_users.sql: sorts before")


def test_cli_command_exits_with_the_hook_status(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("migrations/add_users.sql")
    assert cli_main(["check-naming", "migrations/add_users.sql"]) == 1
    assert "migrations/add_users.sql: migration files must be named" in capsys.readouterr().out
