"""Immutability: a migration committed on the base is never edited, renamed or deleted.

A migration that is on the base branch may already have run somewhere; editing, renaming or deleting
it makes that database disagree with the files forever (the edit never runs there, and its checksum
no longer matches). The fix is always a new migration. Only additions pass.

Deletions and renames are read from ``git diff --cached -M`` against the base, because pre-commit
passes only files that still exist. A change that leaves the parse tree identical (whitespace or
comments) cannot change what the database does, so it is a warning, not a block. pglast's fingerprint
is not used for that: it ignores constants, so ``DEFAULT 1`` -> ``DEFAULT 2`` would look harmless.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from lockgate.checksum import checksum, normalise_text
from lockgate.git import (
    HEAD,
    BaseRef,
    Change,
    GitError,
    find_root,
    merge_base,
    parent_of,
    read_blob,
    relative_to_root,
    resolve_commit,
    staged_changes,
    unknown_ref,
)
from lockgate.problems import ERROR, INFO, WARNING, Problem


class Edit(Enum):
    """How far apart two versions of a migration are."""

    IDENTICAL = "identical"  # same checksum: line endings or a BOM at most
    COSMETIC = "cosmetic"  # same parse tree and directives: whitespace or comments
    SEMANTIC = "semantic"  # anything the database could notice


@dataclass(frozen=True)
class Base:
    """The commit staged changes are compared with, and how to name it to the user."""

    commit: str
    label: str


def _problem(path: str, code: str, text: str, *, blocking: bool) -> Problem:
    """One verdict; ``code`` is the rule id ``lockgate validate`` reports for the same change once it
    reaches a database (``checksum-mismatch``, ``cosmetic-edit``, ``renamed-migration``, ``missing-file``),
    so the hook, the PR check and the deploy name one problem one way."""
    return Problem(code, ERROR if blocking else WARNING, text, path)


def render(problem: Problem) -> str:
    """The one line a commit and ``lockgate check-immutable`` print for a problem."""
    if problem.path is None:
        return problem.message
    return f"{problem.path}: {problem.severity.value}[{problem.code}] {problem.message}"


def _meaning(text: str) -> str | None:
    """The fingerprint of what a migration tells the database (its directives and position-free tree).

    None when the text does not parse (or holds bytes the parser would not read): two unparseable
    versions are never called equivalent.
    """
    from lockgate.fingerprint import fingerprint  # only a modified migration pays for importing pglast
    from lockgate.statements import SqlError, parse_sql

    try:
        return fingerprint(parse_sql(text))
    except SqlError:
        return None


def compare(old: bytes, new: bytes) -> Edit:
    """Classify an edit; anything that does not decode or parse counts as semantic."""
    try:
        old_text, new_text = normalise_text(old.decode("utf-8")), normalise_text(new.decode("utf-8"))
    except UnicodeDecodeError:
        return Edit.IDENTICAL if old == new else Edit.SEMANTIC
    if checksum(old_text) == checksum(new_text):
        return Edit.IDENTICAL
    old_meaning = _meaning(old_text)
    if old_meaning is not None and old_meaning == _meaning(new_text):
        return Edit.COSMETIC
    return Edit.SEMANTIC


def resolve_base(root: Path, requested: BaseRef | None) -> Base | None:
    """HEAD as is (None before the first commit); any other ref through its merge-base, as CI does."""
    if requested is None or requested.ref == HEAD:
        commit = resolve_commit(root, HEAD)
        return Base(commit, "HEAD") if commit else None
    commit = resolve_commit(root, requested.ref)
    if commit is None:
        raise unknown_ref(requested)
    if resolve_commit(root, HEAD) is None:
        return Base(commit, requested.ref)
    fork_point = merge_base(root, commit)
    if fork_point is None:
        raise GitError(f"{requested}: has no common history with HEAD")
    return Base(fork_point, requested.ref)


def judge(root: Path, base: Base, change: Change) -> Problem | None:
    """The verdict on one staged change to a migration path; None when it is allowed silently."""
    if change.status in {"A", "C"}:
        return None
    if change.status == "D":
        restore = f"git checkout {base.commit[:12]} -- {shlex.quote(change.path)}"
        return _problem(
            change.path,
            "missing-file",
            f"deletes a migration already committed on {base.label} "
            f"(restore it with `{restore}`; to undo its effect, add a new migration)",
            blocking=True,
        )
    if change.status == "R":
        old_path = change.old_path or change.path
        rename_back = f"git mv {shlex.quote(change.path)} {shlex.quote(old_path)}"
        return _problem(
            change.path,
            "renamed-migration",
            f"renames {old_path}, a migration already committed on {base.label} "
            f"(rename it back with `{rename_back}`; put any change in a new migration)",
            blocking=True,
        )
    edit = Edit.SEMANTIC
    if change.status == "M":
        edit = compare(read_blob(root, base.commit, change.path), read_blob(root, None, change.path))
    if edit is Edit.IDENTICAL:
        return None
    if edit is Edit.COSMETIC:
        return _problem(
            change.path,
            "cosmetic-edit",
            f"only whitespace or comments changed in a migration already committed on {base.label} "
            "(allowed: databases that applied it report the same cosmetic-edit warning and run nothing; "
            "`lockgate repair --cosmetic` records the new checksum there)",
            blocking=False,
        )
    revert = f"git checkout {base.commit[:12]} -- {shlex.quote(change.path)}"
    return _problem(
        change.path,
        "checksum-mismatch",
        f"modifies a migration already committed on {base.label} "
        f"(revert it with `{revert}` and put the change in a new migration: lockgate create <name>)",
        blocking=True,
    )


def _is_migration(change: Change, pattern: re.Pattern[str], named: set[str]) -> bool:
    """Whether a staged change touches a migration path.

    Paths matching ``--pattern`` count, and so do the files pre-commit passed plus the ``.sql`` files
    beside them: with a custom ``files:`` pattern, a deleted or renamed neighbour never reaches us as
    an argument but lives in the same directory. A rename is judged by where the file came from, so
    moving a draft into ``migrations/`` is an addition.
    """
    path = change.old_path if change.status == "R" and change.old_path else change.path
    beside_named = path.endswith(".sql") and parent_of(path) in {parent_of(name) for name in named}
    return path in named or beside_named or pattern.search(path) is not None


def check(filenames: Sequence[str], requested: BaseRef | None, pattern: re.Pattern[str]) -> list[Problem]:
    """Every staged change to a committed migration, judged; raises ``GitError`` for usage problems."""
    root = find_root()
    if root is None:
        raise GitError("not inside a git repository (check-immutable compares staged changes with git)")
    base = resolve_base(root, requested)
    if base is None:
        return [
            Problem("no-base", INFO, "lockgate check-immutable: no commits yet, so no migration is committed")
        ]
    named = {relative_to_root(root, filename) for filename in filenames}
    changes = [
        change for change in staged_changes(root, base.commit) if _is_migration(change, pattern, named)
    ]
    return [problem for change in changes if (problem := judge(root, base, change)) is not None]
