"""The OpenAPI 3.1 document served at ``/api/openapi.json``.

Its response schemas are not written here: they are the ``$defs`` of the JSON Schema shipped in the package
(``lockgate/schemas/lockgate.schema.json``, the one that also describes ``lockgate status|run|validate
--json`` and the Action's report.json), with their ``$ref`` pointers moved under ``components/schemas``.
OpenAPI 3.1 schemas are JSON Schema 2020-12, so they carry over unchanged, and the API cannot describe a
shape the CLI does not print. The test suite checks every response against this document with
schemathesis.
"""

from __future__ import annotations

from typing import Any

from lockgate import __version__
from lockgate.schemas import json_schema

DEFS = "#/$defs/"
COMPONENTS = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"{COMPONENTS}{name}"}


def _moved(node: Any) -> Any:
    """``node`` with every ``$ref`` into the schema's ``$defs`` pointing at the same name in the components."""
    if isinstance(node, dict):
        return {
            key: value.replace(DEFS, COMPONENTS, 1)
            if key == "$ref" and isinstance(value, str)
            else _moved(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_moved(item) for item in node]
    return node


def document_schemas() -> dict[str, Any]:
    """The JSON Schema's definitions as OpenAPI components, one per ``$defs`` entry, same names."""
    return {name: _moved(schema) for name, schema in json_schema()["$defs"].items()}


ACTION_REQUEST = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["run", "dry-run", "validate"]},
        "atomic": {
            "type": "boolean",
            "description": "with run or dry-run: every pending migration in one transaction",
        },
    },
    "required": ["action"],
    "if": {"properties": {"action": {"const": "validate"}}},
    "then": {"properties": {"atomic": {"const": False}}},
    "additionalProperties": False,
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    descriptions = {
        400: "bad JSON, an unknown action or field, or a bad query parameter",
        401: "no bearer token, or one that is invalid or expired",
        403: "a valid token of a user who is not an admin",
        404: "no fleet: the config has no [tool.lockgate.targets]",
        409: "another run holds the migration lock; `holder` says who",
        413: "the request body is larger than 16 KiB",
        415: "the body is not sent as `Content-Type: application/json`",
        422: "lockgate refused: the tracking table is not lockgate's, a file cannot be read, ...",
        429: "too many refused requests from this address; `Retry-After` says when to try again",
        431: "the request's headers are larger than 16 KiB or more than 100 fields",
        503: "the database cannot be reached",
    }
    responses = {str(code): _json(_ref("error"), descriptions[code]) for code in codes}
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
                        "200": _json(_ref("status"), "the same document as `lockgate status --json`"),
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
                            {"oneOf": [_ref("api_run"), _ref("api_validate")]},
                            "the action ran; `ok` is false for a validate that found errors",
                        ),
                        **_errors(400, 409, 415),
                        "422": _json(
                            {"oneOf": [_ref("api_run"), _ref("error")]},
                            "a migration failed (its error and line are in `results`), validation errors "
                            "blocked the run, or lockgate refused",
                        ),
                        **{k: v for k, v in common.items() if k != "422"},
                    },
                },
            },
            "/api/fleet": {
                "get": {
                    "operationId": "getFleet",
                    "summary": "Every target of the fleet: where each stands (read-only)",
                    "responses": {
                        "200": _json(
                            _ref("fleet_report"),
                            "the same document as `lockgate status --targets all --json`",
                        ),
                        **_errors(404),
                        **common,
                    },
                }
            },
            "/api/drift": {
                "get": {
                    "operationId": "getDrift",
                    "summary": "The last drift check of this server (it builds no shadow)",
                    "responses": {
                        "200": _json(
                            _ref("api_drift"), "`checked_at` and `drift` are null before the first check"
                        ),
                        **common,
                    },
                },
                "post": {
                    "operationId": "postDrift",
                    "summary": "Check drift now: the target's schema against the one its applied migrations "
                    "build in a shadow database (LOCKGATE_SHADOW_DATABASE_URL's server, else the embedded "
                    "PostgreSQL); audited",
                    "responses": {
                        "200": _json(
                            _ref("api_drift"),
                            "the check ran; `drift.differences` lists what differs, `drift.error` says why a "
                            "shadow could not be built",
                        ),
                        "409": _json(_ref("error"), "another drift check is running"),
                        **common,
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
                        "200": _json(_ref("history"), "one page of the audit log"),
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
            "schemas": {**document_schemas(), "ActionRequest": ACTION_REQUEST},
        },
    }
