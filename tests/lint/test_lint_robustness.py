"""Linting never crashes: random bytes, truncated SQL, huge and non-UTF-8 files give findings only."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate.config import load_config
from lockgate.lint import engine, parallel
from lockgate.lint.configuration import LintSettings, build_settings
from lockgate.lint.engine import lint_file, lint_paths, lint_text
from lockgate.lint.findings import Finding
from lockgate.problems import Severity

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "migrations").glob("*.sql"))
SAMPLE_TEXT = "\n".join(path.read_text(encoding="utf-8") for path in SAMPLES)
EXTRA_SQL = """
DO $$ BEGIN COMMIT; EXECUTE 'CREATE INDEX i ON t (a)'; END $$;
ALTER TYPE s ADD VALUE 'x'; UPDATE t SET s = 'x';
ALTER TABLE t ADD COLUMN a int NOT NULL REFERENCES u, ALTER COLUMN b TYPE bigint USING b::bigint;
-- lockgate-ignore: cluster, nope
CLUSTER t; VACUUM FULL; SET lock_timeout = 0; REINDEX TABLE t; BEGIN;
"""


def check_findings(findings: tuple[Finding, ...], text_lines: int | None = None) -> None:
    for finding in findings:
        assert finding.rule_id != "internal-error", finding.message
        assert finding.line >= 1 and finding.column >= 1
        assert (finding.span.end_line, finding.span.end_column) >= (finding.line, finding.column)
        if text_lines is not None:
            assert finding.line <= text_lines + 1
        assert finding.message and finding.help
        assert isinstance(finding.severity, Severity)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(tmp_path_factory: object, data: bytes) -> None:
    path = Path(str(tmp_path_factory.mktemp("b"))) / "20250101000000_x.sql"  # type: ignore[attr-defined]
    path.write_bytes(data)
    check_findings(lint_file(path).findings)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcdeselctupinrvNTXL$'\"();,-*/\\\n\t 0123é")), max_size=200))
def test_random_sql_like_text(text: str) -> None:
    check_findings(lint_text(text).findings, text.count("\n") + 1)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(SAMPLE_TEXT + EXTRA_SQL)))
def test_every_prefix_of_the_sample_migrations(cut: int) -> None:
    text = (SAMPLE_TEXT + EXTRA_SQL)[:cut]
    check_findings(lint_text(text).findings, text.count("\n") + 1)


def test_prefixes_at_every_statement_boundary() -> None:
    text = SAMPLE_TEXT + EXTRA_SQL
    for cut in [i for i, char in enumerate(text) if char in ";$'\n"]:
        check_findings(lint_text(text[:cut]).findings)


def test_non_utf8_and_unreadable_files(tmp_path: Path) -> None:
    latin1 = tmp_path / "a.sql"
    latin1.write_bytes("SELECT 1;\nSELECT 'café';\n".encode("latin-1"))
    (finding,) = lint_file(latin1).findings
    assert (finding.rule_id, finding.line, finding.column) == ("unreadable-file", 2, 12)
    assert "0xe9" in finding.message
    directory = tmp_path / "b.sql"
    directory.mkdir()
    (finding,) = lint_file(directory).findings
    assert finding.rule_id == "unreadable-file"


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    assert [f.rule_id for f in lint_text("").findings] == ["empty-migration"]
    assert [f.rule_id for f in lint_text("\ufeff  \r\n").findings] == ["empty-migration"]
    assert [f.rule_id for f in lint_text("-- nothing\n/* here */\n").findings] == ["empty-migration"]


def test_crlf_and_bom_keep_positions() -> None:
    (finding,) = lint_text("\ufeffSELECT 1;\r\nCREATE INDEX i ON t (a);\r\n").findings
    assert (finding.line, finding.column) == (2, 1)


def test_huge_file_is_linted(tmp_path: Path) -> None:
    statement = "ALTER TABLE public.orders ADD COLUMN c{n} text;\n"
    chunks = [statement.format(n=n) for n in range(110_000)]
    path = tmp_path / "huge.sql"
    path.write_text("".join(chunks), encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    result = lint_file(path)
    check_findings(result.findings)
    assert result.statements == 110_000


def test_huge_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sql"
    path.write_bytes(b"(" * 5_000_000)
    check_findings(lint_file(path).findings)


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_bytes(b"\xff\xfe")
    (tmp_path / "b.sql").write_text("SELEC 1;")
    (tmp_path / "c.sql").write_text("CREATE INDEX i ON t (a);")
    report = lint_paths([tmp_path])
    assert [f.rule_id for f in report.findings] == [
        "unreadable-file",
        "syntax-error",
        "index-without-concurrently",
    ]


def test_process_pool_gives_the_same_report(tmp_path: Path) -> None:
    for number in range(70):
        sql = "CREATE INDEX i ON t (a);\n" if number % 3 else "SELEC;\n"
        (tmp_path / f"{20250101000000 + number}_m.sql").write_text(sql)
    serial = lint_paths([tmp_path], jobs=1)
    parallel = lint_paths([tmp_path], jobs=2)
    assert parallel == serial
    assert len(serial.findings) == 70
    assert lint_paths([tmp_path], jobs=5) == serial


def _shares(tmp_path: Path) -> list[list[Path]]:
    for number in range(9):
        sql = "CREATE INDEX i ON t (a);\n" if number % 2 else "ALTER TABLE t ADD COLUMN c int NOT NULL;\n"
        (tmp_path / f"{20250101000000 + number}_m.sql").write_text(sql)
    files = sorted(tmp_path.glob("*.sql"))
    return [files[:3], files[3:6], files[6:]]


def test_a_child_that_dies_costs_time_not_results(tmp_path: Path) -> None:
    """A crashed or killed worker must not drop its share: the parent lints it itself."""
    shares = _shares(tmp_path)
    share_linter = engine._ShareLinter(build_settings(), tmp_path)
    parent = os.getpid()

    def flaky(share: Sequence[Path]) -> list[engine.FileResult]:
        if os.getpid() != parent and share is shares[1]:
            os.kill(os.getpid(), signal.SIGKILL)
        if os.getpid() != parent:
            raise RuntimeError("a rule bug in the worker")
        return share_linter(share)

    expected = [result for share in shares for result in share_linter(share)]
    assert parallel._forked(shares, flaky) == expected
    assert len(expected) == 9 and all(result.findings for result in expected)


def test_no_fork_available_means_linting_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of processes or memory (fork raises): the parent lints every share itself, nothing is lost."""
    shares = _shares(tmp_path)
    share_linter = engine._ShareLinter(build_settings(), tmp_path)
    expected = [result for share in shares for result in share_linter(share)]

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert parallel._forked(shares, share_linter) == expected


def test_default_settings_and_config_cross_process_boundaries() -> None:
    """The process pool pickles the settings (and doors may pickle the config): defaults included."""
    settings, config = build_settings(), load_config()
    assert pickle.loads(pickle.dumps(LintSettings(frozenset()))) == LintSettings(frozenset())
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert pickle.loads(pickle.dumps(config)) == config


def test_threads_are_noticed() -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert parallel._threaded()
    finally:
        stop.set()
        worker.join()


@pytest.mark.parametrize(("threaded", "path"), [(True, "pool"), (False, "fork")])
def test_a_threaded_caller_gets_the_pool_not_a_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threaded: bool, path: str
) -> None:
    """Forking while another thread holds a lock can deadlock the child; servers get the pool."""
    shares = _shares(tmp_path)
    share_linter = engine._ShareLinter(build_settings(), tmp_path)
    used: list[str] = []
    pooled, forked = parallel._pooled, parallel._forked
    monkeypatch.setattr(parallel, "_threaded", lambda: threaded)
    monkeypatch.setattr(parallel, "_pooled", lambda *args: used.append("pool") or pooled(*args))
    monkeypatch.setattr(parallel, "_forked", lambda *args: used.append("fork") or forked(*args))
    expected = [result for share in shares for result in share_linter(share)]
    assert parallel.lint_shares(shares, share_linter) == expected
    assert used == [path]


def test_the_process_pool_fallback_gives_the_same_results(tmp_path: Path) -> None:
    """macOS and Windows get spawned pool workers instead of forks; same results, same order."""
    shares = _shares(tmp_path)
    share_linter = engine._ShareLinter(build_settings(), tmp_path)
    expected = [result for share in shares for result in share_linter(share)]
    assert parallel._pooled(shares, share_linter) == expected
    assert parallel._forked(shares, share_linter) == expected


def test_a_thousand_files_stay_fast(tmp_path: Path) -> None:
    """A guard against accidental quadratic work: ~1 s on a laptop, the bound is 60x that (shared CI)."""
    for number in range(1000):
        sample = SAMPLES[number % len(SAMPLES)]
        (tmp_path / f"{20250101000000 + number}_m{number}.sql").write_bytes(sample.read_bytes())
    started = time.perf_counter()
    report = lint_paths([tmp_path])
    elapsed = time.perf_counter() - started
    assert len(report.files) == 1000
    assert elapsed < 60, f"{elapsed:.1f}s for 1,000 files"


PLPGSQL_PIECES = [
    "BEGIN",
    "END;",
    "END IF;",
    "IF true THEN",
    "COMMIT;",
    "ROLLBACK;",
    "EXECUTE 'CREATE INDEX i ON t (a)';",
    "EXECUTE 'x''y';",
    "CREATE INDEX j ON t (b);",
    "UPDATE t SET s = 'v';",
    "VACUUM t;",
    "LOOP",
    "END LOOP;",
    "DECLARE x int;",
    "RAISE NOTICE '%', 1;",
    "\n",
    "$",
    "'",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PLPGSQL_PIECES), max_size=12), st.booleans())
def test_random_plpgsql_bodies(pieces: list[str], as_function: bool) -> None:
    body = " ".join(pieces)
    head = "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS" if as_function else "DO"
    text = f"ALTER TYPE s ADD VALUE 'v';\n{head} $body$\n{body}\n$body$;\n"
    check_findings(lint_text(text).findings, text.count("\n") + 1)
