"""Source + history -> the plan: what is applied, pending, failed, and every validation problem.

Pure given its inputs (Flyway's split: resolve files and history once, then validate and migrate are two
views of the same plan). ``run`` refuses to start while the plan has errors, so a problem is caught
before anything touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

from lockgate.config import Config
from lockgate.durations import format_ms
from lockgate.errors import SourceError
from lockgate.history import IN_DATABASE, Record
from lockgate.naming import version_to_datetime
from lockgate.problems import ERROR, WARNING, Problem
from lockgate.source import Migration, Source
from lockgate.statements import stray_transaction_control
from lockgate.unsupported import refusals

PENDING, MISSING, MODIFIED = "pending", "missing", "modified"
"""Entry states beyond the record statuses (``history.STATUSES``): no record yet, no file any more, and a
file whose meaning changed since it ran."""
SHOWN_APPLIED = IN_DATABASE | {MODIFIED}
"""The states listed as applied (a modified file's original did run)."""


class Entry(NamedTuple):
    """One version's state: the file (if any) and its record (if any).

    A NamedTuple: one is built per version on every read-only command (10,000 in a long history), and a
    frozen dataclass's ``__init__`` is several times slower."""

    version: int
    migration: Migration | None
    record: Record | None
    state: str
    """applied | baselined | pending | failed | running | missing | modified"""

    @property
    def name(self) -> str:
        if self.migration:
            return self.migration.name
        return self.record.name if self.record else ""

    @property
    def id(self) -> str:
        if self.migration:
            return self.migration.id
        return self.record.id if self.record else str(self.version)


@dataclass(frozen=True)
class Plan:
    entries: tuple[Entry, ...]
    pending: tuple[Migration, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def count(self, state: str) -> int:
        return sum(1 for entry in self.entries if entry.state == state)

    @property
    def latest_applied(self) -> Entry | None:
        applied = [e for e in self.entries if e.record and e.record.status in IN_DATABASE]
        return max(applied, key=lambda e: e.version) if applied else None


def _state(migration: Migration | None, record: Record | None) -> str:
    if record is None:
        return "pending"
    if migration is None and record.status in IN_DATABASE:
        return "missing"
    if record.status in IN_DATABASE:
        assert migration is not None
        if migration.checksum == record.checksum or same_meaning(migration, record):
            return str(record.status)
        return "modified"
    return str(record.status or "failed")


def same_meaning(migration: Migration, record: Record) -> bool:
    """Whether an edited file still says what the recorded one said (only whitespace or comments
    changed): its fingerprint equals the one recorded when it was applied. Rows recorded before
    fingerprints existed, and files that no longer parse, never match."""
    recorded = record.metadata.get("fingerprint")
    if not isinstance(recorded, str):
        return False
    from lockgate.fingerprint import fingerprint

    try:
        return fingerprint(migration.parsed) == recorded
    except SourceError:
        return False


def build_plan(
    source: Source, records: Sequence[Record], config: Config, *, parse_pending: bool = True
) -> Plan:
    """Join files and records by version, then run every validation rule."""
    by_version = source.by_version()
    records_by_version = {record.version: record for record in records}
    entries = []
    for version in sorted(set(by_version) | set(records_by_version)):
        migration = by_version.get(version, [None])[0]
        record = records_by_version.get(version)
        entries.append(Entry(version, migration, record, _state(migration, record)))
    pending = tuple(
        e.migration
        for e in entries
        if e.migration is not None
        and (e.state == "pending" or (e.state == "failed" and e.record and e.record.transactional))
    )
    problems: list[Problem] = []
    problems += _unrecognised_files(source)
    problems += _duplicates(by_version)
    problems += _checksums_and_names(entries)
    problems += _missing_files(entries)
    problems += _failed_records(entries)
    problems += _out_of_order(entries, pending, config)
    problems += _version_gaps(entries, config)
    if parse_pending:
        problems += _unrunnable(pending, config)
    return Plan(tuple(entries), pending, tuple(problems))


def _unrecognised_files(source: Source) -> Iterable[Problem]:
    for item in source.unrecognised:
        yield Problem("bad-filename", ERROR, f"{item.reason}; lockgate will not run it", str(item.path))


def _duplicates(by_version: dict[int, list[Migration]]) -> Iterable[Problem]:
    for version, files in by_version.items():
        if len(files) > 1:
            names = ", ".join(m.filename for m in files)
            when = version_to_datetime(version).strftime("%Y-%m-%d %H:%M:%S UTC")
            yield Problem(
                "duplicate-version",
                ERROR,
                f"{len(files)} files share version {version} ({when}): {names}; give each a unique timestamp "
                "(lockgate create makes one)",
                str(files[1].path),
                version=version,
            )


def _checksums_and_names(entries: Iterable[Entry]) -> Iterable[Problem]:
    for entry in entries:
        migration, record = entry.migration, entry.record
        if migration is None or record is None:
            continue
        if entry.state == "modified":
            unknown = (
                "; its record predates fingerprints, so a whitespace- or comment-only edit cannot be told "
                "apart: check the edit, then accept it with `lockgate repair`"
                if "fingerprint" not in record.metadata
                else ""
            )
            yield Problem(
                "checksum-mismatch",
                ERROR,
                f"{migration.path} was modified after it was {record.status} "
                f"(checksum {record.checksum[:12]} in {record.status} record, {migration.checksum[:12]} on disk); "
                "restore the original and put the change in a new migration, or accept it with `lockgate repair`"
                + unknown,
                str(migration.path),
                version=entry.version,
            )
        elif migration.checksum != record.checksum and record.status in IN_DATABASE:
            yield Problem(
                "cosmetic-edit",
                WARNING,
                f"{migration.path} changed after it was {record.status}, but only in whitespace or comments "
                "(same parse tree as recorded): nothing to run; `lockgate repair --cosmetic` records the new "
                "checksum",
                str(migration.path),
                version=entry.version,
            )
        if record.id != migration.id:
            yield Problem(
                "renamed-migration",
                ERROR,
                f"{migration.path}: version {entry.version} was recorded as {record.id}.sql; an applied "
                "migration must not be renamed (rename it back)",
                str(migration.path),
                version=entry.version,
            )


def _missing_files(entries: Iterable[Entry]) -> Iterable[Problem]:
    for entry in entries:
        if entry.state == "missing":
            assert entry.record is not None
            yield Problem(
                "missing-file",
                ERROR,
                f"{entry.record.id}.sql was {entry.record.status} but its file is gone; restore it from git",
                version=entry.version,
            )


def _failed_records(entries: Iterable[Entry]) -> Iterable[Problem]:
    for entry in entries:
        record = entry.record
        if record is None or entry.state not in {"failed", "running"}:
            continue
        where = str(entry.migration.path) if entry.migration else f"{record.id}.sql"
        edited = _edited_since(entry.migration, record)
        if entry.state == "running":
            yield Problem(
                "interrupted-migration",
                ERROR,
                f"{where} was interrupted while running outside a transaction ({_completed(record)}){edited}; "
                "check the database by hand, then `lockgate repair`",
                where,
                version=entry.version,
            )
        elif record.transactional:
            retried = "as the file is now" if edited else "it"
            yield Problem(
                "failed-migration",
                WARNING,
                f"{where} failed last time ({record.error_message}){edited}; it left nothing behind and "
                f"`lockgate run` will retry {retried}",
                where,
                version=entry.version,
            )
        else:
            yield Problem(
                "failed-migration",
                ERROR,
                f"{where} failed outside a transaction ({_completed(record)}; {record.error_message}){edited}; "
                "it blocks `lockgate run` until you fix the database and run `lockgate repair`",
                where,
                version=entry.version,
            )


def _edited_since(migration: Migration | None, record: Record) -> str:
    """Whether the file changed since the failed attempt: the statements counted there were the old file's,
    so whoever checks the database must know (no cosmetic verdict: what ran is not a recorded success)."""
    if migration is None or migration.checksum == record.checksum:
        return ""
    return f" and the file was edited since (checksum {record.checksum[:12]} then, {migration.checksum[:12]} now)"


def _completed(record: Record) -> str:
    done = record.metadata.get("statements_completed")
    total = record.metadata.get("statements")
    return f"{done} of {total} statements had run" if done is not None else "progress unknown"


def _out_of_order(
    entries: Sequence[Entry], pending: Sequence[Migration], config: Config
) -> Iterable[Problem]:
    applied = [e.version for e in entries if e.record and e.record.status in IN_DATABASE]
    if not applied:
        return
    latest = max(applied)
    for migration in pending:
        if migration.version < latest:
            yield Problem(
                "out-of-order",
                WARNING if config.allow_out_of_order else ERROR,
                f"{migration.path} is pending but older than the latest applied migration ({latest}); "
                "rename it with a new timestamp (lockgate create) or pass --allow-out-of-order",
                str(migration.path),
                version=migration.version,
            )


def _version_gaps(entries: Sequence[Entry], config: Config) -> Iterable[Problem]:
    limit = config.max_version_gap_ms
    if limit <= 0:
        return
    versions = sorted({e.version for e in entries})
    for earlier, later in pairwise(versions):
        gap_ms = (version_to_datetime(later) - version_to_datetime(earlier)).total_seconds() * 1000
        if gap_ms > limit:
            yield Problem(
                "version-gap",
                WARNING,
                f"{int(gap_ms // 86_400_000)} days between versions {earlier} and {later} (more than "
                f"max_version_gap = {format_ms(limit)}); check for a mistyped timestamp",
                version=later,
            )


def _empty(migration: Migration, config: Config) -> Problem:
    strict = config.empty_migrations == "error"
    what = "is empty" if not migration.text.strip() else "contains only comments"
    consequence = (
        'empty_migrations = "error" refuses it: write its SQL or delete the file'
        if strict
        else 'it will be recorded as applied and do nothing (empty_migrations = "error" refuses such files)'
    )
    return Problem(
        "empty-migration",
        ERROR if strict else WARNING,
        f"{migration.path} {what}: {consequence}",
        str(migration.path),
        version=migration.version,
    )


def _unrunnable(pending: Iterable[Migration], config: Config) -> Iterable[Problem]:
    """Problems that would make a pending file fail or half-apply; found before anything runs."""
    for migration in pending:
        try:
            parsed = migration.parsed
        except SourceError as exc:
            yield Problem("invalid-sql", ERROR, str(exc), str(migration.path), version=migration.version)
            continue
        if not parsed.statements:
            yield _empty(migration, config)
            continue
        refused = refusals(parsed)
        if refused:
            refusal = refused[0]
            yield Problem(
                "unsupported-statement",
                ERROR,
                f"{migration.where(refusal.statement.line)}: {refusal.message()}",
                str(migration.path),
                refusal.statement.line,
                migration.version,
            )
            continue
        if "no-transaction" in parsed.directives:
            continue
        stray = stray_transaction_control(parsed)
        if stray is not None:
            yield Problem(
                "transaction-control",
                ERROR,
                f"{migration.where(stray.line)}: {stray.transaction_control} inside a migration; lockgate runs each "
                "file in its own transaction (one wrapping BEGIN ... COMMIT is fine) — remove it, or mark the "
                "file `-- lockgate: no-transaction`",
                str(migration.path),
                stray.line,
                migration.version,
            )
            continue
        body = parsed.body
        blocking = [s for s in body if s.non_transactional]
        if blocking and len(blocking) != len(body):
            first = blocking[0]
            yield Problem(
                "mixed-transaction",
                ERROR,
                f"{migration.where(first.line)}: {first.non_transactional} cannot run inside a transaction block "
                "but the file has other statements; split it into its own migration, or mark the file "
                "`-- lockgate: no-transaction` to run every statement on its own",
                str(migration.path),
                first.line,
                migration.version,
            )


@dataclass(frozen=True)
class State:
    """Files, records and the plan joining them, read in one go (``service.read_state``)."""

    source: Source
    records: tuple[Record, ...]
    plan: Plan
    table_exists: bool
