"""Runs ``action.yml``'s steps the way the Actions runner does, for end-to-end tests.

Each ``run:`` step's script runs with ``bash --noprofile --norc -eo pipefail`` (the runner's bash), in
its ``working-directory``, with the ``env:`` the runner would give it: ``${{ inputs.x }}``,
``${{ github.x }}`` and ``${{ steps.id.outputs.x }}`` substituted, plus the ``GITHUB_*`` files
(``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, ``GITHUB_PATH``) read back after each step. ``uses:`` steps
(the cache) are skipped, and the venv install step is replaced by the test venv's ``bin`` on ``PATH``;
every other step runs as written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACTION_YML = Path(__file__).resolve().parents[2] / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
INSTALL_MARKER = 'bootstrap.py" install'


@dataclass
class StepRun:
    id: str
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    skipped: bool = False


@dataclass
class ActionRun:
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def failed(self) -> bool:
        return any(step.returncode != 0 for step in self.steps)

    @property
    def stdout(self) -> str:
        return "".join(step.stdout for step in self.steps)

    @property
    def log(self) -> str:
        """Everything the steps printed, as the runner's log would hold it (``::add-mask::`` lines are
        consumed by the runner and never shown)."""
        text = "".join(step.stdout + step.stderr for step in self.steps)
        return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))

    def step(self, step_id: str) -> StepRun:
        return next(step for step in self.steps if step.id == step_id)


def read_output_file(path: Path) -> dict[str, str]:
    """Parse ``name=value`` and ``name<<DELIMITER`` blocks as the runner does."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            values[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        index += 1
    return values


class Expressions:
    """The few expression forms action.yml uses: contexts, ``always()``, ``&&`` and ``!= ''``."""

    def __init__(self, inputs: dict[str, str], github: dict[str, str]) -> None:
        self.inputs = inputs
        self.github = github
        self.steps: dict[str, dict[str, str]] = {}

    def value(self, expression: str) -> str:
        parts = expression.split(".")
        if parts[0] == "inputs":
            return self.inputs.get(parts[1], "")
        if parts[0] == "github":
            return self.github.get(parts[1], "")
        if parts[0] == "steps" and parts[2] == "outputs":
            return self.steps.get(parts[1], {}).get(parts[3], "")
        raise ValueError(f"unsupported expression {expression!r}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda match: self.value(match.group(1)), text)

    def condition(self, expression: str | None, previous_failed: bool) -> bool:
        if not expression:
            return not previous_failed
        expression = EXPRESSION.sub(lambda match: match.group(1), expression)
        result = True
        saw_status_function = False
        for term in (t.strip() for t in expression.split("&&")):
            if term == "always()":
                saw_status_function = True
            elif match := re.fullmatch(r"(\S+)\s*!=\s*''", term):
                result = result and self.value(match.group(1)) != ""
            else:
                raise ValueError(f"unsupported condition {term!r}")
        return result and (saw_status_function or not previous_failed)


def run_action(
    workspace: Path,
    inputs: dict[str, str],
    github: dict[str, str],
    environ: dict[str, str],
    temp: Path,
) -> ActionRun:
    """Run every step of action.yml; ``github`` holds the context (token, event_name, sha, ...)."""
    action: dict[str, Any] = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    expressions = Expressions({}, github)
    expressions.inputs = {name: expressions.substitute(value) for name, value in defaults.items()}
    expressions.inputs.update(inputs)
    path_entries = [str(Path(sys.executable).parent)]  # replaces the venv install step
    result = ActionRun()
    summary_parts: list[str] = []
    for index, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"step{index}")
        if "uses" in step or INSTALL_MARKER in step.get("run", ""):
            continue
        if not expressions.condition(step.get("if"), result.failed):
            result.steps.append(StepRun(step_id, step["name"], 0, "", "", {}, skipped=True))
            continue
        output_file, summary_file, path_file = (temp / f"{step_id}.{kind}" for kind in ("out", "md", "path"))
        for file in (output_file, summary_file, path_file):
            file.write_text("", encoding="utf-8")
        env = {
            **environ,
            "PATH": os.pathsep.join([*path_entries, environ.get("PATH", os.environ["PATH"])]),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "GITHUB_PATH": str(path_file),
            "GITHUB_ACTION_PATH": str(ACTION_YML.parent),
            "GITHUB_ACTION": step_id,
        }
        env.update({key: expressions.substitute(str(value)) for key, value in step.get("env", {}).items()})
        cwd = workspace / expressions.substitute(step.get("working-directory", "."))
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        outputs = read_output_file(output_file)
        expressions.steps[step_id] = outputs
        path_entries = [*reversed(path_file.read_text().split()), *path_entries]
        summary_parts.append(summary_file.read_text(encoding="utf-8"))
        result.steps.append(
            StepRun(step_id, step["name"], completed.returncode, completed.stdout, completed.stderr, outputs)
        )
    result.outputs = {
        name: expressions.substitute(spec["value"]) for name, spec in action.get("outputs", {}).items()
    }
    result.summary = "".join(summary_parts)
    return result
