"""Fleet benchmark: one rollout of 50 migrations to 20 databases, sequential against ``--parallel 2/4/8``.

Why: a fleet rollout is many single runs; running them side by side should cut the wall time until the
database server (its CPUs and its disk's commits) is the limit. The table states wall time, the server's
CPU and lockgate's own, so where the scaling stops is visible. Each round drops and recreates the 20
databases, so every contender applies the same 1,000 migrations; rounds are interleaved.

    .venv/bin/python bench/fleet_bench.py [--database-url URL] [--targets 20] [--migrations 50]
        [--repeat 3] [--write-results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from _common import (  # bench/ is not a package: the helpers sit beside this script
    DEFAULT_DATABASE_URL,
    BackendCpu,
    bench_environment,
    database_url,
    drop_database,
    load_average,
    lockgate_command,
    machine_summary,
    replace_section,
    run_timed,
)
from core_bench import MigrationWriter
from psycopg import sql

SECTION = "Fleet: 20 targets × 50 migrations, sequential vs --parallel"
PREFIX = "bench_fleet_"


def _recreate(admin_url: str, count: int) -> dict[str, str]:
    urls = {}
    for n in range(count):
        name = f"{PREFIX}{n:03d}"
        drop_database(admin_url, name)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        urls[f"t{n:03d}"] = database_url(admin_url, name)
    return urls


def _project(workdir: Path, targets: int, migrations: int) -> Path:
    project = workdir / "fleet"
    (project / "migrations").mkdir(parents=True)
    MigrationWriter(project / "migrations").write(migrations)
    lines = []
    for n in range(targets):
        lines += [
            f"[tool.lockgate.targets.t{n:03d}]",
            f'url_env = "BENCH_FLEET_{n:03d}"',
            f"wave = {0 if n < 2 else 1}",
            "",
        ]
    (project / "pyproject.toml").write_text("\n".join(lines), encoding="utf-8")
    return project


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--migrations", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args(argv)
    contenders = [1, 2, 4, 8]
    samples: dict[int, list[tuple[float, float, float | None]]] = {p: [] for p in contenders}
    machine = machine_summary(args.database_url)
    loads = [load_average()]
    with tempfile.TemporaryDirectory(prefix="lockgate-fleet-bench-") as tmp:
        project = _project(Path(tmp), args.targets, args.migrations)
        try:
            for round_number in range(args.repeat):
                for parallel in contenders:
                    urls = _recreate(args.database_url, args.targets)
                    env = bench_environment() | {f"BENCH_FLEET_{name[1:]}": url for name, url in urls.items()}
                    with BackendCpu(args.database_url, f"{PREFIX}%") as server:
                        sample = run_timed(
                            [*lockgate_command(), "run", "--targets", "all", "--parallel", str(parallel)],
                            cwd=project,
                            env=env,
                        )
                    samples[parallel].append((sample.wall, sample.cpu, server.total))
                    print(
                        f"round {round_number + 1}: --parallel {parallel}: {sample.wall:.2f} s "
                        f"(load {load_average()})",
                        flush=True,
                    )
        finally:
            for n in range(args.targets):
                drop_database(args.database_url, f"{PREFIX}{n:03d}")
    loads.append(load_average())
    base = statistics.median(s[0] for s in samples[1])
    rows = [
        "| --parallel | median s | ÷ sequential | lockgate CPU s | server CPU s |",
        "|---|---|---|---|---|",
    ]
    for parallel in contenders:
        wall = statistics.median(s[0] for s in samples[parallel])
        cpu = statistics.median(s[1] for s in samples[parallel])
        servers = [s[2] for s in samples[parallel] if s[2] is not None]
        server_cpu = f"{statistics.median(servers):.2f}" if servers else "n/a"
        label = "1 (sequential)" if parallel == 1 else str(parallel)
        rows.append(f"| {label} | {wall:.2f} | {wall / base:.2f}× | {cpu:.2f} | {server_cpu} |")
    table = "\n".join(rows)
    print(table)
    if args.write_results:
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        replace_section(
            SECTION,
            "\n\n".join(
                [
                    f"Recorded {today} by `bench/fleet_bench.py` on: {machine}; load average {loads[0]} at "
                    f"start, {loads[-1]} at end.",
                    "```sh\n.venv/bin/python bench/fleet_bench.py --targets "
                    f"{args.targets} --migrations {args.migrations} --repeat {args.repeat} --write-results\n```",
                    f"One `lockgate run --targets all` of {args.migrations} generated migrations "
                    f"(`core_bench.MigrationWriter`) to {args.targets} fresh databases on one server, 2 in "
                    "wave 0 and the rest in wave 1; medians of the interleaved rounds. *server CPU* is the "
                    "user + system time of the backends serving the fleet's databases (from /proc).",
                    table,
                    "Past the server's CPU count the targets queue for the same CPUs and commit fsyncs: "
                    "more parallelism stops paying where the server CPU column stops falling per second.",
                ]
            ),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
