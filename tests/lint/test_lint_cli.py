"""``lockgate lint``: exit codes, default paths, config errors and every output format."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from cli_runner import run_cli
from lockgate.lint.engine import lint_text
from lockgate.lint.findings import LintReport
from lockgate.lint.formats import render
from lockgate.lint.formats.github_format import annotation, escape_property

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WARNING_SQL = "CREATE INDEX orders_idx ON public.orders (customer_id);\n"
ERROR_SQL = "ALTER TABLE public.orders ADD COLUMN currency text NOT NULL;\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code as the console script sees it (``sys.exit(main())``), stdout, stderr."""
    result = run_cli(argv, capsys)
    return result.code, result.out, result.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.lockgate]\npg_major = 16\n")
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    for name in ("LOCKGATE_CONFIG", "LOCKGATE_PG_MAJOR", "LOCKGATE_MIGRATIONS_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write(project: Path, name: str, sql: str | bytes) -> Path:
    path = project / "migrations" / name
    if isinstance(sql, bytes):
        path.write_bytes(sql)
    else:
        path.write_text(sql)
    return path


def test_warnings_exit_0_and_strict_exits_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "20250101000000_a.sql", WARNING_SQL)
    code, out, _ = run(["lint"], capsys)
    assert code == 0
    assert "migrations/20250101000000_a.sql:1:1: warning[index-without-concurrently]" in out
    assert "1 | CREATE INDEX orders_idx ON public.orders (customer_id);" in out
    assert "  | ^^^^^^^^^^" in out
    assert "= help: Use CREATE INDEX CONCURRENTLY" in out
    assert (
        "= docs: https://github.com/lockgate/lockgate/blob/main/docs/rules.md#index-without-concurrently"
        in out
    )
    assert run(["lint", "--strict"], capsys)[0] == 1


def test_errors_exit_1_and_other_files_are_still_linted(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, "20250101000000_a.sql", "SELEC 1;\n")
    write(project, "20250101000100_b.sql", ERROR_SQL)
    write(project, "20250101000200_c.sql", b"SELECT '\xff';\n")
    code, out, _ = run(["lint", "--format", "json", "migrations"], capsys)
    assert code == 1
    report = json.loads(out)
    assert [(f["path"], f["rule"], f["line"], f["column"]) for f in report["findings"]] == [
        ("migrations/20250101000000_a.sql", "syntax-error", 1, 1),
        ("migrations/20250101000100_b.sql", "add-not-null-column-without-default", 1, 38),
        ("migrations/20250101000200_c.sql", "unreadable-file", 1, 9),
    ]
    assert report["version"] == 1
    assert report["summary"] == {
        "files": 3,
        "files_with_findings": 3,
        "findings": 3,
        "errors": 3,
        "warnings": 0,
        "info": 0,
    }
    assert {f["path"] for f in report["files"]} == {f["path"] for f in report["findings"]}


def test_clean_project_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "20250101000000_a.sql", "CREATE INDEX CONCURRENTLY i ON public.t (id);\n")
    code, out, _ = run(["lint"], capsys)
    assert (code, out) == (
        0,
        "All checks passed (1 file linted). Supabase rules off: not a Supabase project; "
        "--select supabase or supabase = true turns them on.\n",
    )


@pytest.mark.parametrize(
    ("pyproject", "fragment"),
    [
        (
            "[tool.lockgate.lint]\nselect = ['nope']\n",
            "tool.lockgate.lint.select: unknown rule or family 'nope'",
        ),
        ("[tool.lockgate.lint]\nseverity = { cluster = 'loud' }\n", "tool.lockgate.lint.severity.cluster"),
        ("[tool.lockgate.lint]\nfoo = 1\n", "tool.lockgate.lint.foo: unknown setting"),
    ],
)
def test_config_errors_exit_2_with_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], pyproject: str, fragment: str
) -> None:
    (project / "pyproject.toml").write_text(pyproject)
    code, _, err = run(["lint"], capsys)
    assert code == 2
    assert fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["lint", "no/such/file.sql"], capsys)[0] == 2
    assert run(["lint", "--select", "nope", "migrations"], capsys)[0] == 2
    assert run(["lint", "--format", "xml"], capsys)[0] == 2


def test_severity_override_and_select_flag(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "20250101000000_a.sql", WARNING_SQL)
    (project / "pyproject.toml").write_text(
        "[tool.lockgate.lint.severity]\nindex-without-concurrently = 'error'\n"
    )
    assert run(["lint"], capsys)[0] == 1
    assert run(["lint", "--ignore", "index-without-concurrently"], capsys)[0] == 0


def test_output_file_gets_the_format_and_stdout_the_text(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, "20250101000000_a.sql", WARNING_SQL)
    code, out, _ = run(["lint", "--format", "sarif", "--output", "lint.sarif"], capsys)
    assert code == 0
    assert json.loads((project / "lint.sarif").read_text())["version"] == "2.1.0"
    assert "warning[index-without-concurrently]" in out


def _report(sql: str, path: str = "migrations/20250101000000_a.sql") -> LintReport:
    return LintReport((lint_text(sql, path),), ("index-without-concurrently", "syntax-error"))


def test_sarif_is_valid_for_github_code_scanning() -> None:
    schema = json.loads((HERE / "sarif_minimal.schema.json").read_text())
    sarif = json.loads(render(_report(WARNING_SQL + ERROR_SQL), "sarif"))
    jsonschema.validate(sarif, schema)
    run_ = sarif["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    results = run_["results"]
    assert [r["ruleId"] for r in results] == [
        "index-without-concurrently",
        "add-not-null-column-without-default",
    ]
    for result in results:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert rule["helpUri"].endswith("#" + rule["id"])
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {
            "uri": "migrations/20250101000000_a.sql",
            "uriBaseId": "%SRCROOT%",
        }
    assert results[0]["level"] == "warning" and results[1]["level"] == "error"
    assert results[1]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2


def test_github_annotations_escape_data_and_properties() -> None:
    (finding,) = _report("CREATE INDEX i ON t (a);", "dir,with:odd%chars/a.sql").findings
    line = annotation(finding)
    assert line.startswith(
        "::warning file=dir%2Cwith%3Aodd%25chars/a.sql,line=1,col=1,endLine=1,endColumn=24,"
    )
    assert ",title=lockgate index-without-concurrently::CREATE INDEX takes a SHARE lock" in line
    assert "%0Ahelp: " in line and "\n" not in line
    assert escape_property("a\r\nb:c,d%") == "a%0D%0Ab%3Ac%2Cd%25"
    assert render(_report("SELECT 1;"), "github") == ""


def test_json_findings_carry_every_field() -> None:
    report = json.loads(render(_report(WARNING_SQL), "json"))
    (finding,) = report["findings"]
    assert finding == {
        "rule": "index-without-concurrently",
        "severity": "warning",
        "path": "migrations/20250101000000_a.sql",
        "line": 1,
        "column": 1,
        "end_line": 1,
        "end_column": 55,
        "message": "CREATE INDEX takes a SHARE lock on public.orders, blocking writes for the whole build",
        "help": finding["help"],
        "url": "https://github.com/lockgate/lockgate/blob/main/docs/rules.md#index-without-concurrently",
        "source": WARNING_SQL.rstrip("\n"),
        "fix": "-- lockgate: no-transaction   (in a migration file of its own)\n"
        + WARNING_SQL.rstrip("\n").rstrip(";").replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
        + ";",
    }


def test_text_caret_lines_up_under_tabs_and_unicode() -> None:
    text = render(_report("SELECT 'é';\n\tCREATE INDEX i ON t (a);\n"), "text")
    assert "2 | \tCREATE INDEX i ON t (a);\n  | \t^^^^^^^^^^^^^^^^^^^^^^^" in text


def test_sample_migrations_lint_clean(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run(["lint", "--strict", "--format", "json", "migrations"], capsys)
    report = json.loads(out)
    assert report["findings"] == [] and code == 0
    assert report["summary"]["files"] >= 5


def test_python_m_door_matches_the_click_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lockgate.lint.__main__ import main as module_main

    write(project, "20250101000000_a.sql", WARNING_SQL)
    click_result = run(["lint", "--strict", "--format", "github"], capsys)
    assert module_main(["--strict", "--format", "github"]) == click_result[0] == 1
    assert capsys.readouterr().out == click_result[1]
    assert module_main(["missing.sql"]) == 2
    assert "error: missing.sql: no such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "entry",
    [
        "from lockgate.cli import main; main(['lint', 'migrations'])",
        "from lockgate.lint.__main__ import main; main(['migrations'])",
    ],
)
def test_lint_path_never_imports_heavy_modules(entry: str) -> None:
    import subprocess
    import sys

    heavy = ["psycopg", "rich", "lockgate.runner", "lockgate.history", "lockgate.db"]
    code = f"import sys\ntry:\n    {entry}\nexcept SystemExit:\n    pass\nprint([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_pg_major_comes_from_supabase_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.lockgate]\nmigrations_dir = 'migrations'\n")
    (project / "supabase").mkdir()
    (project / "supabase" / "config.toml").write_text("[db]\nmajor_version = 11\n")
    write(project, "20250101000000_a.sql", "ALTER TYPE public.status ADD VALUE 'x';\n")
    code, out, _ = run(["lint"], capsys)
    assert code == 1 and "error[enum-add-value-in-transaction]" in out
    assert "on PostgreSQL 11" in out
    assert run(["lint", "--pg-major", "12"], capsys)[0] == 0


def test_missing_default_directory_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "migrations").rmdir()
    code, _, err = run(["lint"], capsys)
    assert code == 2
    assert "migrations directory" in err and "does not exist" in err
