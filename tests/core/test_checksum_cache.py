"""The checksum cache of read-only commands never hides an edit."""

from __future__ import annotations

import os
from pathlib import Path

from lockgate.checksum import checksum
from lockgate.source import discover


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_cache_hits_skip_reading_and_edits_always_miss(tmp_path: Path) -> None:
    migrations, state = tmp_path / "migrations", tmp_path / ".lockgate"
    migrations.mkdir()
    first = migrations / "20250101000000_a.sql"
    _write(first, "CREATE TABLE a (id int);\n")
    cold = discover(migrations, cache_dir=state)
    assert cold.migrations[0].loaded_text is not None  # read and hashed
    assert (state / "checksums.json").is_file() and (state / ".gitignore").read_text() == "*\n"
    warm = discover(migrations, cache_dir=state)
    assert warm.migrations[0].loaded_text is None  # from the cache
    assert warm.migrations[0].checksum == cold.migrations[0].checksum
    assert warm.migrations[0].text == "CREATE TABLE a (id int);\n"  # read lazily, verified

    # Same size, mtime forced back to the old value: the change time still moves, so it misses.
    before = os.stat(first)
    _write(first, "CREATE TABLE b (id int);\n")
    os.utime(first, ns=(before.st_atime_ns, before.st_mtime_ns))
    edited = discover(migrations, cache_dir=state)
    assert edited.migrations[0].checksum == checksum("CREATE TABLE b (id int);\n")


def test_deleted_files_leave_the_cache_and_a_broken_cache_is_ignored(tmp_path: Path) -> None:
    migrations, state = tmp_path / "migrations", tmp_path / ".lockgate"
    migrations.mkdir()
    _write(migrations / "20250101000000_a.sql", "SELECT 1;\n")
    _write(migrations / "20250102000000_b.sql", "SELECT 2;\n")
    discover(migrations, cache_dir=state)
    (migrations / "20250102000000_b.sql").unlink()
    assert [m.filename for m in discover(migrations, cache_dir=state).migrations] == ["20250101000000_a.sql"]
    assert "20250102000000_b.sql" not in (state / "checksums.json").read_text()
    (state / "checksums.json").write_text("{not json", encoding="utf-8")
    assert discover(migrations, cache_dir=state).migrations[0].checksum == checksum("SELECT 1;\n")
