"""The bootstrap script: a cache key that changes with the action's code, outputs in the runner's format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lockgate.github import bootstrap

SCRIPT = Path(bootstrap.__file__)


def fake_action(tmp_path: Path) -> Path:
    root = tmp_path / "action"
    (root / "src" / "lockgate").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'lockgate'\n")
    (root / "src" / "lockgate" / "cli.py").write_text("print('v1')\n")
    return root


def test_key_changes_with_sources_and_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = fake_action(tmp_path)
    monkeypatch.setattr(bootstrap, "ACTION_PATH", root)
    first = bootstrap.cache_key()
    assert first == bootstrap.cache_key()
    assert (
        first.startswith("lockgate-linux-")
        and f"-py{sys.version_info.major}.{sys.version_info.minor}-" in first
    )
    (root / "src" / "lockgate" / "cli.py").write_text("print('v2')\n")
    second = bootstrap.cache_key()
    (root / "pyproject.toml").write_text("[project]\nname = 'lockgate'\nversion = '2'\n")
    third = bootstrap.cache_key()
    (root / "action-requirements.txt").write_text("click==9.0 \\\n    --hash=sha256:00\n")
    assert len({first, second, third, bootstrap.cache_key()}) == 4, "a new pin is a new environment"


def test_key_step_writes_the_key_and_venv_outputs(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.write_text("")
    env = {
        "GITHUB_OUTPUT": str(output),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ACTION_PATH": str(fake_action(tmp_path)),
    }
    subprocess.run([sys.executable, str(SCRIPT), "key"], env=env, check=True)
    lines = output.read_text().splitlines()
    assert lines[0].startswith("key=lockgate-") and lines[1] == f"venv={tmp_path / 'lockgate-venv'}"


def test_install_reuses_a_restored_venv_and_puts_it_on_path(tmp_path: Path) -> None:
    venv_bin = tmp_path / "lockgate-venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "lockgate").write_text("#!/bin/sh\n")  # what actions/cache restored
    path_file = tmp_path / "path"
    env = {"GITHUB_PATH": str(path_file), "RUNNER_TEMP": str(tmp_path), "GITHUB_ACTION_PATH": str(tmp_path)}
    subprocess.run([sys.executable, str(SCRIPT), "install"], env=env, check=True)
    assert path_file.read_text() == f"{venv_bin}\n"


def test_unknown_command_is_a_usage_error() -> None:
    completed = subprocess.run([sys.executable, str(SCRIPT), "frobnicate"], capture_output=True, text=True)
    assert completed.returncode == 2 and "usage" in completed.stderr
