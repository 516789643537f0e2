"""Constants and helpers shared by the API tests: tokens, Supabase-shaped JWTs and migration files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import psycopg
from starlette.testclient import TestClient

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
JWT_SECRET = "test-jwt-secret-with-at-least-32-bytes!"
ADMIN_SUB = "3f1c2b9e-8d4a-4c6f-9b1e-2a7d5e6f8a90"
USER_SUB = "0b7e6c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e"


def make_jwt(
    sub: str = ADMIN_SUB,
    *,
    role: str | None = "admin",
    expires_in: int = 3600,
    secret: str = JWT_SECRET,
    **claims: Any,
) -> str:
    """A Supabase-shaped access token (HS256, aud "authenticated", role in app_metadata)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": sub,
        "aud": "authenticated",
        "role": "authenticated",
        "email": f"{sub[:4]}@example.com",
        "iat": now,
        "exp": now + expires_in,
        "app_metadata": {"provider": "email"} | ({"role": role} if role else {}),
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


def shut_down(client: TestClient) -> None:
    """Stop the app as uvicorn does at exit: the refusals it counted in memory are written to the audit log."""
    client.__exit__(None, None, None)


def audit_rows(db_url: str, where: str = "TRUE") -> list[tuple[Any, ...]]:
    """``(action, outcome, executed_by, error_message, metadata)`` of the audit table, oldest first."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT action, outcome, executed_by::text, error_message, metadata "
            f"FROM public.schema_migrations_log WHERE {where} ORDER BY log_id"
        ).fetchall()


def add(project: Path, filename: str, sql: str) -> Path:
    path = project / "migrations" / filename
    path.write_text(sql, encoding="utf-8")
    return path


AppFactory = Callable[..., TestClient]
"""``make_client(settings=None)``: the app for the test's project and database."""
