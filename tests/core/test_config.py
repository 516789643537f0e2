"""Settings precedence: defaults < config file < LOCKGATE_* env < flags; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockgate.config import load_config
from lockgate.durations import parse_duration_ms
from lockgate.errors import ConfigError


def test_defaults_pick_supabase_migrations_when_present(tmp_path: Path) -> None:
    assert load_config(tmp_path, environ={}).migrations_path == tmp_path / "migrations"
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    assert load_config(tmp_path, environ={}).migrations_path == tmp_path / "supabase" / "migrations"


def test_precedence_file_env_flag(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lockgate]\nlock_timeout = "3s"\nlock_retries = 2\nmigrations_dir = "db/sql"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path, environ={})
    assert (config.lock_timeout_ms, config.lock_retries) == (3000, 2)
    assert config.migrations_path == tmp_path / "db" / "sql"
    config = load_config(tmp_path, environ={"LOCKGATE_LOCK_TIMEOUT": "500ms"})
    assert config.lock_timeout_ms == 500
    config = load_config(
        tmp_path, overrides={"lock_timeout": "1s"}, environ={"LOCKGATE_LOCK_TIMEOUT": "500ms"}
    )
    assert config.lock_timeout_ms == 1000


def test_lockgate_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lockgate]\nlock_retries = 2\n", encoding="utf-8")
    (tmp_path / "lockgate.toml").write_text("lock_retries = 7\n", encoding="utf-8")
    assert load_config(tmp_path, environ={}).lock_retries == 7


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "lockgate.toml").write_text("lock_timout = '2s'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lockgate.toml: lockgate.lock_timout: unknown setting"):
        load_config(tmp_path, environ={})


def test_bad_values_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LOCKGATE_LOCK_TIMEOUT"):
        load_config(tmp_path, environ={"LOCKGATE_LOCK_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="--lock-retries"):
        load_config(tmp_path, overrides={"lock_retries": "-1"}, environ={})
    (tmp_path / "lockgate.toml").write_text("table = 'x; drop table y'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lockgate\.table"):
        load_config(tmp_path, environ={})


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "lockgate.toml").write_text("lock_timeout = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(tmp_path, environ={})


@pytest.mark.parametrize(
    ("text", "ms"),
    [("2s", 2000), ("500ms", 500), ("1.5s", 1500), ("5min", 300_000), ("1h", 3_600_000), ("250", 250)],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


def test_table_names_are_qualified(tmp_path: Path) -> None:
    assert (
        load_config(tmp_path, overrides={"table": "migrations_history"}, environ={}).table
        == "public.migrations_history"
    )


@pytest.mark.parametrize(
    "line",
    [
        'database_url = ["postgresql://deploy:Two@AtS3cret@db.example.com/app"]',
        'database_url = {url = "postgresql://deploy:AtS3cret@db.example.com/app"}',
        "database_url = 5432",
        'migrations_dir = ["postgresql://deploy:AtS3cret@db.example.com/app"]',
        'table = "postgresql://deploy:AtS3cret@db.example.com/app"',
        "log_table = \"host=db user=deploy password='AtS3cret'\"",
        'lock_timeout = "postgresql://deploy:AtS3cret@db.example.com/app"',
    ],
)
def test_a_bad_setting_never_repeats_a_password(
    tmp_path: Path, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A connection string under the wrong key, or of the wrong type, is still a secret: the error names
    # the setting and what it expects, and no fragment of the password.
    (tmp_path / "lockgate.toml").write_text(line + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path, environ={})
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'lockgate.toml'}: lockgate.{line.split(' =')[0]}: ")
    assert "S3cret" not in message and "AtS3" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "environ"),
    [
        ('log_table = "schema_migrations"\n', {}),
        ('table = "ops.history"\n', {"LOCKGATE_LOG_TABLE": "ops.history"}),
    ],
)
def test_the_history_and_the_audit_log_are_two_tables(
    tmp_path: Path, text: str, environ: dict[str, str]
) -> None:
    (tmp_path / "lockgate.toml").write_text(text, encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"^table \(.*\) and log_table \(.*\) are both [a-z_.]+: the audit log"
    ):
        load_config(tmp_path, environ=environ)
