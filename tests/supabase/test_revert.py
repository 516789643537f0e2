"""``lockgate create --revert``: apply a migration, then its generated revert, and the catalog is as before.

The comparison is a snapshot of the catalog (tables, columns, indexes, constraints, policies, functions,
triggers, types, schemas, extensions and every ACL) taken before the migration and after its revert, so
any object or privilege the revert forgets or over-removes fails the test. ACLs are compared as the
privileges they grant: a NULL ACL means the object's default (``acldefault``), which PostgreSQL writes out
explicitly after a GRANT and a matching REVOKE.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sbhelpers import FIXTURES, SAMPLE

from cli_runner import CliResult

pytestmark = pytest.mark.db

Lockgate = Callable[..., CliResult]
REVERT_FIXTURES = FIXTURES / "revert"
BASE = REVERT_FIXTURES / "20250101000000_base.sql"

_USER_SCHEMAS = """
  n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'supabase_migrations')
  AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
"""
SNAPSHOT_QUERIES = {
    "relations": f"""
        SELECT n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
               coalesce(c.relacl, acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMAS} AND c.relname NOT LIKE 'schema_migrations%'""",
    "columns": f"""
        SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, coalesce(a.attacl, '{{}}')::text
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped AND c.relname NOT LIKE 'schema_migrations%'""",
    "indexes": """
        SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname NOT IN ('pg_catalog', 'supabase_migrations') AND tablename NOT LIKE 'schema_migrations%'""",
    "constraints": f"""
        SELECT n.nspname, c.conname, c.contype, pg_get_constraintdef(c.oid), c.conrelid::regclass::text
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE {_USER_SCHEMAS} AND c.conrelid::regclass::text NOT LIKE '%schema_migrations%'""",
    "policies": "SELECT schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check FROM pg_policies",
    "functions": f"""
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid),
               p.prokind, p.prosrc, p.prosecdef, p.provolatile, p.proconfig::text,
               coalesce(p.proacl, acldefault('f'::"char", p.proowner))::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_USER_SCHEMAS} AND n.nspname <> 'extensions'""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), tgenabled FROM pg_trigger
        WHERE NOT tgisinternal""",
    "types": f"""
        SELECT n.nspname, t.typname, t.typtype, coalesce(t.typacl, acldefault('T'::"char", t.typowner))::text,
               (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)::text FROM pg_enum e WHERE e.enumtypid = t.oid)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_USER_SCHEMAS} AND t.typtype IN ('e', 'd', 'c', 'r') AND n.nspname <> 'extensions'
          AND t.typname NOT LIKE 'schema_migrations%'""",
    "schemas": f"""
        SELECT n.nspname, coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))::text FROM pg_namespace n
        WHERE {_USER_SCHEMAS}""",
    "extensions": "SELECT extname, extnamespace::regnamespace::text FROM pg_extension",
}


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            name: sorted(conn.execute(query).fetchall(), key=repr)  # type: ignore[arg-type]
            for name, query in SNAPSHOT_QUERIES.items()
        }


def _revert_round_trip(
    project: Path, lockgate: Lockgate, db_url: str, earlier: list[Path], target: Path
) -> Path:
    migrations = project / "supabase" / "migrations"
    for path in earlier:
        shutil.copy(path, migrations / path.name)
    if earlier:
        assert lockgate("run").code == 0
    before = snapshot(db_url)
    shutil.copy(target, migrations / target.name)
    applied = lockgate("run")
    assert applied.code == 0, applied.text
    assert snapshot(db_url) != before, "the migration changed nothing: the test could not fail"
    created = lockgate("create", "--revert", target.name.split("_", 1)[0])
    assert created.code == 0, created.text
    revert = Path(created.out.strip())
    assert revert.parent == migrations and revert.name.endswith(f"_revert_{target.name.split('_', 1)[1]}")
    reverted = lockgate("run")
    assert reverted.code == 0, reverted.text + revert.read_text(encoding="utf-8")
    after = snapshot(db_url)
    for name in SNAPSHOT_QUERIES:
        assert after[name] == before[name], (
            f"{name} differ after {revert.name}:\n{revert.read_text(encoding='utf-8')}"
        )
    return revert


SAMPLE_FILES = sorted(SAMPLE.glob("*.sql"))


@pytest.mark.parametrize("index", range(len(SAMPLE_FILES)), ids=[p.stem for p in SAMPLE_FILES])
def test_sample_migration_reverts_to_the_earlier_schema(
    sb_project: Path, lockgate: Lockgate, db_url: str, index: int
) -> None:
    revert = _revert_round_trip(sb_project, lockgate, db_url, SAMPLE_FILES[:index], SAMPLE_FILES[index])
    linted = lockgate("lint", str(revert))
    assert linted.code == 0, linted.text


FIXTURE_FILES = [
    p for p in sorted(REVERT_FIXTURES.glob("*.sql")) if p not in {BASE} and "not_invertible" not in p.name
]


@pytest.mark.parametrize("target", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_fixture_reverts_to_the_earlier_schema(
    sb_project: Path, lockgate: Lockgate, db_url: str, target: Path
) -> None:
    revert = _revert_round_trip(sb_project, lockgate, db_url, [BASE], target)
    linted = lockgate("lint", str(revert))
    assert linted.code == 0, linted.text


def test_redefined_function_is_restored_not_dropped(sb_project: Path, lockgate: Lockgate) -> None:
    migrations = sb_project / "supabase" / "migrations"
    shutil.copy(BASE, migrations)
    shutil.copy(REVERT_FIXTURES / "20250104000000_functions_triggers.sql", migrations)
    created = lockgate("create", "--revert", "20250104000000")
    text = Path(created.out.strip()).read_text(encoding="utf-8")
    assert "CREATE OR REPLACE FUNCTION public.touch_updated_at()" in text
    assert "DROP FUNCTION IF EXISTS public.touch_updated_at" not in text
    assert "DROP FUNCTION IF EXISTS public.account_total(bigint, timestamptz);" in text
    assert "DROP FUNCTION IF EXISTS public.add_numbers(integer, integer[]);" in text
    assert "DROP PROCEDURE IF EXISTS public.noop(text);" in text


def test_non_invertible_statements_get_a_comment_block_and_exit_1(
    sb_project: Path, lockgate: Lockgate
) -> None:
    migrations = sb_project / "supabase" / "migrations"
    shutil.copy(BASE, migrations)
    shutil.copy(REVERT_FIXTURES / "20250107000000_not_invertible.sql", migrations)
    created = lockgate("create", "--revert", "20250107000000")
    assert created.code == 1, created.text
    path = Path(created.out.strip())
    text = path.read_text(encoding="utf-8")
    assert "-- NOT REVERTED: 4 statement(s) of 20250107000000_not_invertible.sql cannot be undone" in text
    for line, summary in [
        (1, "UPDATE public.accounts SET email = lower(email)"),
        (3, "ALTER TABLE public.accounts DROP COLUMN legacy_name"),
        (5, "ALTER TABLE public.accounts ALTER COLUMN email TYPE VARCHAR(320)"),
        (9, "DELETE FROM public.accounts WHERE email IS NULL"),
    ]:
        assert f"-- 20250107000000_not_invertible.sql:{line}: {summary}" in text
        assert f"{summary} (line {line}) cannot be reverted automatically" in created.err
    assert "DROP TABLE IF EXISTS public.kept;" in text
    assert "Traceback" not in created.text


def test_revert_of_unknown_version_is_one_line(sb_project: Path, lockgate: Lockgate) -> None:
    shutil.copy(BASE, sb_project / "supabase" / "migrations")
    result = lockgate("create", "--revert", "20990101000000")
    assert result.code == 1 and "no migration file has that version" in result.err
    assert len(result.err.strip().splitlines()) == 1
    missing = lockgate("create")
    assert missing.code == 2 and "--revert VERSION" in missing.err


def test_an_unparsable_older_file_does_not_block_a_revert(sb_project: Path, lockgate: Lockgate) -> None:
    migrations = sb_project / "supabase" / "migrations"
    (migrations / "20240101000000_broken.sql").write_text("CREATE TABLE (;\n", encoding="utf-8")
    (migrations / "20250101000000_table.sql").write_text(
        "CREATE TABLE public.t (id int);\n", encoding="utf-8"
    )
    created = lockgate("create", "--revert", "20250101000000")
    assert created.code == 0, created.text
    assert "DROP TABLE IF EXISTS public.t;" in Path(created.out.strip()).read_text(encoding="utf-8")
    broken = lockgate("create", "--revert", "20240101000000")
    assert broken.code == 1 and "20240101000000_broken.sql:1:" in broken.err
    assert "Traceback" not in broken.text


ORDERS = (
    "20250201000000_orders.sql",
    "CREATE TABLE public.orders (id bigint PRIMARY KEY, customer_id bigint, total numeric);\n"
    "ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;\n",
)
EXTRA = {
    "20250301000000_indexes_and_constraints.sql": (
        "CREATE INDEX orders_customer_idx ON public.orders (customer_id);\n"
        "CREATE UNIQUE INDEX orders_total_idx ON public.orders (total);\n"
        "ALTER TABLE public.orders ADD CONSTRAINT orders_total_positive CHECK (total > 0);\n"
        "ALTER TABLE public.orders ADD COLUMN note text;\n"
        "ALTER TABLE public.orders RENAME COLUMN note TO remark;\n"
    ),
    "20250302000000_enum_and_policy.sql": (
        "CREATE TYPE public.order_status AS ENUM ('new', 'paid');\n"
        "CREATE TABLE public.invoices (id bigint PRIMARY KEY, status public.order_status);\n"
        "ALTER TABLE public.invoices ENABLE ROW LEVEL SECURITY;\n"
        "CREATE POLICY invoices_read ON public.invoices FOR SELECT USING (true);\n"
        "CREATE SCHEMA reporting;\n"
        "CREATE VIEW reporting.paid AS SELECT id FROM public.invoices WHERE status = 'paid';\n"
    ),
}


@pytest.mark.parametrize("select", [(), ("--select", "supabase")], ids=["defaults", "with-supabase-rules"])
def test_every_generated_revert_passes_lockgates_own_lint(
    sb_project: Path, lockgate: Lockgate, select: tuple[str, ...]
) -> None:
    """A revert is a migration like any other: the hook and run's lint gate must accept it as written,
    with an explained ignore where undoing a migration is the destructive change a rule warns about."""
    migrations = sb_project / "supabase" / "migrations"
    sources = [*sorted((FIXTURES / "revert").glob("*.sql")), *sorted(SAMPLE.glob("*.sql"))]
    checked = 0
    for source in sources:
        shutil.rmtree(migrations)
        migrations.mkdir()
        shutil.copy(source, migrations / source.name)
        lockgate("create", "--revert", source.name[:14])
        checked += _lint_reverts(lockgate, migrations, select)
    for name, text in EXTRA.items():
        shutil.rmtree(migrations)
        migrations.mkdir()
        (migrations / ORDERS[0]).write_text(ORDERS[1])
        (migrations / name).write_text(text)
        assert lockgate("create", "--revert", name[:14]).code == 0
        revert = next(migrations.glob("*_revert_*.sql"))
        if "indexes" in name:
            assert "-- lockgate-ignore: drop-index-without-concurrently" in revert.read_text()
        checked += _lint_reverts(lockgate, migrations, select)
    assert checked == len(sources) + len(EXTRA)


def _lint_reverts(lockgate: Lockgate, migrations: Path, select: tuple[str, ...]) -> int:
    (revert,) = migrations.glob("*_revert_*.sql")
    result = lockgate("lint", str(revert), "--format", "json", *select)
    assert result.code == 0, (revert.read_text(), result.text)
    assert '"findings": []' in result.out.replace('"findings":[]', '"findings": []'), (
        revert.read_text(),
        result.out,
    )
    return 1
