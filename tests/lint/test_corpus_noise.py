"""Rules made quieter by the noise review of ``docs/lint-corpus.md``: each change keeps the real case from
the corpus (``tests/lint/fixtures/corpus``) quiet, or down to one finding, and the hazard it guards against
still fires."""

from __future__ import annotations

from pathlib import Path

from lint_helpers import lint_sql

from lockgate.lint.engine import lint_file

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"


def _rule_findings(path: Path, rule_id: str) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in lint_file(path).findings if f.rule_id == rule_id]


def test_a_transaction_locking_many_tables_is_one_finding_naming_them_all() -> None:
    # authelia's v0007 fixes constraints on a dozen tables in one transaction: it was 20 findings saying
    # the same thing, one per table after the first; a reviewer needs one, naming what is locked.
    real = CORPUS / "authelia" / "migrations" / "20200101000600_v0007_consistency_fixes.sql"
    found = _rule_findings(real, "access-exclusive-multiple-tables")
    assert len(found) == 1
    line, message = found[0]
    assert line == 2
    assert message.startswith(
        "this transaction already holds an ACCESS EXCLUSIVE lock on public._bkp_up_v0002_totp_configurations "
        "(line 1) and then takes one on public._bkp_up_v0002_u2f_devices (line 2), "
    )
    assert message.endswith(" more; all stay blocked until COMMIT and lock-order deadlocks become possible")


def test_two_existing_tables_in_one_transaction_still_fire() -> None:
    found = [
        (f.line, f.message)
        for f in lint_sql("ALTER TABLE orders ADD COLUMN a int;\nALTER TABLE customers ADD COLUMN b int;\n")
        if f.rule_id == "access-exclusive-multiple-tables"
    ]
    assert found == [
        (
            2,
            "this transaction already holds an ACCESS EXCLUSIVE lock on public.orders (line 1) and then takes "
            "one on public.customers (line 2); all stay blocked until COMMIT and lock-order deadlocks become "
            "possible",
        )
    ]


def test_drop_function_cascade_names_the_function() -> None:
    # harness's 0096 drops a function with CASCADE: the message said "DROP FUNCTION  CASCADE", no name
    real = CORPUS / "harness" / "migrations" / "20200101014900_0096_update_fk_manifest_references_gc.sql"
    assert _rule_findings(real, "drop-cascade") == [
        (
            1,
            "DROP FUNCTION gc_track_deleted_manifest_lists CASCADE also drops every object that depends on it, unlisted",
        )
    ]
    found = [
        f.message for f in lint_sql("DROP FUNCTION public.f(int) CASCADE;\n") if f.rule_id == "drop-cascade"
    ]
    assert found == ["DROP FUNCTION public.f CASCADE also drops every object that depends on it, unlisted"]
