"""Design boundaries: only ``lockgate.github`` imports PyGithub, and only when a comment is posted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "lockgate"
PYGITHUB_IMPORT = re.compile(r"^\s*(from|import)\s+github\b", re.MULTILINE)


def test_no_module_outside_the_github_door_imports_pygithub() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "github" not in path.relative_to(SRC).parts and PYGITHUB_IMPORT.search(path.read_text())
    ]
    assert offenders == []


def test_the_run_step_does_not_import_pygithub() -> None:
    code = (
        "import sys, lockgate.github.steps, lockgate.github.check_mode, lockgate.github.apply_mode; "
        "print('github' in sys.modules)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"
