"""Set up the action's Python environment: the only step that runs before lockgate is installed.

Standard library only, because it runs on the runner's bare ``python3``. ``key`` prints the cache key
(the runner's OS, the Python version and a hash of ``pyproject.toml`` and the package sources — the
action's own files, which ``hashFiles()`` cannot see outside the workspace); ``install`` creates the
venv under ``$RUNNER_TEMP`` unless ``actions/cache`` restored it — the dependencies from the hash-pinned
``action-requirements.txt``, so a run installs exactly what the release was tested with — and puts its
``bin`` on ``PATH``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

ACTION_PATH = Path(os.environ.get("GITHUB_ACTION_PATH") or Path(__file__).resolve().parents[3])
VENV = Path(os.environ.get("RUNNER_TEMP") or "/tmp") / "lockgate-venv"
REQUIREMENTS = "action-requirements.txt"
"""The Action's dependencies, hash-pinned (beside action.yml); refreshed by the command in its header."""


def cache_key() -> str:
    digest = hashlib.sha256()
    files = [
        ACTION_PATH / "pyproject.toml",
        ACTION_PATH / REQUIREMENTS,
        *sorted((ACTION_PATH / "src" / "lockgate").rglob("*")),
    ]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ACTION_PATH).as_posix().encode())
            digest.update(path.read_bytes())
    python = f"py{sys.version_info.major}.{sys.version_info.minor}"
    return f"lockgate-{platform.system().lower()}-{platform.machine()}-{python}-{digest.hexdigest()[:20]}"


def append(variable: str, line: str) -> None:
    target = os.environ.get(variable)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def install() -> None:
    # The runner's python3 is not ours: this file must say clearly when it is too old.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"lockgate needs Python 3.11 or newer on the runner, found {platform.python_version()}")
    if not (VENV / "bin" / "lockgate").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        python = str(VENV / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        # Every dependency at the version and hash the release was tested with (no drift with each new
        # psycopg, pglast or PyGithub), then lockgate itself, which needs nothing more.
        subprocess.run(
            [*pip, "--require-hashes", "--no-deps", "-r", str(ACTION_PATH / REQUIREMENTS)], check=True
        )
        subprocess.run([*pip, "--no-deps", str(ACTION_PATH)], check=True)
        subprocess.run([python, "-m", "pip", "check", "--disable-pip-version-check"], check=True)
    append("GITHUB_PATH", str(VENV / "bin"))


def main(argv: list[str]) -> int:
    if argv == ["key"]:
        append("GITHUB_OUTPUT", f"key={cache_key()}")
        append("GITHUB_OUTPUT", f"venv={VENV}")
        return 0
    if argv == ["install"]:
        install()
        return 0
    print("usage: bootstrap.py key|install", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
