"""``lockgate serve``: the REST API and dashboard for one project and database, on a local port by default.

It refuses a host other machines can reach unless an admin credential is configured: an open migration
runner on a network is exactly the accident this tool exists to prevent. On a loopback host with no
credential it makes a one-time admin token and prints it, so the local quick start needs no setup.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from lockgate.api.settings import (
    DEFAULT_MAX_HEADER_BYTES,
    MIN_JWT_SECRET_BYTES,
    ApiSettings,
    is_loopback,
    token_digest,
)
from lockgate.console import Output, build_config
from lockgate.errors import ConfigError
from lockgate.options import config_options
from lockgate.service import database_target

# Bounded: at most 64 connections or requests at once (uvicorn answers 503 beyond), idle keep-alive closed after
# 5 s, and h11 refuses a header block still incomplete past 16 KiB; the app itself refuses a complete header block
# over 16 KiB (h11 would accept one that arrives in a single read) and bodies over 16 KiB. No X-Forwarded-For:
# the client address (which the refusal rate limit keys on) is the peer's, never what a request claims.
UVICORN_OPTIONS: dict[str, Any] = {
    "server_header": False,
    "proxy_headers": False,
    "limit_concurrency": 64,
    "timeout_keep_alive": 5,
    "h11_max_incomplete_event_size": DEFAULT_MAX_HEADER_BYTES,
}


def exposure_check(host: str, settings: ApiSettings) -> None:
    """Refuse to listen beyond this machine when nobody could authenticate, or anyone could forge a JWT."""
    if is_loopback(host):
        return
    if not settings.has_credentials:
        raise ConfigError(
            f"refusing to serve on {host}: no admin credential is configured. Set LOCKGATE_ADMIN_TOKENS, "
            "LOCKGATE_JWT_SECRET or LOCKGATE_JWKS_URL, or serve on 127.0.0.1"
        )
    if settings.weak_jwt_secret:
        raise ConfigError(
            f"refusing to serve on {host}: {settings.jwt_secret_variable} is shorter than "
            f"{MIN_JWT_SECRET_BYTES} bytes, so a JWT signed with it can be forged by guessing it; use the "
            "project's real JWT secret (Supabase's are longer), or serve on 127.0.0.1"
        )


@click.command()
@config_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535), help="Port.")
def serve(
    migrations_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    table: str | None,
    host: str,
    port: int,
) -> None:
    """REST API (/api/migrations) and admin dashboard (/) for this project's migrations."""
    create_app, run_server = _server_parts()
    output = Output()
    settings = ApiSettings.from_environ(os.environ)
    exposure_check(host, settings)
    config = build_config(migrations_dir, database_url, config_file, table)
    target = database_target(config, output.notice)
    if not settings.has_credentials:
        token = secrets.token_urlsafe(32)
        settings = replace(settings, admin_token_digests=(token_digest(token),))
        output.notice(f"no admin credential configured: admin token for this session: {token}")
    app = create_app(config, target, settings)
    shown = f"[{host}]" if ":" in host else host
    output.notice(f"lockgate dashboard on http://{shown}:{port}/ for {target.masked}")
    run_server(app, host=host, port=port, log_level="info", **UVICORN_OPTIONS)


def _server_parts() -> tuple[Any, Any]:
    """The web framework, imported before anything is printed or generated (an admin token shown for a
    server that then cannot start would be a token for nothing): without the ``server`` extra, one line
    saying how to install it."""
    try:
        import uvicorn

        from lockgate.api.asgi import create_app
    except ImportError as exc:
        missing = exc.name or str(exc)
        raise ConfigError(
            f"lockgate serve needs the web server, which is not installed ({missing} is missing): "
            "pip install 'lockgate[server]'"
        ) from None
    return create_app, uvicorn.run
