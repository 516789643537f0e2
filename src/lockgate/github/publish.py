"""The comment step's decisions: whether to comment, on which pull requests, and what to say when we cannot.

Every GitHub failure here becomes a ``::notice::``: the job summary and annotations already carry the
result, and a fork's read-only token must not turn a passing check red.
"""

from __future__ import annotations

from typing import Any

from github import GithubException
from lockgate.github.client import connect
from lockgate.github.event import ActionEnv
from lockgate.github.inputs import ActionInputs
from lockgate.github.model import APPLY
from lockgate.github.sticky import pull_requests_of, upsert
from lockgate.github.workflow import Workflow

READ_ONLY_HINT = (
    "the token cannot write comments (pull requests from forks and Dependabot get a read-only "
    "GITHUB_TOKEN; give the job `pull-requests: write`)"
)


def describe(exc: Exception) -> str:
    if isinstance(exc, GithubException):
        return f"GitHub answered HTTP {exc.status}"
    return f"cannot reach GitHub: {type(exc).__name__}"


def post_comment(env: ActionEnv, inputs: ActionInputs, document: dict[str, Any], workflow: Workflow) -> None:
    if inputs.comment == "never":
        return
    if not inputs.github_token:
        workflow.notice("lockgate: no github-token, so no pull request comment; see the job summary")
        return
    body = str(document.get("comment", ""))
    create = inputs.comment == "always" or bool(document.get("relevant"))
    gh = connect(env.api_url, inputs.github_token)
    try:
        numbers = [int(n) for n in document.get("pull_requests", [])]
        if not numbers and document.get("mode") == APPLY and env.sha:
            numbers = pull_requests_of(gh, env.repository, env.sha)
    except (GithubException, OSError) as exc:
        workflow.notice(f"lockgate: cannot find the pull request of {env.sha[:12]} ({describe(exc)})")
        return
    if not numbers:
        workflow.notice("lockgate: no pull request for this run, so no comment; see the job summary")
        return
    urls: list[str] = []
    for number in numbers:
        try:
            posted = upsert(gh, env.repository, number, body, create=create)
        except (GithubException, OSError) as exc:
            forbidden = isinstance(exc, GithubException) and exc.status in {401, 403, 404}
            reason = READ_ONLY_HINT if forbidden else describe(exc)
            workflow.notice(f"lockgate: no comment on #{number}: {reason}; the job summary has the report")
            continue
        if posted is not None:
            workflow.echo(f"lockgate: {posted.action} the comment on #{number}: {posted.url}")
            urls.append(posted.url)
    if urls:
        workflow.set_output("comment-url", urls[0])
