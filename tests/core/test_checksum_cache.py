"""The checksum cache of read-only commands never hides an edit, and is never trusted: anything but
exactly what it writes is ignored and rebuilt, never a crash or a hang."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate import checksum_cache
from lockgate.checksum import checksum
from lockgate.checksum_cache import CACHE_FILE, ChecksumCache, stat_key
from lockgate.errors import SourceError
from lockgate.source import discover

SQL = "CREATE TABLE a (id int);\n"


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files count as long unchanged at once (no racy margin), so a test need not wait seconds."""
    monkeypatch.setattr(checksum_cache, "RACY_NS", 0)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A migrations directory with one file, and the state directory beside it."""
    migrations, state = tmp_path / "migrations", tmp_path / ".lockgate"
    migrations.mkdir()
    (migrations / "20250101000000_a.sql").write_text(SQL, encoding="utf-8")
    return migrations, state


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _cached_entries(state: Path, migrations: Path) -> dict[str, Any]:
    document = json.loads((state / CACHE_FILE).read_text(encoding="utf-8"))
    entries: dict[str, Any] = document["directories"][str(migrations.resolve())]
    return entries


def test_cache_hits_skip_reading_and_edits_always_miss(settled: None, layout: tuple[Path, Path]) -> None:
    migrations, state = layout
    first = migrations / "20250101000000_a.sql"
    cold = discover(migrations, cache_dir=state)
    assert cold.migrations[0].loaded_text is not None  # read and hashed
    assert (state / CACHE_FILE).is_file() and (state / ".gitignore").read_text() == "*\n"
    warm = discover(migrations, cache_dir=state)
    assert warm.migrations[0].loaded_text is None  # from the cache
    assert warm.migrations[0].checksum == cold.migrations[0].checksum
    assert warm.migrations[0].text == SQL  # read lazily, verified

    # Same size, mtime forced back to the old value: the change time still moves, so it misses.
    before = os.stat(first)
    _write(first, "CREATE TABLE b (id int);\n")
    os.utime(first, ns=(before.st_atime_ns, before.st_mtime_ns))
    edited = discover(migrations, cache_dir=state)
    assert edited.migrations[0].checksum == checksum("CREATE TABLE b (id int);\n")


def test_deleted_files_leave_the_cache_and_a_broken_cache_is_ignored(settled: None, tmp_path: Path) -> None:
    migrations, state = tmp_path / "migrations", tmp_path / ".lockgate"
    migrations.mkdir()
    _write(migrations / "20250101000000_a.sql", "SELECT 1;\n")
    _write(migrations / "20250102000000_b.sql", "SELECT 2;\n")
    discover(migrations, cache_dir=state)
    (migrations / "20250102000000_b.sql").unlink()
    assert [m.filename for m in discover(migrations, cache_dir=state).migrations] == ["20250101000000_a.sql"]
    assert "20250102000000_b.sql" not in (state / CACHE_FILE).read_text()
    (state / CACHE_FILE).write_text("{not json", encoding="utf-8")
    assert discover(migrations, cache_dir=state).migrations[0].checksum == checksum("SELECT 1;\n")


def test_a_file_changed_moments_ago_is_not_cached(layout: tuple[Path, Path]) -> None:
    """The racy case: a second write within the same file-time tick would keep the key, so a file
    changed within ``RACY_NS`` of the read is hashed again next time rather than remembered."""
    migrations, state = layout
    discover(migrations, cache_dir=state)
    again = discover(migrations, cache_dir=state)
    assert again.migrations[0].loaded_text is not None  # read again, not taken from the cache
    assert not (state / CACHE_FILE).exists() or _cached_entries(state, migrations) == {}


def _valid_entry(migrations: Path) -> list[Any]:
    path = migrations / "20250101000000_a.sql"
    return [*stat_key(os.stat(path)), checksum(SQL)]


# Each builds the cache file's bytes from the migrations directory; none may be trusted or crash.
CORRUPT: dict[str, Callable[[Path], bytes]] = {
    "directories is a list": lambda d: b'{"format":1,"directories":[]}',
    "directory is a list": lambda d: json.dumps(
        {"format": 1, "directories": {str(d.resolve()): []}}
    ).encode(),
    "entry too short": lambda d: json.dumps(
        {"format": 1, "directories": {str(d.resolve()): {"20250101000000_a.sql": _valid_entry(d)[:4]}}}
    ).encode(),
    "key as strings": lambda d: json.dumps(
        {
            "format": 1,
            "directories": {str(d.resolve()): {"20250101000000_a.sql": [str(v) for v in _valid_entry(d)]}},
        }
    ).encode(),
    "checksum not hex": lambda d: json.dumps(
        {
            "format": 1,
            "directories": {str(d.resolve()): {"20250101000000_a.sql": [*_valid_entry(d)[:4], "x" * 64]}},
        }
    ).encode(),
    "checksum a number": lambda d: json.dumps(
        {"format": 1, "directories": {str(d.resolve()): {"20250101000000_a.sql": [*_valid_entry(d)[:4], 7]}}}
    ).encode(),
    "format true": lambda d: json.dumps({"format": True, "directories": {}}).encode(),
    "format 1.0": lambda d: json.dumps(
        {"format": 1.0, "directories": {str(d.resolve()): {"20250101000000_a.sql": [0, 0, 0, 0, "0" * 64]}}}
    ).encode(),
    "format 2": lambda d: b'{"format":2,"directories":{}}',
    "a list": lambda d: b"[1, 2, 3]",
    "null": lambda d: b"null",
    "truncated": lambda d: json.dumps({"format": 1, "directories": {str(d.resolve()): {}}}).encode()[:-3],
    "binary garbage": lambda d: bytes(range(256)) * 4,
    "not UTF-8": lambda d: b'{"format":1,"directories":{"\xff":{}}}',
    "a 5,000-digit number": lambda d: b'{"format":1,"directories":{},"x":' + b"9" * 5000 + b"}",
    "huge integers": lambda d: json.dumps(
        {"format": 1, "directories": {str(d.resolve()): {"20250101000000_a.sql": [10**40] * 4 + ["0" * 64]}}}
    ).encode(),
    "Infinity and NaN": lambda d: (
        b'{"format":1,"directories":{"%s":{"a.sql":[Infinity,NaN,1,2,"x"]}}}' % str(d.resolve()).encode()
    ),
    "deeply nested": lambda d: b"[" * 100_000 + b"]" * 100_000,
    "empty": lambda d: b"",
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_cache_is_rebuilt(
    settled: None, layout: tuple[Path, Path], content: Callable[[Path], bytes]
) -> None:
    migrations, state = layout
    state.mkdir()
    (state / CACHE_FILE).write_bytes(content(migrations))
    source = discover(migrations, cache_dir=state)
    assert source.migrations[0].checksum == checksum(SQL)
    assert source.migrations[0].loaded_text is not None  # nothing was taken from the broken file
    assert _cached_entries(state, migrations) == {"20250101000000_a.sql": _valid_entry(migrations)}


@pytest.mark.parametrize("kind", ["directory", "fifo", "state dir is a file"])
def test_a_cache_that_is_not_a_file_is_ignored_without_waiting(
    settled: None, layout: tuple[Path, Path], kind: str
) -> None:
    migrations, state = layout
    if kind == "state dir is a file":
        state.write_text("not a directory", encoding="utf-8")
    else:
        state.mkdir()
        if kind == "fifo":
            os.mkfifo(state / CACHE_FILE)
        else:
            (state / CACHE_FILE).mkdir()
    found: list[str] = []
    worker = threading.Thread(
        target=lambda: found.append(discover(migrations, cache_dir=state).migrations[0].checksum), daemon=True
    )
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # unblock the FIFO so the thread can end, then fail
        os.close(os.open(state / CACHE_FILE, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("discover waited on the cache file")
    assert found == [checksum(SQL)]
    assert not list(state.glob("*.tmp")) if state.is_dir() else True


def test_a_wrong_but_well_formed_entry_heals(settled: None, layout: tuple[Path, Path]) -> None:
    """An entry with the file's exact key but another checksum is used while the file keeps that key;
    the first read of the text finds the mismatch and discards the cache, so running again is the cure."""
    migrations, state = layout
    state.mkdir()
    wrong = checksum("DROP TABLE a;\n")
    key = _valid_entry(migrations)[:4]
    document = {
        "format": 1,
        "directories": {str(migrations.resolve()): {"20250101000000_a.sql": [*key, wrong]}},
    }
    (state / CACHE_FILE).write_text(json.dumps(document), encoding="utf-8")
    lied_to = discover(migrations, cache_dir=state).migrations[0]
    assert lied_to.checksum == wrong
    with pytest.raises(SourceError, match="changed while lockgate was reading it; run the command again"):
        _ = lied_to.text
    assert not (state / CACHE_FILE).exists()
    assert discover(migrations, cache_dir=state).migrations[0].checksum == checksum(SQL)


def test_a_cache_of_another_directory_is_not_used_and_is_pruned(settled: None, tmp_path: Path) -> None:
    """The project moved: entries for its old path (same names, same keys) are not used, and are
    dropped once that path no longer exists."""
    old, state = tmp_path / "old" / "migrations", tmp_path / ".lockgate"
    old.mkdir(parents=True)
    _write(old / "20250101000000_a.sql", SQL)
    discover(old, cache_dir=state)
    old_key = str(old.resolve())
    new = tmp_path / "new" / "migrations"
    (tmp_path / "old").rename(tmp_path / "new")
    moved = discover(new, cache_dir=state).migrations[0]
    assert moved.loaded_text is not None  # read, although the old entry had the same inode and times
    directories = json.loads((state / CACHE_FILE).read_text(encoding="utf-8"))["directories"]
    assert list(directories) == [str(new.resolve())] and old_key not in directories


def test_other_directories_survive_a_save(settled: None, tmp_path: Path) -> None:
    first, second, state = tmp_path / "one", tmp_path / "two", tmp_path / ".lockgate"
    for directory in (first, second):
        directory.mkdir()
        _write(directory / "20250101000000_a.sql", SQL)
        discover(directory, cache_dir=state)
    directories = json.loads((state / CACHE_FILE).read_text(encoding="utf-8"))["directories"]
    assert sorted(directories) == sorted([str(first.resolve()), str(second.resolve())])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=30,
)


def _near_valid(directory: str) -> st.SearchStrategy[Any]:
    """Documents shaped like ours with random leaves: they reach the per-entry checks."""
    entry = st.lists(JSON | st.integers(), min_size=4, max_size=6) | st.tuples(
        st.integers(),
        st.integers(),
        st.integers(),
        st.integers(),
        st.text(alphabet="0123456789abcdef", max_size=64),
    ).map(list)
    entries = st.dictionaries(st.text(max_size=30), entry | JSON, max_size=5)
    directories = st.dictionaries(st.sampled_from([directory, "/elsewhere", ""]) | st.text(), entries | JSON)
    return st.fixed_dictionaries(
        {"format": st.sampled_from([1, 1.0, True, "1", 2]) | JSON, "directories": directories | JSON}
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_json_is_loaded_without_error_and_saved_in_our_format(
    tmp_path: Path, data: st.DataObject
) -> None:
    state, directory = tmp_path / "state", tmp_path / "migrations"
    state.mkdir(exist_ok=True)
    directory.mkdir(exist_ok=True)
    document = data.draw(JSON | _near_valid(str(directory.resolve())))
    (state / CACHE_FILE).write_text(json.dumps(document), encoding="utf-8")
    cache = ChecksumCache.load(state, directory)
    for name, (key, digest) in cache.entries.items():
        assert isinstance(name, str) and all(part.__class__ is int for part in key) and len(key) == 4
        assert digest.__class__ is str and len(digest) == 64 and int(digest, 16) >= 0
    cache.dirty = True
    cache.save(set(cache.entries))
    reloaded = ChecksumCache.load(state, directory)
    assert reloaded.entries == cache.entries
