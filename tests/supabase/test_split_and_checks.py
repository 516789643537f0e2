"""The CLI-compatible splitter's quirks and the Supabase validation checks, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sbhelpers import FIXTURES

from lockgate.history import Record
from lockgate.source import discover
from lockgate.supabase.history_checks import statement_drift, supabase_problems
from lockgate.supabase.shared_history import SupabaseRow
from lockgate.supabase.split import split_statements, split_with_lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("select 1; select 2;", ["select 1", "select 2"]),
        ("select 1;;\n\n;  select 2", ["select 1", "select 2"]),
        ("-- lead; comment\nselect 1;", ["-- lead; comment\nselect 1"]),
        ("/* a; /* nested; */ b; */ select 1; select 2", ["/* a; /* nested; */ b; */ select 1", "select 2"]),
        ("select 'a;''b'; select \"x;y\"", ["select 'a;''b'", 'select "x;y"']),
        ("select $t$ ; $t$; select $$;$$", ["select $t$ ; $t$", "select $$;$$"]),
        # BEGIN ATOMIC bodies are one statement; a word merely ending in "atomic" is not a body.
        (
            "create function f() returns int begin atomic select 1; end; select 2",
            [
                "create function f() returns int begin atomic select 1; end",
                "select 2",
            ],
        ),
        ("select 1 as xatomic; select 2", ["select 1 as xatomic", "select 2"]),
        # Semicolons inside parentheses do not split (the CLI's group state).
        ("select (1;2); select 3", ["select (1;2)", "select 3"]),
        # Dollar-quote tags may hold any Unicode letter (checked against the real CLI in test_shared_history).
        ("select $é$ a; b $é$", ["select $é$ a; b $é$"]),
        (
            "select 1 -- trailing; comment\n; select '\u00a0'\u00a0",
            ["select 1 -- trailing; comment", "select '\u00a0'"],
        ),
        ("  \n\t ", []),
    ],
)
def test_split_mirrors_the_supabase_cli(text: str, expected: list[str]) -> None:
    assert split_statements(text) == expected


def test_split_keeps_crlf_and_reports_lines() -> None:
    text = "-- header\r\n\r\ncreate table a (id int);\r\n\r\ncreate table b (id int);\r\n"
    statements = split_with_lines(text)
    assert [s.text for s in statements] == [
        "-- header\r\n\r\ncreate table a (id int)",
        "create table b (id int)",
    ]
    assert [s.line for s in statements] == [1, 5]


def test_tricky_fixture_split() -> None:
    statements = split_statements((FIXTURES / "20250901000000_split_tricky.sql").read_text(encoding="utf-8"))
    assert len(statements) == 6
    assert statements[1].endswith("END") and "SELECT a + b;" in statements[1]


def _record(version: int, checksum: str = "x", status: str = "applied") -> Record:
    return Record(str(version), "n", version, checksum, None, None, 0, status, None, {})


def test_file_problems(tmp_path: Path) -> None:
    for name in (
        "20250101_legacy.sql",
        "20250102000000_a.sql",
        "20250102000000_b.sql",
        "29990101000000_future.sql",
        "20250103000000_ok.sql",
    ):
        (tmp_path / name).write_text("select 1;\n", encoding="utf-8")
    problems = supabase_problems(discover(tmp_path), [], None, now=datetime(2025, 6, 1, tzinfo=UTC))
    codes = sorted((p.code, Path(p.path or "").name) for p in problems)
    assert codes == [
        ("supabase-duplicate-version", "20250102000000_b.sql"),
        ("supabase-future-version", "29990101000000_future.sql"),
        ("supabase-version-format", "20250101_legacy.sql"),
    ]
    assert all(p.severity == "error" for p in problems)
    legacy = next(p for p in problems if p.code == "supabase-version-format")
    assert "20250101000000_legacy.sql" in legacy.message


def test_history_problems(tmp_path: Path) -> None:
    (tmp_path / "20250101000000_pushed.sql").write_text("select 1;\nselect 2;\n", encoding="utf-8")
    (tmp_path / "20250102000000_mine.sql").write_text("select 3;\n", encoding="utf-8")
    source = discover(tmp_path)
    pushed = SupabaseRow("20250101000000", "pushed", ("select 1", "select 20"))
    gone = SupabaseRow("20241231000000", "gone", ("select 0",))
    records = [_record(20250102000000, source.migrations[1].checksum)]
    problems = supabase_problems(source, records, [gone, pushed], now=datetime(2025, 6, 1, tzinfo=UTC))
    by_code = {p.code: p for p in problems}
    assert set(by_code) == {
        "supabase-missing-file",
        "supabase-not-adopted",
        "supabase-statements-differ",
        "supabase-unrecorded",
    }
    assert "20241231000000 (gone)" in by_code["supabase-missing-file"].message
    assert "migration repair --status reverted 20241231000000" in by_code["supabase-missing-file"].message
    differ = by_code["supabase-statements-differ"]
    assert (
        differ.severity == "warning"
        and differ.line == 2
        and "now `select 2`, pushed `select 20`" in differ.message
    )
    assert by_code["supabase-unrecorded"].path is not None and "mine" in by_code["supabase-unrecorded"].path


def test_drift_counts_added_statements(tmp_path: Path) -> None:
    path = tmp_path / "20250101000000_x.sql"
    path.write_text("select 1;\n\nselect 2;\n", encoding="utf-8")
    (migration,) = discover(tmp_path).migrations
    drift = statement_drift(migration, ["select 1"])
    assert drift is not None and drift.line == 3 and "2 statement(s), 1 were pushed" in drift.description
    assert statement_drift(migration, ["select 1", "select 2"]) is None


def test_fast_paths_agree_with_stepping_every_character() -> None:
    """The fast paths (jumping to the next character that matters) change nothing about the split."""
    import random

    from lockgate.supabase.split import _tokens

    alphabet = ["$", "$$", "$t$", "'", '"', "-", "--", "/", "/*", "*/", "*", "\\", ";", "(", ")", "c", "C",
                "atomic", " ATOMIC ", "end", "END", "\n", " ", "x", "é", "☕", "d", "_", "1"]  # fmt: skip
    generator = random.Random(20250829)
    for _ in range(3000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 40)))
        buf = text.encode()
        assert _tokens(buf) == _tokens(buf, fast=False), text
