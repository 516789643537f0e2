"""Every numeric setting is checked when it is read, wherever it comes from (flag, environment variable,
config file, lint flag, Supabase config): exit 2, one line naming the setting, its origin and its range."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

from cli_runner import CliResult, run_cli
from lockgate.config import load_config
from lockgate.durations import parse_duration_ms
from lockgate.errors import ConfigError
from lockgate.limits import PG_MAX_MS

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


@pytest.fixture
def cli(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI in ``project``; settings are refused before any connection, so no database is needed
    (the URL is unreachable: reaching it would fail the test's message check)."""
    monkeypatch.chdir(project)
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", UNREACHABLE)
    for name in ("DATABASE_URL", "LOCKGATE_RETRY_BACKOFF", "LOCKGATE_LOCK_RETRIES", "LOCKGATE_CONFIG"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str) -> CliResult:
        return run_cli(list(args), capsys)

    return invoke


def assert_usage_error(result: CliResult, *fragments: str) -> None:
    assert result.code == 2, result.text
    assert "Traceback" not in result.text
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


DURATION_FLAGS = [
    ("--lock-timeout", "3000000s", "out of range: expected 1ms to 2147483647ms"),
    ("--lock-timeout", "0", "0 (no timeout) is refused"),
    ("--lock-timeout", "", "is not a duration"),
    ("--statement-timeout", "2147483648ms", "out of range: expected 1ms to 2147483647ms"),
    ("--statement-timeout", "1e309s", "is not a duration"),
    ("--lock-wait", "-5s", "cannot be negative"),
    ("--lock-wait", "0.5ms", "not a whole number of milliseconds"),
    ("--lock-wait", "1" + "0" * 40 + "s", "far too large"),
    ("--lock-retries", "-1", "out of range: expected 0 to 100"),
    ("--lock-retries", "101", "out of range: expected 0 to 100"),
]


@pytest.mark.parametrize(("flag", "value", "fragment"), DURATION_FLAGS)
def test_flags(cli: CliRunner, flag: str, value: str, fragment: str) -> None:
    assert_usage_error(cli("run", flag, value), f"error: {flag}: ", fragment)


ENVIRONMENT = [
    ("LOCKGATE_LOCK_TIMEOUT", "25d", "expected 1ms to 2147483647ms"),
    ("LOCKGATE_STATEMENT_TIMEOUT", "NaN", "is not a duration"),
    ("LOCKGATE_LOCK_WAIT", "30 fortnights", "is not a duration"),
    ("LOCKGATE_RETRY_BACKOFF", "2h", "expected 0ms to 3600000ms"),
    ("LOCKGATE_RETRY_BACKOFF", "-0.5s", "cannot be negative"),
    ("LOCKGATE_MAX_VERSION_GAP", "36501d", "out of range: expected 0ms to"),
    ("LOCKGATE_LOCK_RETRIES", "1.5", "is not a whole number"),
    ("LOCKGATE_LOCK_RETRIES", "9" * 50, "out of range: expected 0 to 100"),
    ("LOCKGATE_PG_MAJOR", "8", "out of range: expected 9 to 99"),
    ("LOCKGATE_PG_MAJOR", "fifteen", "is not a whole number"),
]


@pytest.mark.parametrize(("variable", "value", "fragment"), ENVIRONMENT)
@pytest.mark.parametrize("command", ["status", "validate"])
def test_environment(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, command: str, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert_usage_error(cli(command), f"error: environment variable {variable}: ", fragment)


CONFIG_FILE = [
    ("lock_timeout", "inf", "is not a duration"),
    ("lock_timeout", "2.5", "not a whole number of milliseconds"),
    ("lock_timeout", "[1]", "is not a duration"),
    ("statement_timeout", "99999999999999", "out of range"),
    ("statement_timeout", "nan", "is not a duration"),
    ("lock_wait", "1979-05-27", "is not a duration"),
    ("lock_wait", "true", "is not a duration"),
    ("retry_backoff", "-1", "cannot be negative"),
    ("max_version_gap", "'1e5d'", "is not a duration"),
    ("lock_retries", "1e3", "is not a whole number"),
    ("lock_retries", "true", "is not a whole number"),
    ("pg_major", "100", "out of range: expected 9 to 99"),
    ("pg_major", "15.0", "is not a whole number"),
]


@pytest.mark.parametrize(("key", "toml_value", "fragment"), CONFIG_FILE)
def test_config_file(cli: CliRunner, project: Path, key: str, toml_value: str, fragment: str) -> None:
    (project / "lockgate.toml").write_text(f"{key} = {toml_value}\n", encoding="utf-8")
    assert_usage_error(cli("status"), f"lockgate.toml: lockgate.{key}: ", fragment, "expected")


def test_pyproject_names_its_section(cli: CliRunner, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.lockgate]\nlock_timeout = "3000000s"\n', encoding="utf-8")
    assert_usage_error(
        cli("validate"), "pyproject.toml: tool.lockgate.lock_timeout: '3000000s'", "out of range"
    )


@pytest.mark.parametrize(
    ("sources", "origins"),
    [
        ({"flag": "30"}, ["lock_retries = 30 (--lock-retries)", "retry_backoff = 1.0 s (default)"]),
        (
            {"flag": "13", "LOCKGATE_RETRY_BACKOFF": "1s"},
            ["(--lock-retries)", "(environment variable LOCKGATE_RETRY_BACKOFF)", "would be 1 h 08 min"],
        ),
        (
            {"toml": "retry_backoff = '10min'\nlock_retries = 4\n"},
            ["(", "lockgate.toml: lockgate.lock_retries)", "lockgate.toml: lockgate.retry_backoff)"],
        ),
    ],
)
def test_retries_times_backoff_is_bounded(
    cli: CliRunner,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    sources: dict[str, str],
    origins: list[str],
) -> None:
    """Each within its own range, but together the runner would sleep ``backoff * 2 ** (retries - 1)``
    before the last retry: days, or longer than ``time.sleep`` accepts."""
    args = ["run"]
    if "flag" in sources:
        args += ["--lock-retries", sources["flag"]]
    if "LOCKGATE_RETRY_BACKOFF" in sources:
        monkeypatch.setenv("LOCKGATE_RETRY_BACKOFF", sources["LOCKGATE_RETRY_BACKOFF"])
    if "toml" in sources:
        (project / "lockgate.toml").write_text(sources["toml"], encoding="utf-8")
    result = cli(*args)
    assert_usage_error(result, "the wait before the last retry would be", "expected at most 1 h", *origins)


def test_many_retries_are_fine_without_backoff(project: Path) -> None:
    config = load_config(project, overrides={"lock_retries": 100}, environ={"LOCKGATE_RETRY_BACKOFF": "0"})
    assert (config.lock_retries, config.retry_backoff_ms) == (100, 0)
    config = load_config(
        project, overrides={"lock_retries": "12"}, environ={"LOCKGATE_RETRY_BACKOFF": "500ms"}
    )
    assert config.lock_retries == 12  # 500 ms * 2 ** 11 = 17 min: within the hour


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [("0.1s", 100), ("1.5s", 1500), ("0.001s", 1), ("24d", 2_073_600_000), (" 2 MIN ", 120_000), ("-0", 0)],
)
def test_durations_are_exact(text: str, milliseconds: int) -> None:
    assert parse_duration_ms(text) == milliseconds


def test_limits_hold_in_the_python_api_too(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--lock-timeout: .*out of range"):
        load_config(project, overrides={"lock_timeout": PG_MAX_MS + 1}, environ={})
    assert (
        load_config(project, overrides={"lock_timeout": PG_MAX_MS}, environ={}).lock_timeout_ms == PG_MAX_MS
    )


@pytest.mark.db
def test_the_upper_limit_is_what_postgresql_accepts(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """The range is PostgreSQL's own: its maximum runs, one millisecond more is refused before anything."""
    add(project, "20250101000000_one.sql", "CREATE TABLE one (id int);\n")
    refused = lockgate("run", "--lock-timeout", f"{PG_MAX_MS + 1}ms")
    assert_usage_error(refused, "--lock-timeout")
    assert conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone() == (None,)
    result = lockgate("run", "--lock-timeout", f"{PG_MAX_MS}ms", "--statement-timeout", f"{PG_MAX_MS}ms")
    assert result.code == 0, result.text
    assert conn.execute("SELECT status FROM public.schema_migrations").fetchall() == [("applied",)]


LINT_FLAGS = [
    (["--pg-major", "8"], "8"),
    (["--pg-major", "100"], "100"),
    (["-j", "257"], "257"),
    (["--jobs", "-1"], "-1"),
]


@pytest.mark.parametrize(("args", "value"), LINT_FLAGS)
def test_lint_flags_in_both_doors(
    cli: CliRunner, project: Path, capsys: pytest.CaptureFixture[str], args: list[str], value: str
) -> None:
    from lockgate.lint.__main__ import main

    add(project, "20250101000000_one.sql", "CREATE TABLE one (id int);\n")
    with pytest.raises(SystemExit) as raised:
        main(args)
    assert raised.value.code == 2
    assert "out of range" in capsys.readouterr().err
    result = cli("lint", *args)
    assert (
        result.code == 2 and value in result.err and "range" in result.err and "Traceback" not in result.text
    )


@pytest.mark.parametrize(("setting", "fragment"), [("pg_major = 8", "lockgate.pg_major: 8 is out of range")])
def test_lint_reads_limits_from_the_config_file(
    cli: CliRunner, project: Path, setting: str, fragment: str
) -> None:
    add(project, "20250101000000_one.sql", "CREATE TABLE one (id int);\n")
    (project / "lockgate.toml").write_text(setting + "\n", encoding="utf-8")
    assert_usage_error(cli("lint"), fragment, "expected 9 to 99")


@pytest.mark.parametrize("version", ["1000", "8", "'fifteen'"])
def test_supabase_major_version_is_checked_too(cli: CliRunner, project: Path, version: str) -> None:
    add(project, "20250101000000_one.sql", "CREATE TABLE one (id int);\n")
    (project / "supabase").mkdir()
    (project / "supabase" / "config.toml").write_text(f"[db]\nmajor_version = {version}\n", encoding="utf-8")
    assert_usage_error(cli("lint"), "supabase/config.toml: db.major_version:", "expected 9 to 99")


@pytest.mark.parametrize(
    ("filename", "text", "fragment"),
    [
        ("lockgate.toml", "tool = 1\n", "lockgate.toml: lockgate.tool: unknown setting 'tool'"),
        (
            "lockgate.toml",
            "lock_timeout = { a = 1 }\n",
            "lockgate.toml: lockgate.lock_timeout: {'a': 1} is not a duration",
        ),
    ],
)
def test_config_values_of_the_wrong_shape(
    cli: CliRunner, project: Path, filename: str, text: str, fragment: str
) -> None:
    (project / filename).write_text(text, encoding="utf-8")
    assert_usage_error(cli("status"), fragment)


def test_a_supabase_db_that_is_not_a_table_is_no_version(cli: CliRunner, project: Path) -> None:
    add(
        project,
        "20250101000000_one.sql",
        "CREATE TABLE one (id int);\nALTER TABLE one ENABLE ROW LEVEL SECURITY;\n",
    )
    (project / "supabase").mkdir()
    (project / "supabase" / "config.toml").write_text("db = 1\n", encoding="utf-8")
    result = cli("lint")
    assert result.code == 0 and "Traceback" not in result.text, result.text
