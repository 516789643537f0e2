"""The signing keys behind ``LOCKGATE_JWKS_URL``, fetched and cached so a bad endpoint cannot stall the server.

PyJWT's ``PyJWKClient`` does the fetching and caching; this wraps it for two things it leaves to the caller:

- *every* way the endpoint can fail (down, slow, an HTML error page, JSON that is no key set, keys PyJWT cannot
  use) becomes one ``KeyUnavailable`` with a line saying why, never an exception a request turns into a 500;
- a failure is remembered for ``retry_seconds``: in that time tokens are refused at once instead of every
  request waiting ``timeout`` seconds for the same dead endpoint (which, under a flood, would tie up every
  worker thread).

An unknown ``kid`` refreshes the set at most once per ``cooldown_seconds`` (a rotated key appears; a stream of
made-up kids does not turn into a stream of fetches).
"""

from __future__ import annotations

import threading
import time

import jwt
from jwt import PyJWK, PyJWKClient

from lockgate.errors import first_line

DEFAULT_TIMEOUT_SECONDS = 5.0
RETRY_SECONDS = 10.0
COOLDOWN_SECONDS = 30.0
CACHE_SECONDS = 300.0


class KeyUnavailable(Exception):
    """No key to check the token with; ``str(exc)`` is one line fit for a 401 and the audit log."""


class KeySet:
    """The JWKS endpoint's signing keys, looked up by ``kid``; safe to call from many threads."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        cooldown_seconds: float = COOLDOWN_SECONDS,
    ) -> None:
        self.url = url
        self._client = PyJWKClient(url, lifespan=CACHE_SECONDS, timeout=timeout, cooldown_duration=0)
        self._retry_seconds = retry_seconds
        self._cooldown_seconds = cooldown_seconds
        self._lock = threading.Lock()  # one fetch at a time; the others then use its result
        self._failed: tuple[float, str] | None = None
        self._refreshed_at = -cooldown_seconds

    def key(self, kid: str) -> PyJWK:
        """The signing key named ``kid``, or ``KeyUnavailable``."""
        with self._lock:
            keys = self._keys(refresh=False)
            found = PyJWKClient.match_kid(keys, kid)
            if found is None and time.monotonic() - self._refreshed_at >= self._cooldown_seconds:
                keys = self._keys(refresh=True)
                found = PyJWKClient.match_kid(keys, kid)
            if found is None:
                raise KeyUnavailable(f"no key with kid {kid[:64]!r} at the JWKS URL")
            return found

    def _keys(self, *, refresh: bool) -> list[PyJWK]:
        if self._failed is not None:
            failed_at, reason = self._failed
            if time.monotonic() - failed_at < self._retry_seconds:
                raise KeyUnavailable(reason)
        try:
            keys = self._client.get_signing_keys(refresh=refresh)
        # PyJWTError: down, timed out, not a key set; ValueError: not JSON (PyJWT does not wrap json's error).
        except (jwt.PyJWTError, ValueError) as exc:
            reason = f"the JWKS URL gave no usable keys ({_first_line(exc)})"
            self._failed = (time.monotonic(), reason)
            raise KeyUnavailable(reason) from None
        self._failed = None
        if refresh:
            self._refreshed_at = time.monotonic()
        return keys


def _first_line(exc: Exception) -> str:
    return first_line(exc)[:200]
