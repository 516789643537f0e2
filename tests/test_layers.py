"""The layer rules of DESIGN.md, checked on every import in ``src/lockgate`` (an AST scan, so lazy imports
inside functions count too; imports under ``if TYPE_CHECKING:`` do not, they never run):

- the pipeline (every module that is not a door) never imports a door;
- a door never imports another door — except the launcher (``lockgate.cli``, ``lockgate.commands.app``),
  whose job is to register every door's command;
- the lint stage never imports psycopg; only ``github/`` imports PyGithub; only ``api/`` imports the web
  framework (starlette, uvicorn, jwt);
- no import circles between modules.

``test_a_planted_violation_is_caught`` plants one violation of each kind in a scratch tree and shows the
scan reports it, so this test cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

DOORS = {
    "commands": ("lockgate.cli", "lockgate.commands", "lockgate.__main__"),
    "hooks": ("lockgate.hooks",),
    "github": ("lockgate.github",),
    "api": ("lockgate.api",),
    "lint-cli": ("lockgate.lint.__main__", "lockgate.lint.subcommand"),
}
LAUNCHER = frozenset({"lockgate.cli", "lockgate.commands.app", "lockgate.__main__"})
THIRD_PARTY = {
    # (importer prefix, forbidden import prefix, why)
    "lint-psycopg": ("lockgate.lint", "psycopg", "the lint stage never touches a database"),
    "github-only": ("", "github", "only lockgate.github imports PyGithub"),
    "api-only": ("", ("starlette", "uvicorn", "jwt"), "only lockgate.api imports the web framework"),
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module ``tree`` imports at run time (relative imports resolved, TYPE_CHECKING skipped)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if _type_checking_block(node):
            stack.extend(getattr(node, "orelse", []))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base]) if base else ".".join(package)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))


def import_graph(root: Path) -> dict[str, set[str]]:
    """lockgate module -> the lockgate modules and third-party top-level packages it imports."""
    modules = {module_name(path, root): path for path in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for imported in _imports(tree, name, path.name == "__init__.py"):
            if imported in modules:
                targets.add(imported)
            elif imported.split(".")[0] != "lockgate":
                targets.add(imported.split(".")[0])
        targets.discard(name)
        graph[name] = targets
    return graph


def door_of(module: str) -> str | None:
    for door, prefixes in DOORS.items():
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return door
    return None


def violations(graph: dict[str, set[str]]) -> list[str]:
    found: list[str] = []
    for importer, targets in sorted(graph.items()):
        importer_door = door_of(importer)
        for target in sorted(targets):
            target_door = door_of(target) if target.startswith("lockgate") else None
            if target_door and importer_door is None:
                found.append(f"pipeline imports a door: {importer} -> {target}")
            elif target_door and importer_door and target_door != importer_door and importer not in LAUNCHER:
                found.append(f"door imports another door: {importer} -> {target}")
            for rule, (prefix, forbidden, why) in THIRD_PARTY.items():
                names = (forbidden,) if isinstance(forbidden, str) else forbidden
                if target not in names:
                    continue
                if (
                    (rule == "lint-psycopg" and importer.startswith(prefix))
                    or (rule == "github-only" and door_of(importer) != "github")
                    or (rule == "api-only" and door_of(importer) != "api")
                ):
                    found.append(f"{why}: {importer} -> {target}")
    found += [f"import circle: {' -> '.join(cycle)}" for cycle in circles(graph)]
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of lockgate modules (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    internal = {name: {t for t in targets if t in graph} for name, targets in graph.items()}
    for start in sorted(internal):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(internal[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(internal[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def test_the_source_tree_keeps_the_layer_rules() -> None:
    assert violations(import_graph(SRC)) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"lockgate/plan.py": "from lockgate.hooks import naming\n"}, "pipeline imports a door"),
        ({"lockgate/github/checks.py": "import lockgate.hooks.naming\n"}, "door imports another door"),
        (
            {"lockgate/lint/engine.py": "def f():\n    import psycopg\n"},
            "the lint stage never touches a database",
        ),
        ({"lockgate/service.py": "from github import Github\n"}, "only lockgate.github imports PyGithub"),
        ({"lockgate/report.py": "import starlette.routing\n"}, "only lockgate.api imports the web framework"),
        (
            {
                "lockgate/plan.py": "from lockgate import source\n",
                "lockgate/source.py": "import lockgate.plan\n",
            },
            "import circle: lockgate.plan -> lockgate.source",
        ),
    ],
)
def test_a_planted_violation_is_caught(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    base = {
        "lockgate/__init__.py": "",
        "lockgate/plan.py": "",
        "lockgate/source.py": "",
        "lockgate/service.py": "from lockgate import plan\n",
        "lockgate/report.py": "",
        "lockgate/hooks/__init__.py": "",
        "lockgate/hooks/naming.py": "from lockgate import plan\n",
        "lockgate/github/__init__.py": "",
        "lockgate/github/checks.py": "from lockgate import service\n",
        "lockgate/lint/__init__.py": "",
        "lockgate/lint/engine.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import psycopg\n",
    }
    found = violations(import_graph(_write(tmp_path / "planted", {**base, **files})))
    assert any(expected in line for line in found), found
    clean = violations(import_graph(_write(tmp_path / "clean", base)))
    assert clean == [], clean


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
