"""Helpers shared by the benchmarks in ``bench/`` (timing, scratch databases, ``RESULTS.md`` sections).

The benchmarks are run on demand, never by the test suite: they need a real PostgreSQL server and take
minutes. Each one owns one ``##`` section of ``bench/RESULTS.md`` and rewrites only that section, so
several benchmarks (core, lint, action) can record their figures in one file without clobbering each other.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

RESULTS_INTRO = """# lockgate benchmarks

Figures recorded by the on-demand benchmarks in `bench/` (they are not part of the test suite: they need a
real PostgreSQL server and take minutes). Each `##` section below is owned and rewritten by one script;
re-run the command it names to refresh it. Times are wall-clock seconds, medians of repeated runs, and
include process start-up unless a section says otherwise.
"""


class BenchError(RuntimeError):
    """A contender failed (non-zero exit); the benchmark stops rather than report a meaningless time."""


@dataclass(frozen=True)
class Sample:
    """One finished command: wall seconds, the CPU seconds it used itself, and what it printed."""

    wall: float
    cpu: float
    stdout: str


@dataclass(frozen=True)
class Timing:
    """Samples of one measured command, in seconds: wall clock, and the command's own CPU (user + system).

    On a shared machine the wall clock swings with other load; the command's own CPU time does not, so it
    shows the client-side overhead (Python, parsing, start-up) even when wall-clock ratios are noisy."""

    label: str
    samples: tuple[float, ...]
    cpu: tuple[float, ...] = ()
    server_cpu: tuple[float, ...] = ()

    @property
    def server_cpu_median(self) -> float | None:
        return statistics.median(self.server_cpu) if self.server_cpu else None

    @property
    def work_median(self) -> float | None:
        """Median of client + server CPU seconds: the work a contender causes, whatever the machine's load."""
        if not self.server_cpu:
            return None
        return statistics.median(c + s for c, s in zip(self.cpu, self.server_cpu, strict=True))

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def worst(self) -> float:
        return max(self.samples)


def lockgate_command() -> list[str]:
    """The installed ``lockgate`` console script next to this interpreter (what users run), else ``-m``."""
    script = Path(sys.executable).parent / "lockgate"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "lockgate"]


def bench_environment() -> dict[str, str]:
    """The current environment minus anything that could point lockgate at another database or config.

    Every contender gets its database explicitly, so a stray ``DATABASE_URL`` or ``PGDATABASE`` in the
    caller's shell must not change what is measured. ``PYTHONDONTWRITEBYTECODE`` is dropped too: an installed
    tool starts from cached bytecode, and recompiling every module at each start-up would inflate ``status``."""
    blocked = ("DATABASE_URL", "LOCKGATE_", "PGDATABASE", "PGSERVICE", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(blocked)}
    env["NO_COLOR"] = "1"
    return env


def run_timed(command: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> Sample:
    """Run ``command`` to completion and measure it; ``BenchError`` if it fails.

    Wall time includes interpreter start-up and imports on purpose: that is what a user or CI job waits for.
    CPU time is the child's (and its waited-for children's) user + system time, from the rusage of children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        list(command),
        cwd=cwd,
        env=dict(env or bench_environment()),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-15:]
        raise BenchError(f"{' '.join(command[:3])} ... exited {completed.returncode}:\n" + "\n".join(tail))
    return Sample(elapsed, cpu, completed.stdout)


def run_timed_any(command: Sequence[str], *, cwd: Path) -> Sample:
    """Like ``run_timed`` for linters, whose exit code says whether they found something (not a failure)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        list(command), cwd=cwd, env=bench_environment(), capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode not in (0, 1):
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-15:]
        raise BenchError(f"{' '.join(command[:3])} ... exited {completed.returncode}:\n" + "\n".join(tail))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(elapsed, cpu, completed.stdout)


def database_url(admin_url: str, dbname: str) -> str:
    """``admin_url`` with its database replaced (a key=value conninfo, which psycopg, libpq and psql accept)."""
    params = conninfo_to_dict(admin_url)
    params["dbname"] = dbname
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def drop_database(admin_url: str, dbname: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


@contextmanager
def scratch_database(admin_url: str, dbname: str) -> Iterator[str]:
    """A freshly created empty database, dropped afterwards (also when the benchmark fails)."""
    drop_database(admin_url, dbname)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield database_url(admin_url, dbname)
    finally:
        drop_database(admin_url, dbname)


def server_version(admin_url: str) -> str:
    with psycopg.connect(admin_url) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('synchronous_commit')"
        ).fetchone()
    assert row is not None
    return f"PostgreSQL {row[0]} (synchronous_commit={row[1]})"


def load_average() -> str:
    """The 1-minute load average: on a shared machine it explains noisy samples better than anything else."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"


def lockgate_revision() -> str:
    """Which lockgate was measured: version, commit, and whether the work tree had uncommitted changes."""
    from lockgate import __version__

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = " + uncommitted changes in src/" if git("status", "--porcelain", "--", "src") else ""
    return f"lockgate {__version__} at {commit}{dirty}"


def machine_summary(admin_url: str) -> str:
    """One line describing where the figures come from, so that they are never compared blindly."""
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = f", {match.group(1).strip()}" if match else ""
    psql = shutil.which("psql")
    return (
        f"{lockgate_revision()}; {os.cpu_count()} CPU(s){cpu}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; psycopg {psycopg.__version__} ({psycopg.pq.__impl__}); "
        f"{server_version(admin_url)}; psql {'found' if psql else 'missing'}"
    )


def replace_section(heading: str, body: str, path: Path = RESULTS_FILE) -> None:
    """Replace the ``## heading`` section of ``path`` (up to the next ``## ``) with ``body``; append if absent.

    Other sections — owned by other benchmarks — are kept byte for byte."""
    text = path.read_text() if path.is_file() else RESULTS_INTRO
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)


class BackendCpu:
    """Samples the CPU time of the server backends serving one database (``dbname``, a LIKE pattern: several
    databases, e.g. a fleet's ``bench_fleet_%``) while a contender runs.

    Why: on a shared machine wall-clock ratios swing with other people's load, but the CPU a contender makes
    the server spend (plus its own client CPU) is the work it causes, and that hardly moves with load. Only
    possible when the server runs on this machine and ``/proc`` shows its processes; otherwise ``total`` is
    None. A backend's CPU after the last sample (at most ``interval``) is lost, which is negligible over a
    run of hundreds of migrations."""

    def __init__(self, admin_url: str, dbname: str, interval: float = 0.05) -> None:
        self.admin_url = admin_url
        self.dbname = dbname
        self.interval = interval
        self.ticks: dict[int, int] = {}
        self.available = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> BackendCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def total(self) -> float | None:
        """Seconds of user + system CPU of every backend seen, or None if they could not be observed."""
        if not self.available:
            return None
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")

    def _poll(self) -> None:
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                while True:
                    rows = conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname LIKE %s", (self.dbname,)
                    ).fetchall()
                    for (pid,) in rows:
                        ticks = _process_ticks(pid)
                        if ticks is not None:
                            self.ticks[pid] = max(ticks, self.ticks.get(pid, 0))
                        elif not self.ticks:
                            self.available = False  # a remote server, or /proc hidden from us
                    if self._stop.wait(self.interval):
                        return
        except psycopg.Error:
            self.available = False


def _process_ticks(pid: int) -> int | None:
    """utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat), None if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces: skip past it
    return int(fields[11]) + int(fields[12])
