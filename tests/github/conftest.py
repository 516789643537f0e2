"""Fixtures for the Action tests: a fake GitHub API server and a throwaway repository with PR events."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_github import FakeGitHub, serve
from gh_workspace import ACTIONS_TOKEN, FORK_TOKEN, PAT_TOKEN, REPOSITORY, Workspace


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(
        repository=REPOSITORY,
        tokens={ACTIONS_TOKEN: "actions", FORK_TOKEN: "fork", PAT_TOKEN: "pat"},
    )
    server, thread = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def workspace(tmp_path: Path, fake_github: FakeGitHub) -> Workspace:
    root = tmp_path / "workspace"
    root.mkdir()
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(temp),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Codertocat",
        "GIT_AUTHOR_EMAIL": "codertocat@example.com",
        "GIT_COMMITTER_NAME": "Codertocat",
        "GIT_COMMITTER_EMAIL": "codertocat@example.com",
    }
    space = Workspace(root, temp, fake_github.base_url, env)
    space.git("init", "-q", "-b", "main")
    return space
