"""Which migration files a pull request adds, edits, renames or deletes: ``git diff`` against its base.

``actions/checkout`` clones one commit by default, so the base may be missing: we fetch exactly the
commits needed (the base sha, then deeper history) and, if that is impossible, say so in one line that
names the fix, rather than comparing with nothing and passing everything.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from lockgate.git import (
    Change,
    GitError,
    merge_base,
    parent_of,
    resolve_commit,
    run_git,
    staged_changes,
)

SHALLOW_HINT = "use actions/checkout with fetch-depth: 0 (or fetch the base branch before this step)"


@dataclass(frozen=True)
class PullRequestDiff:
    """The fork point with the base and the migration changes since then (paths relative to ``root``)."""

    root: Path
    fork_point: str
    changes: tuple[Change, ...]

    @property
    def added(self) -> list[str]:
        return [change.path for change in self.changes if change.status in {"A", "C", "R"}]

    @property
    def present(self) -> list[str]:
        """Changed files that exist at HEAD (what lint can read)."""
        return [change.path for change in self.changes if change.status != "D"]


def _is_shallow(root: Path) -> bool:
    try:
        return run_git(["rev-parse", "--is-shallow-repository"], root).strip() == "true"
    except GitError:
        return False


def _try_fetch(root: Path, args: list[str]) -> None:
    # A failed fetch is not an error by itself: the caller re-checks and reports what is still missing.
    with contextlib.suppress(GitError):
        run_git(["fetch", "--no-tags", "--quiet", *args], root)


def fork_point(root: Path, base_sha: str) -> str:
    """The merge-base of HEAD and ``base_sha``, fetching history when the checkout is too shallow."""
    if resolve_commit(root, base_sha) is None:
        _try_fetch(root, ["origin", base_sha])
    if resolve_commit(root, base_sha) is None:
        raise GitError(
            f"the checkout does not contain the pull request base {base_sha[:12]}: it is too shallow "
            f"or the base was force-pushed; {SHALLOW_HINT}"
        )
    found = merge_base(root, base_sha)
    if found is None and _is_shallow(root):
        _try_fetch(root, ["--unshallow", "origin"])
        found = merge_base(root, base_sha)
    if found is None:
        raise GitError(
            f"no common history between HEAD and the pull request base {base_sha[:12]} in this checkout "
            f"(too shallow?); {SHALLOW_HINT}"
        )
    return found


def _in_directory(change: Change, directory: str) -> bool:
    """A ``.sql`` file in the migrations directory before or after the change (renames count both ways)."""
    paths = [path for path in (change.path, change.old_path) if path is not None]
    return any(path.endswith(".sql") and parent_of(path) == directory for path in paths)


def migration_changes(root: Path, migrations_dir: Path, base_sha: str) -> PullRequestDiff:
    """Changes to files directly inside ``migrations_dir`` between the fork point and the checkout."""
    start = fork_point(root, base_sha)
    directory = Path(os.path.relpath(migrations_dir.resolve(), root.resolve())).as_posix()
    directory = "" if directory == "." else directory
    relevant = [change for change in staged_changes(root, start) if _in_directory(change, directory)]
    return PullRequestDiff(root, start, tuple(relevant))
