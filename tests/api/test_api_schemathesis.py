"""Property-based check of the served OpenAPI document: generated requests (valid and invalid) must never get a
5xx, and every response must match the document (status code, content type, JSON schema).

Runs schemathesis in-process against the ASGI app and a real database, with a bounded number of examples per
operation so it stays well under a minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from api_helpers import ADMIN, ADMIN_TOKEN, JWT_SECRET, add
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from lockgate.api.asgi import create_app
from lockgate.api.settings import ApiSettings, parse_admin_tokens
from lockgate.config import load_config
from lockgate.db import DatabaseTarget

pytestmark = [pytest.mark.db, pytest.mark.slow]

EXAMPLES_PER_OPERATION = 30


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_generated_requests_conform_to_the_openapi_document(
    project: Path, db_url: str, pg_server_url: str, mode: GenerationMode
) -> None:
    add(project, "20250101000000_create_notes.sql", "CREATE TABLE notes (id bigint PRIMARY KEY);\n")
    add(project, "20250102000000_add_body.sql", "ALTER TABLE notes ADD COLUMN body text;\n")
    config = load_config(cwd=project, overrides={"database_url": db_url}, environ={})
    # Schemathesis checks that requests without the token get 401/403; its hundreds of them must not turn
    # into the rate limit's 429 (tested in test_api_flood.py).
    settings_ = ApiSettings(
        admin_token_digests=parse_admin_tokens(ADMIN_TOKEN),
        jwt_secret=JWT_SECRET,
        refusals_per_minute=100_000,
        shadow_database_url=pg_server_url,  # POST /api/drift builds its shadows there
    )
    app = create_app(config, DatabaseTarget(db_url, "test"), settings_)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert sorted(f"{o.method.upper()} {o.path}" for o in operations) == [
        "GET /api/drift",
        "GET /api/fleet",
        "GET /api/migrations",
        "GET /api/migrations/history",
        "POST /api/drift",
        "POST /api/migrations",
    ]
    if mode == GenerationMode.NEGATIVE:
        # GET /api/migrations, GET /api/fleet and both /api/drift take no input: nothing to make invalid.
        operations = [
            o
            for o in operations
            if not (o.method == "get" and o.path in {"/api/migrations", "/api/fleet"})
            and o.path != "/api/drift"
        ]
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, headers=ADMIN))
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate()

        conforms()
