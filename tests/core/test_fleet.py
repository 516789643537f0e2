"""A fleet of 20 real databases on the test server: waves in order, up to N at once, a held lock failing one
target while the rest of its wave applies, later waves not started, and a re-run that resumes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

from json_schema_check import assert_matches
from lockgate.config import load_config
from lockgate.errors import ConfigError
from lockgate.fleet import load_fleet
from pg_databases import fresh_database

pytestmark = pytest.mark.db

COUNT = 20
MIGRATIONS = {
    "20250101000000_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
    "20250102000000_note.sql": "ALTER TABLE orders ADD COLUMN note text;\n",
    "20250103000000_index.sql": "CREATE TABLE items (id bigint);\n",
}
BLOCKED = "t07"


def _wave(number: int) -> int:
    return 0 if number < 2 else (1 if number < 12 else 2)


@pytest.fixture
def fleet_urls(pg_server_url: str) -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        yield {
            f"t{n:02d}": stack.enter_context(fresh_database(pg_server_url, "lg_fleet")) for n in range(COUNT)
        }


@pytest.fixture
def fleet_project(project: Path, fleet_urls: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    lines = ["[tool.lockgate.fleet]", "max_failures = 0", ""]
    for n, (name, url) in enumerate(fleet_urls.items()):
        monkeypatch.setenv(f"FLEET_{name.upper()}_URL", url)
        lines += [
            f"[tool.lockgate.targets.{name}]",
            f'url_env = "FLEET_{name.upper()}_URL"',
            f"wave = {_wave(n)}",
            f'tags = ["{"staging" if n < 2 else "tenant"}"]',
            'lock_timeout = "100ms"',
            "lock_retries = 1",
            "",
        ]
    (project / "pyproject.toml").write_text("\n".join(lines), encoding="utf-8")
    for name, text in MIGRATIONS.items():
        add(project, name, text)
    return project


def _applied(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone() == (None,):
            return []
        return [
            row[0]
            for row in conn.execute(
                "SELECT version FROM schema_migrations WHERE status = 'applied' ORDER BY version"
            )
        ]


def _log_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.schema_migrations_log')").fetchone() == (None,):
            return 0
        row = conn.execute("SELECT count(*) FROM schema_migrations_log").fetchone()
        return int(row[0]) if row else 0


@pytest.mark.slow
def test_a_rollout_in_three_waves_stops_at_a_failed_wave_and_resumes(
    fleet_project: Path, fleet_urls: dict[str, str], lockgate: CliRunner
) -> None:
    blocked_url = fleet_urls[BLOCKED]  # wave 1
    with psycopg.connect(blocked_url, autocommit=True) as setup:
        setup.execute("CREATE TABLE orders (id bigint PRIMARY KEY)")  # the first file will find it: fails
    before = lockgate("status", "--targets", "all", "--json")
    assert before.code == 0, before.text
    assert_matches(json.loads(before.out), "fleet_report")
    states = {t["name"]: (t["state"], len(t["pending"])) for t in json.loads(before.out)["targets"]}
    assert set(states.values()) == {("pending", 3)}

    # One target of wave 1 fails (a table made by hand is in the first file's way).
    first = lockgate("run", "--targets", "all", "--parallel", "8")
    assert first.code == 1, first.text
    table = first.out
    assert f"{BLOCKED} " in table and "failed" in table
    assert "fleet: " in first.out and f"failed ({BLOCKED})" in first.out
    assert "stopped after wave 1" in first.out
    for n, (name, url) in enumerate(fleet_urls.items()):
        if name == BLOCKED:
            assert _applied(url) == []
        elif _wave(n) <= 1:
            assert len(_applied(url)) == 3, name  # the rest of the failed target's wave applied
        else:
            assert _applied(url) == [], f"{name} is in wave 2, which must not start"
    assert f"error: {BLOCKED}: failed: " in first.err and 'relation "orders" already exists' in first.err

    # The fix, then a re-run: the finished targets apply nothing, the rest catch up.
    with psycopg.connect(blocked_url, autocommit=True) as fix:
        fix.execute("DROP TABLE orders")
    logged = {name: _log_rows(url) for name, url in fleet_urls.items()}
    second = lockgate("run", "--targets", "all", "--parallel", "8")
    assert second.code == 0, second.text
    for n, (name, url) in enumerate(fleet_urls.items()):
        assert len(_applied(url)) == 3, name
        if _wave(n) <= 1 and name != BLOCKED:
            assert _log_rows(url) == logged[name], f"{name} was up to date: nothing written"
    assert "fleet: 11 up to date, 9 applied" in second.out  # wave 2 and the fixed target
    again = lockgate("run", "--targets", "all", "--json")
    assert again.code == 0
    document = json.loads(again.out)
    assert_matches(document, "fleet_report")
    assert {t["state"] for t in document["targets"]} == {"up-to-date"}

    after = lockgate("status", "--targets", "tag:tenant", "--exit-code")
    assert after.code == 0 and f"{COUNT - 2} target(s) up to date" in after.out


@pytest.mark.slow
def test_a_held_lock_fails_one_target_after_its_retries_and_a_rerun_finishes(
    fleet_project: Path, fleet_urls: dict[str, str], lockgate: CliRunner
) -> None:
    # Every target up to date; then a new file, and a report holding the lock it needs on one target.
    assert lockgate("run", "--targets", "all", "--parallel", "8").code == 0
    add(fleet_project, "20250104000000_more.sql", "ALTER TABLE orders ADD COLUMN more int;\n")
    holder = psycopg.connect(fleet_urls[BLOCKED], application_name="reporting")
    try:
        holder.execute("SELECT count(*) FROM orders")  # ACCESS SHARE, held (idle in transaction)
        result = lockgate("run", "--targets", "all", "--parallel", "8")
    finally:
        holder.close()
    assert result.code == 1, result.text
    # After its retries (lock_retries = 1): the blocker named, in the table and on stderr.
    row = next(line for line in result.out.splitlines() if line.startswith(f"{BLOCKED} "))
    assert "failed" in row and "lock timeout" in row and '"reporting"' in row, row
    assert f"failed ({BLOCKED})" in result.out and "stopped after wave 1" in result.out
    for n, (name, url) in enumerate(fleet_urls.items()):
        expected = _wave(n) <= 1 and name != BLOCKED  # the rest of wave 1 applied; wave 2 never started
        assert (20250104000000 in _applied(url)) == expected, name
    # The lock released, the same command finishes the rollout and touches nothing already applied.
    logged = {name: _log_rows(url) for name, url in fleet_urls.items()}
    again = lockgate("run", "--targets", "all", "--parallel", "8")
    assert again.code == 0, again.text
    for n, (name, url) in enumerate(fleet_urls.items()):
        assert 20250104000000 in _applied(url), name
        if _wave(n) <= 1 and name != BLOCKED:
            assert _log_rows(url) == logged[name], f"{name} was up to date: nothing written"


def test_targets_are_read_strictly(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fleet(text: str) -> None:
        (project / "lockgate.toml").write_text(text, encoding="utf-8")
        load_fleet(load_config(project, environ={}))

    with pytest.raises(ConfigError, match=r"targets.prod.url: holds a password.*url_env") as raised:
        fleet('[targets.prod]\nurl = "postgresql://deploy:Sup3rSecret@db.example.com/app"\n')
    assert "Sup3rSecret" not in str(raised.value)
    with pytest.raises(ConfigError, match=r"holds a password"):
        fleet("[targets.prod]\nurl = \"host=db user=deploy password='x y z'\"\n")
    fleet('[targets.local]\nurl = "postgresql://postgres@127.0.0.1/app"\n')  # no password: allowed
    with pytest.raises(
        ConfigError, match=r"targets.prod.url_env: expected the name of an environment variable"
    ):
        fleet('[targets.prod]\nurl_env = "postgresql://x"\n')
    with pytest.raises(ConfigError, match=r"targets.prod.wave: expected a whole number"):
        fleet('[targets.prod]\nurl_env = "P"\nwave = "soon"\n')
    with pytest.raises(ConfigError, match=r"targets.prod.lock_timeout: "):
        fleet('[targets.prod]\nurl_env = "P"\nlock_timeout = "forever"\n')
    with pytest.raises(ConfigError, match=r"targets.prod.colour: unknown setting"):
        fleet('[targets.prod]\nurl_env = "P"\ncolour = "blue"\n')
    with pytest.raises(ConfigError, match=r"no targets"):
        fleet("[fleet]\nmax_failures = 1\n")


def test_a_generated_targets_file_and_selectors(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tenants = [
        {"name": f"tenant-{n}", "url_env": f"TENANT_{n}_URL", "wave": 1 + n % 2, "tags": ["tenant"]}
        for n in range(6)
    ]
    (project / "tenants.json").write_text(json.dumps({"targets": tenants}), encoding="utf-8")
    (project / "lockgate.toml").write_text(
        '[fleet]\ntargets_file = "tenants.json"\n\n[targets.staging]\nurl_env = "STAGING_URL"\ntags = ["staging"]\n',
        encoding="utf-8",
    )
    fleet = load_fleet(load_config(project, environ={}))
    assert [t.name for t in fleet.select("all")][:2] == ["staging", "tenant-0"]
    assert [t.wave for t in fleet.select("all")] == [0, 1, 1, 1, 2, 2, 2]
    assert {t.name for t in fleet.select("wave:2")} == {"tenant-1", "tenant-3", "tenant-5"}
    assert {t.name for t in fleet.select("staging,tag:tenant")} == {"staging", *(t["name"] for t in tenants)}
    with pytest.raises(ConfigError, match=r"--targets 'tag:nope' matches no target"):
        fleet.select("tag:nope")
    (project / "tenants.json").write_text('[{"name": "bad name!", "url_env": "X"}]', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tenants.json: target bad name!: a target name is"):
        load_fleet(load_config(project, environ={}))


def test_a_target_without_its_variable_fails_alone(
    fleet_project: Path, lockgate: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLEET_T00_URL")
    result = lockgate("run", "--targets", "wave:0")
    assert result.code == 1
    assert "t00: error: target t00: environment variable FLEET_T00_URL is not set" in result.err
    assert "t01 " in result.out and "applied" in result.out


def test_ctrl_c_starts_no_further_target_and_lets_running_ones_finish() -> None:
    import os
    import signal
    import threading
    import time

    from lockgate.fleet import Target
    from lockgate.rollout import APPLIED, NOT_STARTED, TargetOutcome, _by_waves

    targets = [Target(f"t{n}", 0 if n < 6 else 1, (), "X") for n in range(8)]
    started: list[str] = []

    def one(target: Target) -> TargetOutcome:
        started.append(target.name)
        time.sleep(0.6)  # a run in progress: it finishes, whatever happens in the main thread
        return TargetOutcome(target, APPLIED, "1 migration(s)", applied=1)

    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    result = _by_waves(
        targets, one, parallel=2, max_failures=0, report=lambda outcome: None, stop_on_failure=True
    )
    assert result.interrupted
    states = {o.target.name: o.state for o in result.outcomes}
    assert started == ["t0", "t1"]
    assert states["t0"] == states["t1"] == APPLIED
    assert all(states[f"t{n}"] == NOT_STARTED for n in range(2, 8))
