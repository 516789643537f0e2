"""Throwaway git repositories for the hook tests, isolated from the user's git configuration.

A plain module (not conftest) so test files can import the types; pytest puts this directory on sys.path.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

GOOD_SQL = (
    "create table accounts (id bigint primary key, email text not null);\n"
    "alter table accounts enable row level security;\n"
)


def isolated_git_env(home: Path) -> dict[str, str]:
    """An environment where git ignores global/system config (hooksPath, signing...) and no outer hook.

    Variables such as GIT_DIR or GIT_INDEX_FILE leak in when the suite itself runs inside a git hook;
    they would point every git call at the wrong repository.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "PRE_COMMIT_"))}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.com",
        GIT_COMMITTER_NAME="Test Author",
        GIT_COMMITTER_EMAIL="author@example.com",
    )
    return env


@dataclass(frozen=True)
class Repo:
    """A git work tree in a temporary directory; helpers run git there."""

    root: Path
    env: dict[str, str]

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=self.root, env=self.env, capture_output=True, text=True, check=check
        )

    def write(self, relative: str, text: str = GOOD_SQL) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return path

    def stage(self, *relative: str) -> None:
        self.git("add", "--", *relative)

    def commit(self, message: str = "commit") -> None:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--no-verify", "-m", message)


def init_repo(root: Path, home: Path) -> Repo:
    root.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    (home / "gitconfig").write_text("[user]\n\tname = Test Author\n\temail = author@example.com\n")
    repo = Repo(root, isolated_git_env(home))
    repo.git("init", "--quiet", "--initial-branch=main")
    repo.git("config", "commit.gpgsign", "false")
    return repo
