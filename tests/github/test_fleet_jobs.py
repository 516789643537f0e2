"""GitHub Actions as a fleet's engine: ``lockgate github matrix`` shards the targets into jobs, each job's
``run --targets <shard> --json`` report is an artifact, and ``summarize`` merges them into the job summary and
the one sticky comment — end to end on 20 real databases and the local GitHub REST stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from fake_github import FakeGitHub
from gh_workspace import ACTIONS_TOKEN, REPOSITORY

from lockgate.errors import ConfigError
from lockgate.fleet import Target
from lockgate.github.fleet_steps import MAX_JOBS, matrix_for
from lockgate.github.markdown import MARKER
from pg_databases import fresh_database

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
MIGRATIONS = {
    "20250101000000_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
    "20250102000000_note.sql": "ALTER TABLE orders ADD COLUMN note text;\n",
}


def _targets(count: int, waves: int = 2) -> list[Target]:
    return [Target(f"t{n:02d}", n % waves, (), f"T{n:02d}_URL") for n in range(count)]


def test_the_matrix_shards_each_wave_in_order() -> None:
    single = matrix_for(sorted(_targets(5), key=lambda t: (t.wave, t.name)), 1)["include"]
    assert [entry["targets"] for entry in single] == ["t00", "t02", "t04", "t01", "t03"]
    assert [entry["wave"] for entry in single] == [0, 0, 0, 1, 1]
    assert single[0] == {
        "shard": "wave0-001",
        "wave": 0,
        "targets": "t00",
        "secret": "T00_URL",
        "environment": "t00",
    }
    shards = matrix_for(sorted(_targets(10), key=lambda t: (t.wave, t.name)), 2)["include"]
    assert [entry["targets"] for entry in shards][:3] == ["t00,t02", "t04,t06", "t08"]
    assert all(entry["secret"] == entry["environment"] == "" for entry in shards if "," in entry["targets"])


def test_more_jobs_than_github_allows_is_refused_with_the_fix() -> None:
    targets = _targets(MAX_JOBS + 1, waves=1)
    with pytest.raises(
        ConfigError, match=r"257 jobs: a GitHub matrix holds at most 256; .* --per-job 2 or more"
    ):
        matrix_for(targets, 1)
    assert len(matrix_for(targets, 2)["include"]) == 129


def _lockgate(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lockgate", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.db
def test_twenty_targets_in_shards_end_in_one_comment(
    tmp_path: Path, pg_server_url: str, fake_github: FakeGitHub
) -> None:
    project = tmp_path / "project"
    (project / "migrations").mkdir(parents=True)
    for name, text in MIGRATIONS.items():
        (project / "migrations" / name).write_text(text, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LOCKGATE_", "GITHUB_"))}
    lines = []
    with ExitStack() as stack:
        for n in range(20):
            env[f"T{n:02d}_URL"] = stack.enter_context(fresh_database(pg_server_url, "lg_fleetjob"))
            lines += [f"[tool.lockgate.targets.t{n:02d}]", f'url_env = "T{n:02d}_URL"', f"wave = {n % 3}", ""]
        (project / "pyproject.toml").write_text("\n".join(lines), encoding="utf-8")
        broken = env["T04_URL"]  # wave 1
        with psycopg.connect(broken, autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id bigint)")

        # The workflow: one matrix per wave, jobs of up to 3 targets, waves chained by needs: (wave 2
        # does not run because a job of wave 1 failed).
        reports = tmp_path / "artifacts"
        reports.mkdir()
        for wave in (0, 1):
            printed = _lockgate(
                project, env, "github", "matrix", "--targets", f"wave:{wave}", "--per-job", "3"
            )
            assert printed.returncode == 0, printed.stderr
            jobs = json.loads(printed.stdout)["include"]
            assert len(jobs) == 3 and all(len(job["targets"].split(",")) <= 3 for job in jobs)
            for job in jobs:
                ran = _lockgate(project, env, "run", "--targets", job["targets"], "--json")
                assert ran.returncode == (1 if "t04" in job["targets"].split(",") else 0), ran.stderr
                (reports / f"{job['shard']}.json").write_text(ran.stdout, encoding="utf-8")

        fake_github.commit_pulls[SHA] = [12]
        summary_file = tmp_path / "summary.md"
        github_env = env | {
            "GITHUB_API_URL": fake_github.base_url,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SHA": SHA,
            "GITHUB_TOKEN": ACTIONS_TOKEN,
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_STEP_SUMMARY": str(summary_file),
        }
        merged = _lockgate(project, github_env, "github", "summarize", str(reports), "--targets", "all")
    assert merged.returncode == 1, merged.stderr
    (body,) = fake_github.bodies(12)
    assert body.startswith(MARKER)
    for n in range(20):
        assert f"| t{n:02d} |" in body
    assert "| t04 | 1 | failed |" in body
    assert 'relation "orders" already exists' in body
    assert "| t02 | 2 | not-started | no report: its job did not run |" in body  # wave 2 never ran
    assert "fleet: " in body and "1 failed (t04)" in body and "6 not started" in body
    assert summary_file.read_text(encoding="utf-8").strip() == body.strip()
    # Summarizing again edits the one comment.
    again = _lockgate(project, github_env, "github", "summarize", str(reports), "--targets", "all")
    assert again.returncode == 1 and len(fake_github.bodies(12)) == 1
