"""Lint that knows the schema the history builds: the static catalog (``lockgate.catalog``) and the rules
that ask it — a type change knows the column's old type, a default knows its function's volatility."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockgate.catalog import history as catalog_history
from lockgate.catalog.directory import CACHE_NAME, directory_catalogs
from lockgate.catalog.model import Catalog
from lockgate.catalog.snapshots import Snapshots
from lockgate.catalog.types import NARROWING, NO_REWRITE, NONE, REWRITE, type_change
from lockgate.lint.engine import lint_paths
from lockgate.statements import parse_sql


def _history(tmp_path: Path, files: dict[str, str]) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _findings(directory: Path, only: str | None = None) -> list[tuple[str, str, str]]:
    report = lint_paths([directory / only] if only else [directory], cache_dir=directory.parent / ".lockgate")
    return [(Path(f.path).name, f.rule_id, f.message) for f in report.findings]


THREE_EARLIER = {
    "20250101000000_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY, name text, code varchar(20), "
    "total numeric(10, 2));\nCREATE INDEX customers_name ON customers (name);\n",
    "20250102000000_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
    "20250103000000_comments.sql": "COMMENT ON TABLE customers IS 'people who buy';\n",
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("ALTER COLUMN name TYPE varchar(50)", "narrows it from text"),
        ("ALTER COLUMN code TYPE varchar(10)", "narrows it from varchar(20)"),
        ("ALTER COLUMN total TYPE numeric(10, 1)", "narrows it from numeric(10, 2)"),
        ("ALTER COLUMN id TYPE int4", "(was int8) rewrites public.customers"),
    ],
)
def test_a_narrowing_change_is_found_from_a_column_created_three_files_earlier(
    tmp_path: Path, change: str, expected: str
) -> None:
    directory = _history(
        tmp_path, {**THREE_EARLIER, "20250104000000_change.sql": f"ALTER TABLE customers {change};\n"}
    )
    for only in (None, "20250104000000_change.sql"):  # the whole directory, or the one staged file
        found = [f for f in _findings(directory, only) if f[1] == "alter-column-type"]
        assert len(found) == 1 and found[0][0] == "20250104000000_change.sql", found
        assert expected in found[0][2]


def test_a_narrowed_indexed_column_says_its_index_is_rebuilt(tmp_path: Path) -> None:
    directory = _history(
        tmp_path,
        {
            **THREE_EARLIER,
            "20250104000000_change.sql": "ALTER TABLE customers ALTER COLUMN name TYPE varchar(5);\n",
        },
    )
    (finding,) = [f for f in _findings(directory) if f[1] == "alter-column-type"]
    assert "rebuilds its index customers_name" in finding[2]


@pytest.mark.parametrize(
    "change",
    [
        "ALTER COLUMN code TYPE varchar(40)",
        "ALTER COLUMN code TYPE text",
        "ALTER COLUMN code TYPE text USING code::text",
        "ALTER COLUMN name TYPE varchar",
        "ALTER COLUMN total TYPE numeric(12, 2)",
        "ALTER COLUMN total TYPE numeric",
    ],
)
def test_the_same_change_is_quiet_when_it_widens(tmp_path: Path, change: str) -> None:
    directory = _history(
        tmp_path, {**THREE_EARLIER, "20250104000000_change.sql": f"ALTER TABLE customers {change};\n"}
    )
    assert [f for f in _findings(directory) if f[1] == "alter-column-type"] == []


def test_without_a_history_the_old_guess_stands(tmp_path: Path) -> None:
    """A file outside any history (or a column the history never mentions) keeps the old heuristic."""
    directory = _history(
        tmp_path, {"20250104000000_change.sql": "ALTER TABLE customers ALTER COLUMN name TYPE varchar(50);\n"}
    )
    assert [f for f in _findings(directory) if f[1] == "alter-column-type"] == []


@pytest.mark.parametrize(
    ("function", "fires"),
    [
        (
            "CREATE FUNCTION public.make_code() RETURNS text LANGUAGE sql AS $$ SELECT md5(random()::text) $$;",
            True,
        ),
        ("CREATE FUNCTION make_code() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT 'x' $$;", True),
        ("CREATE FUNCTION make_code() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'x' $$;", False),
        ("CREATE FUNCTION make_code() RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'x' $$;", False),
    ],
)
def test_a_default_knows_its_functions_volatility_from_the_history(
    tmp_path: Path, function: str, fires: bool
) -> None:
    directory = _history(
        tmp_path,
        {
            "20250101000000_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY);\n",
            "20250102000000_function.sql": function + "\n",
            "20250103000000_column.sql": "ALTER TABLE customers ADD COLUMN code text DEFAULT make_code();\n",
        },
    )
    found = [f for f in _findings(directory) if f[1] == "volatile-default"]
    assert bool(found) is fires, found
    if fires:
        assert "volatile default make_code()" in found[0][2]


def test_replay_follows_renames_drops_and_index_ownership() -> None:
    files = [
        "CREATE TABLE a (id int, name text);\nCREATE INDEX a_name ON a (name);\n",
        "ALTER TABLE a RENAME TO b;\nALTER TABLE b RENAME COLUMN name TO title;\n",
        "ALTER TABLE b ALTER COLUMN title TYPE varchar(9), ADD COLUMN n numeric(4, 1) NOT NULL;\n",
        "CREATE TABLE p (id int) PARTITION BY RANGE (id);\nALTER TABLE b DROP COLUMN title;\n",
        "DROP TABLE p;\nCREATE TABLE c AS SELECT 1 AS x;\n",
    ]
    steps = [
        (f"f{i}.sql", 20250101000000 + i, catalog_history.file_ops(parse_sql(text)))
        for i, text in enumerate(files)
    ]
    before = Snapshots(Catalog("history"), [*steps, ("end.sql", 20250102000000, [])])
    assert before["f1.sql"].table("public.a").columns["name"].type_name == "text"
    assert before["f1.sql"].indexes["public.a_name"].columns == ("name",)
    after_rename = before["f2.sql"]
    assert after_rename.table("public.a") is None and "title" in after_rename.table("public.b").columns
    assert after_rename.indexes["public.a_name"].table == "public.b"
    assert after_rename.indexes["public.a_name"].columns == ("title",)
    retyped = before["f3.sql"].column("public.b", "title")
    assert (retyped.type_name, retyped.typmods) == ("varchar", (9,))
    assert before["f3.sql"].column("public.b", "n").not_null
    assert before["f4.sql"].table("public.p").partitioned
    assert "public.a_name" not in before["f4.sql"].indexes  # its column was dropped
    end = before["end.sql"]
    assert end.table("public.p") is None and end.table("public.c").columns == {}
    assert before["f0.sql"].tables == {}, "each snapshot is the schema before its file"


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [
        (("varchar", (20,)), ("varchar", (40,)), NO_REWRITE),
        (("varchar", (20,)), ("text", ()), NO_REWRITE),
        (("text", ()), ("varchar", ()), NO_REWRITE),
        (("text", ()), ("varchar", (50,)), NARROWING),
        (("varchar", (20,)), ("varchar", (10,)), NARROWING),
        (("numeric", (10, 2)), ("numeric", (12, 2)), NO_REWRITE),
        (("numeric", (10, 2)), ("numeric", ()), NO_REWRITE),
        (("numeric", (10, 2)), ("numeric", (10, 1)), NARROWING),
        (("numeric", (10, 2)), ("numeric", (12, 4)), REWRITE),
        (("cidr", ()), ("inet", ()), NO_REWRITE),
        (("int4", ()), ("int8", ()), REWRITE),
        (("int4", ()), ("int4", ()), NONE),
    ],
)
def test_type_change_verdicts(
    old: tuple[str, tuple[int, ...]], new: tuple[str, tuple[int, ...]], verdict: str
) -> None:
    assert type_change(*old, *new) == verdict


def test_the_ops_cache_is_used_and_never_trusted(tmp_path: Path) -> None:
    directory = _history(tmp_path, THREE_EARLIER)
    cache_dir = tmp_path / ".lockgate"
    first = directory_catalogs(directory, cache_dir)
    cached = json.loads((cache_dir / CACHE_NAME).read_text())
    assert cached["format"] == 2 and len(cached["ops"]) == 3
    assert all(len(entry) == 2 and len(entry[0]) == 64 for entry in cached["ops"].values())
    again = directory_catalogs(directory, cache_dir)
    assert again.keys() == first.keys()
    for broken in [
        '{"format": 2, "ops": []}',
        "not json",
        '{"format": 2, "ops": {"x": [["rm", "-rf"]]}}',
        json.dumps({"format": 1, "ops": {d: e[1] for d, e in cached["ops"].items()}}),  # the old format
        json.dumps({"format": 2, "ops": {d: ["short", e[1]] for d, e in cached["ops"].items()}}),
        json.dumps({"format": 2, "ops": {d: [e[0], [["rm", "-rf"]]] for d, e in cached["ops"].items()}}),
        "[]",
    ]:
        (cache_dir / CACHE_NAME).write_text(broken)
        rebuilt = directory_catalogs(directory, cache_dir)
        assert rebuilt["20250103000000_comments.sql"].column("public.customers", "code").typmods == (20,)
