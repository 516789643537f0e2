"""The little git plumbing the hooks share: repository root, refs, staged changes and blobs.

The hooks ask git rather than the file system because pre-commit only passes the files that still
exist: a deleted or renamed migration is visible only in ``git diff --cached``. Every call uses ``-z``
output so file names with spaces, quotes or non-ASCII characters arrive exactly as written, and runs
from the repository root because git reports paths relative to it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lockgate.errors import EXIT_USAGE, LockgateError

HEAD = "HEAD"
FROM_REF_VARIABLE = "PRE_COMMIT_FROM_REF"


class GitError(LockgateError):
    """Not a repository, a ref that does not exist, or git itself failing: a usage problem."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Change:
    """One entry of ``git diff --name-status``: ``status`` is its letter (A, M, D, R, ...)."""

    status: str
    path: str
    old_path: str | None = None


@dataclass(frozen=True)
class BaseRef:
    """A base ref the user asked for, and where they asked for it (``--base`` or the environment)."""

    ref: str
    origin: str

    def __str__(self) -> str:
        return f"{self.origin} {self.ref}"


def requested_base(flag: str | None, environ: Mapping[str, str] | None = None) -> BaseRef | None:
    """``--base``, else the ref pre-commit exports for ``run --from-ref X --to-ref Y`` and pre-push.

    That makes ``pre-commit run --from-ref origin/main --to-ref HEAD`` in CI check the whole pull
    request without any hook argument; None means "the last commit" (HEAD).
    """
    if flag:
        return BaseRef(flag, "--base")
    environ = os.environ if environ is None else environ
    from_ref = environ.get(FROM_REF_VARIABLE, "")
    return BaseRef(from_ref, FROM_REF_VARIABLE) if from_ref else None


def run_git(args: list[str], cwd: Path | None = None) -> str:
    """Run git and return stdout; a failure becomes a ``GitError`` carrying git's own message."""
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            encoding="utf-8",
            errors="surrogateescape",
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if completed.returncode != 0:
        message = completed.stderr.strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else completed.returncode}")
    return completed.stdout


def _try_git(args: list[str], cwd: Path | None = None) -> str | None:
    try:
        return run_git(args, cwd)
    except GitError:
        return None


def find_root(cwd: Path | None = None) -> Path | None:
    """The top of the working tree containing ``cwd``, or None outside a git repository."""
    output = _try_git(["rev-parse", "--show-toplevel"], cwd)
    return Path(output.strip()) if output and output.strip() else None


def resolve_commit(root: Path, ref: str) -> str | None:
    """The commit id ``ref`` names, or None if it names nothing (e.g. HEAD before the first commit)."""
    if ref.startswith("-"):  # would be read as an option; no ref can start with a dash
        return None
    output = _try_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    return output.strip() if output else None


def unknown_ref(base: BaseRef) -> GitError:
    """The error for a base that names nothing; in CI that usually means a shallow clone."""
    branch = base.ref.removeprefix("origin/")
    return GitError(f"{base}: no such branch, tag or commit (in CI, fetch it: git fetch origin {branch})")


def merge_base(root: Path, ref: str, other: str = HEAD) -> str | None:
    """Where the current branch left ``ref``: what CI compares a pull request against."""
    output = _try_git(["merge-base", ref, other], root)
    return output.strip() if output else None


def staged_changes(root: Path, base: str) -> list[Change]:
    """What committing the index would change relative to ``base``, renames detected."""
    fields = run_git(["diff", "--cached", "--name-status", "-M", "-z", "--no-ext-diff", base, "--"], root)
    tokens = fields.split("\0")
    changes: list[Change] = []
    index = 0
    while index < len(tokens) and tokens[index]:
        status = tokens[index][:1]
        if status in {"R", "C"}:
            changes.append(Change(status, tokens[index + 2], old_path=tokens[index + 1]))
            index += 3
        else:
            changes.append(Change(status, tokens[index + 1]))
            index += 2
    return changes


def files_in_tree(root: Path, commit: str, directories: list[str]) -> list[str]:
    """Paths (relative to the root) of the files directly inside ``directories`` at ``commit``."""
    if not directories:
        return []
    wanted = set(directories)
    pathspecs = [f"{directory}/" if directory else "." for directory in sorted(wanted)]
    output = run_git(["ls-tree", "-r", "--name-only", "--full-tree", "-z", commit, "--", *pathspecs], root)
    return [path for path in output.split("\0") if path and parent_of(path) in wanted]


def read_blob(root: Path, commit: str | None, path: str) -> bytes:
    """A file's bytes at ``commit``, or in the index when ``commit`` is None (what will be committed)."""
    spec = f"{commit}:{path}" if commit else f":{path}"
    try:
        completed = subprocess.run(
            ["git", "cat-file", "blob", spec], cwd=root, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if completed.returncode != 0:
        raise GitError(f"git cat-file failed: cannot read {spec}")
    return completed.stdout


def parent_of(path: str) -> str:
    """The directory part of a root-relative posix path (``""`` for the root itself)."""
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


def relative_to_root(root: Path, filename: str) -> str:
    """A command-line file name as git spells it: relative to the root, with forward slashes."""
    absolute = os.path.realpath(os.path.abspath(filename))
    return Path(os.path.relpath(absolute, os.path.realpath(root))).as_posix()
