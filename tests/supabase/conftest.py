"""Fixtures for the Supabase interop tests: the real Supabase CLI, a TCP URL to the test database, PgBouncer.

The Supabase CLI (the ``supabase`` npm package) is installed once per machine under the test state directory
(shared by every xdist worker through a file lock). It cannot connect through a unix socket, and the
embedded test server listens only on one, so a small TCP forwarder on 127.0.0.1 bridges the two: the tests
therefore run against whichever server the suite uses (embedded PostgreSQL 18, or PostgreSQL 15 in CI).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict
from sbhelpers import STATE_DIR

from cli_runner import CliResult, run_cli

SUPABASE_CLI_VERSION = "2.117.0"


def _install_cli() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the Supabase CLI interop tests need it (apt-get install npm)")
    base = STATE_DIR / f"supabase-cli-{SUPABASE_CLI_VERSION}"
    binary = base / "node_modules" / ".bin" / "supabase"
    base.mkdir(parents=True, exist_ok=True)
    with (base / "install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            result = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(base),
                    f"supabase@{SUPABASE_CLI_VERSION}",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if result.returncode != 0 and _unreachable(result.stderr):
                pytest.skip(f"the npm registry cannot be reached ({_first_npm_error(result.stderr)})")
            assert result.returncode == 0 and binary.exists(), (
                f"npm install supabase failed: {result.stderr[-2000:]}"
            )
    return binary


NETWORK_ERRORS = (
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "EHOSTUNREACH",
)


def _unreachable(stderr: str) -> bool:
    """npm's own error codes for a registry it cannot reach (offline, DNS, proxy): a skip, not a failure;
    any other npm failure (a missing version, a broken package) still fails the suite."""
    return any(code in stderr for code in NETWORK_ERRORS)


def _first_npm_error(stderr: str) -> str:
    codes = [line for line in stderr.splitlines() if " code " in line or line.startswith("npm ERR! code")]
    return (codes[0] if codes else stderr.strip()[:200]).strip()


@pytest.fixture(scope="session")
def supabase_bin() -> Path:
    return _install_cli()


class _Pipe(socketserver.BaseRequestHandler):
    """Copies bytes both ways between a TCP client and the server's unix socket."""

    server: _Forwarder

    def handle(self) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(self.server.socket_path)
        client: socket.socket = self.request
        thread = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
        thread.start()
        _copy(client, upstream)
        thread.join(timeout=5)
        upstream.close()


def _copy(source: socket.socket, destination: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            destination.shutdown(socket.SHUT_WR)


class _Forwarder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        super().__init__(("127.0.0.1", 0), _Pipe)


@dataclass(frozen=True)
class TcpServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}?sslmode=disable"


@pytest.fixture(scope="session")
def tcp_server(pg_server_url: str) -> Iterator[TcpServer]:
    """The test server over TCP: directly when it listens on TCP, else through a forwarder."""
    params = conninfo_to_dict(pg_server_url)
    host = str(params.get("host") or "/tmp")
    port = int(str(params.get("port") or 5432))
    user = str(params.get("user") or "postgres")
    if not host.startswith("/"):
        yield TcpServer(host, port, user)
        return
    forwarder = _Forwarder(os.path.join(host, f".s.PGSQL.{port}"))
    thread = threading.Thread(target=forwarder.serve_forever, daemon=True)
    thread.start()
    try:
        yield TcpServer("127.0.0.1", forwarder.server_address[1], user)
    finally:
        forwarder.shutdown()
        forwarder.server_close()


@pytest.fixture
def tcp_url(db_url: str, tcp_server: TcpServer) -> str:
    """The test's fresh database, as a TCP URL the Supabase CLI accepts."""
    return tcp_server.url(str(conninfo_to_dict(db_url)["dbname"]))


@pytest.fixture
def sb_project(tmp_path: Path) -> Path:
    """A Supabase project directory: ``supabase/config.toml`` and ``supabase/migrations/``."""
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    (tmp_path / "supabase" / "config.toml").write_text('project_id = "lockgate-test"\n', encoding="utf-8")
    return tmp_path


SupabaseRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def supabase(supabase_bin: Path, sb_project: Path, tcp_url: str) -> SupabaseRunner:
    """``supabase("db", "push")`` runs the real CLI in the project against the test database."""

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SUPABASE_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1"}
        return subprocess.run(
            [str(supabase_bin), *args, "--db-url", tcp_url, "--yes"],
            cwd=sb_project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    return invoke


@pytest.fixture
def lockgate(
    sb_project: Path, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """``lockgate("adopt")`` runs the real CLI in-process in the Supabase project against the test database."""
    monkeypatch.chdir(sb_project)
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", db_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("LOCKGATE_SUPABASE", raising=False)
    # The fixtures here exercise shared history and reverts, and several create tables without RLS on
    # purpose; the lint gate in front of `run` is tested on its own (tests/core/test_lint_gate.py).
    monkeypatch.setenv("LOCKGATE_LINT_ON_RUN", "warn")

    def invoke(*args: str) -> CliResult:
        return run_cli(list(args), capsys)

    return invoke


@dataclass(frozen=True)
class Bouncer:
    """A PgBouncer in transaction mode in front of the test server, with password authentication."""

    port: int
    user: str
    password: str

    def url(self, database: str, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@127.0.0.1:{self.port}/{database}?sslmode=disable"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def pgbouncer(tcp_server: TcpServer) -> Iterator[Bouncer]:
    """PgBouncer (Debian's package) on a free loopback port, pool_mode = transaction."""
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    if binary is None:
        pytest.skip(
            "pgbouncer is not installed (apt-get install pgbouncer; .ci/install-supabase-deps.sh does it)"
        )
    directory = Path(tempfile.mkdtemp(prefix="lockgate-pgbouncer-"))
    directory.chmod(0o755)
    port = _free_port()
    password = "pgb-secret-Zq7"
    (directory / "userlist.txt").write_text(f'"{tcp_server.user}" "{password}"\n', encoding="utf-8")
    (directory / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={tcp_server.host} port={tcp_server.port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = plain",
                f"auth_file = {directory / 'userlist.txt'}",
                "pool_mode = transaction",
                "default_pool_size = 4",
                "max_client_conn = 50",
                "ignore_startup_parameters = extra_float_digits,options",
                f"logfile = {directory / 'pgbouncer.log'}",
                f"pidfile = {directory / 'pgbouncer.pid'}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    for path in directory.iterdir():
        path.chmod(0o644)
    command = [binary, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command[1:1] = ["-u", "nobody" if _user_exists("nobody") else "postgres"]
        shutil.chown(directory, user=command[2])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None:
                    output = process.stdout.read().decode() if process.stdout else ""
                    log = (
                        (directory / "pgbouncer.log").read_text()
                        if (directory / "pgbouncer.log").exists()
                        else ""
                    )
                    pytest.fail(f"pgbouncer exited: {output} {log}")
                time.sleep(0.1)
        yield Bouncer(port, tcp_server.user, password)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
