"""Settings of ``lockgate serve`` that the migration pipeline does not need: who may call it and how.

They come from the environment (``LOCKGATE_ADMIN_TOKENS``, ``LOCKGATE_JWT_SECRET``...) rather than the project's
config file, because they are secrets or deployment facts, and a config file is committed to git. Admin tokens
are hashed as soon as they are read: the process never keeps a plaintext token it could leak.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from lockgate.errors import ConfigError

DEFAULT_ADMIN_CLAIM = "app_metadata.role=admin"
DEFAULT_MAX_BODY_BYTES = 16 * 1024
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_REFUSALS_PER_MINUTE = 30
DEFAULT_AUDIT_FLUSH_SECONDS = 2.0
# RFC 7518 3.2: an HS256 key must be at least as long as the hash (256 bits); PyJWT warns below that too.
MIN_JWT_SECRET_BYTES = 32
_HASHED = re.compile(r"^sha256:([0-9a-f]{64})$")


def token_digest(token: str) -> bytes:
    """SHA-256 of a token: what is kept and compared, so a memory dump or log never shows a token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class AdminClaim:
    """The JWT claim that makes a user an admin: a dotted path and the value it must hold (or contain)."""

    path: tuple[str, ...]
    value: str

    @classmethod
    def parse(cls, text: str) -> AdminClaim:
        path, sep, value = text.partition("=")
        parts = tuple(p for p in path.strip().split(".") if p)
        if not sep or not parts or not value.strip():
            raise ConfigError(
                f"LOCKGATE_ADMIN_CLAIM: expected dotted.claim.path=value (like {DEFAULT_ADMIN_CLAIM}), got {text!r}"
            )
        return cls(parts, value.strip())

    def __str__(self) -> str:
        return f"{'.'.join(self.path)} == {self.value!r}"


@dataclass(frozen=True)
class ApiSettings:
    """Credentials and limits of the API server."""

    admin_token_digests: tuple[bytes, ...] = ()
    jwt_secret: str | None = None
    jwks_url: str | None = None
    jwt_audience: str | None = "authenticated"
    admin_claim: AdminClaim = AdminClaim(("app_metadata", "role"), "admin")
    jwt_secret_variable: str = "LOCKGATE_JWT_SECRET"
    jwks_timeout_seconds: float = 5.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    refusals_per_minute: int = DEFAULT_REFUSALS_PER_MINUTE
    audit_flush_seconds: float = DEFAULT_AUDIT_FLUSH_SECONDS
    shadow_database_url: str | None = None
    """Where ``POST /api/drift`` builds its shadow (a server whose user may CREATE DATABASE); default the
    embedded PostgreSQL. A deployment fact like the others here, so ``LOCKGATE_SHADOW_DATABASE_URL``."""

    @property
    def has_credentials(self) -> bool:
        """Whether anyone at all could authenticate (the server refuses a public host otherwise)."""
        return bool(self.admin_token_digests or self.jwt_secret or self.jwks_url)

    @property
    def weak_jwt_secret(self) -> bool:
        """A JWT secret short enough to guess offline from one captured token (refused beyond loopback)."""
        return self.jwt_secret is not None and len(self.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ApiSettings:
        audience = environ.get("LOCKGATE_JWT_AUDIENCE", "authenticated").strip()
        variable = "LOCKGATE_JWT_SECRET" if environ.get("LOCKGATE_JWT_SECRET") else "SUPABASE_JWT_SECRET"
        return cls(
            admin_token_digests=parse_admin_tokens(environ.get("LOCKGATE_ADMIN_TOKENS", "")),
            jwt_secret=environ.get(variable) or None,
            jwt_secret_variable=variable,
            jwks_url=environ.get("LOCKGATE_JWKS_URL") or None,
            jwt_audience=audience or None,
            admin_claim=AdminClaim.parse(environ.get("LOCKGATE_ADMIN_CLAIM") or DEFAULT_ADMIN_CLAIM),
            shadow_database_url=environ.get("LOCKGATE_SHADOW_DATABASE_URL", "").strip() or None,
        )


def parse_admin_tokens(text: str) -> tuple[bytes, ...]:
    """Comma-separated tokens, each plaintext or ``sha256:<hex>`` (so the environment need not hold them)."""
    digests: list[bytes] = []
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            continue
        hashed = _HASHED.match(token.lower())
        if hashed:
            digests.append(bytes.fromhex(hashed.group(1)))
        elif len(token) < 16:
            raise ConfigError(
                "LOCKGATE_ADMIN_TOKENS: every admin token must be at least 16 characters "
                "(generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        else:
            digests.append(token_digest(token))
    return tuple(digests)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: hosts no other machine can reach."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
