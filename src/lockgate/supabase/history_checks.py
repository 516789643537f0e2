"""Validation problems that ``supabase db push`` would trip on, found before it does.

The Supabase CLI keys its history by the version *string* and orders files by name, so versions that
lockgate accepts (8-digit legacy timestamps) can still confuse it; it refuses to push when its table has a
version with no local file; and it re-runs anything missing from its table. Pure functions of the files,
lockgate's records and Supabase's rows, like ``lockgate.plan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lockgate.history import IN_DATABASE, Record
from lockgate.naming import version_to_datetime
from lockgate.problems import ERROR, WARNING, Problem
from lockgate.source import Migration, Source
from lockgate.supabase.shared_history import SUPABASE_TABLE, SupabaseRow
from lockgate.supabase.split import split_with_lines

FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Drift:
    """How a file differs from the statements ``supabase db push`` ran for it."""

    line: int | None
    description: str


def statement_drift(migration: Migration, stored: Sequence[str]) -> Drift | None:
    """The first statement where the file and Supabase's stored statements differ, or None."""
    current = split_with_lines(migration.text)
    for index, (now, then) in enumerate(zip(current, stored, strict=False), start=1):
        if now.text != then:
            return Drift(
                now.line + _first_different_line(now.text, then),
                f"statement {index} differs from what was pushed: now {_snippet(_line_at(now.text, then))}, "
                f"pushed {_snippet(_line_at(then, now.text))}",
            )
    if len(current) != len(stored):
        extra = current[len(stored)] if len(current) > len(stored) else None
        return Drift(
            extra.line if extra else None,
            f"the file has {len(current)} statement(s), {len(stored)} were pushed"
            + (f"; first new one: {_snippet(extra.text)}" if extra else ""),
        )
    return None


def _first_different_line(now: str, then: str) -> int:
    """0-based offset of the first line that differs, so the message points at the edited line."""
    pairs = zip(now.splitlines(), then.splitlines(), strict=False)
    return next(
        (i for i, (a, b) in enumerate(pairs) if a != b),
        min(len(now.splitlines()), len(then.splitlines())) - 1,
    )


def _line_at(text: str, other: str) -> str:
    """The first line of ``text`` that differs from ``other``: the edit itself, not the statement's start."""
    lines = text.splitlines()
    return lines[min(_first_different_line(text, other), len(lines) - 1)] if lines else text


def _snippet(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return "`" + (flat if len(flat) <= limit else flat[: limit - 3] + "...") + "`"


def supabase_problems(
    source: Source,
    records: Sequence[Record],
    rows: Sequence[SupabaseRow] | None,
    *,
    now: datetime | None = None,
) -> list[Problem]:
    """Every Supabase problem; ``rows`` is None when there is no Supabase table to compare with."""
    problems = [*_file_problems(source, now or datetime.now(UTC))]
    if rows is not None:
        problems += _history_problems(source, records, rows)
    return problems


def _file_problems(source: Source, now: datetime) -> Iterable[Problem]:
    by_text: dict[str, list[Migration]] = {}
    for migration in source.migrations:
        by_text.setdefault(migration.version_text, []).append(migration)
        path = str(migration.path)
        if len(migration.version_text) != 14:
            yield Problem(
                "supabase-version-format",
                ERROR,
                f"{migration.path}: version {migration.version_text} is not 14 digits; the Supabase CLI compares "
                "versions as text, so it orders it inconsistently against 14-digit ones — rename it "
                f"{migration.version_text}{'0' * (14 - len(migration.version_text))}_{migration.name}.sql "
                "before it is pushed",
                path,
                version=migration.version,
            )
        elif version_to_datetime(migration.version) > now + FUTURE_TOLERANCE:
            yield Problem(
                "supabase-future-version",
                ERROR,
                f"{migration.path}: version {migration.version_text} is in the future; every migration created "
                "before then (supabase migration new, lockgate create) will sort before it and `supabase db "
                "push` will refuse them as out of order — give it the current UTC time",
                path,
                version=migration.version,
            )
    for version_text, files in by_text.items():
        if len(files) > 1:
            yield Problem(
                "supabase-duplicate-version",
                ERROR,
                f"{len(files)} files have version {version_text} ({', '.join(m.filename for m in files)}); "
                f"`supabase db push` fails on the second with a duplicate key in {SUPABASE_TABLE}",
                str(files[1].path),
                version=files[1].version,
            )


def _history_problems(
    source: Source, records: Sequence[Record], rows: Sequence[SupabaseRow]
) -> Iterable[Problem]:
    files = {m.version_text: m for m in source.migrations}
    recorded = {record.version: record for record in records}
    pushed = {row.version for row in rows}
    for row in rows:
        migration = files.get(row.version)
        if migration is None:
            yield Problem(
                "supabase-missing-file",
                ERROR,
                f"version {row.version} ({row.name or 'no name'}) is in {SUPABASE_TABLE} but has no file in "
                f"{source.directory}; `supabase db push` refuses to run until it is restored (from git) or "
                f"marked reverted with `supabase migration repair --status reverted {row.version}`",
                version=_int_or_none(row.version),
            )
            continue
        record = recorded.get(migration.version)
        if record is None or record.status not in IN_DATABASE:
            yield Problem(
                "supabase-not-adopted",
                ERROR,
                f"{migration.path} was applied by `supabase db push` but lockgate "
                + ("has no record of it" if record is None else f"recorded it as {record.status}")
                + "; "
                "`lockgate run` would apply it again — run `lockgate adopt`",
                str(migration.path),
                version=migration.version,
            )
        if row.statements is not None and (record is None or record.checksum == migration.checksum):
            drift = statement_drift(migration, row.statements)
            if drift is not None:
                yield Problem(
                    "supabase-statements-differ",
                    WARNING,
                    f"{migration.where(drift.line)}: edited after `supabase db push` applied it — "
                    f"{drift.description}; the database has the pushed version, put the change in a new migration",
                    str(migration.path),
                    drift.line,
                    migration.version,
                )
    by_version = {m.version: m for m in source.migrations}
    for record in records:
        migration = by_version.get(record.version)
        if migration is not None and record.status in IN_DATABASE and migration.version_text not in pushed:
            yield Problem(
                "supabase-unrecorded",
                ERROR,
                f"{migration.path} is {record.status} in lockgate's history but not in {SUPABASE_TABLE}; "
                "`supabase db push` would run it again — run `lockgate adopt` to record it there",
                str(migration.path),
                version=migration.version,
            )


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() else None
