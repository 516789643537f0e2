"""``lockgate serve``'s app under a real uvicorn on free loopback ports, with the options ``lockgate serve`` uses.

For what the in-process ``TestClient`` cannot show: real sockets, real concurrency, uvicorn's own limits.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn
from api_helpers import ADMIN_TOKEN, JWT_SECRET

from lockgate.api.asgi import create_app
from lockgate.api.serve import UVICORN_OPTIONS
from lockgate.api.settings import ApiSettings, parse_admin_tokens
from lockgate.config import load_config
from lockgate.db import DatabaseTarget


class LiveServers:
    """Servers started by one test, stopped (lifespan shutdown included) when it ends."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(self, database_url: str, settings: ApiSettings | None = None) -> str:
        config = load_config(cwd=self.project, overrides={"database_url": database_url}, environ={})
        settings = settings or ApiSettings(
            admin_token_digests=parse_admin_tokens(ADMIN_TOKEN), jwt_secret=JWT_SECRET
        )
        app = create_app(config, DatabaseTarget(database_url, "test"), settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on", **UVICORN_OPTIONS))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        self.running.append((server, thread, sock))
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    def stop(self) -> None:
        for server, thread, sock in self.running:
            server.should_exit = True
            thread.join(10)
            sock.close()
        self.running.clear()
