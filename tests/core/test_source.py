"""Files -> migrations: names, checksums, statement splitting and classification (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockgate.checksum import checksum
from lockgate.errors import ConfigError, SourceError
from lockgate.naming import NameError_, parse_filename
from lockgate.source import discover, load_migration
from lockgate.statements import SqlError, parse_sql, stray_transaction_control

SAMPLE = Path(__file__).resolve().parents[2] / "migrations"


def test_fourteen_digit_and_legacy_names() -> None:
    assert parse_filename("20250829120000_add_user_preferences.sql").version == 20250829120000
    legacy = parse_filename("20250828_initial_schema.sql")
    assert legacy.version == 20250828000000
    assert legacy.version_text == "20250828"


@pytest.mark.parametrize(
    ("filename", "fragment"),
    [
        ("add_table.sql", "must be named"),
        ("2025_x.sql", "has 4 digits"),
        ("20251340120000_x.sql", "not a real date"),
        ("20250230_x.sql", "not a real date"),
    ],
)
def test_bad_names_are_explained(filename: str, fragment: str) -> None:
    with pytest.raises(NameError_, match=fragment):
        parse_filename(filename)


def test_bom_and_line_endings_do_not_change_the_checksum() -> None:
    text = "-- m\nCREATE TABLE t (id int);\nSELECT 1;\n"
    assert checksum(text) == checksum("\ufeff" + text)
    assert checksum(text) == checksum(text.replace("\n", "\r\n"))
    assert checksum(text) == checksum(text.replace("\n", "\r"))
    assert checksum(text) != checksum(text + " ")


def test_crlf_copy_on_disk_has_same_checksum(tmp_path: Path) -> None:
    source = SAMPLE / "20250829120000_add_user_preferences.sql"
    copy = tmp_path / source.name
    copy.write_bytes(b"\xef\xbb\xbf" + source.read_bytes().replace(b"\n", b"\r\n"))
    original, windows = load_migration(source), load_migration(copy)
    assert original.checksum == windows.checksum
    assert [s.line for s in original.parsed.statements] == [s.line for s in windows.parsed.statements]


def test_statements_keep_one_based_lines_and_skip_comments() -> None:
    parsed = parse_sql(
        "-- header\n\nCREATE TABLE a (id int);\n/* c */ SELECT 'é';\n\n  INSERT INTO a\n  VALUES (1);\n"
    )
    assert [(s.kind, s.line, s.column, s.end_line) for s in parsed.statements] == [
        ("CreateStmt", 3, 1, 3),
        ("SelectStmt", 4, 9, 4),
        ("InsertStmt", 6, 3, 7),
    ]
    assert parsed.statements[1].text == "SELECT 'é'"


def test_wrapping_begin_commit_is_recognised_and_dropped_from_the_body() -> None:
    parsed = parse_sql("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n")
    assert parsed.wrapped
    assert [s.kind for s in parsed.body] == ["CreateStmt"]
    assert stray_transaction_control(parsed) is None


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE a (id int);\nCOMMIT;\n",
        "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nSELECT 1;\nCOMMIT;\n",
        "BEGIN;\nCREATE TABLE a (id int);\n",
        "CREATE TABLE a (id int);\nROLLBACK;\n",
    ],
)
def test_other_transaction_control_is_stray(sql: str) -> None:
    assert stray_transaction_control(parse_sql(sql)) is not None


def test_savepoints_are_allowed() -> None:
    assert stray_transaction_control(parse_sql("SAVEPOINT a;\nSELECT 1;\nRELEASE SAVEPOINT a;\n")) is None


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"),
        ("REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"),
        ("REINDEX SCHEMA public", "REINDEX SCHEMA"),
        ("VACUUM t", "VACUUM"),
        ("ALTER SYSTEM SET work_mem = '8MB'", "ALTER SYSTEM"),
        ("CREATE DATABASE d", "CREATE DATABASE"),
        ("DROP DATABASE d", "DROP DATABASE"),
        ("CREATE TABLESPACE s LOCATION '/x'", "CREATE TABLESPACE"),
        ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "DETACH PARTITION"),
        ("CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p", "CREATE SUBSCRIPTION"),
    ],
)
def test_non_transactional_statements_are_classified_from_the_tree(sql: str, reason: str) -> None:
    (statement,) = parse_sql(sql).statements
    assert statement.non_transactional is not None
    assert reason in statement.non_transactional


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX i ON t (a)",
        "ANALYZE t",
        "REINDEX TABLE t",
        "SELECT 'CREATE INDEX CONCURRENTLY x ON y (z)'",
        "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p WITH (connect = false)",
        "-- CREATE INDEX CONCURRENTLY i ON t (a)\nSELECT 1",
    ],
)
def test_transactional_statements_stay_transactional(sql: str) -> None:
    assert all(s.non_transactional is None for s in parse_sql(sql).statements)


def test_syntax_error_has_line_and_column() -> None:
    with pytest.raises(SqlError) as info:
        parse_sql("SELECT 1;\nSELECT frm x where;\n")
    assert (info.value.line, info.value.column) == (2, 19)
    assert "syntax error" in info.value.message


@pytest.mark.parametrize("command", ["\\i other.sql", "\\set ON_ERROR_STOP on", "\\connect db"])
def test_psql_meta_commands_are_named(command: str) -> None:
    with pytest.raises(SqlError) as info:
        parse_sql(f"SELECT 1;\n{command}\nSELECT 2;\n")
    assert info.value.line == 2
    assert command.split()[0] in info.value.message
    assert "psql meta-command" in info.value.message


def test_unknown_directive_is_an_error() -> None:
    with pytest.raises(SqlError, match="no-transactoin"):
        parse_sql("-- lockgate: no-transactoin\nSELECT 1;\n")


def test_directive_is_read() -> None:
    assert parse_sql("-- lockgate: no-transaction\nSELECT 1;\n").directives == {"no-transaction"}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"SELECT \xff;\n", "not valid UTF-8"),
        (b"CREATE TABLE (;\n", "syntax error"),
    ],
)
def test_bad_files_raise_one_line_source_errors(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "20250101000000_bad.sql"
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        load_migration(path).parsed  # noqa: B018 - parsing is the point
    assert fragment in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_discover_orders_by_version_and_keeps_bad_names_aside(tmp_path: Path) -> None:
    for name in ["20250102000000_b.sql", "20250101_a.sql", "notes.sql", "20250103000000_c.SQL.txt"]:
        (tmp_path / name).write_text("SELECT 1;\n", encoding="utf-8")
    source = discover(tmp_path)
    assert [m.filename for m in source.migrations] == ["20250101_a.sql", "20250102000000_b.sql"]
    assert [u.path.name for u in source.unrecognised] == ["notes.sql"]


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        discover(tmp_path / "nope")


def test_sample_project_parses() -> None:
    source = discover(SAMPLE)
    assert len(source.migrations) == 5
    assert not source.unrecognised
    assert source.migrations[-1].parsed.wrapped


def test_savepoints_do_not_hide_a_wrapping_block() -> None:
    parsed = parse_sql("BEGIN;\nSAVEPOINT a;\nCREATE TABLE t (id int);\nRELEASE SAVEPOINT a;\nCOMMIT;\n")
    assert parsed.wrapped
    assert [s.kind for s in parsed.body] == ["TransactionStmt", "CreateStmt", "TransactionStmt"]
    assert stray_transaction_control(parsed) is None
