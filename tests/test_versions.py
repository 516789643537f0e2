"""One version story: the package, ``lockgate --version``, the pre-commit ``rev:`` in the docs and the Action's
moving major tag in every example all name the same release (docs/github-action.md, "Versions")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from lockgate import __version__

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "examples").rglob("*.yml")),
]


def test_the_package_and_the_code_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == __version__


def test_every_example_uses_the_current_major_tag_or_a_pinned_sha() -> None:
    major = f"v{__version__.split('.')[0]}"
    uses = [
        (path.name, ref)
        for path in DOCUMENTS
        for ref in re.findall(r"uses: lockgate/lockgate@(\S+)", path.read_text(encoding="utf-8"))
    ]
    assert uses, "the docs show how to use the Action"
    for name, ref in uses:
        assert ref == major or re.fullmatch(r"[0-9a-f]{40}", ref), (name, ref)
        assert not ref.startswith("5e1c0ffee"), "a made-up commit fails when copied"


def test_the_pre_commit_rev_is_this_release() -> None:
    revs = re.findall(r"rev: (v\S+)", (ROOT / "docs" / "pre-commit.md").read_text(encoding="utf-8"))
    assert revs and set(revs) == {f"v{__version__}"}
