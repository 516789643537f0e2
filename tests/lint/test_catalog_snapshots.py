"""``catalog.snapshots``: the catalog before each file, built on demand, equals replaying everything eagerly
— in any order of asking — and a long history no longer costs a full copy per file (quadratic memory)."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

from lockgate.catalog import history as catalog_history
from lockgate.catalog.model import Catalog
from lockgate.catalog.snapshots import ByPath, Snapshots
from lockgate.statements import parse_sql

TEXTS = [
    "CREATE TABLE t{i} (id int, name text);\nCREATE INDEX t{i}_name ON t{i} (name);\n",
    "ALTER TABLE t{j} ADD COLUMN c{i} bigint NOT NULL DEFAULT 0;\n",
    "ALTER TABLE t{j} RENAME TO r{i};\n",
    "DROP TABLE IF EXISTS t{j};\n",
    "ALTER TABLE t{j} RENAME COLUMN name TO title{i};\n",
    "DROP INDEX IF EXISTS t{j}_name;\n",
]


def _steps(count: int, seed: int = 7) -> list[tuple[str, int, list[catalog_history.Op]]]:
    chooser = random.Random(seed)
    steps = []
    for i in range(count):
        text = TEXTS[0 if i < 3 else chooser.randrange(len(TEXTS))].format(
            i=i, j=chooser.randrange(max(i, 1))
        )
        steps.append(
            (f"{20250101000000 + i}_m{i}.sql", 20250101000000 + i, catalog_history.file_ops(parse_sql(text)))
        )
    return steps


def _eager(steps: list[tuple[str, int, list[catalog_history.Op]]]) -> dict[str, Catalog]:
    """The old way: a full copy before every file."""
    catalog = Catalog("history")
    before = {}
    for name, version, ops in steps:
        before[name] = catalog.copy()
        catalog_history.apply(catalog, ops, version)
    return before


def _slots(value: object) -> object:
    """A model object's fields, recursively (the slotted classes compare by identity)."""
    if isinstance(value, dict):
        return {key: _slots(item) for key, item in value.items()}
    slots = getattr(type(value), "__slots__", None)
    if slots is None:
        return value
    return {slot: _slots(getattr(value, slot)) for slot in slots}


def _state(catalog: Catalog) -> object:
    return _slots(catalog)


def test_any_order_of_asking_gives_the_eager_replay() -> None:
    steps = _steps(300)
    expected = _eager(steps)
    names = [name for name, _, _ in steps]
    shuffled = random.Random(3).sample(names, len(names))
    for order in (names, names[::-1], shuffled, names[150:] + names[:150]):
        lazy = Snapshots(Catalog("history"), steps)
        assert list(lazy) == names and len(lazy) == len(names)
        for name in order:
            assert _state(lazy[name]) == _state(expected[name]), name
    assert "nope.sql" not in lazy and lazy.get("nope.sql") is None


def test_each_catalog_handed_out_is_the_callers_own() -> None:
    steps = _steps(40)
    lazy = Snapshots(Catalog("history"), steps)
    first = lazy[steps[20][0]]
    first.tables.clear()
    first.indexes["public.x"] = next(iter(_eager(steps)[steps[30][0]].indexes.values()))
    assert _state(lazy[steps[20][0]]) == _state(_eager(steps)[steps[20][0]])
    assert _state(lazy[steps[25][0]]) == _state(_eager(steps)[steps[25][0]])


def test_a_long_history_costs_far_less_than_a_copy_per_file() -> None:
    # 4,000 files that each create a table: a copy before every file held 8 million table entries
    # (~300 MiB); built on demand, lint's walk in file order keeps ~√n checkpoints.
    count = 4000
    ops = [[("create_table", f"public.t{i}", [["id", "int4", [], False]], False)] for i in range(count)]
    steps = [(f"{20250101000000 + i}_m{i}.sql", 20250101000000 + i, ops[i]) for i in range(count)]
    tracemalloc.start()
    try:
        lazy = Snapshots(Catalog("history"), steps)
        for name in lazy:
            assert len(lazy[name].tables) == int(name.rsplit("_m", 1)[1][:-4])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_by_path_spans_directories_and_builds_on_demand(tmp_path: Path) -> None:
    steps = _steps(20)
    one, two = tmp_path / "one", tmp_path / "two"
    by_directory = {
        one: Snapshots(Catalog("history"), steps[:10]),
        two: Snapshots(Catalog("history"), steps[10:]),
    }
    files = [one / steps[3][0], two / steps[12][0], two / "20990101000000_unknown.sql", tmp_path / "x.sql"]
    mapping = ByPath(by_directory, files)
    assert list(mapping) == files[:2] and len(mapping) == 2
    assert _state(mapping[files[0]]) == _state(_eager(steps[:10])[steps[3][0]])
    assert _state(mapping[files[1]]) == _state(_eager(steps[10:])[steps[12][0]])
    assert mapping.get(files[2]) is None and files[3] not in mapping


def test_a_view_is_the_same_catalog_without_a_copy(tmp_path: Path) -> None:
    steps = _steps(120)
    expected = _eager(steps)
    lazy = Snapshots(Catalog("history"), steps)
    names = [name for name, _, _ in steps]
    for name in [*names[::7], *names[:5]]:  # forwards, then back to a checkpoint
        assert _state(lazy.view(name)) == _state(expected[name]), name
    assert lazy.view(names[10]) is lazy.view(names[10]), "no copy"
    directory = tmp_path / "migrations"
    by_path = ByPath({directory: lazy}, [directory / names[3], directory / "other.sql"])
    view = by_path.view(directory / names[3])
    assert view is not None and _state(view) == _state(expected[names[3]])
    assert by_path.view(directory / "other.sql") is None
