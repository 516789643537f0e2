"""Scale benchmark: does the cost per migration stay flat from 100 to 10,000 migrations?

Why: a tool that is fast on a 50-file demo project and quadratic on a five-year-old history fails exactly
when a team depends on it. This script applies 100, 1,000 and 10,000 generated migrations
(``core_bench.MigrationWriter``: realistic tables, indexes, functions, seed data) with the real CLI, then
times ``status``, ``validate`` and ``run`` on the fully applied history (nothing pending: what every CI
job and deploy does first), and states each command's peak memory (max RSS of the process). Time per
migration must stay flat; a column divides by the number of migrations so that growth is visible at a
glance.

Usage (on demand; never part of the test suite)::

    .venv/bin/python bench/scale_bench.py [--database-url URL] [--sizes 100,1000,10000] [--repeat 3]
        [--write-results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # bench/ is not a package: the helper sits beside this script
    DEFAULT_DATABASE_URL,
    BenchError,
    bench_environment,
    load_average,
    lockgate_command,
    machine_summary,
    replace_section,
    scratch_database,
)
from core_bench import MigrationWriter

SECTION = "Scale: run / status / validate at 100, 1,000 and 10,000 migrations"
# (lint joined the table later; the section keeps its name so that --write-results replaces it)


@dataclass(frozen=True)
class Measured:
    """One finished process: wall seconds, its own CPU seconds and its peak resident memory in MiB."""

    wall: float
    cpu: float
    max_rss_mib: float


def run_measured(command: Sequence[str], *, cwd: Path) -> Measured:
    """Run ``command`` and measure that process alone (``wait4`` gives its own rusage, peak memory
    included, which ``RUSAGE_CHILDREN`` cannot: that one keeps the maximum over every child so far)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=bench_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    output = process.stdout.read()
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode not in (0, 1):
        tail = (errors or output).decode(errors="replace").strip().splitlines()[-10:]
        raise BenchError(f"{' '.join(command[:3])} ... exited {process.returncode}:\n" + "\n".join(tail))
    return Measured(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass(frozen=True)
class Row:
    command: str
    migrations: int
    samples: tuple[Measured, ...]

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss(self) -> float:
        return max(s.max_rss_mib for s in self.samples)


def measure_size(admin_url: str, size: int, repeat: int, workdir: Path) -> list[Row]:
    """Apply ``size`` generated migrations to a fresh database, then time the everyday commands on it."""
    project = workdir / f"project_{size}"
    migrations = project / "migrations"
    migrations.mkdir(parents=True)
    MigrationWriter(migrations).write(size)
    lockgate = lockgate_command()
    with scratch_database(admin_url, f"bench_scale_{os.getpid()}_{size}") as url:
        common = ["--dir", str(migrations), "--database-url", url]
        applied = run_measured([*lockgate, "run", *common], cwd=project)
        print(f"  {size:>6} run (all pending)  {applied.wall:8.2f} s  (load {load_average()})", flush=True)
        rows = [Row("run (every migration pending)", size, (applied,))]
        for label, arguments in (
            ("run (nothing pending)", ["run", *common]),
            ("status", ["status", *common]),
            ("validate", ["validate", *common]),
            ("lint (history replayed)", ["lint", "--no-cache", "--jobs", "1", str(migrations)]),
        ):
            samples = tuple(run_measured([*lockgate, *arguments], cwd=project) for _ in range(repeat))
            rows.append(Row(label, size, samples))
            print(f"  {size:>6} {label:<22} {rows[-1].wall:8.3f} s", flush=True)
    return rows


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| command | migrations | median s | ms / migration | CPU s | max RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r.command, r.migrations)):
        lines.append(
            f"| {row.command} | {row.migrations:,} | {row.wall:.3f} | {row.wall * 1000 / row.migrations:.3f} | "
            f"{row.cpu:.3f} | {row.rss:.0f} |"
        )
    return "\n".join(lines)


def growth(rows: Sequence[Row]) -> str:
    """Per-migration cost at the largest size ÷ at 1,000, per command: ~1 (or below, as fixed start-up
    costs spread) means linear; a quadratic step would show as ~10 between 1,000 and 10,000."""
    parts = []
    for command in sorted({r.command for r in rows}):
        by_size = {r.migrations: r for r in rows if r.command == command}
        sizes = sorted(by_size)
        if len(sizes) < 2:
            continue
        small, large = by_size[sizes[-2]], by_size[sizes[-1]]
        ratio = (large.wall / large.migrations) / (small.wall / small.migrations)
        parts.append(f"{command}: {ratio:.2f}×")
    return "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated numbers of migrations")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each read-only command (median)")
    parser.add_argument("--write-results", action="store_true", help=f"rewrite the '{SECTION}' section")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    machine = machine_summary(args.database_url)
    print(f"machine: {machine}")
    loads = [load_average()]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lockgate-scale-bench-") as tmp:
        for size in sizes:
            rows += measure_size(args.database_url, size, args.repeat, Path(tmp))
    loads.append(load_average())
    print(table(rows))
    print(f"per-migration cost, largest size ÷ the one before: {growth(rows)}")
    if args.write_results:
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        body = "\n\n".join(
            [
                f"Recorded {today} by `bench/scale_bench.py` on: {machine}; load average {loads[0]} at start, "
                f"{loads[-1]} at end.",
                "```sh\n.venv/bin/python bench/scale_bench.py --database-url "
                f"'{args.database_url}' --sizes {args.sizes} --repeat {args.repeat} --write-results\n```",
                "Each size is a fresh database: `run` applies every generated migration (one process), then "
                "`run` with nothing pending, `status`, `validate` and `lint --no-cache` (one process, no result cache, each file judged "
                "against the schema the files before it build) run on the applied history (fresh "
                "processes, start-up included, median of the repeats). *max RSS* is each process's own peak "
                "resident memory (`wait4`).",
                table(rows),
                f"Cost per migration at the largest size ÷ at the size before: {growth(rows)} — ≤ 1 means no "
                "super-linear step (fixed start-up costs spread over more migrations).",
            ]
        )
        replace_section(SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
