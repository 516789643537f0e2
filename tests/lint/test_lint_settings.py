"""``[tool.lockgate.lint]`` selection and severities, pg_major resolution, and config errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lockgate.errors import ConfigError
from lockgate.lint.configuration import DEFAULT_PG_MAJOR, build_settings, resolve_pg_major
from lockgate.lint.registry import REGISTRY, all_rules
from lockgate.problems import Severity


def test_defaults_enable_every_rule_that_is_not_opt_in() -> None:
    settings = build_settings({})
    assert settings.enabled == {rule.id for rule in all_rules() if not rule.opt_in}
    assert settings.pg_major == DEFAULT_PG_MAJOR == 15


def test_select_replaces_the_default_set_but_keeps_required_rules() -> None:
    settings = build_settings({"select": ["lock-safety"]})
    lock_rules = {rule.id for rule in all_rules() if rule.family == "lock-safety"}
    required = {rule.id for rule in all_rules() if rule.required}
    assert settings.enabled == lock_rules | required


def test_extend_select_ignore_and_severity() -> None:
    settings = build_settings(
        {
            "extend-select": ["all"],
            "ignore": ["cluster", "apply-correctness"],
            "severity": {"set-not-null": "error", "vacuum-full": "off"},
        }
    )
    assert "cluster" not in settings.enabled and "vacuum-full" not in settings.enabled
    assert "mixed-transaction" not in settings.enabled
    assert "syntax-error" in settings.enabled  # required rules stay on
    assert settings.severity(REGISTRY["set-not-null"]) is Severity.ERROR
    assert settings.severity(REGISTRY["index-without-concurrently"]) is Severity.WARNING


def test_flag_selectors_apply_after_the_file() -> None:
    settings = build_settings({"ignore": ["cluster"]}, extra_select=["cluster"], extra_ignore=["vacuum-full"])
    assert "cluster" not in settings.enabled  # ignore wins over select, as in ruff
    assert "vacuum-full" not in settings.enabled


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"selec": ["cluster"]}, "tool.lockgate.lint.selec: unknown setting"),
        ({"select": ["no-such-rule"]}, "tool.lockgate.lint.select: unknown rule or family 'no-such-rule'"),
        ({"ignore": "clusterr"}, "tool.lockgate.lint.ignore: unknown rule or family 'clusterr'"),
        ({"extend-select": [1]}, "tool.lockgate.lint.extend-select: expected a list"),
        ({"severity": {"nope": "error"}}, "tool.lockgate.lint.severity.nope: unknown rule 'nope'"),
        ({"severity": {"cluster": "fatal"}}, "tool.lockgate.lint.severity.cluster: expected one of"),
        ({"severity": "error"}, "tool.lockgate.lint.severity: must be a table"),
        ({"severity": {"syntax-error": "off"}}, "'syntax-error' cannot be turned off"),
        ({"ignore": ["syntax-error"]}, "'syntax-error' cannot be turned off"),
    ],
)
def test_config_errors_name_the_key(table: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_settings(table, config_file=Path("pyproject.toml"))
    assert fragment in str(excinfo.value)
    assert str(excinfo.value).startswith("pyproject.toml: ")


def test_pg_major_from_config_then_supabase_then_default(tmp_path: Path) -> None:
    assert resolve_pg_major(None, tmp_path) == 15
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text("[db]\nport = 54322\nmajor_version = 17\n")
    assert resolve_pg_major(None, tmp_path) == 17
    assert resolve_pg_major(14, tmp_path) == 14


def test_pg_major_from_supabase_dir_beside_migrations(tmp_path: Path) -> None:
    supabase = tmp_path / "app" / "supabase"
    (supabase / "migrations").mkdir(parents=True)
    (supabase / "config.toml").write_text("[db]\nmajor_version = 16\n")
    assert resolve_pg_major(None, tmp_path, supabase / "migrations") == 16


@pytest.mark.parametrize("content", ["[db]\nmajor_version = 'x'\n", "[db\n"])
def test_bad_supabase_config_is_a_config_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text(content)
    with pytest.raises(ConfigError, match=r"supabase/config\.toml"):
        resolve_pg_major(None, tmp_path)


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_settings_and_rule_modules_do_not_import_each_other() -> None:
    """Project knowledge (the Supabase config lookup) lives outside the rule modules, so the settings
    never reach into a rule module and no rule module reaches back into the settings."""
    from lockgate.lint import configuration as settings
    from lockgate.lint import rules

    assert not {
        name for name in _imported_modules(Path(settings.__file__)) if name.startswith(rules.__name__)
    }
    for module in Path(rules.__file__).parent.glob("*.py"):
        assert settings.__name__ not in _imported_modules(module), module.name
