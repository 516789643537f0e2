"""What a release needs beside the code: a licence that matches the metadata, a changelog, a security policy,
complete metadata, a bounded pglast, and an sdist that carries the tests and docs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_licence_file_is_the_declared_one() -> None:
    assert PROJECT["project"]["license"] == "MIT"
    assert PROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_changelog_and_security_policy() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog and "Keep a Changelog" in changelog
    security = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    assert "## Reporting a vulnerability" in security and "/security/advisories/new" in security
    assert "## Supported versions" in security


def test_metadata_is_complete() -> None:
    project = PROJECT["project"]
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(project["urls"])
    assert project["authors"] and project["keywords"]
    assert "Development Status :: 3 - Alpha" in project["classifiers"]
    assert "test" not in project.get("optional-dependencies", {}), "dev tools are a dependency group"
    assert any(item.startswith("pytest") for item in PROJECT["dependency-groups"]["test"])


def test_pglast_has_an_upper_bound() -> None:
    (pglast,) = [item for item in PROJECT["project"]["dependencies"] if item.startswith("pglast")]
    assert re.search(r"<\d+", pglast), pglast


def test_the_sdist_carries_tests_docs_and_the_project_files() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
    for line in ("graft tests", "graft docs", "graft bench", "graft examples"):
        assert line in manifest
    for name in ("LICENSE", "CHANGELOG.md", "SECURITY.md", "action.yml"):
        assert name in manifest and (ROOT / name).exists()
