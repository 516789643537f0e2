"""PyGithub, configured for a CI step: our own bounded retries instead of PyGithub's.

PyGithub's default ``GithubRetry`` retries POST on every 5xx. A 502 from GitHub's front end often
means the comment *was* created, so a blind retry posts it twice; ``sticky`` therefore re-lists before
re-posting, and this module only retries what is safe to repeat (reads and edits) or what GitHub
explicitly asked us to repeat (secondary rate limits with ``Retry-After``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from github import Auth, Github, GithubException

T = TypeVar("T")

MAX_ATTEMPTS = 4
MAX_WAIT_SECONDS = 60.0
BACKOFF_SECONDS = 1.0


def connect(api_url: str, token: str, *, polite: bool = True) -> Github:
    """A lazy client (no request until one is needed) without PyGithub's own retries.

    ``polite`` keeps PyGithub's pacing (0.25 s between requests, 1 s between writes), which is GitHub's
    advice for avoiding secondary rate limits; tests against a local server turn it off.
    """
    if polite:
        return Github(base_url=api_url, auth=Auth.Token(token), retry=None, timeout=30, lazy=True)
    return Github(
        base_url=api_url,
        auth=Auth.Token(token),
        retry=None,
        timeout=30,
        lazy=True,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def retry_after(exc: GithubException) -> float | None:
    """Seconds GitHub asked us to wait (secondary rate limit / abuse detection), or None."""
    headers = {key.lower(): value for key, value in (exc.headers or {}).items()}
    value = headers.get("retry-after")
    if value is None and exc.status in {403, 429} and headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset")
        if reset and reset.isdigit():
            return max(0.0, float(reset) - time.time())
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def is_transient(exc: Exception) -> bool:
    """A network error, a 5xx, or a 403/429 that carries a wait: all go away if we wait and retry.

    (``requests``' errors are ``OSError`` subclasses, so no import of ``requests`` is needed.)
    """
    if isinstance(exc, OSError):
        return True
    if not isinstance(exc, GithubException):
        return False
    if exc.status >= 500:
        return True
    return exc.status in {403, 429} and retry_after(exc) is not None


def wait_before_retry(exc: Exception, attempt: int) -> float:
    hinted = retry_after(exc) if isinstance(exc, GithubException) else None
    base = hinted if hinted is not None else BACKOFF_SECONDS * 2 ** (attempt - 1)
    return min(base, MAX_WAIT_SECONDS)


def with_retries(
    call: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep, attempts: int = MAX_ATTEMPTS
) -> T:
    """``call()`` again after transient failures, at most ``attempts`` times; only for idempotent calls."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except (GithubException, OSError) as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            sleep(wait_before_retry(exc, attempt))
    raise AssertionError("unreachable: the last attempt returns or raises")
