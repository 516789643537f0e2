"""action.yml and the example workflows: valid by GitHub's schemas, clean under zizmor, no logic in YAML."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lockgate.github.inputs import ActionInputs

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install -e . --group test)"
    return found


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def test_there_are_example_workflows() -> None:
    assert {path.name for path in EXAMPLES} >= {"migrations.yml", "migrations-matrix.yml"}


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-actions", ACTION)] + [("vendor.github-workflows", path) for path in EXAMPLES],
    ids=lambda value: getattr(value, "name", value),
)
def test_files_match_githubs_schema(schema: str, path: Path) -> None:
    completed = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_zizmor_finds_nothing() -> None:
    completed = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", str(ACTION), *map(str, EXAMPLES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "No findings to report" in completed.stdout


def test_action_is_composite_and_every_run_step_calls_the_cli() -> None:
    runs = load(ACTION)["runs"]
    assert runs["using"] == "composite"
    scripts = [step["run"].strip() for step in runs["steps"] if "run" in step]
    bootstrap = [s for s in scripts if "bootstrap.py" in s]
    assert len(bootstrap) == 2  # cache key and venv install: before the CLI exists
    assert all(re.fullmatch(r"lockgate github (mask|run|comment)", s) for s in scripts if s not in bootstrap)
    assert all("${{" not in script for script in scripts)  # inputs reach scripts only through env:


def test_every_input_reaches_a_step_through_env() -> None:
    action = load(ACTION)
    env_values = " ".join(
        str(value) for step in action["runs"]["steps"] for value in step.get("env", {}).values()
    )
    working_directories = " ".join(str(step.get("working-directory", "")) for step in action["runs"]["steps"])
    for name in action["inputs"]:
        assert f"inputs.{name}" in env_values + working_directories, name


def test_env_names_are_the_ones_the_cli_reads() -> None:
    action = load(ACTION)
    names = {key for step in action["runs"]["steps"] for key in step.get("env", {})}
    environ = {name: "" for name in names}
    environ.update(INPUT_MODE="check", INPUT_COMMENT="never", INPUT_FAIL_ON="warning")
    inputs = ActionInputs.from_environ(environ)
    assert (inputs.mode, inputs.comment, inputs.fail_on) == ("check", "never", "warning")
    assert {
        f"INPUT_{n.upper().replace('-', '_')}" for n in action["inputs"] if n != "working-directory"
    } <= names


def test_outputs_come_from_the_steps_that_write_them() -> None:
    outputs = load(ACTION)["outputs"]
    assert set(outputs) == {"pending-count", "applied-count", "failed", "report-json", "comment-url"}
    assert outputs["comment-url"]["value"] == "${{ steps.comment.outputs.comment-url }}"
    assert all(
        o["value"].startswith("${{ steps.run.outputs.") for n, o in outputs.items() if n != "comment-url"
    )


def test_examples_use_least_privilege_and_never_cancel_a_deploy() -> None:
    for path in EXAMPLES:
        workflow = load(path)
        assert workflow["permissions"] == {}
        for job in workflow["jobs"].values():
            assert set(job["permissions"]) <= {"contents", "pull-requests"}
            assert job["concurrency"]["cancel-in-progress"] is False
            uses = [
                step for step in job["steps"] if str(step.get("uses", "")).startswith("lockgate/lockgate@")
            ]
            for step in uses:  # the Action takes the URL from a secret, never from the workflow's text
                assert "${{ secrets." in str(step["with"]["database-url"])
            if not uses:  # a fleet job runs the CLI: its URL also only from a secret, through env
                text = str(job["steps"])
                assert "lockgate " in text and "postgresql://" not in text
                assert "${{ secrets." in text or "lockgate github" in text
