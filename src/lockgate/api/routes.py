"""The HTTP endpoints: authenticate, parse, call an action in a worker thread, audit, answer JSON.

Everything that touches the database runs in Starlette's thread pool so one slow run never stalls the event
loop — which is what lets a second POST get its 409 while the first is running. A refusal touches neither the
database nor that pool: the token check is a hash or an HMAC done on the event loop (or, with a JWKS URL, in a
few threads of its own, since a key fetch may wait on the network), the audit of the refusal is counted in
memory for the batch writer, and past the per-address rate limit the answer is a 429.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lockgate.api.actions import Actions, Reply, error_document
from lockgate.api.audit import AuditTrail, Caller
from lockgate.api.auth import Authenticator, AuthError
from lockgate.api.openapi import openapi_document
from lockgate.api.payload import BadRequest, is_json, parse_options, parse_page
from lockgate.api.ratelimit import RefusalLimiter

REFUSED = {401: "refused-unauthenticated", 403: "refused-forbidden"}
AUTH_THREADS = 4  # JWKS checks at once; the rest wait for one, not for the threads the actions use


def json_reply(reply: Reply, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(reply.document, status_code=reply.status, headers=headers)


class Endpoints:
    """The request handlers, bound to one project's actions, authenticator and audit trail."""

    def __init__(
        self, actions: Actions, authenticator: Authenticator, audit: AuditTrail, limiter: RefusalLimiter
    ) -> None:
        self.actions = actions
        self.authenticator = authenticator
        self.audit = audit
        self.limiter = limiter
        self.openapi = openapi_document()
        self._auth_threads: CapacityLimiter | None = None  # made on first use, inside the event loop

    async def openapi_json(self, request: Request) -> Response:
        return JSONResponse(self.openapi)

    async def get_migrations(self, request: Request) -> Response:
        caller = await self._authorize(request, "read")
        if isinstance(caller, Response):
            return caller
        return json_reply(await run_in_threadpool(self.actions.status))

    async def get_fleet(self, request: Request) -> Response:
        caller = await self._authorize(request, "read")
        if isinstance(caller, Response):
            return caller
        return json_reply(await run_in_threadpool(self.actions.fleet))

    async def get_drift(self, request: Request) -> Response:
        """The last drift check (cheap: it never builds a shadow)."""
        caller = await self._authorize(request, "read")
        if isinstance(caller, Response):
            return caller
        return json_reply(self.actions.last_drift())

    async def post_drift(self, request: Request) -> Response:
        """A new drift check (a shadow database is built: seconds to minutes), audited like every POST."""
        caller = await self._authorize(request, "request")
        if isinstance(caller, Response):
            return caller
        reply = await run_in_threadpool(self.actions.check_drift)
        await self._record(caller, "drift", reply, _drift_details(reply.document))
        return json_reply(reply)

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
        if not is_json(request.headers.get("content-type")):
            message = "the body must be JSON, sent with `Content-Type: application/json`"
            reply = Reply(
                415, error_document("unsupported-media-type", message), "refused-bad-request", message
            )
            await self._record(caller, "request", reply)
            return json_reply(reply)
        try:
            action, atomic = parse_options(await request.body())
        except BadRequest as exc:
            reply = Reply(400, error_document("bad-request", str(exc)), "refused-bad-request", str(exc))
            await self._record(caller, "request", reply)
            return json_reply(reply)
        if action == "validate":
            reply = await run_in_threadpool(self.actions.validate)
        else:
            reply = await run_in_threadpool(
                self.actions.run, caller, dry_run=action == "dry-run", atomic=atomic
            )
        await self._record(caller, action, reply, _run_details(reply.document))
        return json_reply(reply)

    async def _authorize(self, request: Request, action: str) -> Caller | Response:
        """The caller, or the 401/403/429 response to send instead (counted for the audit, not written)."""
        client = request.client.host if request.client else None
        caller = Caller(client, request.headers.get("user-agent"))
        authorization = request.headers.get("authorization")
        try:
            if self.authenticator.may_block:
                if self._auth_threads is None:
                    self._auth_threads = CapacityLimiter(AUTH_THREADS)
                principal = await anyio.to_thread.run_sync(
                    self.authenticator.authenticate, authorization, limiter=self._auth_threads
                )
            else:
                principal = self.authenticator.authenticate(authorization)
        except AuthError as exc:
            return self._refuse(request, caller, action, exc)
        return Caller(caller.client, caller.user_agent, principal)

    def _refuse(self, request: Request, caller: Caller, action: str, exc: AuthError) -> Response:
        # A 403 knows who asked: the row names the (non-admin) user, as any other row names its user.
        refused = Caller(caller.client, caller.user_agent, exc.user)
        wait = self.limiter.refuse(caller.client)
        if wait is None:
            status, outcome, reason, message = exc.status, REFUSED[exc.status], exc.message, exc.message
            code = "unauthorized" if exc.status == 401 else "forbidden"
            headers = {"WWW-Authenticate": 'Bearer realm="lockgate"'} if exc.status == 401 else {}
        else:
            status, outcome, code = 429, "refused-rate-limited", "rate-limited"
            message = f"too many refused requests from this address: retry after {wait} s"
            reason = f"over the limit of refused requests ({exc.status}: {exc.message})"
            headers = {"Retry-After": str(wait)}
        self.audit.refused(
            refused,
            action,
            outcome,
            status=status,
            reason=reason,
            method=request.method,
            path=request.scope.get("path", ""),
        )
        return JSONResponse(error_document(code, message), status_code=status, headers=headers)

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


def _drift_details(document: dict[str, Any]) -> dict[str, Any]:
    """What a drift check found, in a few keys of the audit row."""
    drift = document.get("drift")
    if not isinstance(drift, dict):
        return {}
    return {"differences": len(drift.get("differences") or []), "error": drift.get("error")}


def _run_details(document: dict[str, Any]) -> dict[str, Any]:
    """What a run did, in a few keys of the audit row (the runner logs each migration in full)."""
    results = document.get("results")
    if not isinstance(results, list):
        return {}
    return {
        "applied": [r["id"] for r in results if r.get("outcome") == "applied"],
        "failed": [r["id"] for r in results if r.get("outcome") == "failed"],
    }
