"""Who is calling: a static admin token, or a Supabase JWT whose configured claim makes the user an admin.

Tokens are compared by SHA-256 digest with ``hmac.compare_digest`` against *every* configured digest, so neither
the position of a mismatch nor which token matched shows in the timing. JWTs are checked with exactly one
algorithm per key source (HS256 for the shared secret; for the URL, the algorithm of the JWKS key the token's
``kid`` names, which the header's ``alg`` must equal) so a token can never pick the weaker path ("alg
confusion"). Whatever a token holds, the answer is a ``Principal`` or an ``AuthError`` (401/403): PyJWT's many
exception types and a misbehaving JWKS endpoint are all turned into one-line refusals here.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from lockgate.api.jwks import KeySet, KeyUnavailable
from lockgate.api.settings import AdminClaim, ApiSettings, token_digest

ASYMMETRIC_ALGORITHMS = frozenset(
    ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
)
# How far past ``exp`` (and before ``nbf``/``iat``) a JWT is still accepted: clocks of the issuer and this
# server disagree by a few seconds; half a minute covers that without stretching a token's life noticeably.
JWT_LEEWAY_SECONDS = 30
MAX_MESSAGE = 120


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
    """Turns an ``Authorization`` header into a ``Principal`` or an ``AuthError``; no other exception escapes."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._jwks = (
            KeySet(settings.jwks_url, timeout=settings.jwks_timeout_seconds) if settings.jwks_url else None
        )

    @property
    def may_block(self) -> bool:
        """Whether ``authenticate`` may wait on the network (a JWKS fetch): then call it from a worker thread.

        Without a JWKS URL every check is a hash or an HMAC of at most a 16 KiB header, microseconds, so the
        server runs it on the event loop and a flood of bad tokens never queues for threads."""
        return self._jwks is not None

    def authenticate(self, authorization: str | None) -> Principal:
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
        except jwt.PyJWTError:
            raise AuthError(401, "the bearer token is not a valid JWT") from None
        key, algorithm = self._key_for(header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.settings.jwt_audience,
                options={"require": ["exp", "sub"], "verify_aud": self.settings.jwt_audience is not None},
                leeway=JWT_LEEWAY_SECONDS,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "the JWT has expired") from None
        # PyJWTError, not only InvalidTokenError: a key PyJWT cannot use is an InvalidKeyError, and a bad
        # token must be a 401 whatever PyJWT calls it.
        except jwt.PyJWTError as exc:
            raise AuthError(401, f"the JWT was rejected ({_short(str(exc))})") from None
        if not isinstance(claims, dict):
            raise AuthError(401, "the JWT's payload is not a JSON object")
        return claims

    def _key_for(self, header: dict[str, Any]) -> tuple[str | PyJWK, str]:
        """The key and the one algorithm to check a token with: HS256 with the secret, or exactly the
        algorithm of the JWKS key its ``kid`` names, so a header can never pick the path or the family."""
        algorithm = header.get("alg")
        if algorithm == "HS256" and self.settings.jwt_secret:
            return self.settings.jwt_secret, "HS256"
        # A header may hold any JSON there (a list, an object): only a known name gets further.
        if not isinstance(algorithm, str) or algorithm not in ASYMMETRIC_ALGORITHMS or self._jwks is None:
            raise AuthError(
                401, f"JWTs signed with {_short(repr(algorithm))} are not accepted by this server"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError(401, "the JWT names no signing key (`kid`)")
        try:
            key = self._jwks.key(kid)
        except KeyUnavailable as exc:
            raise AuthError(401, f"the JWT's signing key could not be found ({exc})") from None
        if key.algorithm_name != algorithm:
            raise AuthError(
                401,
                f"the JWT says alg {algorithm!r} but its key {_short(repr(kid))} is for {key.algorithm_name!r}",
            )
        return key, algorithm


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


def _short(text: str) -> str:
    """Bound what a token can put into an answer and the audit log (a 16 KiB ``alg`` or ``kid``)."""
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
