"""Who is calling: a static admin token, or a Supabase JWT whose configured claim makes the user an admin.

Tokens are compared by SHA-256 digest with ``hmac.compare_digest`` against *every* configured digest, so neither
the position of a mismatch nor which token matched shows in the timing. JWTs are checked with exactly one
algorithm family per key source (HS256 for the shared secret, the JWKS key's own asymmetric algorithm for the
URL) so a token can never pick the weaker path ("alg confusion").
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from lockgate.api.settings import AdminClaim, ApiSettings, token_digest

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA")


@dataclass(frozen=True)
class Principal:
    """An authenticated user (an admin, unless carried by a 403): what goes into ``executed_by`` and the log."""

    subject: str
    method: str  # "token" or "jwt"
    email: str | None = None

    @property
    def executed_by(self) -> str | None:
        """The user's UUID for the tracking table's ``executed_by`` column (static tokens have none)."""
        try:
            return str(uuid.UUID(self.subject))
        except ValueError:
            return None

    @property
    def label(self) -> str:
        return self.email or self.subject


class AuthError(Exception):
    """A refused request: 401 (no or bad credentials) or 403 (valid, but not an admin)."""

    def __init__(self, status: int, message: str, user: Principal | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.user = user


class Authenticator:
    """Turns an ``Authorization`` header into a ``Principal`` or an ``AuthError``."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, lifespan=300, timeout=5) if settings.jwks_url else None
        )

    def authenticate(self, authorization: str | None) -> Principal:
        """May block (a JWKS fetch): call it from a worker thread."""
        token = bearer_token(authorization)
        principal = self._static_token(token)
        if principal is not None:
            return principal
        if token.count(".") != 2:
            raise AuthError(401, "the bearer token is neither an admin token nor a JWT")
        claims = self._verify_jwt(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthError(401, "the JWT has no `sub` claim")
        email = claims.get("email")
        user = Principal(subject, "jwt", email if isinstance(email, str) else None)
        if not claim_matches(claims, self.settings.admin_claim):
            raise AuthError(403, f"not an admin: the JWT's {self.settings.admin_claim} is not true", user)
        return user

    def _static_token(self, token: str) -> Principal | None:
        digest = token_digest(token)
        matched: bytes | None = None
        for candidate in self.settings.admin_token_digests:
            if hmac.compare_digest(digest, candidate):
                matched = candidate
        if matched is None:
            return None
        return Principal(f"admin-token:{matched.hex()[:8]}", "token")

    def _verify_jwt(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthError(401, "the bearer token is not a valid JWT") from None
        algorithm = header.get("alg")
        key: Any
        if algorithm == "HS256" and self.settings.jwt_secret:
            key, algorithms = self.settings.jwt_secret, ["HS256"]
        elif algorithm in ASYMMETRIC_ALGORITHMS and self._jwks is not None:
            try:
                key = self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise AuthError(401, f"the JWT's signing key could not be found ({exc})") from None
            algorithms = [algorithm]
        else:
            raise AuthError(401, f"JWTs signed with {algorithm!r} are not accepted by this server")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.settings.jwt_audience,
                options={"require": ["exp", "sub"], "verify_aud": self.settings.jwt_audience is not None},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "the JWT has expired") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError(401, f"the JWT was rejected ({exc})") from None
        return claims


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthError(401, "missing `Authorization: Bearer <token>` header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "the Authorization header must be `Bearer <token>`")
    return token.strip()


def claim_matches(claims: dict[str, Any], claim: AdminClaim) -> bool:
    """Whether the claim at ``claim.path`` equals ``claim.value`` (or is a list containing it)."""
    value: Any = claims
    for part in claim.path:
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    if isinstance(value, list):
        return claim.value in [str(item) for item in value]
    if isinstance(value, bool):
        return str(value).lower() == claim.value.lower()
    return str(value) == claim.value
