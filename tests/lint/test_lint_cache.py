"""The lint result cache (``lockgate.lint.cache``): a warm report is the cold report byte for byte; any input
that can change a finding (the bytes, a setting, lockgate, the history before the file) misses; anything in
the cache file but exactly what it writes is ignored and rewritten; read-only and concurrent runs are safe."""

from __future__ import annotations

import errno
import hashlib
import marshal
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lockgate
from cli_runner import run_cli
from lockgate.lint import engine
from lockgate.lint.cache import HEADER, NAME, ResultCache
from lockgate.lint.configuration import build_settings
from lockgate.lint.engine import lint_paths
from lockgate.lint.findings import LintReport
from lockgate.lint.formats import render

KRATOS = Path(__file__).resolve().parents[1] / "core" / "fixtures" / "ory-kratos" / "migrations"

RISKY = {  # after kratos's last version: findings that need the history (identities is a kratos table)
    "20990101000000_risky_index.sql": "CREATE INDEX identities_state_idx ON identities (state);\n",
    "20990102000000_risky_column.sql": "ALTER TABLE identities ADD COLUMN note text NOT NULL;\n",
    "20990103000000_risky_type.sql": "ALTER TABLE identities ALTER COLUMN state TYPE varchar(5);\n",
    "20990104000000_broken.sql": "CREATE TABLE (;\n",
    "20990105000000_ignored.sql": "-- lockgate-ignore: index-without-concurrently\nCREATE INDEX i ON t (a);\n",
}

HISTORY = {
    "20250101000000_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY, name text);\n",
    "20250102000000_comment.sql": "-- a comment\nCOMMENT ON TABLE customers IS 'people';\n",
    "20250103000000_narrow.sql": "ALTER TABLE customers ALTER COLUMN name TYPE varchar(50);\n",
    "20250104000000_index.sql": "CREATE INDEX customers_name ON customers (name);\n",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory as the working directory: ``migrations/`` and the ``.lockgate/`` beside it."""
    (tmp_path / "migrations").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.lockgate]\n")
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    for name in ("LOCKGATE_CONFIG", "LOCKGATE_PG_MAJOR", "LOCKGATE_MIGRATIONS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(engine, "CACHE_THRESHOLD", 1)  # the small histories here use it too
    return tmp_path


def _write(project: Path, files: dict[str, str]) -> Path:
    directory = project / "migrations"
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _kratos(project: Path) -> Path:
    directory = project / "migrations"
    for path in KRATOS.glob("*.sql"):
        shutil.copyfile(path, directory / path.name)
    return _write(project, RISKY)


@pytest.fixture
def linted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files really linted (not served from the cache), in this process (``jobs=1``)."""
    names: list[str] = []
    real = engine.lint_file

    def spy(path: Path, *args: Any, **kwargs: Any) -> Any:
        names.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(engine, "lint_file", spy)
    return names


def _lint(project: Path, cache: bool = True, **settings: Any) -> LintReport:
    return lint_paths(
        [Path("migrations")],
        build_settings(**settings),
        jobs=1,
        cache_dir=project / ".lockgate",
        cache=cache,
    )


def _outputs(report: LintReport) -> tuple[str, str]:
    return render(report, "text"), render(report, "json")


def _cache_file(project: Path) -> Path:
    return project / ".lockgate" / NAME


def _entries(project: Path) -> dict[str, Any]:
    data = _cache_file(project).read_bytes()
    assert data.startswith(HEADER)
    start = len(HEADER) + 32
    assert hashlib.sha256(data[start:]).digest() == data[len(HEADER) : start]
    entries: dict[str, Any] = marshal.loads(data[start:])
    return entries


def _rewrite(project: Path, entries: dict[str, Any]) -> None:
    payload = marshal.dumps(entries)
    _cache_file(project).write_bytes(HEADER + hashlib.sha256(payload).digest() + payload)


def test_a_warm_report_is_the_cold_report_byte_for_byte(project: Path, linted: list[str]) -> None:
    directory = _kratos(project)
    count = len(list(directory.glob("*.sql")))
    uncached = _outputs(_lint(project, cache=False))
    assert not _cache_file(project).exists()
    cold = _outputs(_lint(project))
    assert len(linted) == 2 * count and len(_entries(project)) == count
    linted.clear()
    warm = _outputs(_lint(project))
    assert linted == []  # every result from the cache
    assert warm == cold == uncached
    text = warm[0]
    assert "risky_column.sql:1:35: error[add-not-null-column-without-default]" in text
    assert "narrows it from varchar(255)" in text and "rebuilds its index identities_state_idx" in text
    assert "broken.sql:1:14: error[syntax-error]" in text and "_ignored.sql" not in text


def test_the_cli_warm_output_equals_the_cold_one_in_every_format(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _kratos(project)
    for format_name in ("text", "json", "github", "sarif"):
        cold = run_cli(["lint", "--no-cache", "--format", format_name], capsys)
        warm_up = run_cli(["lint", "--format", format_name], capsys)
        warm = run_cli(["lint", "--format", format_name], capsys)
        assert cold.code == warm_up.code == warm.code == 1
        assert cold.out == warm_up.out == warm.out, format_name
    assert len(_entries(project)) == len(list((project / "migrations").glob("*.sql")))


def test_only_the_edited_file_is_linted_again(project: Path, linted: list[str]) -> None:
    directory = _write(project, HISTORY)
    _lint(project)
    linted.clear()
    (directory / "20250104000000_index.sql").write_text("CREATE INDEX CONCURRENTLY i ON customers (name);\n")
    report = _lint(project)
    assert linted == ["20250104000000_index.sql"]
    assert report == _lint(project, cache=False)


def test_a_settings_change_misses(project: Path, linted: list[str]) -> None:
    _write(project, HISTORY)
    every = set(HISTORY)
    base = _lint(project)
    for settings in (
        {"extra_ignore": ["index-without-concurrently"]},
        {"pg_major": 11},
        {"lint_table": {"severity": {"index-without-concurrently": "error"}}},
        {"lint_table": {"extend-select": ["hygiene"]}},
        {"lint_table": {"large-table-rows": 5}},
        {"exposed_schemas": ("api",)},
    ):
        linted.clear()
        report = _lint(project, **settings)
        assert set(linted) == every, settings
        linted.clear()
        assert _lint(project, **settings) == report and linted == [], settings  # now cached, for these
        assert report == _lint(project, cache=False, **settings)
    ignoring = _lint(project, extra_ignore=["index-without-concurrently"])
    assert ignoring != base and "index-without-concurrently" not in render(ignoring, "text")


def test_the_summary_note_is_no_part_of_the_key(project: Path, linted: list[str]) -> None:
    _write(project, HISTORY)
    _lint(project, note="Supabase rules off.")
    linted.clear()
    report = _lint(project, note="Something else.")
    assert linted == [] and report.note == "Something else."


def test_another_lockgate_misses(project: Path, linted: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _write(project, HISTORY)
    _lint(project)
    linted.clear()
    monkeypatch.setattr(lockgate, "__version__", "99.0.0")
    _lint(project)
    assert set(linted) == set(HISTORY)
    linted.clear()
    _lint(project)
    assert linted == []


def test_an_edited_source_file_of_a_source_checkout_misses(
    project: Path, linted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a source checkout (an editable install), a rule edited without a new version misses; an
    installed lockgate is known by its version alone (a fresh ``pip install`` restamps every file)."""
    _write(project, HISTORY)
    checkout = project / "src" / "lockgate"
    (checkout / "lint" / "rules").mkdir(parents=True)
    rule = checkout / "lint" / "rules" / "locks.py"
    rule.write_text("# a rule\n")
    monkeypatch.setattr(lockgate, "__file__", str(checkout / "__init__.py"))
    _lint(project)
    linted.clear()
    _lint(project)
    assert linted == []
    rule.write_text("# a rule, edited\n")
    _lint(project)
    assert set(linted) == set(HISTORY)

    installed = project / "venv" / "site-packages" / "lockgate"
    shutil.copytree(checkout, installed)
    monkeypatch.setattr(lockgate, "__file__", str(installed / "__init__.py"))
    _lint(project)
    linted.clear()
    (installed / "lint" / "rules" / "locks.py").write_text("# reinstalled\n")
    _lint(project)
    assert linted == []


def test_the_history_before_a_file_is_part_of_its_key(project: Path, linted: list[str]) -> None:
    directory = _write(project, HISTORY)
    narrowing = [f for f in _lint(project).findings if f.rule_id == "alter-column-type"]
    assert len(narrowing) == 1 and "narrows it from text" in narrowing[0].message

    # The earlier file's schema changes: every file after it meets another catalog and is linted again.
    linted.clear()
    (directory / "20250101000000_customers.sql").write_text(
        "CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(20));\n"
    )
    report = _lint(project)
    assert set(linted) == set(HISTORY)
    assert [f for f in report.findings if f.rule_id == "alter-column-type"] == []
    assert report == _lint(project, cache=False)

    # Only a comment changes in an earlier file: the files after it meet the same catalog.
    linted.clear()
    (directory / "20250102000000_comment.sql").write_text(
        "-- another comment\nCOMMENT ON TABLE customers IS 'people';\n"
    )
    assert _lint(project) == _lint(project, cache=False)
    assert linted[0] == "20250102000000_comment.sql" and linted[1:] == sorted(HISTORY)  # (the second lint)

    # Without the history, the same bytes are judged alone: another key.
    linted.clear()
    alone = lint_paths(
        [Path("migrations")], jobs=1, history=False, cache_dir=project / ".lockgate", cache=True
    )
    assert set(linted) == set(HISTORY)
    assert alone == lint_paths([Path("migrations")], jobs=1, history=False)


def test_a_staged_file_alone_uses_the_same_key_as_in_the_directory(project: Path, linted: list[str]) -> None:
    """The pre-commit hook lints the staged files only; they still meet their history."""
    _write(project, HISTORY)
    _lint(project)
    linted.clear()
    staged = Path("migrations/20250103000000_narrow.sql")
    report = lint_paths([staged], jobs=1, cache_dir=project / ".lockgate", cache=True)
    assert linted == [] and [f.rule_id for f in report.findings] == ["alter-column-type"]
    assert len(_entries(project)) == len(HISTORY)  # the other files' entries are kept


def test_the_display_path_is_part_of_the_key(
    project: Path, linted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(project, HISTORY)
    _lint(project)
    linted.clear()
    absolute = lint_paths([project / "migrations"], jobs=1, cache_dir=project / ".lockgate", cache=True)
    assert linted == []  # shown relative to the working directory, as before: the same keys
    shown = {f.path for f in absolute.findings}
    assert "migrations/20250104000000_index.sql" in shown
    monkeypatch.chdir(project / "migrations")
    inside = lint_paths([Path(".")], jobs=1, cache_dir=project / ".lockgate", cache=True)
    assert set(linted) == set(HISTORY)  # the findings name other paths: other keys
    assert {f"migrations/{f.path}" for f in inside.findings} == shown


def test_entries_of_deleted_files_are_dropped(project: Path) -> None:
    directory = _write(project, HISTORY)
    other = project / "other"
    other.mkdir()
    (other / "20250101000000_x.sql").write_text("SELECT 1;\n")
    lint_paths([Path("migrations"), other], jobs=1, cache_dir=project / ".lockgate", cache=True)
    assert len(_entries(project)) == len(HISTORY) + 1
    (directory / "20250104000000_index.sql").unlink()
    _lint(project)  # the other directory's entry is kept while its file is there
    kept = sorted([*sorted(HISTORY)[:3], "20250101000000_x.sql"])
    assert sorted(Path(slot).name for slot in _entries(project)) == kept
    shutil.rmtree(other)
    (directory / "20250103000000_narrow.sql").unlink()
    _lint(project)
    assert sorted(Path(slot).name for slot in _entries(project)) == sorted(HISTORY)[:2]


def test_a_few_files_leave_the_cache_alone(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pre-commit hook's few staged files: reading and rewriting the cache would cost more than it saves."""
    monkeypatch.setattr(engine, "CACHE_THRESHOLD", 16)
    _write(project, HISTORY)
    _lint(project)
    assert not (_cache_file(project)).exists()
    _write(project, {f"2025020{n}000000_more.sql": "SELECT 1;\n" for n in range(1, 10)})
    _write(project, {f"2025030{n}000000_more.sql": "SELECT 1;\n" for n in range(1, 4)})
    _lint(project)
    assert len(_entries(project)) == 16


def _damage_garbage(cache: Path) -> None:
    cache.write_bytes(os.urandom(4096))


def _damage_format(cache: Path) -> None:
    cache.write_bytes(cache.read_bytes().replace(HEADER, HEADER.replace(b" 1\n", b" 999\n"), 1))


def _damage_truncate(cache: Path) -> None:
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 2])


def _damage_checksum(cache: Path) -> None:
    data = bytearray(cache.read_bytes())
    data[-5] ^= 0xFF
    cache.write_bytes(bytes(data))


def _damage_empty(cache: Path) -> None:
    cache.write_bytes(b"")


def _damage_directory(cache: Path) -> None:
    cache.unlink()
    cache.mkdir()


@pytest.mark.parametrize(
    "damage",
    [_damage_garbage, _damage_format, _damage_truncate, _damage_checksum, _damage_empty, _damage_directory],
)
def test_a_damaged_cache_file_is_ignored_and_rewritten(project: Path, linted: list[str], damage: Any) -> None:
    _write(project, HISTORY)
    cold = _outputs(_lint(project))
    damage(_cache_file(project))
    linted.clear()
    assert _outputs(_lint(project)) == cold
    assert set(linted) == set(HISTORY)
    if _cache_file(project).is_dir():  # a directory in its place: nothing to write over, no cache
        return
    assert len(_entries(project)) == len(HISTORY)
    linted.clear()
    assert _outputs(_lint(project)) == cold and linted == []


def _shapes() -> Iterator[Any]:
    """Entries well formed on the outside (key and wire tuple) with something wrong inside."""
    yield "not a tuple"
    yield ("path", "three", [])
    yield ("path", 1, [("rule", "no-such-severity", "path", (1, 1, 1, 2), "m", "h", "", None)])
    yield ("path", 1, [("rule", "error", "path", (1, 1, 1), "m", "h", "", None)])
    yield ("path", 1, [("rule", "error", "path", (1, "1", 1, 2), "m", "h", "", None)])
    yield ("path", 1, [(7, "error", "path", (1, 1, 1, 2), "m", "h", "", None)])
    yield ("path", 1, [("rule", "error", "path", (1, 1, 1, 2), "m", "h", "", 5)])
    yield ("path", 1, [("rule", "error", "path", (1, 1, 1, 2), "m", "h", "")])
    yield ("path", 1, ("not", "a", "list"))


@pytest.mark.parametrize("wire", list(_shapes()))
def test_a_foreign_entry_under_the_right_key_is_ignored(project: Path, linted: list[str], wire: Any) -> None:
    _write(project, HISTORY)
    cold = _outputs(_lint(project))
    entries = _entries(project)
    entries = {slot: (key, wire) for slot, (key, _) in entries.items()}
    entries[42] = "not an entry"  # type: ignore[index]
    entries["/elsewhere"] = (b"short key", ())
    _rewrite(project, entries)
    linted.clear()
    assert _outputs(_lint(project)) == cold and set(linted) == set(HISTORY)
    assert all(isinstance(slot, str) and len(key) == 32 for slot, (key, _) in _entries(project).items())


def test_a_valid_entry_is_what_a_cached_run_shows_and_no_cache_bypasses_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Planted under the right key, a made-up finding is reported — the cache is really read — and
    ``--no-cache`` neither reads nor writes it."""
    _write(project, HISTORY)
    run_cli(["lint"], capsys)
    entries = _entries(project)
    slot = next(slot for slot in entries if slot.endswith("20250102000000_comment.sql"))
    key, (path, statements, _) = entries[slot]
    planted = ("unknown-ignore", "error", path, (1, 1, 1, 2), "planted", "h", "-- a comment", None)
    entries[slot] = (key, (path, statements, [planted]))
    _rewrite(project, entries)
    before = _cache_file(project).read_bytes()
    assert "planted" in run_cli(["lint"], capsys).out
    bypassed = run_cli(["lint", "--no-cache"], capsys)
    assert "planted" not in bypassed.out and bypassed.code == 0
    assert _cache_file(project).read_bytes() == before


def test_no_cache_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(project, HISTORY)
    assert run_cli(["lint", "--no-cache"], capsys).code == 0
    assert not _cache_file(project).exists()
    assert run_cli(["lint"], capsys).code == 0
    assert _cache_file(project).exists()


def test_a_database_backed_lint_never_uses_the_cache(project: Path, linted: list[str]) -> None:
    _write(project, HISTORY)
    _lint(project)
    before = _cache_file(project).read_bytes()
    linted.clear()
    lint_paths(
        [Path("migrations")],
        jobs=1,
        cache_dir=project / ".lockgate",
        database=lambda files: ({}, None),
        cache=True,
    )
    assert set(linted) == set(HISTORY)
    assert _cache_file(project).read_bytes() == before


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """``.lockgate/`` read-only: mode 0o555, and — as root ignores modes — every write into a read-only
    directory refused as the kernel would refuse it."""
    locked: list[Path] = []

    def inside(path: Any) -> bool:
        return any(Path(path).parent == directory for directory in locked)

    def refuse(real: Any) -> Any:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if any(inside(arg) for arg in args if isinstance(arg, str | Path)):
                raise PermissionError(errno.EACCES, "Permission denied")
            return real(*args, **kwargs)

        return guarded

    monkeypatch.setattr(Path, "write_bytes", refuse(Path.write_bytes))
    monkeypatch.setattr(Path, "write_text", refuse(Path.write_text))
    monkeypatch.setattr(Path, "mkdir", refuse(Path.mkdir))
    monkeypatch.setattr(os, "replace", refuse(os.replace))
    yield locked
    for directory in locked:
        directory.chmod(0o755)


def test_a_read_only_cache_directory_is_no_cache(
    project: Path, linted: list[str], read_only: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project, HISTORY)
    cold = _outputs(_lint(project))
    state = project / ".lockgate"
    before = {path.name: path.read_bytes() for path in state.iterdir()}
    assert set(before) == {".gitignore", "catalog-ops.json", NAME} and before[".gitignore"] == b"*\n"
    (project / "migrations" / "20250105000000_new.sql").write_text("CREATE INDEX j ON customers (id);\n")
    state.chmod(0o555)
    read_only.append(state)
    linted.clear()
    report = _lint(project)
    assert linted == ["20250105000000_new.sql"]  # the old results are still read
    assert report == _lint(project, cache=False)
    assert {path.name: path.read_bytes() for path in state.iterdir() if path.is_file()} == before
    assert run_cli(["lint"], capsys).code == 0
    assert cold != _outputs(report)


def test_a_read_only_checkout_without_a_cache_directory_lints(
    project: Path, read_only: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project, HISTORY)
    project.chmod(0o555)
    read_only.append(project)
    result = run_cli(["lint"], capsys)
    assert result.code == 0 and "alter-column-type" in result.out
    assert not (project / ".lockgate").exists()


def test_two_concurrent_runs_leave_a_valid_cache(project: Path, linted: list[str]) -> None:
    from lockgate.config import load_config
    from lockgate.lint.configuration import settings_for

    directory = _kratos(project)
    count = len(list(directory.glob("*.sql")))
    command = [sys.executable, "-m", "lockgate.lint", "migrations"]
    environment = {**os.environ, "NO_COLOR": "1"}

    def lint(*options: str) -> list[subprocess.Popen[str]]:
        return [
            subprocess.Popen(
                [*command, *options], cwd=project, env=environment, stdout=subprocess.PIPE, text=True
            )
            for _ in range(1 if options else 2)
        ]

    for round_number in range(3):
        if round_number:  # a third of the files edited: both runs lint those, and both write
            for path in sorted(directory.glob("*.sql"))[::3]:
                path.write_text(path.read_text() + f"\n-- round {round_number}\n")
        (expected,) = [run.communicate(timeout=120)[0] for run in lint("--no-cache")]
        runs = lint()
        outputs = [run.communicate(timeout=120)[0] for run in runs]
        assert [run.returncode for run in runs] == [1, 1]
        assert outputs == [expected, expected]
        assert len(_entries(project)) == count
        assert not list((project / ".lockgate").glob("*.tmp"))
        linted.clear()  # the same settings as the command line's: everything from the cache
        lint_paths(
            [Path("migrations")],
            settings_for(load_config()),
            jobs=1,
            cache_dir=project / ".lockgate",
            cache=True,
        )
        assert linted == []


def test_the_key_covers_bytes_history_and_path() -> None:
    cache = ResultCache(Path("/nonexistent/.lockgate"), build_settings())
    digest = hashlib.sha256(b"SELECT 1;\n").hexdigest()
    keys = {
        cache.key(digest, None, "m.sql"),
        cache.key(digest, "0" * 64, "m.sql"),
        cache.key(digest, None, "migrations/m.sql"),
        cache.key(hashlib.sha256(b"SELECT 2;\n").hexdigest(), None, "m.sql"),
        ResultCache(Path("/nonexistent/.lockgate"), build_settings(pg_major=12)).key(digest, None, "m.sql"),
    }
    assert len(keys) == 5
    assert cache.key(digest, None, "m.sql") == ResultCache(Path("/x"), build_settings()).key(
        digest, None, "m.sql"
    )
