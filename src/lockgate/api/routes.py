"""The HTTP endpoints: authenticate, parse, call an action in a worker thread, audit, answer JSON.

Everything that touches the database or may block (a JWKS fetch) runs in Starlette's thread pool so one slow
run never stalls the event loop — which is what lets a second POST get its 409 while the first is running.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lockgate.api.actions import Actions, Reply, error_document
from lockgate.api.audit import AuditTrail, Caller
from lockgate.api.auth import Authenticator, AuthError
from lockgate.api.openapi import openapi_document
from lockgate.api.payload import BadRequest, parse_action, parse_page

REFUSED = {401: "refused-unauthenticated", 403: "refused-forbidden"}


def json_reply(reply: Reply, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(reply.document, status_code=reply.status, headers=headers)


class Endpoints:
    """The request handlers, bound to one project's actions, authenticator and audit trail."""

    def __init__(self, actions: Actions, authenticator: Authenticator, audit: AuditTrail) -> None:
        self.actions = actions
        self.authenticator = authenticator
        self.audit = audit
        self.openapi = openapi_document()

    async def openapi_json(self, request: Request) -> Response:
        return JSONResponse(self.openapi)

    async def get_migrations(self, request: Request) -> Response:
        caller = await self._authorize(request, "read")
        if isinstance(caller, Response):
            return caller
        return json_reply(await run_in_threadpool(self.actions.status))

    async def get_history(self, request: Request) -> Response:
        caller = await self._authorize(request, "read")
        if isinstance(caller, Response):
            return caller
        try:
            limit, offset = parse_page(request.query_params)
        except BadRequest as exc:
            return json_reply(Reply(400, error_document("bad-request", str(exc)), "refused-bad-request"))
        return json_reply(await run_in_threadpool(self.actions.history, limit, offset))

    async def post_migrations(self, request: Request) -> Response:
        """Every POST is audited, whatever its outcome: the log must show refused attempts too."""
        caller = await self._authorize(request, "request")
        if isinstance(caller, Response):
            return caller
        try:
            action = parse_action(await request.body())
        except BadRequest as exc:
            reply = Reply(400, error_document("bad-request", str(exc)), "refused-bad-request", str(exc))
            await self._record(caller, "request", reply)
            return json_reply(reply)
        if action == "validate":
            reply = await run_in_threadpool(self.actions.validate)
        else:
            reply = await run_in_threadpool(self.actions.run, caller, dry_run=action == "dry-run")
        await self._record(caller, action, reply, _run_details(reply.document))
        return json_reply(reply)

    async def _authorize(self, request: Request, action: str) -> Caller | Response:
        """The caller, or the 401/403 response (audited) to send instead."""
        client = request.client.host if request.client else None
        caller = Caller(client, request.headers.get("user-agent"))
        try:
            principal = await run_in_threadpool(
                self.authenticator.authenticate, request.headers.get("authorization")
            )
        except AuthError as exc:
            reply = Reply(
                exc.status,
                error_document("unauthorized" if exc.status == 401 else "forbidden", exc.message),
                REFUSED[exc.status],
                exc.message,
            )
            # A 403 knows who asked: the row names the (non-admin) user, as any other row names its user.
            refused = Caller(caller.client, caller.user_agent, exc.user)
            await self._record(refused, action, reply, {"method": request.method, "path": request.url.path})
            headers = {"WWW-Authenticate": 'Bearer realm="lockgate"'} if exc.status == 401 else None
            return json_reply(reply, headers)
        return Caller(caller.client, caller.user_agent, principal)

    async def _record(
        self, caller: Caller, action: str, reply: Reply, details: dict[str, Any] | None = None
    ) -> None:
        await run_in_threadpool(
            self.audit.record,
            caller,
            action,
            reply.outcome,
            status=reply.status,
            error_message=reply.error,
            details=details,
        )


def _run_details(document: dict[str, Any]) -> dict[str, Any]:
    """What a run did, in a few keys of the audit row (the runner logs each migration in full)."""
    results = document.get("results")
    if not isinstance(results, list):
        return {}
    return {
        "applied": [r["id"] for r in results if r.get("outcome") == "applied"],
        "failed": [r["id"] for r in results if r.get("outcome") == "failed"],
    }
