"""The sticky comment through PyGithub against the fake API: identity, idempotent create, bounded retries."""

from __future__ import annotations

import pytest
from fake_github import BOT, Failure, FakeGitHub
from gh_workspace import ACTIONS_TOKEN, FORK_TOKEN, PAT_TOKEN, REPOSITORY

from github import GithubException
from lockgate.github.client import MAX_ATTEMPTS, connect
from lockgate.github.markdown import MARKER
from lockgate.github.sticky import pull_requests_of, upsert

BODY = f"{MARKER}\nhello"


def no_sleep(seconds: float) -> None:
    assert seconds <= 60


def test_creates_once_then_edits_then_leaves_an_identical_body_alone(fake_github: FakeGitHub) -> None:
    gh = connect(fake_github.base_url, ACTIONS_TOKEN, polite=False)
    assert upsert(gh, REPOSITORY, 3, BODY, sleep=no_sleep).action == "created"  # type: ignore[union-attr]
    assert upsert(gh, REPOSITORY, 3, BODY + "!", sleep=no_sleep).action == "updated"  # type: ignore[union-attr]
    assert upsert(gh, REPOSITORY, 3, BODY + "!", sleep=no_sleep).action == "unchanged"  # type: ignore[union-attr]
    assert fake_github.bodies(3) == [BODY + "!"]
    assert sum(1 for method, _ in fake_github.requests if method == "PATCH") == 1


def test_without_create_only_an_existing_comment_is_edited(fake_github: FakeGitHub) -> None:
    gh = connect(fake_github.base_url, ACTIONS_TOKEN, polite=False)
    assert upsert(gh, REPOSITORY, 3, BODY, create=False) is None
    assert fake_github.bodies(3) == []


def test_a_personal_token_identifies_its_own_comments_by_login(fake_github: FakeGitHub) -> None:
    fake_github.seed(4, 1, user=BOT, body=f"{MARKER}\nanother bot's lockgate")
    gh = connect(fake_github.base_url, PAT_TOKEN, polite=False)
    posted = upsert(gh, REPOSITORY, 4, BODY)
    assert posted is not None and posted.action == "created"
    assert fake_github.bodies(4) == [f"{MARKER}\nanother bot's lockgate #0", BODY]


def test_secondary_rate_limit_waits_as_told(fake_github: FakeGitHub) -> None:
    waits: list[float] = []
    fake_github.failures.append(Failure("POST", "/comments$", 403, headers={"Retry-After": "7"}))
    gh = connect(fake_github.base_url, ACTIONS_TOKEN, polite=False)
    posted = upsert(gh, REPOSITORY, 5, BODY, sleep=waits.append)
    assert posted is not None and posted.action == "created"
    assert waits == [7.0] and len(fake_github.ours(5)) == 1


def test_persistent_5xx_gives_up_after_a_bounded_number_of_attempts(fake_github: FakeGitHub) -> None:
    fake_github.failures.extend(Failure("POST", "/comments$", 503) for _ in range(MAX_ATTEMPTS + 2))
    gh = connect(fake_github.base_url, ACTIONS_TOKEN, polite=False)
    with pytest.raises(GithubException) as raised:
        upsert(gh, REPOSITORY, 6, BODY, sleep=no_sleep)
    assert raised.value.status == 503
    assert sum(1 for method, _ in fake_github.requests if method == "POST") == MAX_ATTEMPTS


def test_forbidden_without_retry_after_is_not_retried(fake_github: FakeGitHub) -> None:
    gh = connect(fake_github.base_url, FORK_TOKEN, polite=False)
    with pytest.raises(GithubException) as raised:
        upsert(gh, REPOSITORY, 6, BODY, sleep=no_sleep)
    assert raised.value.status == 403
    assert sum(1 for method, _ in fake_github.requests if method == "POST") == 1


def test_pull_requests_of_a_merge_commit(fake_github: FakeGitHub) -> None:
    fake_github.commit_pulls["abc123"] = [7, 9]
    gh = connect(fake_github.base_url, ACTIONS_TOKEN, polite=False)
    assert pull_requests_of(gh, REPOSITORY, "abc123") == [7, 9]
    assert pull_requests_of(gh, REPOSITORY, "def456") == []
