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

import click

from lockgate.api.settings import ApiSettings, is_loopback, token_digest
from lockgate.commands.common import Output, build_config, config_options
from lockgate.errors import ConfigError
from lockgate.service import database_target


def exposure_check(host: str, settings: ApiSettings) -> None:
    """Refuse to listen beyond this machine when nobody could authenticate anyway."""
    if not is_loopback(host) and not settings.has_credentials:
        raise ConfigError(
            f"refusing to serve on {host}: no admin credential is configured. Set LOCKGATE_ADMIN_TOKENS, "
            "LOCKGATE_JWT_SECRET or LOCKGATE_JWKS_URL, or serve on 127.0.0.1"
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
    output = Output()
    settings = ApiSettings.from_environ(os.environ)
    exposure_check(host, settings)
    config = build_config(migrations_dir, database_url, config_file, table)
    target = database_target(config, output.notice)
    if not settings.has_credentials:
        token = secrets.token_urlsafe(32)
        settings = replace(settings, admin_token_digests=(token_digest(token),))
        output.notice(f"no admin credential configured: admin token for this session: {token}")
    import uvicorn

    from lockgate.api.app import create_app

    app = create_app(config, target, settings)
    shown = f"[{host}]" if ":" in host else host
    output.notice(f"lockgate dashboard on http://{shown}:{port}/ for {target.masked}")
    # Bounded: at most 64 requests in flight (then 503), headers up to uvicorn's 16 KiB, bodies up to 16 KiB.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        server_header=False,
        proxy_headers=False,
        limit_concurrency=64,
        timeout_keep_alive=5,
    )
