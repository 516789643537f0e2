"""Action benchmark: ``lockgate github run`` (check mode) vs ``lockgate lint`` + ``lockgate status``.

Why: the check a pull request waits for does lint, naming, immutability, checksums and the merged plan in
one process. The question is whether that costs more than the two commands a team would otherwise run
(lint the changed files, then ``status`` against the database). The setup is the issue's: a pull request
adding 10 migrations to a history of 1,000 applied ones, in a real git repository (base commit, PR head
and the merge commit ``actions/checkout`` checks out), against a real server.

Usage (on demand; never part of the test suite)::

    .venv/bin/python bench/action_bench.py [--database-url URL] [--history 1000] [--added 10]
        [--repeat 5] [--write-results]

``--database-url`` must name a database on which the user may ``CREATE DATABASE``; the benchmark creates
and drops its own ``bench_action_*`` database. No GitHub API is involved: the comment step is not timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # bench/ is not a package: the helpers sit beside this script
    DEFAULT_DATABASE_URL,
    BenchError,
    Timing,
    bench_environment,
    load_average,
    lockgate_command,
    machine_summary,
    replace_section,
    run_timed,
    scratch_database,
)
from core_bench import MigrationWriter, markdown, plain

SECTION = "Action: check mode on a pull request"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    completed = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return completed.stdout.strip()


def pull_request_files(tables: list[str], count: int) -> dict[str, str]:
    """``count`` lint-clean migrations a real PR might add: columns, concurrent indexes, new tables."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    files: dict[str, str] = {}
    for index in range(count):
        version = (start + dt.timedelta(seconds=index)).strftime("%Y%m%d%H%M%S")
        table = tables[index % len(tables)]
        if index % 3 == 0:
            name, sql = f"add_note_to_{table}", f"ALTER TABLE {table} ADD COLUMN pr_note_{index} text;\n"
        elif index % 3 == 1:
            name = f"index_{table}_created_at"
            sql = f"CREATE INDEX CONCURRENTLY {table}_pr_{index}_idx ON {table} (created_at);\n"
        else:
            name = f"create_pr_table_{index}"
            sql = (
                f"CREATE TABLE pr_table_{index} (\n"
                "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
                f"  {table}_id bigint NOT NULL REFERENCES {table} (id)\n"
                ");\n"
                f"CREATE INDEX pr_table_{index}_{table}_id_idx ON pr_table_{index} ({table}_id);\n"
                f"ALTER TABLE pr_table_{index} ENABLE ROW LEVEL SECURITY;\n"
            )
        files[f"migrations/{version}_{name}.sql"] = f"-- {name.replace('_', ' ')}\n{sql}"
    return files


def build_repository(repo: Path, history: int, added: int) -> tuple[str, str, str, list[str]]:
    """(base, head, merge) shas and the PR's files, in a fresh repository at ``repo``."""
    directory = repo / "migrations"
    directory.mkdir(parents=True)
    writer = MigrationWriter(directory)
    writer.write(history)
    (repo / "pyproject.toml").write_text("[tool.lockgate]\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "history")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "changes")
    files = pull_request_files([table.name for table in writer.tables[:5]], added)
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pull request")
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach", base)
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", head)
    return base, head, git(repo, "rev-parse", "HEAD"), sorted(files)


def action_environment(repo: Path, url: str, base: str, head: str, merge: str, temp: Path) -> dict[str, str]:
    event = {
        "action": "synchronize",
        "number": 1,
        "pull_request": {
            "number": 1,
            "base": {"ref": "main", "sha": base},
            "head": {"ref": "changes", "sha": head},
        },
        "repository": {"full_name": "bench/bench", "default_branch": "main"},
    }
    event_path = temp / "event.json"
    event_path.write_text(json.dumps(event))
    return {
        **bench_environment(),
        **GIT_IDENTITY,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": "bench/bench",
        "GITHUB_SHA": merge,
        "GITHUB_OUTPUT": str(temp / "output"),
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
        "RUNNER_TEMP": str(temp),
        "INPUT_DATABASE_URL": url,
        "INPUT_MODE": "check",
    }


def measure(
    repo: Path, url: str, shas: tuple[str, str, str], files: list[str], repeat: int, temp: Path
) -> list[Timing]:
    lockgate = lockgate_command()
    action_env = action_environment(repo, url, *shas, temp)
    contenders = {
        "lockgate github run (check)": [[*lockgate, "github", "run"]],
        "lockgate lint (10 files) + lockgate status": [
            [*lockgate, "lint", *files],
            [*lockgate, "status", "--database-url", url],
        ],
        "lockgate lint (all 1,010 files) + lockgate status": [
            # The generated history has findings (exit 1); only exit 2 and above are failures here.
            ["sh", "-c", '"$@"; [ $? -le 1 ]', "sh", *lockgate, "lint", "migrations"],
            [*lockgate, "status", "--database-url", url],
        ],
    }
    walls: dict[str, list[float]] = {label: [] for label in contenders}
    cpus: dict[str, list[float]] = {label: [] for label in contenders}
    for round_number in range(repeat):
        for label, commands in contenders.items():
            env = action_env if "github" in label else None
            samples = [run_timed(command, cwd=repo, env=env) for command in commands]
            walls[label].append(sum(sample.wall for sample in samples))
            cpus[label].append(sum(sample.cpu for sample in samples))
        print(f"  round {round_number + 1}/{repeat} done", flush=True)
    return [Timing(label, tuple(walls[label]), cpu=tuple(cpus[label])) for label in contenders]


def table(timings: list[Timing]) -> list[list[str]]:
    rows = [["contender", "median s", "best s", "worst s", "client CPU s", "vs separate"]]
    separate = timings[1].median
    for timing in timings:
        rows.append(
            [
                timing.label,
                f"{timing.median:.2f}",
                f"{timing.best:.2f}",
                f"{timing.worst:.2f}",
                f"{timing.cpu_median:.2f}",
                f"{timing.median / separate:.2f}x",
            ]
        )
    return rows


def results_body(args: argparse.Namespace, machine: str, timings: list[Timing]) -> str:
    command = (
        f".venv/bin/python bench/action_bench.py --database-url '{args.database_url}' --history {args.history} "
        f"--added {args.added} --repeat {args.repeat} --write-results"
    )
    return "\n\n".join(
        [
            f"Recorded {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on: {machine}.",
            f"```sh\n{command}\n```",
            f"A pull request adds {args.added} migrations (new columns, `CREATE INDEX CONCURRENTLY`, new tables "
            f"with foreign keys) to a history of {args.history} applied ones (`bench/core_bench.py`'s generator, "
            "baselined). `lockgate github run` does in one process what the action's check step does — the git "
            "diff against the base, lint of the changed files, naming and immutability against the base, "
            "checksums of every applied migration, the merged plan with lock levels, the job summary and "
            "`report.json` — and is compared with running `lockgate lint` on the 10 files and `lockgate status` "
            f"separately (two process start-ups). Median of {args.repeat} rounds, wall clock including start-up.",
            markdown(table(timings)),
            f"Client CPU (the processes' own user + system time, git included) is the steadier figure on a "
            f"shared machine: {timings[0].label} {timings[0].cpu_median:.2f} s vs "
            f"{timings[1].cpu_median:.2f} s for the two separate commands "
            f"({timings[0].cpu_median / timings[1].cpu_median:.2f}x). The check does more than lint + status: "
            "the git diff against the base, naming and immutability against the base, the merged plan with lock "
            "levels, and `lockgate validate`'s Supabase history check; one interpreter start-up and one "
            "import of psycopg instead of two pays for most of it.",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--added", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-results", action="store_true", help=f"rewrite '## {SECTION}' in RESULTS.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    machine = machine_summary(args.database_url)
    load_at_start = load_average()
    print(f"machine: {machine}")
    with tempfile.TemporaryDirectory(prefix="lockgate-action-bench-") as tmp:
        repo, temp = Path(tmp) / "repo", Path(tmp) / "runner-temp"
        temp.mkdir()
        base, head, merge, files = build_repository(repo, args.history, args.added)
        latest_base = max(
            path.name.split("_")[0]
            for path in (repo / "migrations").glob("*.sql")
            if f"migrations/{path.name}" not in files
        )
        try:
            with scratch_database(args.database_url, f"bench_action_{os.getpid()}") as url:
                run_timed(
                    [*lockgate_command(), "baseline", "--version", latest_base, "--database-url", url],
                    cwd=repo,
                )
                for command in ("github", "lint", "status"):  # cache bytecode before timing
                    run_timed([*lockgate_command(), command, "--help"], cwd=repo)
                print(
                    f"check: {args.added} added on {args.history} applied x {args.repeat} rounds", flush=True
                )
                timings = measure(repo, url, (base, head, merge), files, args.repeat, temp)
        except BenchError as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
    machine += f"; load average {load_at_start} at start, {load_average()} at end"
    print(f"\n{plain(table(timings))}\n")
    if args.write_results:
        replace_section(SECTION, results_body(args, machine, timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
