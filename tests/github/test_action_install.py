"""The Action installs exactly the dependencies its release was tested with: ``action-requirements.txt`` pins
every one with hashes, and the bootstrap installs from it (a real ``pip install --require-hashes``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "action-requirements.txt"


def _pins() -> dict[str, str]:
    pins = {}
    for match in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", REQUIREMENTS.read_text(encoding="utf-8"), re.M):
        pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = [*project["dependencies"], *project["optional-dependencies"]["github"]]
    pins = _pins()
    for requirement in needed:
        assert _name(requirement) in pins, f"{requirement} is not pinned in action-requirements.txt"
    text = REQUIREMENTS.read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
    assert "uv pip compile pyproject.toml --extra github" in text.splitlines()[1], "the refresh command"
    major = int(pins["pglast"].split(".")[0])
    assert major < 9, "within pyproject's bound"


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=5):
            return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(
    not _pypi_reachable(), reason="pypi.org cannot be reached: the pinned files come from there"
)
def test_the_bootstrap_installs_exactly_the_pins(tmp_path: Path) -> None:
    github_path = tmp_path / "github_path"
    environ = {
        **os.environ,
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_PATH": str(github_path),
    }
    environ.pop("PIP_CONSTRAINT", None)
    bootstrap = ROOT / "src" / "lockgate" / "github" / "bootstrap.py"
    result = subprocess.run(
        [sys.executable, str(bootstrap), "install"], env=environ, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    venv = tmp_path / "lockgate-venv"
    assert github_path.read_text(encoding="utf-8").strip() == str(venv / "bin")
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {
        _name(line.split("==")[0]): line.split("==")[1] for line in frozen.splitlines() if "==" in line
    }
    pins = _pins()
    for name, version in installed.items():
        if name in {"pip", "setuptools", "wheel", "lockgate"}:
            continue
        assert pins.get(name) == version, f"{name} {version} installed, {pins.get(name)} pinned"
    assert re.search(r"^lockgate( @ file://|==)", frozen, re.M), frozen
    version = subprocess.run(
        [str(venv / "bin" / "lockgate"), "-V"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("lockgate, version ")
