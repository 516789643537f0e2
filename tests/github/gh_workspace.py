"""Shared pieces of the Action tests (a throwaway repository with PR events), importable by name.

Kept out of conftest.py: several test folders have a conftest, and ``from conftest import`` picks
whichever one comes first on sys.path when folders are run together."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from action_runner import ActionRun, run_action

from json_schema_check import assert_matches

REPOSITORY = "Codertocat/Hello-World"
ACTIONS_TOKEN = "ghs_actions_token"
FORK_TOKEN = "ghs_fork_read_only"
PAT_TOKEN = "ghp_personal_token"


def _repository_json(base_url: str) -> dict[str, object]:
    """The ``repository`` object of octokit/webhooks' payload examples, trimmed to what matters."""
    return {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": "Hello-World",
        "full_name": REPOSITORY,
        "private": False,
        "owner": {"login": "Codertocat", "id": 21031067, "type": "User"},
        "html_url": f"https://github.com/{REPOSITORY}",
        "url": f"{base_url}/repos/{REPOSITORY}",
        "fork": False,
        "default_branch": "main",
    }


@dataclass
class Workspace:
    """A git repository standing in for ``actions/checkout``'s workspace, plus the runner's context."""

    root: Path
    temp: Path
    api_url: str
    env: dict[str, str] = field(default_factory=dict)
    runs: int = 0

    def git(self, *args: str) -> str:
        completed = subprocess.run(
            ["git", *args], cwd=self.root, env=self.env, capture_output=True, text=True, check=True
        )
        return completed.stdout.strip()

    def commit(self, files: dict[str, str | None], message: str) -> str:
        for name, text in files.items():
            path = self.root / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def merge_commit(self, base: str, head: str) -> str:
        """What ``refs/pull/N/merge`` (and a merge to main) points at: base merged with the PR head."""
        self.git("checkout", "-q", "--detach", base)
        self.git("merge", "-q", "--no-ff", "-m", "Merge pull request", head)
        return self.git("rev-parse", "HEAD")

    def pull_request_event(self, number: int, base: str, head: str, *, fork: bool = False) -> Path:
        head_repo = dict(_repository_json(self.api_url))
        if fork:
            head_repo.update(full_name="forker/Hello-World", fork=True)
        event = {
            "action": "synchronize",
            "number": number,
            "pull_request": {
                "url": f"{self.api_url}/repos/{REPOSITORY}/pulls/{number}",
                "id": 279147437,
                "html_url": f"https://github.com/{REPOSITORY}/pull/{number}",
                "number": number,
                "state": "open",
                "title": "Add user preferences",
                "user": {"login": "Codertocat", "id": 21031067, "type": "User"},
                "head": {"label": "Codertocat:changes", "ref": "changes", "sha": head, "repo": head_repo},
                "base": {
                    "label": "Codertocat:main",
                    "ref": "main",
                    "sha": base,
                    "repo": _repository_json(self.api_url),
                },
            },
            "repository": _repository_json(self.api_url),
            "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
        }
        return self._write_event(event)

    def push_event(self, before: str, after: str) -> Path:
        event = {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "created": False,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"https://github.com/{REPOSITORY}/compare/{before[:12]}...{after[:12]}",
            "commits": [{"id": after, "message": "Merge pull request", "distinct": True}],
            "head_commit": {"id": after, "message": "Merge pull request"},
            "repository": _repository_json(self.api_url),
            "pusher": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com"},
            "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
        }
        return self._write_event(event)

    def _write_event(self, event: dict[str, object]) -> Path:
        self.runs += 1
        path = self.temp / f"event-{self.runs}.json"
        path.write_text(json.dumps(event), encoding="utf-8")
        return path

    def run(
        self,
        event_name: str,
        event_path: Path,
        sha: str,
        inputs: dict[str, str],
        token: str = ACTIONS_TOKEN,
    ) -> ActionRun:
        run_temp = self.temp / f"run-{self.runs}"
        run_temp.mkdir(exist_ok=True)
        environ = {
            **self.env,
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SHA": sha,
            "GITHUB_REF": "refs/heads/main" if event_name == "push" else "refs/pull/7/merge",
            "GITHUB_ACTOR": "Codertocat",
            "GITHUB_RUN_ID": "9001",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": self.api_url,
            "GITHUB_WORKSPACE": str(self.root),
            "RUNNER_TEMP": str(run_temp),
        }
        context = {"token": token, "event_name": event_name, "sha": sha}
        run = run_action(self.root, inputs, context, environ, run_temp)
        report = run.outputs.get("report-json")
        if report:  # every Action run of the suite checks its report.json against the shipped schema
            assert_matches(json.loads(Path(report).read_text(encoding="utf-8")), "action_report")
        return run
