"""The streamed apply (``lockgate.batch.Stream``): a run sends each file's batch while the one before it
still runs, with no sync between them.

What must hold, shown with side effects that a rollback cannot undo (a sequence's ``nextval``): a file
sent behind one that fails — in its body, at COMMIT, on a lock timeout — never *executes*, not merely
rolls back; and a file sent behind one that changed the session in a way the in-transaction reset cannot
undo (role or database defaults, a statement prepared in dynamic SQL) checks the session before its body,
so it behaves as it would at the start of a later run.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from core_helpers import COUNTER, SPY, CliRunner, add, side_effects, statuses

pytestmark = pytest.mark.db


@pytest.mark.parametrize(
    "failing",
    [
        pytest.param("CREATE TABLE second (id int);\nSELECT 1 / 0;\n", id="in-the-body"),
        pytest.param(
            "CREATE TABLE second (parent_id int REFERENCES first DEFERRABLE INITIALLY DEFERRED);\n"
            "INSERT INTO second VALUES (42);\n",
            id="at-commit",
        ),
        pytest.param("CREATE TABLE second (id int);\nSET ROLE lockgate_no_such_role;\n", id="a-bad-set"),
    ],
)
def test_a_file_sent_behind_a_failing_one_never_executes(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, failing: str
) -> None:
    add(project, "20250101000000_first.sql", COUNTER.replace("(id int)", "(id int PRIMARY KEY)"))
    add(project, "20250102000000_second.sql", failing)
    add(project, "20250103000000_third.sql", SPY.format(name="third"))
    add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
    result = lockgate("run")
    assert result.code == 1, result.text
    assert "20250102000000_second.sql" in result.err and "Traceback" not in result.text
    assert side_effects(conn) == 0
    assert statuses(conn) == [(20250101000000, "applied"), (20250102000000, "failed")]
    assert lockgate("status").code == 0


def test_a_lock_timeout_behind_which_a_file_was_sent_retries_and_each_file_runs_once(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, db_url: str
) -> None:
    add(project, "20250101000000_first.sql", COUNTER)
    assert lockgate("run").code == 0
    add(project, "20250102000000_blocked.sql", "ALTER TABLE first ADD COLUMN note text;\n")
    add(project, "20250103000000_third.sql", SPY.format(name="third"))
    add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
    blocker = psycopg.connect(db_url)
    blocker.execute("LOCK TABLE public.first IN ACCESS SHARE MODE")
    release = threading.Timer(1.5, blocker.rollback)
    release.start()
    try:
        result = lockgate("run", "--lock-timeout", "200ms", "--lock-retries", "10")
    finally:
        release.join()
        blocker.close()
    assert result.code == 0, result.text
    assert side_effects(conn) == 2  # third and fourth, once each
    retries = conn.execute(
        "SELECT count(*) FROM schema_migrations_log WHERE outcome = 'lock-timeout'"
    ).fetchone()
    assert retries is not None and retries[0] >= 1
    assert [status for _, status in statuses(conn)] == ["applied"] * 4


DYNAMIC_PREPARE = "DO $$ BEGIN EXECUTE 'PREPARE hidden AS SELECT 1'; END $$;\nCREATE TABLE first (id int);\n"


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_a_statement_prepared_in_dynamic_sql_is_gone_before_the_next_file(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mode: tuple[str, ...]
) -> None:
    """No parser sees the name, so the reset cannot deallocate it by name inside the batch; the next
    file, already sent, must not meet it (its own ``PREPARE hidden`` would fail)."""
    add(project, "20250101000000_first.sql", DYNAMIC_PREPARE)
    add(project, "20250102000000_second.sql", "PREPARE hidden AS SELECT 2;\nCREATE TABLE second (id int);\n")
    add(project, "20250103000000_third.sql", "PREPARE hidden AS SELECT 3;\nCREATE TABLE third (id int);\n")
    result = lockgate("run", *mode)
    assert result.code == 0, result.text
    assert [status for _, status in statuses(conn)] == ["applied"] * 3
    attempts = conn.execute(
        "SELECT count(*) FROM schema_migrations_log WHERE outcome <> 'applied'"
    ).fetchone()
    assert attempts == (0,)  # mending the session is not a failed attempt


def test_atomic_without_plpgsql_names_the_file_whose_hidden_statement_it_cannot_deallocate(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    login_without_plpgsql_but_a_function: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", login_without_plpgsql_but_a_function)
    add(
        project, "20250101000000_first.sql", "SELECT lockgate_test_prepare();\nCREATE TABLE first (id int);\n"
    )
    add(project, "20250102000000_second.sql", "CREATE TABLE second (id int);\n")
    result = lockgate("run", "--atomic")
    assert result.code == 1, result.text
    assert "20250101000000_first.sql left a statement prepared where no parser sees its name" in result.err
    assert "Traceback" not in result.text
    tables = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename IN ('first', 'second')").fetchone()
    assert tables == (0,)
    # The same files in a normal run: the runner deallocates it between the two.
    result = lockgate("run")
    assert result.code == 0, result.text


@pytest.fixture
def login_without_plpgsql_but_a_function(conn: psycopg.Connection, db_url: str) -> str:
    """A login role that may not use PL/pgSQL, and a SECURITY DEFINER function (written by the owner)
    that prepares a statement in dynamic SQL on its behalf."""
    import uuid

    name = f"lg_low_{uuid.uuid4().hex[:8]}"
    database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    conn.execute(f"CREATE ROLE {name} LOGIN")
    conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {name}")
    conn.execute(f'GRANT CREATE ON DATABASE "{database[0]}" TO {name}')
    conn.execute(
        "CREATE FUNCTION public.lockgate_test_prepare() RETURNS void LANGUAGE plpgsql SECURITY DEFINER "
        "AS $$ BEGIN EXECUTE 'PREPARE hidden AS SELECT 1'; END $$"
    )
    conn.execute("REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC")
    try:
        yield psycopg.conninfo.make_conninfo(db_url, user=name)  # type: ignore[misc]
    finally:
        conn.execute("GRANT USAGE ON LANGUAGE plpgsql TO PUBLIC")
        conn.execute(f"DROP OWNED BY {name} CASCADE")
        conn.execute(f"DROP ROLE {name}")
        conn.execute("DROP FUNCTION IF EXISTS public.lockgate_test_prepare()")


def test_defaults_changed_are_followed_where_track_counts_is_off(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """The reset learns that a file changed the role defaults from the transaction's own statistics;
    without them (track_counts off) it compares the defaults themselves."""
    database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    conn.execute(f'ALTER DATABASE "{database[0]}" SET track_counts = off')
    try:
        add(
            project,
            "20250101000000_defaults.sql",
            "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.tenant = %L', session_user, "
            "current_database(), 'acme'); END $$;\n",
        )
        add(
            project,
            "20250102000000_after.sql",
            "CREATE TABLE y AS SELECT current_setting('app.tenant', true) AS t;\n",
        )
        result = lockgate("run")
        assert result.code == 0, result.text
        assert conn.execute("SELECT t FROM public.y").fetchone() == ("acme",)
    finally:
        conn.execute(f'ALTER DATABASE "{database[0]}" RESET track_counts')
        conn.execute(f'ALTER ROLE current_user IN DATABASE "{database[0]}" RESET app.tenant')


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
@pytest.mark.parametrize(
    "dropping",
    [
        pytest.param("PREPARE mine AS SELECT 1;\nDEALLOCATE ALL;\n", id="in-its-text"),
        pytest.param("DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$;\n", id="in-dynamic-sql"),
    ],
)
def test_a_file_that_drops_every_prepared_statement_does_not_stop_the_run(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mode: tuple[str, ...], dropping: str
) -> None:
    """lockgate runs its own statements (guard, reset, tracking row) prepared; ``DEALLOCATE ALL`` drops
    them too. Seen in the text, the file's own tracking row is sent as text and the next file starts a
    new stream; unseen (dynamic SQL), the file is rolled back and sent again without them — once."""
    add(project, "20250101000000_first.sql", COUNTER)
    add(project, "20250102000000_drops.sql", dropping + "CREATE TABLE second (id int);\n")
    add(project, "20250103000000_third.sql", SPY.format(name="third"))
    add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
    result = lockgate("run", *mode)
    assert result.code == 0, result.text
    assert [status for _, status in statuses(conn)] == ["applied"] * 4
    assert side_effects(conn) == 2
    failures = conn.execute(
        "SELECT count(*) FROM schema_migrations_log WHERE outcome <> 'applied'"
    ).fetchone()
    assert failures == (0,)


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_ctrl_c_while_the_next_batch_is_built_cancels_the_file_in_flight(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    mode: tuple[str, ...],
) -> None:
    """Ctrl-C nearly always lands while lockgate waits on the server, which psycopg turns into a cancel.
    Landing while lockgate builds the next batch, it must cancel the file in flight too — not wait for
    its long statement to finish and its COMMIT (already sent) to apply it after the user said stop."""
    from lockgate import runner as runner_module

    add(project, "20250101000000_long.sql", "CREATE TABLE long (id int);\nSELECT pg_sleep(20);\n")
    add(project, "20250102000000_next.sql", "CREATE TABLE next (id int);\n")
    built = 0
    original = runner_module.Runner._add_migration

    def interrupted(self: runner_module.Runner, *args: object, **kwargs: object) -> None:
        nonlocal built
        built += 1
        if built == 2:
            time.sleep(0.5)  # the first file is on the server, in its pg_sleep
            raise KeyboardInterrupt
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner_module.Runner, "_add_migration", interrupted)
    started = time.monotonic()
    result = lockgate("run", *mode)
    assert time.monotonic() - started < 10, "Ctrl-C waited for the file in flight"
    assert result.code == 130, result.text
    assert conn.execute("SELECT to_regclass('public.long')").fetchone() == (None,)
    assert conn.execute(
        "SELECT count(*) FROM public.schema_migrations WHERE status = 'applied'"
    ).fetchone() == (0,)
