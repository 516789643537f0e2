"""The JSON Schema of every document lockgate writes, shipped inside the package.

``lockgate.schema.json`` (draft 2020-12) describes ``status``/``list``/``validate``/``run --json``, the REST
API's answers and the GitHub Action's report.json; the OpenAPI document is derived from it, so the API
cannot describe a shape the CLI does not print. ``SCHEMA_VERSION`` is the ``schema`` number each document
carries. This module stays import-light (no psycopg, no pipeline): the error paths of the API and the
Action's report use the number without loading the rest of lockgate.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_VERSION = 2
"""Bumped on any rename, removal or change of meaning; fields are only ever added within a number."""

SCHEMA_FILE = "lockgate.schema.json"


@cache
def _schema_text() -> str:
    return files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def json_schema() -> dict[str, Any]:
    """A fresh copy of the schema (callers may rewrite it, as the OpenAPI document does)."""
    document: dict[str, Any] = json.loads(_schema_text())
    return document
