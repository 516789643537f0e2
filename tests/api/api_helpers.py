"""Constants and helpers shared by the API tests: tokens, Supabase-shaped JWTs and migration files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
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


def add(project: Path, filename: str, sql: str) -> Path:
    path = project / "migrations" / filename
    path.write_text(sql, encoding="utf-8")
    return path


AppFactory = Callable[..., TestClient]
"""``make_client(settings=None)``: the app for the test's project and database."""
