"""The OpenAPI 3.1 document served at ``/api/openapi.json``.

Written by hand next to the endpoints (rather than generated from type hints) so that it describes the exact
JSON that ``report.status_json`` and ``report.run_json`` produce — the same documents the CLI prints — and the
test suite checks every response against it with schemathesis.
"""

from __future__ import annotations

from typing import Any

from lockgate import __version__


def _nullable(type_: str) -> dict[str, Any]:
    return {"type": [type_, "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


ENTRY = _object(
    {
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "name": {"type": "string"},
        "state": {
            "type": "string",
            "enum": ["applied", "baselined", "pending", "failed", "running", "missing", "modified"],
        },
        "file": _nullable("string"),
        "checksum": _nullable("string"),
        "recorded_checksum": _nullable("string"),
        "applied_at": _nullable("string"),
        "executed_by": _nullable("string"),
        "execution_time_ms": _nullable("integer"),
        "error_message": _nullable("string"),
        "metadata": _nullable("object"),
    }
)

PROBLEM = _object(
    {
        "code": {"type": "string"},
        "severity": {"type": "string", "enum": ["error", "warning"]},
        "message": {"type": "string"},
        "file": _nullable("string"),
        "line": _nullable("integer"),
        "version": _nullable("integer"),
    }
)

COUNT_NAMES = [
    "applied",
    "baselined",
    "pending",
    "failed",
    "running",
    "modified",
    "missing",
    "errors",
    "warnings",
]

STATUS = _object(
    {
        "schema": {"const": 1},
        "database": {"type": "string", "description": "the database URL without its password"},
        "table": {"type": "string"},
        "migrations_dir": {"type": "string"},
        "counts": _object({name: {"type": "integer", "minimum": 0} for name in COUNT_NAMES}),
        "latest_applied": {"oneOf": [_ref("Entry"), {"type": "null"}]},
        "applied": {"type": "array", "items": _ref("Entry")},
        "pending": {"type": "array", "items": _ref("Entry")},
        "failed": {"type": "array", "items": _ref("Entry")},
        "problems": {"type": "array", "items": _ref("Problem")},
        "valid": {"type": "boolean"},
    }
)

RESULT_ERROR = _object(
    {
        "message": {"type": "string"},
        "sqlstate": _nullable("string"),
        "line": _nullable("integer"),
        "detail": _nullable("string"),
        "hint": _nullable("string"),
        "statements_completed": {"type": "integer"},
    }
)

RESULT = _object(
    {
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "file": {"type": "string"},
        "outcome": {"type": "string", "enum": ["applied", "failed", "skipped", "dry-run-ok", "not-tried"]},
        "duration_ms": {"type": "integer"},
        "attempts": {"type": "integer"},
        "transactional": {"type": "boolean"},
        "note": _nullable("string"),
        "error": {"oneOf": [_ref("ResultError"), {"type": "null"}]},
    }
)

RUN_REPLY = _object(
    {
        "schema": {"const": 1},
        "action": {"type": "string", "enum": ["run", "dry-run"]},
        "ok": {"type": "boolean"},
        "message": {"type": "string"},
        "executed_by": _nullable("string"),
        "dry_run": {"type": "boolean"},
        "blocked": {
            "type": "boolean",
            "description": "validation errors stopped the run before anything ran",
        },
        "applied": {"type": "integer"},
        "failed": {"type": "integer"},
        "results": {"type": "array", "items": _ref("Result")},
        "problems": {"type": "array", "items": _ref("Problem")},
    }
)

VALIDATE_REPLY = _object(
    {
        "schema": {"const": 1},
        "action": {"const": "validate"},
        "ok": {"type": "boolean"},
        "valid": {"type": "boolean"},
        "message": {"type": "string"},
        "problems": {"type": "array", "items": _ref("Problem")},
    }
)

LOG_ENTRY = _object(
    {
        "log_id": {"type": "integer"},
        "logged_at": {"type": "string"},
        "action": {"type": "string"},
        "outcome": {"type": "string"},
        "migration_id": _nullable("string"),
        "version": _nullable("integer"),
        "name": _nullable("string"),
        "checksum": _nullable("string"),
        "previous_checksum": _nullable("string"),
        "execution_time_ms": _nullable("integer"),
        "executed_by": _nullable("string"),
        "error_message": _nullable("string"),
        "sqlstate": _nullable("string"),
        "error_line": _nullable("integer"),
        "metadata": _nullable("object"),
    }
)

HISTORY = _object(
    {
        "schema": {"const": 1},
        "entries": {"type": "array", "items": _ref("LogEntry")},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
        "next_offset": _nullable("integer"),
    }
)

ERROR = _object(
    {
        "schema": {"const": 1},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "holder": {"type": "string", "description": "409 only: who holds the migration lock"},
    },
    required=["schema", "error", "message"],
)

ACTION_REQUEST = {
    "type": "object",
    "properties": {"action": {"type": "string", "enum": ["run", "dry-run", "validate"]}},
    "required": ["action"],
    "additionalProperties": False,
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    descriptions = {
        400: "bad JSON, an unknown action or field, or a bad query parameter",
        401: "no bearer token, or one that is invalid or expired",
        403: "a valid token of a user who is not an admin",
        409: "another run holds the migration lock; `holder` says who",
        413: "the request body is larger than 16 KiB",
        415: "the body is not sent as `Content-Type: application/json`",
        422: "lockgate refused: the tracking table is not lockgate's, a file cannot be read, ...",
        429: "too many refused requests from this address; `Retry-After` says when to try again",
        431: "the request's headers are larger than 16 KiB or more than 100 fields",
        503: "the database cannot be reached",
    }
    responses = {str(code): _json(_ref("Error"), descriptions[code]) for code in codes}
    if "429" in responses:
        seconds = {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}
        responses["429"]["headers"] = {"Retry-After": seconds}
    return responses


def openapi_document() -> dict[str, Any]:
    common = _errors(401, 403, 413, 422, 429, 431, 503)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lockgate",
            "version": __version__,
            "description": "Status, runs and audit log of PostgreSQL schema migrations. Admins only.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/migrations": {
                "get": {
                    "operationId": "getMigrations",
                    "summary": "Applied, pending and failed migrations and the validation report",
                    "responses": {
                        "200": _json(_ref("Status"), "the same document as `lockgate status --json`"),
                        **common,
                    },
                },
                "post": {
                    "operationId": "postMigrations",
                    "summary": "Run, dry-run or validate the migrations in the server's directory",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ActionRequest")}},
                    },
                    "responses": {
                        "200": _json(
                            {"oneOf": [_ref("RunReply"), _ref("ValidateReply")]},
                            "the action ran; `ok` is false for a validate that found errors",
                        ),
                        **_errors(400, 409, 415),
                        "422": _json(
                            {"oneOf": [_ref("RunReply"), _ref("Error")]},
                            "a migration failed (its error and line are in `results`), validation errors "
                            "blocked the run, or lockgate refused",
                        ),
                        **{k: v for k, v in common.items() if k != "422"},
                    },
                },
            },
            "/api/migrations/history": {
                "get": {
                    "operationId": "getHistory",
                    "summary": "The audit log, newest first",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                        },
                        {
                            "name": "offset",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 0,
                                "maximum": 1_000_000_000,
                                "default": 0,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("History"), "one page of the audit log"),
                        **_errors(400),
                        **common,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an admin token (LOCKGATE_ADMIN_TOKENS) or a Supabase JWT of an admin user",
                }
            },
            "schemas": {
                "Entry": ENTRY,
                "Problem": PROBLEM,
                "Status": STATUS,
                "Result": RESULT,
                "ResultError": RESULT_ERROR,
                "RunReply": RUN_REPLY,
                "ValidateReply": VALIDATE_REPLY,
                "LogEntry": LOG_ENTRY,
                "History": HISTORY,
                "Error": ERROR,
                "ActionRequest": ACTION_REQUEST,
            },
        },
    }
