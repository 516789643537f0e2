"""What the runner tells a step: the event, its payload, the repository, the run — read from the environment.

Read once into a frozen object, so every other module is a function of it and tests build one directly.
The mode follows from the event: a pull request is checked (never writes), a push or a manual dispatch
applies. Anything else is checked, because applying by surprise is the one mistake that cannot be undone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockgate.errors import ConfigError
from lockgate.github.model import APPLY, CHECK

PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target", "merge_group"})
APPLY_EVENTS = frozenset({"push", "workflow_dispatch"})
NULL_SHA = "0" * 40


@dataclass(frozen=True)
class ActionEnv:
    """The runner's ``GITHUB_*`` variables and the event payload."""

    event_name: str = ""
    event: Mapping[str, Any] = field(default_factory=dict)
    repository: str = ""
    sha: str = ""
    ref: str = ""
    actor: str = ""
    run_id: str = ""
    run_attempt: str = "1"
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    runner_temp: Path = field(default_factory=lambda: Path(os.environ.get("TMPDIR", "/tmp")))
    output_file: Path | None = None
    summary_file: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ActionEnv:
        env = os.environ if environ is None else environ
        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=_read_event(env.get("GITHUB_EVENT_PATH")),
            repository=env.get("GITHUB_REPOSITORY", ""),
            sha=env.get("GITHUB_SHA", ""),
            ref=env.get("GITHUB_REF", ""),
            actor=env.get("GITHUB_ACTOR", ""),
            run_id=env.get("GITHUB_RUN_ID", ""),
            run_attempt=env.get("GITHUB_RUN_ATTEMPT", "1"),
            server_url=env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
            api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            runner_temp=Path(env.get("RUNNER_TEMP") or env.get("TMPDIR") or "/tmp"),
            output_file=_path(env.get("GITHUB_OUTPUT")),
            summary_file=_path(env.get("GITHUB_STEP_SUMMARY")),
        )

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def pull_request(self) -> Mapping[str, Any]:
        value = self.event.get("pull_request")
        return value if isinstance(value, Mapping) else {}

    @property
    def pull_request_number(self) -> int | None:
        number = self.pull_request.get("number", self.event.get("number"))
        return number if isinstance(number, int) and self.pull_request else None

    @property
    def base_sha(self) -> str | None:
        """What the change is compared with: the PR base, the merge queue's base, or the commit before
        a push."""
        base = self.pull_request.get("base")
        if isinstance(base, Mapping) and isinstance(base.get("sha"), str):
            return str(base["sha"])
        group = self.event.get("merge_group")
        if isinstance(group, Mapping) and isinstance(group.get("base_sha"), str):
            return str(group["base_sha"])
        before = self.event.get("before")
        if isinstance(before, str) and before and before != NULL_SHA:
            return before
        return None

    @property
    def default_branch(self) -> str | None:
        repository = self.event.get("repository")
        if isinstance(repository, Mapping) and isinstance(repository.get("default_branch"), str):
            return str(repository["default_branch"])
        return None

    def resolve_mode(self, requested: str) -> tuple[str, str | None]:
        """(mode, a notice explaining a surprising choice or None)."""
        if requested in {CHECK, APPLY}:
            return requested, None
        if requested != "auto":
            raise ConfigError(f"mode: expected auto, check or apply, got {requested!r}")
        if self.event_name in PULL_REQUEST_EVENTS:
            return CHECK, None
        if self.event_name == "workflow_dispatch":
            return APPLY, None
        if self.event_name == "push":
            branch = self.default_branch
            if branch is None or self.ref == f"refs/heads/{branch}":
                return APPLY, None
            return CHECK, f"push to {self.ref}, not the default branch {branch}: checking, not applying"
        return CHECK, f"event {self.event_name or '(none)'}: checking only (apply runs on push and dispatch)"


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _read_event(path: str | None) -> Mapping[str, Any]:
    if not path:
        return {}
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: cannot read the event payload ({exc})") from exc
    return document if isinstance(document, dict) else {}
