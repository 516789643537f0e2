"""The operations every door offers (CLI, Action, API): status, run, validate, baseline, repair.

Each function takes a ``Config`` and a resolved ``DatabaseTarget`` and returns data; rendering is the
door's job. Connections are opened and closed here so that doors never hold database state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.config import Config
from lockgate.db import DatabaseTarget, connect, resolve_target
from lockgate.errors import LockgateError, first_line
from lockgate.history import IN_DATABASE, History, LogEntry, Record
from lockgate.locking import locked_history
from lockgate.metadata import run_metadata
from lockgate.plan import Plan, State, build_plan, same_meaning
from lockgate.problems import Problem
from lockgate.runner import AppliedHook, ProgressCallback, Runner, RunResult
from lockgate.source import Migration, Source, discover
from lockgate.vendors import vendors

if TYPE_CHECKING:
    import psycopg

    from lockgate.catalog.model import Catalog
    from lockgate.drift import Drift
    from lockgate.lint.findings import Finding

Notify = Callable[[str], None]


def database_target(config: Config, notify: Notify) -> DatabaseTarget:
    """The configured database, or the embedded one (with a one-line notice) when none is configured."""
    target = resolve_target(config.database_url)
    if target is not None:
        return target
    from lockgate.local import LOCAL_DIR, ensure_local_database

    url = ensure_local_database(config.root)
    notify(
        f"no database configured: using the embedded PostgreSQL in {config.root / LOCAL_DIR} "
        "(set --database-url or DATABASE_URL for another)"
    )
    return DatabaseTarget(
        url, "embedded PostgreSQL", embedded=True, shown_as=_embedded_name(config.root / LOCAL_DIR)
    )


def _embedded_name(directory: Path) -> str:
    """``embedded PostgreSQL 18 in .lockgate/`` (the major version from the data directory's PG_VERSION)."""
    try:
        major = " " + (directory / "pgdata" / "PG_VERSION").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        major = ""
    return f"embedded PostgreSQL{major} in {directory.name}/"


def fingerprint_or_none(migration: Migration) -> str | None:
    """The file's fingerprint, or None when it does not parse (it is recorded as it is, all the same)."""
    from lockgate.errors import SourceError
    from lockgate.fingerprint import fingerprint

    try:
        return fingerprint(migration.parsed)
    except SourceError:
        return None


def read_state(config: Config, target: DatabaseTarget, *, parse_pending: bool = True) -> State:
    """Read-only: files + tracking rows -> plan. Never creates anything in the database."""
    source = _source(config)
    with connect(target, command="status", read_only=True) as conn:
        return _state(conn, config, source, parse_pending)


def _source(config: Config) -> Source:
    from lockgate.local import LOCAL_DIR

    return discover(config.migrations_path, cache_dir=config.root / LOCAL_DIR)


def _state(
    conn: psycopg.Connection[Any], config: Config, source: Source, parse_pending: bool = True
) -> State:
    history = History(conn, config.table, config.log_table)
    exists = history.exists()
    records = history.records() if exists else []
    conn.rollback()
    return State(
        source, tuple(records), build_plan(source, records, config, parse_pending=parse_pending), exists
    )


def validate(config: Config, target: DatabaseTarget) -> tuple[State, list[Problem]]:
    """Every validation problem a door should report: the plan's, plus Supabase's shared-history checks
    when this is a Supabase project (so ``lockgate validate``, the Action and ``POST /api/migrations``
    agree). One read-only connection serves both."""
    source = _source(config)
    with connect(target, command="validate", read_only=True) as conn:
        state = _state(conn, config, source)
        problems = list(state.plan.problems)
        for vendor in vendors():
            problems += vendor.validation_problems(config, conn, state)
        return state, problems


OFFLINE_PROBLEMS = frozenset({"duplicate-version", "bad-filename"})
"""The plan problems the files alone show (the rest need the database's history)."""


def validate_offline(config: Config) -> tuple[State, list[Problem]]:
    """What can be validated without a database (the PR check without ``database-url``): the files'
    own problems and the vendors' file-only checks."""
    source = discover(config.migrations_path)
    plan = build_plan(source, [], config, parse_pending=False)
    problems = [problem for problem in plan.problems if problem.code in OFFLINE_PROBLEMS]
    for vendor in vendors():
        problems += vendor.file_problems(config, source)
    return State(source, (), plan, False), problems


@dataclass
class RunOutcome:
    """What ``run`` did: the plan it found once holding the lock, the lint findings of the pending files,
    and each migration's result. ``blocked`` means nothing ran: the plan has errors, or (with
    ``lint_blocking``) the lint gate refused."""

    plan: Plan
    result: RunResult = field(default_factory=RunResult)
    blocked: bool = False
    dry_run: bool = False
    lint: tuple[Finding, ...] = ()
    lint_blocking: tuple[Finding, ...] = ()


def run(
    config: Config,
    target: DatabaseTarget,
    *,
    dry_run: bool = False,
    to_version: int | None = None,
    notify: Notify = lambda message: None,
    progress: ProgressCallback | None = None,
    metadata: dict[str, Any] | None = None,
    on_applied: Sequence[AppliedHook] = (),
) -> RunOutcome:
    """Take the run lock, re-read the history, validate, then apply (or dry-run) what is pending."""
    source = discover(config.migrations_path)
    command = "dry-run" if dry_run else "run"
    with locked_history(config, target, notify, command, ensure=not dry_run) as (conn, history):
        records = history.records()
        conn.commit()
        plan = build_plan(source, records, config)
        if plan.errors:
            return RunOutcome(plan, blocked=True, dry_run=dry_run)
        pending = [m for m in plan.pending if to_version is None or m.version <= to_version]
        if config.atomic:
            refused = atomic_refusals(pending)
            if refused:
                return RunOutcome(
                    Plan(plan.entries, plan.pending, (*plan.problems, *refused)),
                    blocked=True,
                    dry_run=dry_run,
                )
        latest = plan.latest_applied
        catalogs = (
            _database_catalogs(conn, config, records) if pending and config.lint_on_run != "off" else None
        )
        findings, refusing = _lint_gate(config, pending, latest.version if latest else None, catalogs)
        if refusing and not dry_run:
            return RunOutcome(plan, dry_run=dry_run, blocked=True, lint=findings, lint_blocking=refusing)
        vendor_hooks: list[AppliedHook] = []
        for vendor in vendors():
            vendor_hooks += vendor.prepare_run(conn, config, target, pending, dry_run=dry_run)
        conn.commit()  # the runner starts every migration from a clean connection
        if progress is not None:  # a progress bar knows its total before the first file starts
            for migration in pending:
                progress("queued", migration, None)
        runner = Runner(
            conn,
            history,
            config,
            run_metadata(config.via, config.migrations_path, metadata),
            progress,
            on_applied=(*on_applied, *vendor_hooks),
            reconnect=lambda: connect(target, command="run"),
        )
        try:
            if dry_run:
                result = runner.dry_run(pending)
            elif config.atomic:
                result = runner.apply_atomic(pending)
            else:
                result = runner.apply(pending)
        finally:
            if runner.conn is not conn:  # the runner went on with a new connection (see Runner.reconnect)
                runner.conn.close()
        return RunOutcome(plan, result, dry_run=dry_run, lint=findings, lint_blocking=refusing)


def atomic_refusals(pending: Sequence[Migration]) -> list[Problem]:
    """Why these migrations cannot run in one transaction, one problem per file (before anything runs):
    a file that runs outside a transaction, or one that opens its transaction with its own characteristics
    (``BEGIN ISOLATION LEVEL ...``), which only the first statement of a transaction may set."""
    from lockgate.errors import SourceError
    from lockgate.problems import ERROR

    refused: list[Problem] = []
    for migration in pending:
        try:
            parsed = migration.parsed
        except SourceError:
            continue
        if not parsed.transactional:
            reason = "runs outside a transaction"
        elif parsed.transaction_setup:
            reason = f"opens its transaction with `{parsed.transaction_setup[0]}`"
        else:
            continue
        refused.append(
            Problem(
                "atomic-impossible",
                ERROR,
                f"{migration.path} {reason}, so --atomic cannot include it: apply the migrations before it "
                "with `lockgate run --atomic --to <version>`, then it, then the rest",
                str(migration.path),
                version=migration.version,
                help="drop --atomic (atomic = false), or split the deploy around this file",
            )
        )
    return refused


def pending_lint(config: Config, plan: Plan) -> dict[str, tuple[Finding, ...]]:
    """What ``run``'s lint gate would report on each pending file (by migration id), for status documents:
    the dashboard lists it under each file. Nothing pending costs nothing."""
    if not plan.pending or config.lint_on_run == "off":
        return {}
    from lockgate.lint.gate import lint_each

    latest = plan.latest_applied
    return lint_each(config, plan.pending, latest.version if latest else None)


def _database_catalogs(
    conn: psycopg.Connection[Any], config: Config, records: Sequence[Record]
) -> Mapping[str, Catalog]:
    """The catalog each pending file meets on this database: its schema and sizes as they are, plus what
    the pending files before it create. Read once per run, in a read-only moment before anything runs."""
    from lockgate.catalog.directory import directory_ops, on_database
    from lockgate.catalog.live import read_catalog

    base = read_catalog(conn, "target")
    conn.rollback()
    applied = {record.version for record in records if record.status in IN_DATABASE}
    return on_database(base, directory_ops(config.migrations_path, config.root / ".lockgate"), applied)


def _lint_gate(
    config: Config,
    pending: Sequence[Migration],
    latest_applied: int | None,
    catalogs: Mapping[str, Catalog] | None = None,
) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """Lint the pending files with the project's settings: (every finding, the ones that refuse the run).
    Nothing pending, or ``lint_on_run = "off"``, costs nothing: the linter is not even imported."""
    if not pending or config.lint_on_run == "off":
        return (), ()
    from lockgate.lint.gate import blocking, lint_pending

    findings = lint_pending(config, pending, latest_applied, catalogs)
    return findings, tuple(blocking(config, findings))


def baseline(config: Config, target: DatabaseTarget, version: int, notify: Notify) -> list[str]:
    """Record every file up to ``version`` as ``baselined`` without running it (adopting a database)."""
    source = discover(config.migrations_path)
    if not any(m.version == version for m in source.migrations):
        raise LockgateError(f"--version {version}: no migration file has that version in {source.directory}")
    done: list[str] = []
    with locked_history(config, target, notify, "baseline") as (conn, history):
        recorded = {r.version for r in history.records()}
        metadata = run_metadata(config.via, config.migrations_path)
        with conn.transaction():
            for migration in source.migrations:
                if migration.version > version or migration.version in recorded:
                    continue
                history.record_baselined(
                    migration_id=migration.id,
                    name=migration.name,
                    version=migration.version,
                    checksum=migration.checksum,
                    executed_by=config.executed_by,
                    metadata={
                        **metadata,
                        "filename": migration.filename,
                        "baseline_version": version,
                        "fingerprint": fingerprint_or_none(migration),
                    },
                    action="baseline",
                )
                done.append(migration.id)
    return done


def repair(
    config: Config, target: DatabaseTarget, notify: Notify, *, cosmetic_only: bool = False
) -> list[str]:
    """Accept current checksums of modified files and clear failed/running records, logging each change.

    With ``cosmetic_only``, accept only edits whose parse tree matches the recorded fingerprint (whitespace
    and comments): safe to run in bulk on every database, since it cannot hide a change that would matter."""
    source = discover(config.migrations_path)
    files = {m.version: m for m in source.migrations}
    actions: list[str] = []
    with locked_history(config, target, notify, "repair") as (conn, history):
        metadata = run_metadata(config.via, config.migrations_path)
        with conn.transaction():
            for record in history.records():
                migration = files.get(record.version)
                if record.status in {"failed", "running"}:
                    if not cosmetic_only:
                        actions.append(_clear_record(history, record, config, metadata))
                elif migration is not None and migration.checksum != record.checksum:
                    cosmetic = same_meaning(migration, record)
                    if cosmetic or not cosmetic_only:
                        actions.append(
                            _accept_checksum(history, record, migration, cosmetic, config, metadata)
                        )
    return actions


def _clear_record(history: History, record: Record, config: Config, metadata: dict[str, Any]) -> str:
    history.delete(record.version)
    history.log(
        LogEntry(
            "repair",
            "cleared",
            migration_id=record.id,
            version=record.version,
            name=record.name,
            checksum=record.checksum,
            executed_by=config.executed_by,
            error_message=record.error_message,
            metadata={**metadata, "cleared_status": record.status, "cleared_metadata": dict(record.metadata)},
        )
    )
    return f"cleared {record.status} record of {record.id}"


def _accept_checksum(
    history: History,
    record: Record,
    migration: Migration,
    cosmetic: bool,
    config: Config,
    metadata: dict[str, Any],
) -> str:
    """Record the file's checksum (and its fingerprint, so later cosmetic edits are recognised even on a
    row written before fingerprints existed)."""
    checksum = migration.checksum
    history.set_checksum(record.version, checksum, fingerprint_or_none(migration))
    history.log(
        LogEntry(
            "repair",
            "cosmetic-edit-accepted" if cosmetic else "checksum-accepted",
            migration_id=record.id,
            version=record.version,
            name=record.name,
            checksum=checksum,
            previous_checksum=record.checksum,
            executed_by=config.executed_by,
            metadata=metadata,
        )
    )
    return f"accepted new checksum of {record.id} ({record.checksum[:12]} -> {checksum[:12]})"


def drift(
    config: Config, target: DatabaseTarget, shadow_url: str | None, notify: Notify
) -> tuple[list[Drift], int]:
    """The target's schema against the one its applied migrations build in a scratch database (created
    on the shadow server — ``shadow_url``, else the embedded PostgreSQL — and dropped afterwards).
    Returns the differences and how many migrations the shadow replayed."""
    from lockgate.catalog.live import read_catalog
    from lockgate.drift import compare

    source = discover(config.migrations_path)
    with connect(target, command="drift", read_only=True) as conn:
        history = History(conn, config.table, config.log_table)
        # The run lock, held while the records and the catalog are read (released with this read-only
        # transaction): a deploy half-way through is not drift, and none can start between the two reads.
        if conn.execute(f"SELECT pg_try_advisory_xact_lock({int(history.run_key)})".encode()).fetchone() != (
            True,
        ):
            from lockgate.locking import describe_holders

            raise LockgateError(
                f"a migration run is in progress on {target.masked} (held by "
                f"{describe_holders(history.holders(history.run_key))}): drift is only judged between deploys; "
                "check again when it ends"
            )
        records = history.records() if history.exists() else []
        target_catalog = read_catalog(conn, "target")
        supabase_like = conn.execute("SELECT to_regnamespace('auth') IS NOT NULL").fetchone() == (True,)
    applied = {record.version for record in records if record.status in IN_DATABASE}
    migrations = [migration for migration in source.migrations if migration.version in applied]
    if shadow_url is None:
        shadow_url = embedded_shadow(config.root)
        notify(
            "building the shadow schema in the embedded PostgreSQL (--shadow-database-url for another server)"
        )
    elif shadow_url == target.url:
        from lockgate.errors import ConfigError

        raise ConfigError(
            "--shadow-database-url is the target database: a shadow must be another server or database"
        )
    built = shadow_catalog(shadow_url, migrations, with_shim=supabase_like)
    ignored = frozenset({_qualified(config.table), _qualified(config.log_table)})
    return compare(target_catalog, built, ignored), len(migrations)


def shadow_catalog(server_url: str, migrations: Sequence[Migration], *, with_shim: bool) -> Catalog:
    """The catalog ``migrations`` build, applied as they are to a scratch database on ``server_url``'s
    server (dropped afterwards): drift's "schema the history builds" and ``lint --shadow``'s base."""
    from lockgate.catalog.live import read_catalog
    from lockgate.shadow import scratch_database

    with scratch_database(server_url, with_shim=with_shim) as (conn, _):
        replay_into(conn, migrations)
        return read_catalog(conn, "shadow")


def embedded_shadow(root: Path) -> str:
    """The embedded PostgreSQL as the shadow server. Where it is not installed (the GitHub Action installs
    only what it needs) that is the shadow's problem, said as such — not "no database configured", which
    is about the target — so views that show drift beside other things report it instead of failing."""
    from lockgate.errors import ConfigError
    from lockgate.local import ensure_local_database

    try:
        return ensure_local_database(root)
    except ConfigError:
        raise LockgateError(
            "no shadow server: give one where lockgate may CREATE DATABASE (--shadow-database-url; the Action's "
            "shadow-database-url input, e.g. a services: postgres container), or install the embedded "
            "PostgreSQL (pip install 'lockgate[local]')"
        ) from None


@dataclass(frozen=True)
class DriftCheck:
    """A drift check shown beside other things (``status --drift``, the PR comment, the dashboard)."""

    replayed: int
    differences: list[Drift]
    error: str | None = None
    """Why no comparison could be made (a migration that does not replay, an unreachable shadow server)."""

    @property
    def clean(self) -> bool:
        """Compared, and nothing differs (a check that could not be made is not clean)."""
        return self.error is None and not self.differences


def drift_check(config: Config, target: DatabaseTarget, shadow_url: str | None, notify: Notify) -> DriftCheck:
    """``drift``, for a view that shows it beside other things: a shadow that cannot be built is the
    check's answer (said in one line), not the view's failure. A shadow URL that is the target itself is
    still a configuration error."""
    from lockgate.errors import ConfigError

    try:
        found, replayed = drift(config, target, shadow_url, notify)
    except ConfigError:
        raise
    except LockgateError as exc:
        return DriftCheck(0, [], str(exc))
    return DriftCheck(replayed, found)


def _qualified(table: str) -> str:
    return table if "." in table else f"public.{table}"


def replay_into(conn: psycopg.Connection[Any], migrations: Sequence[Migration]) -> None:
    """Apply ``migrations`` as they are, in order, with no tracking rows (a shadow's only job is to be
    the schema the history builds); a failure names the file and line."""
    import psycopg as pg

    from lockgate.errors import LockgateError

    for migration in migrations:
        parsed = migration.parsed
        statement = None
        try:
            if parsed.transactional:
                with conn.transaction():
                    for setup in parsed.transaction_setup:
                        conn.execute(setup.encode())
                    for statement in parsed.body:
                        conn.execute(statement.text.encode())
            else:
                conn.autocommit = True
                try:
                    for statement in parsed.body:
                        conn.execute(statement.text.encode())
                finally:
                    conn.autocommit = False
        except pg.Error as exc:
            line = statement.line if statement is not None else None
            first = first_line(exc)
            raise LockgateError(
                f"{migration.where(line)}: failed in the shadow database ({first}): the applied history does "
                "not rebuild the target's schema"
            ) from None


def table_sizes(target: DatabaseTarget) -> dict[str, str]:
    """``schema.table`` -> ``~48M rows / 31 GB`` for every table of the target (read-only), so a plan can
    say how long each lock it takes may last."""
    from lockgate.catalog.live import read_catalog

    with connect(target, command="sizes", read_only=True) as conn:
        catalog = read_catalog(conn, "target")
    return {name: size for name in catalog.tables if (size := catalog.size(name)) is not None}
