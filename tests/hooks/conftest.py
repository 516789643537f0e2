"""Fixtures for the hook tests: a throwaway git repository that is the current directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookrepo import Repo, init_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    """An empty repository that is also the current directory, as when git runs a hook."""
    created = init_repo(tmp_path / "repo", tmp_path / "home")
    for key in list(os.environ):
        if key.startswith(("GIT_", "PRE_COMMIT_")):
            monkeypatch.delenv(key)
    for key, value in created.env.items():
        if key.startswith("GIT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(created.root)
    yield created
