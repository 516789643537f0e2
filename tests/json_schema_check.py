"""Validate a document against a definition of the JSON Schema shipped in the package.

Importable by name from every test folder (like ``cli_runner``): the CLI, API and Action tests all check
their documents against the same file a consumer would use, ``lockgate/schemas/lockgate.schema.json``.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from lockgate.schemas import json_schema


def schema_errors(document: Any, definition: str | None = None) -> list[str]:
    """Every way ``document`` breaks ``$defs/<definition>`` (the whole schema when None), one line each."""
    schema = json_schema()
    registry: Registry[Any] = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    target = schema if definition is None else {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    validator = Draft202012Validator(
        target, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '(document)'}: {error.message}"
        for error in validator.iter_errors(document)
    )


def assert_matches(document: Any, definition: str) -> None:
    """``document`` is a valid ``definition`` and, like every lockgate document, valid against the file."""
    errors = schema_errors(document, definition)
    assert not errors, f"not a valid {definition}:\n" + "\n".join(errors[:20])
    assert not schema_errors(document), f"the schema's top level refuses this {definition}"
