"""Hostile tests of the streamed run (``lockgate.batch.Stream``, ``Runner._apply_stream``): the session
marker (``lockgate.stale``) spoofed or left behind, lockgate's own tables changed mid-stream, values of
the tracking row through the prepared statement, interruptions with two files in flight."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from core_helpers import (
    COUNTER,
    SPY,
    CliRunner,
    add,
    no_lockgate_session_left,
    side_effects,
    spawn_run,
    statuses,
    wait_until,
)

from lockgate import runner as runner_module

pytestmark = pytest.mark.db


@pytest.mark.parametrize(
    "marker",
    ["lockgate-stale-defaults", "lockgate-stale-prepared", "not-a-number"],
    ids=["defaults", "prepared", "not-a-number"],
)
def test_a_role_default_that_spoofs_the_session_marker_neither_loops_nor_fails_the_run(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mends: list[str], marker: str
) -> None:
    """A migration sets ``lockgate.stale`` as a role default: every new session starts with the marker,
    so mending by reconnecting can never clear it."""
    add(project, "20250101000000_first.sql", COUNTER)
    add(
        project,
        "20250102000000_spoof.sql",
        "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET lockgate.stale = %L', session_user, "
        f"current_database(), '{marker}'); END $$;\n",
    )
    add(project, "20250103000000_third.sql", SPY.format(name="third"))
    add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
    result = lockgate("run")
    assert result.code == 0, result.text
    assert [status for _, status in statuses(conn)] == ["applied"] * 4
    assert side_effects(conn) == 2
    # A later run starts every session with the marker too.
    add(project, "20250105000000_fifth.sql", SPY.format(name="fifth"))
    add(project, "20250106000000_sixth.sql", SPY.format(name="sixth"))
    result = lockgate("run")
    assert result.code == 0, result.text
    assert side_effects(conn) == 4


@pytest.mark.parametrize(
    "spoof",
    [
        "SET lockgate.stale = 'lockgate-stale-defaults';\n",
        "SELECT set_config('lockgate.stale', 'lockgate-stale-prepared', false);\n",
        "SELECT set_config('lockgate.stale', '1', false);\n",
    ],
    ids=["set", "set-config-prepared", "a-number"],
)
def test_a_file_that_sets_the_session_marker_itself_changes_nothing(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mends: list[str], spoof: str
) -> None:
    """The reset's ``RESET ALL`` drops what the file set, and ``RESET_END`` decides the marker."""
    add(project, "20250101000000_first.sql", COUNTER)
    add(project, "20250102000000_spoof.sql", spoof + "CREATE TABLE second (id int);\n")
    add(project, "20250103000000_third.sql", SPY.format(name="third"))
    add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
    result = lockgate("run")
    assert result.code == 0, result.text
    assert mends == []
    assert side_effects(conn) == 2
    assert [status for _, status in statuses(conn)] == ["applied"] * 4


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_an_interruption_while_a_file_is_sent_behind_the_running_one_never_executes_it(
    project: Path, db_url: str, conn: psycopg.Connection, how: signal.Signals
) -> None:
    """The third file runs a long statement; the fourth is already on the server's socket, COMMIT and
    all. Ctrl-C cancels the third (the server skips the fourth); kill -9 leaves the server to notice the
    dead client (client_connection_check_interval) and end the session before reading the fourth."""
    if how == signal.SIGKILL and conn.info.server_version < 140000:
        pytest.skip("no client_connection_check_interval before PostgreSQL 14")
    add(project, "20250101000000_first.sql", COUNTER)
    add(project, "20250102000000_second.sql", "CREATE TABLE second (id int);\n")
    add(project, "20250103000000_long.sql", "CREATE TABLE long (id int);\nSELECT pg_sleep(4.5);\n")
    add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
    add(project, "20250105000000_fifth.sql", SPY.format(name="fifth"))
    process = spawn_run(project, db_url, "--no-lint", NO_COLOR="1")
    try:
        wait_until(
            conn,
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(4.5)%' "
            "AND state = 'active' AND datname = current_database()",
            "the long file never started",
            timeout=20,
        )
        process.send_signal(how)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "Traceback" not in out + err
    no_lockgate_session_left(conn, timeout=20)
    assert side_effects(conn) == 0
    # Ctrl-C records nothing for a transactional file (its rollback is the record); kill -9 cannot.
    assert statuses(conn) == [(20250101000000, "applied"), (20250102000000, "applied")]
    assert conn.execute("SELECT to_regclass('public.long')").fetchone() == (None,)
    for path in (project / "migrations").glob("*long.sql"):
        path.write_text("CREATE TABLE long (id int);\n", encoding="utf-8")
    again = spawn_run(project, db_url, "--no-lint", NO_COLOR="1")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, out + err
    assert side_effects(conn) == 2
    assert [status for _, status in statuses(conn)] == ["applied"] * 5


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_a_lock_on_lockgates_audit_table_times_out_the_first_batchs_prepare_and_is_retried(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    db_url: str,
    mode: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard reads only the tracking table; the audit table is first met when the stream prepares
    the tracking row's statement, under the run's lock_timeout: a lock timeout like any other."""
    add(project, "20250101000000_first.sql", COUNTER)
    assert lockgate("run").code == 0
    add(project, "20250102000000_second.sql", SPY.format(name="second"))
    add(project, "20250103000000_third.sql", SPY.format(name="third"))
    blocker = psycopg.connect(db_url)
    release = threading.Timer(1.0, blocker.rollback)

    def locked_first(original: Any) -> Any:
        def apply(self: runner_module.Runner, pending: Any) -> Any:
            blocker.execute("LOCK TABLE public.schema_migrations_log IN ACCESS EXCLUSIVE MODE")
            release.start()
            return original(self, pending)

        return apply

    for method in ("apply", "apply_atomic"):
        monkeypatch.setattr(runner_module.Runner, method, locked_first(getattr(runner_module.Runner, method)))
    try:
        result = lockgate("run", "--lock-timeout", "200ms", "--lock-retries", "10", *mode)
    finally:
        release.join()
        blocker.close()
    assert result.code == 0, result.text
    assert side_effects(conn) == 2
    assert [status for _, status in statuses(conn)] == ["applied"] * 3
    timeouts = conn.execute(
        "SELECT DISTINCT error_message FROM schema_migrations_log WHERE outcome = 'lock-timeout'"
    ).fetchall()
    assert len(timeouts) == 1 and str(timeouts[0][0]).endswith(
        "20250102000000_second.sql: while starting the migration's transaction: canceling statement due "
        "to lock timeout (SQLSTATE 55P03)"
    ), timeouts


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_files_that_change_lockgates_own_tables_mid_stream_are_recorded_through_them(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mode: tuple[str, ...]
) -> None:
    """The stream prepared its tracking row's statement before these files ran: the server plans it
    again for the changed tables (a column added, a trigger, a column's type), as text would be."""
    add(project, "20250101000000_first.sql", COUNTER)
    assert lockgate("run").code == 0
    add(
        project,
        "20250102000000_column.sql",
        "ALTER TABLE public.schema_migrations ADD COLUMN note text DEFAULT 'n';\n",
    )
    add(
        project,
        "20250103000000_trigger.sql",
        "CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "NEW.metadata := NEW.metadata || '{\"stamped\": true}'; RETURN NEW; END $$;\n"
        "CREATE TRIGGER stamp BEFORE INSERT ON public.schema_migrations_log FOR EACH ROW "
        "EXECUTE FUNCTION public.stamp();\n",
    )
    add(
        project,
        "20250104000000_type.sql",
        "ALTER TABLE public.schema_migrations ALTER COLUMN execution_time_ms TYPE bigint;\n"
        "ALTER TABLE public.schema_migrations_log ALTER COLUMN error_line TYPE bigint;\n",
    )
    add(project, "20250105000000_fifth.sql", SPY.format(name="fifth"))
    add(project, "20250106000000_sixth.sql", SPY.format(name="sixth"))
    result = lockgate("run", *mode)
    assert result.code == 0, result.text
    assert side_effects(conn) == 2
    rows = conn.execute(
        "SELECT version, status, note, execution_time_ms >= 0 FROM public.schema_migrations ORDER BY version"
    ).fetchall()
    assert [row[1:] for row in rows] == [("applied", "n", True)] * 6
    stamped = conn.execute(
        "SELECT version FROM public.schema_migrations_log WHERE metadata ? 'stamped' ORDER BY version"
    ).fetchall()
    assert stamped == [(20250103000000,), (20250104000000,), (20250105000000,), (20250106000000,)]


HOSTILE_NAMES = (
    "20250101000000_tåble_日本.sql",
    '20250102000000_it\'s "q" \\ back.sql',
    "20250103000000_100%s_%(x)s_$1::int.sql",
    "20250104000000_emoji_🎉_zero_width_\u200b.sql",
)


def _stored(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    """Every value a run writes that does not depend on the clock, as the server stores it."""
    rows = conn.execute(
        "SELECT id, name, version, checksum, applied_at IS NOT NULL, executed_by::text, "
        "execution_time_ms >= 0, status, error_message, metadata - 'fingerprint' "
        "FROM public.schema_migrations ORDER BY version"
    ).fetchall()
    log = conn.execute(
        "SELECT action, outcome, migration_id, version, name, checksum, previous_checksum, "
        "execution_time_ms >= 0, executed_by::text, error_message, sqlstate, error_line, metadata "
        "FROM public.schema_migrations_log ORDER BY log_id"
    ).fetchall()
    return rows + log


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_the_prepared_tracking_row_stores_exactly_what_the_text_one_did(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    mode: tuple[str, ...],
) -> None:
    """The same run twice — lockgate's statements prepared (values as text parameters, typed by their
    casts), then sent as text (values bound as literals, as before the stream) — stores the same rows."""
    monkeypatch.setenv("LOCKGATE_EXECUTED_BY", "6F9619FF-8B86-D011-B42D-00C04FC964FF")
    monkeypatch.setenv("GITHUB_ACTOR", 'o\'brien \\ "x" 日本 $1 %s \u2028')
    monkeypatch.setenv("GITHUB_SHA", '\'; DROP TABLE x; -- \\x00 {"a": [1]}')
    for index, name in enumerate(HOSTILE_NAMES):
        add(
            project,
            name,
            f"CREATE TABLE t{index} (v text);\nINSERT INTO t{index} VALUES ($q${name[15:]}$q$);\n",
        )
    stored = []
    for prepared in (True, False):
        if not prepared:
            monkeypatch.setattr(runner_module.Runner, "_stream_names", lambda self, prepare: {})
        result = lockgate("run", *mode)
        assert result.code == 0, result.text
        stored.append(_stored(conn))
        conn.execute("DROP TABLE public.schema_migrations, public.schema_migrations_log")
        for index in range(len(HOSTILE_NAMES)):
            conn.execute(f"DROP TABLE t{index}")
    assert stored[0] == stored[1]
    names = [row[1] for row in stored[0][: len(HOSTILE_NAMES)]]
    assert names == [name[15:].removesuffix(".sql") for name in HOSTILE_NAMES]
    assert {row[5] for row in stored[0][: len(HOSTILE_NAMES)]} == {"6f9619ff-8b86-d011-b42d-00c04fc964ff"}
    metadata = stored[0][0][9]
    assert isinstance(metadata, dict)
    assert metadata["actor"] == 'o\'brien \\ "x" 日本 $1 %s \u2028'
    assert metadata["git_commit"] == '\'; DROP TABLE x; -- \\x00 {"a": [1]}'


@pytest.mark.slow
def test_eight_runners_with_session_mending_files_apply_each_migration_exactly_once(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    """Streams that end early (a file that changes role defaults, one that prepares in dynamic SQL, one
    that drops every prepared statement, a no-transaction file) while seven other runners wait and race."""
    conn.execute("CREATE TABLE public.applied_log (version bigint)")
    extra = {
        3: "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.tenant = %L', session_user, "
        "current_database(), 'acme'); END $$;\n",
        5: "DO $$ BEGIN EXECUTE 'PREPARE hidden AS SELECT 1'; END $$;\n",
        7: "PREPARE mine AS SELECT 1;\nDEALLOCATE ALL;\n",
    }
    for index in range(12):
        version = f"202501010000{index:02d}"
        body = (
            f"CREATE TABLE step_{index} (id int);\nINSERT INTO public.applied_log VALUES ({version});\n"
            "SELECT pg_sleep(0.02);\n"
        )
        if index == 9:
            body = f"-- lockgate: no-transaction\nINSERT INTO public.applied_log VALUES ({version});\n"
        add(project, f"{version}_step_{index}.sql", extra.get(index, "") + body)
    runners = [spawn_run(project, db_url, "--no-lint", NO_COLOR="1") for _ in range(8)]
    outputs = [runner.communicate(timeout=120) for runner in runners]
    assert [runner.returncode for runner in runners] == [0] * 8, outputs
    counts = conn.execute(
        "SELECT version, count(*) FROM public.applied_log GROUP BY version ORDER BY version"
    ).fetchall()
    assert len(counts) == 12 and all(count == 1 for _, count in counts), counts
    assert [status for _, status in statuses(conn)] == ["applied"] * 12
    assert all("Traceback" not in out + err for out, err in outputs)


DEFERRED = (
    "CREATE TABLE public.deferred_t (id int);\n"
    "CREATE FUNCTION public.at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {action} RETURN NULL; END $$;\n"
    "CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON public.deferred_t DEFERRABLE INITIALLY DEFERRED "
    "FOR EACH ROW EXECUTE FUNCTION public.at_commit();\n"
    "INSERT INTO public.deferred_t VALUES (1);\n"
)


@pytest.mark.parametrize(
    "action, after",
    [
        pytest.param(
            "EXECUTE 'PREPARE hidden AS SELECT 1';",
            "PREPARE hidden AS SELECT 2;\nCREATE TABLE second (id int);\n",
            id="prepares",
        ),
        pytest.param(
            "EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.tenant = %L', session_user, "
            "current_database(), 'acme');",
            "CREATE TABLE second AS SELECT current_setting('app.tenant', true) AS t;\n",
            id="changes-defaults",
        ),
    ],
)
def test_session_state_a_deferred_trigger_leaves_at_commit_is_gone_before_the_next_file(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, action: str, after: str
) -> None:
    """A deferred constraint trigger runs at COMMIT — after the reset and its marker were decided."""
    add(project, "20250101000000_first.sql", DEFERRED.format(action=action))
    add(project, "20250102000000_second.sql", after)
    result = lockgate("run")
    assert result.code == 0, result.text
    if "tenant" in action:
        assert conn.execute("SELECT t FROM public.second").fetchone() == ("acme",)


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_a_connection_lost_after_the_server_committed_never_marks_the_migration_failed(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    mode: tuple[str, ...],
) -> None:
    """The network (or a pooler) drops the connection after the server ran a file's COMMIT and before
    its answer arrived: the commit is in doubt for lockgate, not for the database. The failure recorded
    through a new connection must not overwrite the committed ``applied`` row, or the next run applies
    the file a second time."""
    from lockgate import batch as batch_module

    add(project, "20250101000000_first.sql", COUNTER)
    add(project, "20250102000000_second.sql", SPY.format(name="second"))
    original = batch_module.Stream.receive

    def lost_after_commit(self: batch_module.Stream, batch: Any) -> Any:
        results = original(self, batch)
        if any(isinstance(q, bytes) and q == b"COMMIT" for q in batch.queries) and any(
            b"nextval" in q for q in batch.queries if isinstance(q, bytes)
        ):
            self.conn.pgconn.finish()  # the answer to COMMIT never arrives
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return results

    monkeypatch.setattr(batch_module.Stream, "receive", lost_after_commit)
    result = lockgate("run", *mode)
    assert result.code == 0, result.text
    assert side_effects(conn) == 1
    monkeypatch.setattr(batch_module.Stream, "receive", original)
    again = lockgate("run", *mode)
    assert again.code == 0, again.text
    assert side_effects(conn) == 1, "the committed file ran a second time"
    assert [status for _, status in statuses(conn)] == ["applied"] * 2


def test_defaults_changed_with_track_counts_off_for_the_file_alone_are_followed(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """The marker reads the transaction's own table statistics when the run starts with track_counts
    on; a (superuser) file that turns them off for itself first hides its write from them."""
    add(
        project,
        "20250101000000_defaults.sql",
        "SET track_counts = off;\n"
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


@pytest.mark.parametrize(
    "body",
    [
        "PREPARE p AS SELECT 1;\nDO $$ BEGIN EXECUTE 'DEALLOCATE p'; END $$;\nCREATE TABLE second (id int);\n",
        "PREPARE p AS SELECT 1;\nDO $$ BEGIN EXECUTE 'DEALLOCATE p'; EXECUTE 'PREPARE p AS SELECT 2'; END $$;\n"
        "CREATE TABLE second (id int);\n",
    ],
    ids=["deallocated-in-dynamic-sql", "prepared-again-in-dynamic-sql"],
)
@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_a_prepared_name_the_file_deallocates_in_dynamic_sql_does_not_fail_its_reset(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, body: str, mode: tuple[str, ...]
) -> None:
    """The reset deallocates by name what the file's own ``PREPARE`` statements left: a name the file
    already dropped where no parser saw it must not fail the file."""
    add(project, "20250101000000_first.sql", COUNTER)
    add(project, "20250102000000_second.sql", body)
    add(project, "20250103000000_third.sql", "PREPARE p AS SELECT 3;\n" + SPY.format(name="third"))
    result = lockgate("run", *mode)
    assert result.code == 0, result.text
    assert side_effects(conn) == 1
    assert [status for _, status in statuses(conn)] == ["applied"] * 3


def test_run_to_a_file_that_leaves_session_state_then_dry_run_then_run(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mends: list[str]
) -> None:
    """``--to`` ends the stream at a file whose reset marks the session; the dry run and the run after
    it meet the files behind it as a later run would."""
    add(project, "20250101000000_first.sql", COUNTER)
    add(project, "20250102000000_hidden.sql", "DO $$ BEGIN EXECUTE 'PREPARE hidden AS SELECT 1'; END $$;\n")
    add(project, "20250103000000_again.sql", "PREPARE hidden AS SELECT 2;\n" + SPY.format(name="third"))
    add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
    result = lockgate("run", "--to", "20250102000000")
    assert result.code == 0, result.text
    assert [version for version, _ in statuses(conn)] == [20250101000000, 20250102000000]
    assert side_effects(conn) == 0
    dry = lockgate("run", "--dry-run")
    assert dry.code == 0, dry.text
    assert side_effects(conn) == 2  # the dry run executed both (a sequence does not roll back)
    result = lockgate("run")
    assert result.code == 0, result.text
    assert side_effects(conn) == 4
    assert [status for _, status in statuses(conn)] == ["applied"] * 4


def test_deferred_checks_still_run_under_the_runs_timeout_not_the_files(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """Fired before the marker is decided, deferred triggers still run where COMMIT ran them: after the
    reset, under the run's statement_timeout rather than a short one the file set for itself."""
    add(
        project,
        "20250101000000_first.sql",
        DEFERRED.format(action="PERFORM pg_sleep(0.3);") + "SET statement_timeout = '100ms';\n",
    )
    add(project, "20250102000000_second.sql", "CREATE TABLE second (id int);\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert [status for _, status in statuses(conn)] == ["applied"] * 2


def test_a_huge_non_ascii_error_behind_a_committed_file_is_recorded_whole_and_names_its_line(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """A megabyte of multi-byte error message from the second file in flight, with detail and hint."""
    add(project, "20250101000000_first.sql", COUNTER)
    add(
        project,
        "20250102000000_loud.sql",
        "CREATE TABLE loud (id int);\n\nDO $$ BEGIN RAISE EXCEPTION '%', repeat('é日', 350000) "
        "USING DETAIL = 'dé', HINT = 'hï'; END $$;\n",
    )
    add(project, "20250103000000_third.sql", SPY.format(name="third"))
    result = lockgate("run")
    assert result.code == 1
    assert "Traceback" not in result.text
    assert "20250102000000_loud.sql:3:" in result.err
    assert side_effects(conn) == 0
    row = conn.execute(
        "SELECT status, length(error_message), metadata->>'sqlstate' FROM public.schema_migrations "
        "WHERE version = 20250102000000"
    ).fetchone()
    assert row is not None and row[0] == "failed" and row[1] > 700000 and row[2] == "P0001", row


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 0.7])
def test_kill_9_at_any_moment_of_a_streamed_run_leaves_every_migration_whole(
    project: Path, db_url: str, conn: psycopg.Connection, delay: float
) -> None:
    """Whatever the server had received when lockgate died may still commit, each file with its own
    tracking row: every table has its ``applied`` row and every row its table, in order, none twice."""
    for index in range(120):
        add(
            project,
            f"20250101{index // 60:02d}{index % 60:02d}00_step.sql",
            f"CREATE TABLE step_{index} (id int);\nSELECT pg_sleep(0.008);\n",
        )
    process = spawn_run(project, db_url, "--no-lint", NO_COLOR="1")
    wait_until(
        conn,
        "SELECT to_regclass('public.schema_migrations') IS NOT NULL",
        "the tracking table never appeared",
        timeout=20,
    )
    time.sleep(delay)
    process.kill()
    process.communicate(timeout=30)
    no_lockgate_session_left(conn, timeout=20)
    rows = statuses(conn)
    assert {status for _, status in rows} <= {"applied"}, rows
    recorded = {int(str(version)[8:10]) * 60 + int(str(version)[10:12]) for version, _ in rows}
    tables = conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'step_%'").fetchall()
    assert {int(str(name[0]).removeprefix("step_")) for name in tables} == recorded
    assert recorded == set(range(len(recorded)))
    again = spawn_run(project, db_url, "--no-lint", NO_COLOR="1")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    assert len(statuses(conn)) == 120


@pytest.mark.parametrize(
    "switch",
    [
        "SET ROLE {role};\n",
        "SET SESSION AUTHORIZATION {role};\n",
        "SELECT set_config('role', '{role}', false);\n",
    ],
    ids=["set-role", "session-authorization", "set-config"],
)
def test_a_file_that_leaves_a_role_without_any_privilege_does_not_reach_the_next_guard(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mends: list[str], switch: str
) -> None:
    """The role may not read lockgate's tables or run its prepared statements; the reset in the same
    transaction returns to the login role before the tracking row and the next file's guard."""
    import uuid

    role = f"lg_nothing_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {role}")
    try:
        add(project, "20250101000000_first.sql", COUNTER)
        add(
            project, "20250102000000_switch.sql", "CREATE TABLE second (id int);\n" + switch.format(role=role)
        )
        add(project, "20250103000000_third.sql", SPY.format(name="third"))
        add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
        result = lockgate("run")
        assert result.code == 0, result.text
        assert side_effects(conn) == 2
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename IN ('third', 'fourth')"
        ).fetchall()
        assert owners == [(conn.info.user,)]
    finally:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")
