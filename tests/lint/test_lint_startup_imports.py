"""The pre-commit hook's start-up budget, guarded by what it imports (timings are too noisy to assert).

One file through ``python -m lockgate.lint`` must stay under 150 ms including interpreter start-up
(bench/lint_bench.py measures it). Each module below once cost 5-60 ms of that on a 2-vCPU machine; a
test that fails when one creeps back in is steadier than any timing assertion.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = (
    "click",  # the click CLI; the hook entry point uses argparse
    "rich",
    "psycopg",
    "pglast.ast",  # lockgate.pgparser loads only pglast's C parser
    "pglast.enums",
    "dataclasses",  # and with it inspect: NamedTuples and slotted classes on this path
    "inspect",
    "tomllib",  # only when a config file exists
    "concurrent.futures",  # many files fork workers directly
    "multiprocessing",
)

PROBE = """
import sys
from lockgate.lint.__main__ import main
code = main(sys.argv[1:])
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""

CLI_PROBE = """
import sys
from lockgate.cli import main
try:
    main(["lint", *sys.argv[1:]])
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after_linting(tmp_path: Path, count: int, probe: str = PROBE) -> set[str]:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for number in range(count):
        (directory / f"{20250101000000 + number}_m{number}.sql").write_text(
            "CREATE TABLE t (id bigint PRIMARY KEY);\nALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"
        )
    target = directory if count > 1 else next(directory.iterdir())
    result = subprocess.run(
        [sys.executable, "-c", probe, str(target)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return set(result.stderr.split())


def test_one_file_loads_nothing_heavy(tmp_path: Path) -> None:
    loaded = _modules_after_linting(tmp_path, 1)
    assert "lockgate.pgparser" in loaded and {"lockgate.locks", "lockgate.lint.rules.locks_indexes"} <= loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_many_files_in_parallel_load_nothing_heavy(tmp_path: Path) -> None:
    loaded = _modules_after_linting(tmp_path, 70)
    assert "lockgate.lint.parallel" in loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_lockgate_lint_through_the_console_script_skips_click(tmp_path: Path) -> None:
    """`lockgate lint` is what hooks/pre-commit (the plain git hook) runs: the same budget applies."""
    loaded = _modules_after_linting(tmp_path, 1, CLI_PROBE)
    assert {"lockgate.locks", "lockgate.lint.rules.locks_indexes"} <= loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_file_names_alone_mean_what_argparse_makes_of_them() -> None:
    """The hook's call (file names only) skips argparse: the options must be exactly argparse's, so a new
    option's default cannot differ between the two paths."""
    from lockgate.lint.__main__ import _options, _parsed

    for arguments in ([], ["a.sql"], ["migrations", "x/20250101000000_b.sql", ""], ["+odd name.sql"]):
        for color in (False, True):
            assert _options(arguments, "p", color) == _parsed(arguments, "p", color)


def test_file_names_alone_do_not_load_argparse(tmp_path: Path) -> None:
    loaded = _modules_after_linting(tmp_path, 1)
    assert "argparse" not in loaded and "shutil" not in loaded
