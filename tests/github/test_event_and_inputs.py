"""Event payload -> mode, base commit and PR number; inputs validated with the input's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockgate.errors import ConfigError
from lockgate.github.event import NULL_SHA, ActionEnv
from lockgate.github.inputs import ActionInputs


def env_for(tmp_path: Path, name: str, event: dict[str, object], ref: str = "") -> ActionEnv:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return ActionEnv.from_environ(
        {"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path), "GITHUB_REF": ref, "RUNNER_TEMP": "/t"}
    )


def test_pull_request_is_checked_against_its_base(tmp_path: Path) -> None:
    env = env_for(
        tmp_path, "pull_request", {"number": 2, "pull_request": {"number": 2, "base": {"sha": "f95f"}}}
    )
    assert env.resolve_mode("auto") == ("check", None)
    assert (env.pull_request_number, env.base_sha) == (2, "f95f")


def test_push_to_default_branch_applies_other_branches_are_checked(tmp_path: Path) -> None:
    event = {"before": "6113", "repository": {"default_branch": "main"}}
    assert env_for(tmp_path, "push", event, "refs/heads/main").resolve_mode("auto") == ("apply", None)
    mode, notice = env_for(tmp_path, "push", event, "refs/heads/feature").resolve_mode("auto")
    assert mode == "check" and notice and "not the default branch" in notice
    assert env_for(tmp_path, "push", event, "refs/heads/main").base_sha == "6113"
    assert env_for(tmp_path, "push", {"before": NULL_SHA}).base_sha is None


def test_dispatch_applies_and_unknown_events_only_check(tmp_path: Path) -> None:
    assert env_for(tmp_path, "workflow_dispatch", {}).resolve_mode("auto") == ("apply", None)
    mode, notice = env_for(tmp_path, "schedule", {}).resolve_mode("auto")
    assert mode == "check" and notice
    assert env_for(tmp_path, "pull_request", {}).resolve_mode("apply") == ("apply", None)


def test_merge_queue_is_checked_against_the_queue_base(tmp_path: Path) -> None:
    env = env_for(tmp_path, "merge_group", {"merge_group": {"head_sha": "aaa", "base_sha": "bbb"}})
    assert env.resolve_mode("auto") == ("check", None)
    assert (env.base_sha, env.pull_request_number) == ("bbb", None)


def test_unreadable_event_payload_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GITHUB_EVENT_PATH"):
        ActionEnv.from_environ({"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"INPUT_MODE": "deploy"}, "input mode: expected one of auto, check, apply"),
        ({"INPUT_COMMENT": "sometimes"}, "input comment"),
        ({"INPUT_FAIL_ON": "info"}, "input fail-on"),
        ({"INPUT_DRY_RUN": "maybe"}, "input dry-run: expected true or false"),
        ({"INPUT_DRY_RUN": "true"}, "needs shadow-database-url"),
        ({"INPUT_DRIFT": "sometimes"}, "input drift: expected true or false"),
        ({"INPUT_DRIFT": "true"}, "input drift: needs database-url"),
        ({"INPUT_LOCK_TIMEOUT": "soon"}, "input lock-timeout: 'soon' is not a duration"),
        (
            {"INPUT_LOCK_TIMEOUT": "3000000s"},
            r"input lock-timeout: .*out of range: expected 1ms to 2147483647ms",
        ),
        ({"INPUT_LOCK_TIMEOUT": "0"}, r"input lock-timeout: .*0 \(no timeout\) is refused"),
        ({"INPUT_DATABASE_URL": "postgres://x", "INPUT_SHADOW_DATABASE_URL": "postgres://x"}, "must not be"),
    ],
)
def test_bad_inputs_name_the_input(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ActionInputs.from_environ(environ)


def test_defaults() -> None:
    inputs = ActionInputs.from_environ({"INPUT_ALLOW_OUT_OF_ORDER": "TRUE"})
    assert (inputs.mode, inputs.comment, inputs.fail_on, inputs.allow_out_of_order) == (
        "auto",
        "always",
        "error",
        True,
    )
