"""One lockgate comment per pull request, edited in place on every run and never duplicated.

Which comment is ours: its body starts with the hidden marker ``<!-- lockgate -->`` *and* it was
written by us. With a personal access token ``GET /user`` names us. The Actions ``GITHUB_TOKEN`` and
GitHub App installation tokens get 403 there; their comments are authored by a bot account
(``github-actions[bot]`` or ``<app-slug>[bot]``), so then we accept a marked comment by any ``Bot``
user. A human cannot author as a bot, so pasting the marker into a comment never makes us edit it.

Creating is made idempotent by listing before every POST attempt: if an earlier attempt's POST reached
GitHub but its response was lost (a 502), the listing finds that comment and we edit it instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from github import GithubException
from lockgate.github.client import MAX_ATTEMPTS, is_transient, wait_before_retry, with_retries
from lockgate.github.markdown import MARKER

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.IssueComment import IssueComment

    from github import Github

BOT_TYPE = "Bot"


@dataclass(frozen=True)
class Posted:
    """What happened to the comment on one pull request: ``created``, ``updated`` or ``unchanged``."""

    number: int
    action: str
    url: str


def own_login(gh: Github) -> str | None:
    """The token's user login, or None for Actions/App tokens (GitHub answers 403 on ``GET /user``)."""
    try:
        return with_retries(lambda: gh.get_user().login)
    except GithubException as exc:
        if exc.status in {401, 403, 404}:
            return None
        raise


def is_ours(comment: IssueComment, login: str | None) -> bool:
    if not comment.body or not comment.body.lstrip().startswith(MARKER):
        return False
    user = comment.user
    if user is None:
        return False
    return user.login == login if login else user.type == BOT_TYPE


def find_ours(issue: Issue, login: str | None) -> IssueComment | None:
    """The first of our marked comments, reading every page (a busy PR has hundreds of comments)."""

    def scan() -> IssueComment | None:
        return next((c for c in issue.get_comments() if is_ours(c, login)), None)

    return with_retries(scan)


def upsert(
    gh: Github,
    repository: str,
    number: int,
    body: str,
    *,
    create: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Posted | None:
    """Edit our comment on PR ``number`` or create it (unless ``create`` is False); None if skipped."""
    issue = gh.get_repo(repository).get_issue(number)
    login = own_login(gh)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        existing = find_ours(issue, login)
        if existing is not None:
            if existing.body == body:
                return Posted(number, "unchanged", existing.html_url)
            _edit(existing, body, sleep)
            return Posted(number, "updated", existing.html_url)
        if not create:
            return None
        try:
            created = issue.create_comment(body)
        except (GithubException, OSError) as exc:
            if attempt == MAX_ATTEMPTS or not is_transient(exc):
                raise
            sleep(wait_before_retry(exc, attempt))
            continue
        return Posted(number, "created", created.html_url)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _edit(comment: IssueComment, body: str, sleep: Callable[[float], None]) -> None:
    with_retries(lambda: comment.edit(body), sleep=sleep)


def pull_requests_of(gh: Github, repository: str, sha: str) -> list[int]:
    """Pull requests whose merge produced ``sha`` (``GET /repos/{repo}/commits/{sha}/pulls``)."""
    commit = gh.get_repo(repository).get_commit(sha)
    return with_retries(lambda: [pull.number for pull in commit.get_pulls()])
