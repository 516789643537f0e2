"""Naming: new migration files are named so that they order correctly.

The version in a file name is the only thing that orders migrations, so a mistake here becomes a
migration applied in the wrong order on some database. A new file must be
``<14-digit UTC timestamp>_<snake_case_name>.sql``, a real date, not in the future (one day of slack
for clock skew), unique in its directory (two files at the same instant have no defined order), and
later than every migration already on the base branch (otherwise it would run after newer ones on
databases that are up to date, and before them on fresh ones).

Files already on the base branch are left alone: renaming them is exactly what ``check-immutable``
forbids, so asking for it would leave the user stuck between two hooks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from lockgate.files import problem as file_problem
from lockgate.git import (
    HEAD,
    BaseRef,
    GitError,
    files_in_tree,
    find_root,
    parent_of,
    relative_to_root,
    resolve_commit,
    unknown_ref,
)
from lockgate.naming import SNAKE_NAME, NameError_, ParsedName, parse_filename, snake_case, suggest_filename
from lockgate.problems import ERROR, Problem

FUTURE_SLACK = timedelta(days=1)
_TRY_SUGGESTION = re.compile(r"\s*\(try: [^)]*\)$")  # lockgate.naming's hint; ours adds the directory


@dataclass(frozen=True)
class BaseBranch:
    """Migration file paths (relative to the repository root) present on the base ref."""

    ref: str
    root: Path
    paths: frozenset[str]

    def names_in(self, directory: str) -> list[str]:
        return [path.rsplit("/", 1)[-1] for path in self.paths if parent_of(path) == directory]


@dataclass(frozen=True)
class Context:
    """Everything one file's checks compare against; built once per run."""

    now: datetime
    base: BaseBranch | None

    def is_new(self, filename: str) -> bool:
        if self.base is None:
            return True
        return relative_to_root(self.base.root, filename) not in self.base.paths

    def base_names(self, filename: str) -> list[str]:
        if self.base is None:
            return []
        return self.base.names_in(parent_of(relative_to_root(self.base.root, filename)))


def load_base(filenames: Sequence[str], requested: BaseRef | None) -> BaseBranch | None:
    """The base ref's migrations in the directories of ``filenames``; None when there is no base yet.

    The default base is HEAD, and a repository without commits simply has nothing on it. A base the
    user named explicitly must exist: silently checking against nothing would pass everything.
    """
    root = find_root()
    if root is None:
        if requested is not None:
            raise GitError(f"{requested}: not inside a git repository")
        return None
    wanted = requested.ref if requested else HEAD
    commit = resolve_commit(root, wanted)
    if commit is None:
        if requested is None:
            return None
        raise unknown_ref(requested)
    directories = sorted({parent_of(relative_to_root(root, name)) for name in filenames})
    return BaseBranch(wanted, root, frozenset(files_in_tree(root, commit, directories)))


def _versions(names: Sequence[str]) -> dict[str, ParsedName]:
    parsed: dict[str, ParsedName] = {}
    for name in names:
        try:
            parsed[name] = parse_filename(name)
        except NameError_:
            continue
    return parsed


def _siblings(path: Path, context: Context) -> dict[str, ParsedName]:
    """Other migrations in the same directory, on disk or on the base branch, by file name."""
    names = {sibling.name for sibling in path.parent.glob("*.sql")} | set(context.base_names(str(path)))
    names.discard(path.name)
    return _versions(sorted(names))


def suggested_name(path: Path, siblings: dict[str, ParsedName], now: datetime) -> str:
    """What ``lockgate create`` would name this file now: the UTC time, or one second after the newest
    sibling if that is later, so the new name always sorts last. Siblings that are themselves too far
    in the future are errors of their own and must not drag the suggestion along."""
    plausible = [version.instant for version in siblings.values() if version.instant <= now + FUTURE_SLACK]
    moment = max([now.replace(microsecond=0), *(instant + timedelta(seconds=1) for instant in plausible)])
    return str(path.with_name(suggest_filename(path.name, moment)))


def _version_problems(
    filename: str, parsed: ParsedName, siblings: dict[str, ParsedName], context: Context, rename: str
) -> list[str]:
    """Everything wrong with the version of a new file, one message each (without the file name)."""
    problems: list[str] = []
    if len(parsed.version_text) != 14:
        problems.append(
            f"version {parsed.version_text} is a legacy 8-digit date; new migrations need a "
            f"14-digit UTC timestamp YYYYMMDDHHMMSS (rename to {rename})"
        )
    if parsed.instant > context.now + FUTURE_SLACK:
        problems.append(
            f"version {parsed.version_text} is in the future "
            f"({parsed.instant:%Y-%m-%d %H:%M:%S} UTC); use the UTC time of writing (rename to {rename})"
        )
    for other in sorted(name for name, version in siblings.items() if version.version == parsed.version):
        problems.append(
            f"version {parsed.version_text} is also used by {other}; two migrations at the "
            f"same instant have no defined order (rename to {rename})"
        )
    committed = _versions(context.base_names(filename))
    if context.base is not None and committed:
        latest_name, latest = max(committed.items(), key=lambda item: (item[1].version, item[0]))
        if parsed.version < latest.version:
            problems.append(
                f"sorts before {latest_name}, already on {context.base.ref}; a new migration "
                f"must come after every committed one (rename to {rename})"
            )
    return problems


NAMING = "migration-naming"
"""The code of every naming problem (the PR check and the hook name them alike)."""


def check_file(filename: str, context: Context) -> list[Problem]:
    """The naming problems of one file given on the command line (none for committed files)."""
    return [Problem(NAMING, ERROR, text, filename) for text in _problem_texts(filename, context)]


def render(problem: Problem) -> str:
    """The one line a commit and ``lockgate check-naming`` print for a problem."""
    return f"{problem.path}: {problem.message}"


def _problem_texts(filename: str, context: Context) -> list[str]:
    path = Path(filename)
    if not context.is_new(filename):
        return []
    unreadable = file_problem(path)
    if unreadable is not None:
        return [unreadable]
    siblings = _siblings(path, context)
    suggested = suggested_name(path, siblings, context.now)
    try:
        parsed = parse_filename(path.name)
    except NameError_ as exc:
        reason = _TRY_SUGGESTION.sub("", str(exc).removeprefix(f"{path.name}: "))
        return [f"{reason} (rename to {suggested})"]
    problems = _version_problems(filename, parsed, siblings, context, suggested)
    if not SNAKE_NAME.match(parsed.name):
        keep_version = str(
            path.with_name(f"{parsed.version_text}_{snake_case(parsed.name) or 'migration'}.sql")
        )
        rename = suggested if problems else keep_version
        problems.append(f"name {parsed.name!r} is not snake_case (rename to {rename})")
    return problems
