"""A small GitHub REST API for the Action's tests, spoken over real HTTP so PyGithub is the real client.

Responses follow the shapes recorded in PyGithub's ``tests/ReplayData`` (issue comments, pulls, the
403 "Resource not accessible by integration" an Actions token gets on ``GET /user``): comments are
paginated 30 per page with a ``Link`` header, tokens are ``actions`` (bot author, 403 on /user),
``fork`` (read-only: 403 on writes) or ``pat`` (a user), and failures can be injected — including a
502 returned *after* the write happened, which is what makes naive POST retries duplicate comments.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PER_PAGE_DEFAULT = 30
BOT = {"login": "github-actions[bot]", "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=", "type": "Bot"}
PAT_USER = {"login": "release-manager", "id": 5001, "node_id": "MDQ6VXNlcjUwMDE=", "type": "User"}
HUMAN = {"login": "Codertocat", "id": 21031067, "node_id": "MDQ6VXNlcjIxMDMxMDY3", "type": "User"}
FORBIDDEN = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest",
    "status": "403",
}


@dataclass
class Failure:
    """Answer the next matching request with ``status``; ``perform`` first does the real work."""

    method: str
    path: str
    status: int = 502
    perform: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeGitHub:
    repository: str = "Codertocat/Hello-World"
    tokens: dict[str, str] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1_000_000
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- state helpers for tests --------------------------------------------------------------------
    def seed(self, number: int, count: int, user: dict[str, Any] | None = None, body: str = "LGTM") -> None:
        for index in range(count):
            self._add_comment(number, f"{body} #{index}", user or HUMAN)

    def bodies(self, number: int) -> list[str]:
        return [comment["body"] for comment in self.comments.get(number, [])]

    def ours(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.get(number, []) if c["body"].startswith("<!-- lockgate -->")]

    # -- resources ----------------------------------------------------------------------------------
    def _comment_json(self, number: int, comment: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{self.repository}"
        return {
            "url": f"{api}/issues/comments/{comment['id']}",
            "html_url": f"https://github.com/{self.repository}/pull/{number}#issuecomment-{comment['id']}",
            "issue_url": f"{api}/issues/{number}",
            "id": comment["id"],
            "node_id": f"IC_kwDO{comment['id']}",
            "user": comment["user"],
            "created_at": "2025-01-03T20:15:22Z",
            "updated_at": "2025-01-03T20:15:22Z",
            "author_association": "NONE" if comment["user"]["type"] == "Bot" else "MEMBER",
            "body": comment["body"],
            "reactions": {"url": f"{api}/issues/comments/{comment['id']}/reactions", "total_count": 0},
            "performed_via_github_app": None,
        }

    def _add_comment(self, number: int, body: str, user: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        comment = {"id": self.next_id, "body": body, "user": dict(user)}
        self.comments.setdefault(number, []).append(comment)
        return comment

    def _pull_json(self, number: int, sha: str) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{self.repository}"
        return {
            "url": f"{api}/pulls/{number}",
            "id": 279147437 + number,
            "number": number,
            "state": "closed",
            "title": "Add user preferences",
            "user": HUMAN,
            "html_url": f"https://github.com/{self.repository}/pull/{number}",
            "issue_url": f"{api}/issues/{number}",
            "comments_url": f"{api}/issues/{number}/comments",
            "merge_commit_sha": sha,
            "merged_at": "2025-01-03T20:15:22Z",
            "base": {"ref": "main", "sha": "0" * 40, "repo": {"full_name": self.repository}},
            "head": {"ref": "changes", "sha": "1" * 40, "repo": {"full_name": self.repository}},
        }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as api.github.com; every response has a Content-Length

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _token_kind(self) -> str:
        header = self.headers.get("Authorization", "")
        token = header.split(" ", 1)[1] if " " in header else ""
        return self.server.fake.tokens.get(token, "invalid")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}") if length else {}
        with fake.lock:
            fake.requests.append((method, url.path))
            failure = next(
                (f for f in fake.failures if f.method == method and re.search(f.path, url.path)), None
            )
            if failure is not None:
                fake.failures.remove(failure)
                if failure.perform:
                    self._route(method, url.path, parse_qs(url.query), payload, respond=False)
                body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                if failure.status != 502:
                    body = json.dumps({"message": "You have exceeded a secondary rate limit."}).encode()
                self._send(failure.status, body, failure.headers)
                return
            self._route(method, url.path, parse_qs(url.query), payload, respond=True)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], payload: dict[str, Any], respond: bool
    ) -> None:
        fake = self.server.fake
        kind = self._token_kind()
        send = self._send if respond else (lambda *args, **kwargs: None)
        if kind == "invalid":
            send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            return
        repo = re.escape(fake.repository)
        if method == "GET" and path == "/user":
            send(200, PAT_USER) if kind == "pat" else send(403, FORBIDDEN)
            return
        if match := re.fullmatch(rf"/repos/{repo}/issues/(\d+)/comments", path):
            number = int(match.group(1))
            if method == "GET":
                self._list_comments(number, query, send)
                return
            if method == "POST":
                if kind == "fork":
                    send(403, FORBIDDEN)
                    return
                user = PAT_USER if kind == "pat" else BOT
                comment = fake._add_comment(number, payload["body"], user)
                send(201, fake._comment_json(number, comment))
                return
        if (match := re.fullmatch(rf"/repos/{repo}/issues/comments/(\d+)", path)) and method == "PATCH":
            if kind == "fork":
                send(403, FORBIDDEN)
                return
            for number, comments in fake.comments.items():
                for comment in comments:
                    if comment["id"] == int(match.group(1)):
                        comment["body"] = payload["body"]
                        send(200, fake._comment_json(number, comment))
                        return
        if (match := re.fullmatch(rf"/repos/{repo}/commits/([0-9a-f]+)/pulls", path)) and method == "GET":
            sha = match.group(1)
            send(200, [fake._pull_json(n, sha) for n in fake.commit_pulls.get(sha, [])])
            return
        send(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def _list_comments(self, number: int, query: dict[str, list[str]], send: Any) -> None:
        fake = self.server.fake
        per_page = int(query.get("per_page", [PER_PAGE_DEFAULT])[0])
        page = int(query.get("page", ["1"])[0])
        comments = fake.comments.get(number, [])
        last = max(1, -(-len(comments) // per_page))
        chunk = comments[(page - 1) * per_page : page * per_page]
        base = f"{fake.base_url}/repos/{fake.repository}/issues/{number}/comments"
        links = []
        if page < last:
            links.append(f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{base}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{base}?per_page={per_page}&page=1>; rel="first"')
            links.append(f'<{base}?per_page={per_page}&page={page - 1}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links else {}
        send(200, [fake._comment_json(number, c) for c in chunk], headers)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGitHub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


def serve(fake: FakeGitHub) -> tuple[_Server, threading.Thread]:
    server = _Server(fake)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread
