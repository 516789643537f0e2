"""The PR plan table and ``lockgate validate`` agree on which pending files are out of order, also when the
newest applied migration's file is gone (the plan's own ``latest_applied``, not a second notion of it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lockgate.config import Config
from lockgate.github.plan_view import latest_applied_version, plan_rows
from lockgate.history import LazyJson, Record
from lockgate.plan import build_plan
from lockgate.source import discover


def _record(version: int, name: str) -> Record:
    return Record(
        f"{version}_{name}",
        name,
        version,
        "0" * 64,
        datetime.now(UTC),
        None,
        1,
        "applied",
        None,
        LazyJson("{}"),
    )


def test_a_missing_newest_file_still_makes_older_pending_files_out_of_order(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20250102000000_late.sql").write_text("CREATE TABLE late (id int);\n")
    records = [_record(20250103000000, "gone")]  # applied, then its file was deleted
    plan = build_plan(discover(migrations), records, Config(root=tmp_path, migrations_dir=migrations))
    out_of_order = {problem.version for problem in plan.problems if problem.code == "out-of-order"}
    assert out_of_order == {20250102000000}
    assert latest_applied_version(plan) == 20250103000000
    rows = plan_rows(tmp_path, plan.pending, latest_applied_version(plan), {})
    assert [(row.migration["version"], row.out_of_order) for row in rows] == [(20250102000000, True)]
