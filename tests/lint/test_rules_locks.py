"""Lock-safety rules: SQL that must fire (exact line:column) and SQL that must stay quiet.

Every rule has at least one quiet case with the same statement on a table created earlier in the file
(qualified or not), since new tables have no traffic to block.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from lint_helpers import hits, lint_sql

from lockgate.locks import strongest

NEW = "CREATE TABLE public.t (a int, b text);\n"
NEW_UNQUALIFIED = "CREATE TABLE t (a int, b text);\n"

FIRES = [
    ("index-without-concurrently", "CREATE INDEX i ON t (a);", [(1, 1)]),
    ("index-without-concurrently", "DO $$\nBEGIN\n  CREATE INDEX i ON t (a);\nEND $$;", [(3, 3)]),
    ("index-without-concurrently", "DO $$ BEGIN EXECUTE 'CREATE INDEX i ON t (a)'; END $$;", [(1, 1)]),
    ("drop-index-without-concurrently", "DROP INDEX public.i;", [(1, 1)]),
    ("drop-index-without-concurrently", "CREATE INDEX j ON u (a);\nDROP INDEX i, j;", [(2, 1)]),
    ("reindex-without-concurrently", "REINDEX TABLE t;", [(1, 1)]),
    ("reindex-without-concurrently", "REINDEX INDEX i;", [(1, 1)]),
    ("constraint-without-not-valid", "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);", [(1, 19)]),
    (
        "constraint-without-not-valid",
        "ALTER TABLE t\n  ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id);",
        [(2, 7)],
    ),
    (
        "validate-constraint-in-same-transaction",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n"
        "ALTER TABLE public.t VALIDATE CONSTRAINT c;",
        [(2, 1)],
    ),
    ("add-column-with-references", "ALTER TABLE t ADD COLUMN u_id int REFERENCES u (id);", [(1, 35)]),
    ("unique-constraint-without-index", "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a);", [(1, 19)]),
    ("unique-constraint-without-index", "ALTER TABLE t ADD PRIMARY KEY (a);", [(1, 19)]),
    ("unique-constraint-without-index", "ALTER TABLE t ADD COLUMN c uuid UNIQUE;", [(1, 33)]),
    ("set-not-null", "ALTER TABLE t ALTER COLUMN a SET NOT NULL;", [(1, 1)]),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (b IS NOT NULL);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        [(2, 1)],
    ),
    ("volatile-default", "ALTER TABLE t ADD COLUMN id uuid DEFAULT gen_random_uuid();", [(1, 34)]),
    ("volatile-default", "ALTER TABLE t ADD COLUMN r float8 DEFAULT 1 + random();", [(1, 35)]),
    ("add-column-rewrites-table", "ALTER TABLE t ADD COLUMN id bigserial;", [(1, 26)]),
    ("add-column-rewrites-table", "ALTER TABLE t ADD COLUMN id int GENERATED ALWAYS AS IDENTITY;", [(1, 26)]),
    (
        "add-column-rewrites-table",
        "ALTER TABLE t ADD COLUMN d int GENERATED ALWAYS AS (a * 2) STORED;",
        [(1, 26)],
    ),
    ("alter-column-type", "ALTER TABLE t ALTER COLUMN a TYPE bigint;", [(1, 28)]),
    ("alter-column-type", "ALTER TABLE t ALTER COLUMN a TYPE text USING a::text;", [(1, 28)]),
    ("alter-column-type", "ALTER TABLE t ALTER COLUMN a TYPE timestamptz;", [(1, 28)]),
    ("vacuum-full", "VACUUM FULL t;", [(1, 1)]),
    ("vacuum-full", "VACUUM (FULL, ANALYZE) t;", [(1, 1)]),
    ("vacuum-full", "VACUUM FULL;", [(1, 1)]),
    ("cluster", "CLUSTER t USING i;", [(1, 1)]),
    ("refresh-materialized-view", "REFRESH MATERIALIZED VIEW mv;", [(1, 1)]),
    (
        "access-exclusive-multiple-tables",
        "ALTER TABLE a ADD COLUMN x int;\nALTER TABLE public.a ADD COLUMN y int;\nTRUNCATE b;",
        [(3, 1)],
    ),
    (
        "access-exclusive-multiple-tables",
        "BEGIN;\nLOCK TABLE a;\nDROP TABLE b;\nALTER TABLE c RENAME TO d;\nCOMMIT;",
        [(3, 1)],  # one finding per transaction, naming c too (tests/lint/test_corpus_noise.py)
    ),
    (
        "access-exclusive-multiple-tables",
        "DROP TRIGGER tr ON public.a;\nCREATE POLICY p ON b USING (true);\nALTER INDEX i RENAME TO j;",
        [(2, 1)],
    ),
    # lockgate.locks decides which statements take ACCESS EXCLUSIVE on a table (PostgreSQL's tablecmds.c)
    (
        "access-exclusive-multiple-tables",
        "ALTER TABLE a ALTER COLUMN x SET COMPRESSION lz4;\nALTER MATERIALIZED VIEW mv SET TABLESPACE s;",
        [(2, 1)],
    ),
    ("access-exclusive-multiple-tables", "DROP POLICY p ON a;\nALTER POLICY q ON b RENAME TO r;", [(2, 1)]),
    ("access-exclusive-multiple-tables", "DROP RULE r ON a;\nALTER RULE q ON b RENAME TO r;", [(2, 1)]),
    ("disabled-timeout", "SET lock_timeout = 0;", [(1, 1)]),
    ("disabled-timeout", "ALTER ROLE authenticated SET statement_timeout = 0;", [(1, 1)]),
    ("disabled-timeout", "SELECT 1;\nALTER DATABASE postgres SET lock_timeout = '0';", [(2, 1)]),
    ("disabled-timeout", "SET LOCAL statement_timeout TO '0';", [(1, 1)]),
    ("disabled-timeout", "SELECT 1;\nSELECT set_config('lock_timeout', '0ms', true);", [(2, 8)]),
    # detach-partition-without-concurrently
    ("detach-partition-without-concurrently", "ALTER TABLE events DETACH PARTITION events_2023;", [(1, 37)]),
    (
        "detach-partition-without-concurrently",
        "ALTER TABLE IF EXISTS public.events\n  DETACH PARTITION app.events_2023;",
        [(2, 20)],
    ),
    (
        "detach-partition-without-concurrently",
        "DO $$ BEGIN ALTER TABLE events DETACH PARTITION e1; END $$;",
        [(1, 1)],
    ),
    # set-tablespace: tables, indexes, materialized views, and ALL IN TABLESPACE
    ("set-tablespace", "ALTER TABLE t SET TABLESPACE archive;", [(1, 1)]),
    ("set-tablespace", "ALTER INDEX IF EXISTS i SET TABLESPACE archive;", [(1, 1)]),
    ("set-tablespace", "ALTER MATERIALIZED VIEW mv SET TABLESPACE archive;", [(1, 1)]),
    ("set-tablespace", "SELECT 1;\nALTER INDEX ALL IN TABLESPACE a SET TABLESPACE b;", [(2, 1)]),
    ("set-tablespace", "ALTER TABLE t SET (fillfactor = 70), SET TABLESPACE archive;", [(1, 1)]),
    # add-exclusion-constraint
    ("add-exclusion-constraint", "ALTER TABLE b ADD CONSTRAINT x EXCLUDE USING gist (r WITH &&);", [(1, 19)]),
    ("add-exclusion-constraint", "ALTER TABLE b\n  ADD COLUMN c int,\n  ADD EXCLUDE (c WITH =);", [(3, 7)]),
    # backfill-under-lock: with or without WHERE, after any lock that blocks writes
    (
        "backfill-under-lock",
        "ALTER TABLE t ADD COLUMN c text;\nUPDATE t SET c = 'x' WHERE c IS NULL;",
        [(2, 1)],
    ),
    ("backfill-under-lock", "CREATE INDEX i ON t (a);\nDELETE FROM public.t WHERE a < 0;", [(2, 1)]),
    (
        "backfill-under-lock",
        "ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES p NOT VALID;\nINSERT INTO p SELECT * FROM q;",
        [(2, 1)],
    ),
    (
        "backfill-under-lock",
        "LOCK TABLE t IN EXCLUSIVE MODE;\nMERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE;",
        [(2, 1)],
    ),
    (
        "backfill-under-lock",
        "DO $$\nBEGIN\n  ALTER TABLE t ADD COLUMN c int;\n  UPDATE t SET c = 0;\nEND $$;",
        [(4, 3)],
    ),
    (
        "backfill-under-lock",
        "BEGIN;\nALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = 0;\nUPDATE t SET c = 1 WHERE c = 0;\nCOMMIT;",
        [(3, 1), (4, 1)],
    ),
    # constraint-without-not-valid on domains
    ("constraint-without-not-valid", "ALTER DOMAIN posint ADD CONSTRAINT pos CHECK (VALUE > 0);", [(1, 25)]),
    ("constraint-without-not-valid", "ALTER DOMAIN app.posint\n  ADD NOT NULL;", [(2, 7)]),
    ("constraint-without-not-valid", "ALTER DOMAIN posint SET NOT NULL;", [(1, 1)]),
    # set-not-null: the CHECK must be on that column, validated, and still there
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (b IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;\n"
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        [(3, 1)],
    ),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        [(2, 1)],
    ),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;\n"
        "ALTER TABLE t VALIDATE CONSTRAINT c;",
        [(2, 1)],
    ),
    (
        "set-not-null",
        "ALTER TABLE u ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE u VALIDATE CONSTRAINT c;\n"
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        [(3, 1)],
    ),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;\n"
        "ALTER TABLE t DROP CONSTRAINT c;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        [(4, 1)],
    ),
    (
        "set-not-null",
        "ALTER TABLE t DROP CONSTRAINT old_check;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        [(2, 1)],
    ),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL OR b IS NOT NULL);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        [(2, 1)],
    ),
    ("set-not-null", "ALTER TABLE t ADD CONSTRAINT t_a_not_null NOT NULL a;", [(1, 1)]),
    # reindex-without-concurrently: system catalogs too (with their own help, see below)
    ("reindex-without-concurrently", "REINDEX SYSTEM;", [(1, 1)]),
    ("reindex-without-concurrently", "REINDEX TABLE pg_class;", [(1, 1)]),
    ("reindex-without-concurrently", "REINDEX SCHEMA app;", [(1, 1)]),
]

QUIET = [
    ("index-without-concurrently", "CREATE INDEX CONCURRENTLY i ON t (a);"),
    ("index-without-concurrently", "CREATE INDEX i ON ONLY public.events (at);"),
    ("index-without-concurrently", NEW + "CREATE INDEX i ON t (a);"),
    ("index-without-concurrently", NEW_UNQUALIFIED + "CREATE INDEX i ON public.t (a);"),
    ("index-without-concurrently", NEW + "DO $$ BEGIN CREATE INDEX i ON t (a); END $$;"),
    (
        "index-without-concurrently",
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  CREATE INDEX i ON t (a);\nEND $$;",
    ),
    ("drop-index-without-concurrently", "DROP INDEX CONCURRENTLY i;"),
    ("drop-index-without-concurrently", "CREATE INDEX i ON t (a);\nDROP INDEX i;"),
    ("drop-index-without-concurrently", "DROP TABLE t;"),
    ("reindex-without-concurrently", "REINDEX TABLE CONCURRENTLY t;"),
    ("reindex-without-concurrently", NEW + "REINDEX TABLE t;"),
    ("reindex-without-concurrently", NEW + "CREATE INDEX i ON t (a);\nREINDEX INDEX i;"),
    ("constraint-without-not-valid", "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;"),
    (
        "constraint-without-not-valid",
        "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u NOT VALID;",
    ),
    ("constraint-without-not-valid", NEW + "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);"),
    (
        "constraint-without-not-valid",
        NEW_UNQUALIFIED + "ALTER TABLE public.t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u;",
    ),
    ("validate-constraint-in-same-transaction", "ALTER TABLE t VALIDATE CONSTRAINT c;"),
    (
        "validate-constraint-in-same-transaction",
        "-- lockgate: no-transaction\nALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n"
        "ALTER TABLE t VALIDATE CONSTRAINT c;",
    ),
    (
        "validate-constraint-in-same-transaction",
        NEW + "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;",
    ),
    ("add-column-with-references", "ALTER TABLE t ADD COLUMN u_id int;"),
    ("add-column-with-references", NEW + "ALTER TABLE t ADD COLUMN u_id int REFERENCES u (id);"),
    ("unique-constraint-without-index", "ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX i;"),
    ("unique-constraint-without-index", "ALTER TABLE t ADD CONSTRAINT p PRIMARY KEY USING INDEX i;"),
    ("unique-constraint-without-index", NEW + "ALTER TABLE t ADD PRIMARY KEY (a);"),
    ("unique-constraint-without-index", "CREATE TABLE u (a int UNIQUE, b int PRIMARY KEY);"),
    (
        "set-not-null",
        "ALTER TABLE t VALIDATE CONSTRAINT a_not_null;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;\n"
        "ALTER TABLE t DROP CONSTRAINT a_not_null;",
    ),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;",
    ),
    ("set-not-null", NEW + "ALTER TABLE t ALTER COLUMN a SET NOT NULL;"),
    ("volatile-default", "ALTER TABLE t ADD COLUMN c int DEFAULT 0;"),
    ("volatile-default", "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now();"),
    ("volatile-default", "ALTER TABLE t ADD COLUMN c text DEFAULT NULL;"),
    ("volatile-default", NEW + "ALTER TABLE t ADD COLUMN id uuid DEFAULT gen_random_uuid();"),
    ("volatile-default", "CREATE TABLE u (id uuid DEFAULT gen_random_uuid());"),
    ("add-column-rewrites-table", "ALTER TABLE t ADD COLUMN c int;"),
    ("add-column-rewrites-table", NEW + "ALTER TABLE t ADD COLUMN id bigserial;"),
    ("add-column-rewrites-table", "ALTER TABLE t ADD COLUMN d int GENERATED ALWAYS AS (a * 2) VIRTUAL;"),
    ("alter-column-type", "ALTER TABLE t ALTER COLUMN b TYPE text;"),
    ("alter-column-type", "ALTER TABLE t ALTER COLUMN b TYPE varchar(200);"),
    ("alter-column-type", "ALTER TABLE t ALTER COLUMN b TYPE varchar;"),
    ("alter-column-type", "ALTER TABLE t ALTER COLUMN b TYPE numeric(12, 2);"),
    ("alter-column-type", NEW + "ALTER TABLE t ALTER COLUMN a TYPE bigint;"),
    ("vacuum-full", "VACUUM t;"),
    ("vacuum-full", "VACUUM (FULL false) t;"),
    ("vacuum-full", NEW + "VACUUM FULL t;"),
    ("cluster", NEW + "CLUSTER t USING i;"),
    ("refresh-materialized-view", "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;"),
    ("refresh-materialized-view", "CREATE MATERIALIZED VIEW mv AS SELECT 1;\nREFRESH MATERIALIZED VIEW mv;"),
    ("access-exclusive-multiple-tables", "ALTER TABLE a ADD COLUMN x int;\nALTER TABLE a ADD COLUMN y int;"),
    (
        "access-exclusive-multiple-tables",
        NEW + "ALTER TABLE a ADD COLUMN x int;\nALTER TABLE t ADD COLUMN y int;",
    ),
    (
        "access-exclusive-multiple-tables",
        "ALTER TABLE a ADD COLUMN x int;\nALTER TABLE b VALIDATE CONSTRAINT c;\n"
        "ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES a NOT VALID;\nLOCK TABLE d IN SHARE MODE;",
    ),
    (
        "access-exclusive-multiple-tables",
        "-- lockgate: no-transaction\nALTER TABLE a ADD COLUMN x int;\nALTER TABLE b ADD COLUMN x int;",
    ),
    (
        "access-exclusive-multiple-tables",
        "ALTER TABLE a ALTER COLUMN x SET (n_distinct = 5);\nALTER TABLE a ALTER COLUMN x RESET (n_distinct);\n"
        "ALTER TABLE b ADD COLUMN y int;",
    ),
    (
        "access-exclusive-multiple-tables",
        "DROP VIEW v;\nALTER VIEW w RENAME COLUMN a TO b;\nDROP INDEX i;\nALTER SEQUENCE s RENAME TO s2;\n"
        "ALTER TABLE b ADD COLUMN y int;",
    ),
    ("disabled-timeout", "SET lock_timeout = '5s';"),
    ("disabled-timeout", "SET statement_timeout = 0.5;"),
    ("disabled-timeout", "SET work_mem = 0;"),
    ("disabled-timeout", "ALTER ROLE authenticated SET statement_timeout = '8s';"),
    ("disabled-timeout", "SELECT set_config('lock_timeout', '10s', true);"),
    (
        "detach-partition-without-concurrently",
        "ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;",
    ),
    ("detach-partition-without-concurrently", "ALTER TABLE events DETACH PARTITION events_2023 FINALIZE;"),
    (
        "detach-partition-without-concurrently",
        "CREATE TABLE events (at date) PARTITION BY RANGE (at);\nALTER TABLE events DETACH PARTITION e;",
    ),
    ("detach-partition-without-concurrently", "ALTER TABLE events ATTACH PARTITION e FOR VALUES IN (1);"),
    ("set-tablespace", NEW + "ALTER TABLE public.t SET TABLESPACE archive;"),
    ("set-tablespace", NEW_UNQUALIFIED + "CREATE INDEX i ON t (a);\nALTER INDEX i SET TABLESPACE archive;"),
    (
        "set-tablespace",
        "CREATE TABLE p (a int) PARTITION BY RANGE (a);\nALTER TABLE p SET TABLESPACE archive;",
    ),
    ("set-tablespace", "ALTER TABLE t SET (fillfactor = 70);"),
    ("set-tablespace", "CREATE TABLE u (a int) TABLESPACE archive;"),
    ("add-exclusion-constraint", "CREATE TABLE b (r tstzrange, EXCLUDE USING gist (r WITH &&));"),
    ("add-exclusion-constraint", NEW + "ALTER TABLE t ADD EXCLUDE USING gist (b WITH =);"),
    ("add-exclusion-constraint", "ALTER TABLE b ADD CONSTRAINT k UNIQUE USING INDEX i;"),
    ("backfill-under-lock", "UPDATE t SET c = 0;\nALTER TABLE t ADD COLUMN d int;"),
    ("backfill-under-lock", "ALTER TABLE t ADD COLUMN c int;\nUPDATE u SET c = 0;"),
    ("backfill-under-lock", "ALTER TABLE t VALIDATE CONSTRAINT c;\nUPDATE t SET c = 0;"),
    ("backfill-under-lock", "ALTER TABLE t ALTER COLUMN a SET STATISTICS 500;\nDELETE FROM t WHERE a = 0;"),
    ("backfill-under-lock", "ALTER TABLE t ADD COLUMN c int;\nINSERT INTO t (c) VALUES (1);"),
    (
        "backfill-under-lock",
        "-- lockgate: no-transaction\nALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = 0;",
    ),
    ("backfill-under-lock", NEW + "ALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = 0;"),
    ("backfill-under-lock", NEW_UNQUALIFIED + "CREATE INDEX i ON public.t (a);\nUPDATE t SET a = 0;"),
    ("constraint-without-not-valid", "ALTER DOMAIN posint ADD CONSTRAINT pos CHECK (VALUE > 0) NOT VALID;"),
    ("constraint-without-not-valid", "ALTER DOMAIN posint VALIDATE CONSTRAINT pos;"),
    ("constraint-without-not-valid", "ALTER DOMAIN posint DROP NOT NULL;"),
    (
        "constraint-without-not-valid",
        "CREATE DOMAIN app.posint AS int;\nALTER DOMAIN app.posint ADD CONSTRAINT pos CHECK (VALUE > 0);",
    ),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;\n"
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
    ),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (b > 0 AND a IS NOT NULL);\nALTER TABLE public.t ALTER COLUMN a SET NOT NULL;",
    ),
    ("set-not-null", "ALTER TABLE t ADD CONSTRAINT t_a_not_null NOT NULL a NOT VALID;"),
    (
        "set-not-null",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;\n"
        "ALTER TABLE t ADD CONSTRAINT t_a_not_null NOT NULL a;",
    ),
    ("reindex-without-concurrently", "REINDEX SYSTEM CONCURRENTLY;"),
    ("reindex-without-concurrently", "REINDEX TABLE CONCURRENTLY pg_catalog.pg_class;"),
]


@pytest.mark.parametrize(("rule", "sql", "expected"), FIRES)
def test_fires(rule: str, sql: str, expected: list[tuple[int, int]]) -> None:
    assert hits(sql, rule) == expected


@pytest.mark.parametrize(("rule", "sql"), QUIET)
def test_quiet(rule: str, sql: str) -> None:
    assert hits(sql, rule) == []


def test_every_lock_rule_has_fire_and_quiet_cases() -> None:
    from lockgate.lint.registry import all_rules

    lock_rules = {r.id for r in all_rules() if r.family == "lock-safety"}
    assert lock_rules <= {rule for rule, _, _ in FIRES}
    assert lock_rules <= {rule for rule, _ in QUIET}


def test_messages_name_the_lock_and_the_table() -> None:
    messages = {f.rule_id: f.message for f in lint_sql("CREATE INDEX i ON orders (a);\nVACUUM FULL orders;")}
    assert messages["index-without-concurrently"] == (
        "CREATE INDEX takes a SHARE lock on public.orders, blocking writes for the whole build"
    )
    assert "ACCESS EXCLUSIVE" in messages["vacuum-full"] and "public.orders" in messages["vacuum-full"]


@pytest.mark.parametrize(
    ("sql", "rule", "pg_major", "expected"),
    [
        ("ALTER TABLE t ADD COLUMN c int DEFAULT 0;", "volatile-default", 10, [(1, 32)]),
        ("ALTER TABLE t ADD COLUMN c int DEFAULT 0;", "volatile-default", 11, []),
        (
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL);\n"
            "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
            "set-not-null",
            11,
            [(2, 1)],
        ),
    ],
)
def test_version_dependent_rules(sql: str, rule: str, pg_major: int, expected: list[tuple[int, int]]) -> None:
    assert hits(sql, rule, pg_major=pg_major) == expected


def test_reindex_help_depends_on_pg_major() -> None:
    (old,) = [
        f for f in lint_sql("REINDEX TABLE t;", pg_major=11) if f.rule_id == "reindex-without-concurrently"
    ]
    (new,) = [
        f for f in lint_sql("REINDEX TABLE t;", pg_major=16) if f.rule_id == "reindex-without-concurrently"
    ]
    assert "no REINDEX CONCURRENTLY" in old.help
    assert "REINDEX ... CONCURRENTLY" in new.help


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE a ADD COLUMN x int",
        "ALTER TABLE a ALTER COLUMN x SET (n_distinct = 5)",
        "ALTER TABLE a ALTER COLUMN x SET COMPRESSION lz4",
        "ALTER TABLE a DETACH PARTITION c CONCURRENTLY",
        "ALTER TABLE a ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES u NOT VALID",
        "DROP TRIGGER tr ON a",
        "ALTER POLICY p ON a RENAME TO q",
        "VACUUM (FULL false) a",
        "VACUUM FULL a",
        "LOCK TABLE a IN SHARE MODE",
        "LOCK TABLE a",
        "TRUNCATE a",
        "CREATE INDEX i ON a (x)",
        "REFRESH MATERIALIZED VIEW a",
        "CLUSTER a",
    ],
)
def test_the_rule_and_the_pr_plan_table_agree_on_access_exclusive(sql: str) -> None:
    """Both ask lockgate.locks, so they cannot disagree about which statements block a table."""
    from lockgate.locks import CreatedRelations, locks_on_existing_tables, summarise
    from lockgate.statements import parse_sql

    text = f"{sql};\nALTER TABLE other ADD COLUMN z int;\n"
    plan = summarise(locks_on_existing_tables(parse_sql(text).statements, CreatedRelations()))
    assert ("ACCESS EXCLUSIVE on a" in plan) == bool(hits(text, "access-exclusive-multiple-tables"))


@pytest.mark.parametrize(
    "sql",
    [
        "REINDEX SYSTEM;",
        "REINDEX SYSTEM postgres;",
        "REINDEX TABLE pg_class;",
        "REINDEX INDEX pg_catalog.pg_class_oid_index;",
        "REINDEX SCHEMA pg_catalog;",
    ],
)
def test_reindex_of_system_catalogs_never_suggests_concurrently(sql: str) -> None:
    """PostgreSQL refuses REINDEX ... CONCURRENTLY on catalogs ("cannot reindex system catalogs
    concurrently"), so neither the message nor the help may offer it, on any version."""
    for pg_major in (11, 16):
        (finding,) = [
            f for f in lint_sql(sql, pg_major=pg_major) if f.rule_id == "reindex-without-concurrently"
        ]
        assert "cannot be rebuilt CONCURRENTLY" in finding.message
        assert "Use REINDEX" not in finding.help and "maintenance window" in finding.help
        assert "public." not in finding.message


@pytest.mark.parametrize(
    "target", ["TABLE pg_class", "INDEX pg_catalog.pg_class_oid_index", "SYSTEM {database}"]
)
def test_postgresql_refuses_what_the_catalog_message_says(
    conn: psycopg.Connection[tuple[object, ...]], target: str
) -> None:
    """The premise of the catalog message, on a real server: no CONCURRENTLY for system catalogs."""
    kind, name = target.format(database=conn.info.dbname).split()
    (finding,) = [
        f for f in lint_sql(f"REINDEX {kind} {name};") if f.rule_id == "reindex-without-concurrently"
    ]
    assert "cannot be rebuilt CONCURRENTLY" in finding.message
    concurrently = f"REINDEX {kind} CONCURRENTLY {name}"
    with pytest.raises(
        psycopg.errors.FeatureNotSupported, match="cannot reindex system catalogs concurrently"
    ):
        conn.execute(concurrently)


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("REINDEX SCHEMA app;", "each table"),
        ("REINDEX TABLE pg_toast.pg_toast_16384;", "the table"),  # a user table's TOAST table
        ("REINDEX DATABASE;", "each table"),  # CONCURRENTLY skips the catalogs there
    ],
)
def test_reindex_of_user_tables_still_suggests_concurrently(sql: str, fragment: str) -> None:
    (finding,) = [f for f in lint_sql(sql) if f.rule_id == "reindex-without-concurrently"]
    assert fragment in finding.message and "REINDEX ... CONCURRENTLY" in finding.help


@pytest.mark.parametrize(
    ("sql", "rule", "old_help", "new_help"),
    [
        (
            "ALTER TABLE events DETACH PARTITION e;",
            "detach-partition-without-concurrently",
            "PostgreSQL 13 has no DETACH PARTITION CONCURRENTLY",
            "DETACH PARTITION ... CONCURRENTLY alone",
        ),
        ("ALTER INDEX i SET TABLESPACE archive;", "set-tablespace", "pg_repack", "REINDEX (TABLESPACE"),
    ],
)
def test_help_follows_pg_major(sql: str, rule: str, old_help: str, new_help: str) -> None:
    """Both fire on every version (the lock is the same); only 14+ has the lock-light way out."""
    (old,) = [f for f in lint_sql(sql, pg_major=13) if f.rule_id == rule]
    (new,) = [f for f in lint_sql(sql, pg_major=14) if f.rule_id == rule]
    assert old_help in old.help and new_help not in old.help
    assert new_help in new.help


def test_backfill_message_names_the_lock_and_where_it_was_taken() -> None:
    sql = "ALTER TABLE orders ADD COLUMN c int;\nCREATE INDEX i ON items (a);\nUPDATE orders SET c = 1;\nUPDATE items SET a = 1;"
    messages = [f.message for f in lint_sql(sql) if f.rule_id == "backfill-under-lock"]
    assert messages == [
        "UPDATE public.orders runs while this transaction holds an ACCESS EXCLUSIVE lock on it (taken on line 1): "
        "every other session's reads and writes wait until the whole backfill commits",
        "UPDATE public.items runs while this transaction holds a SHARE lock on it (taken on line 2): "
        "every other session's writes wait until the whole backfill commits",
    ]


def test_domain_constraint_names_the_tables_the_history_says_use_it(tmp_path: Path) -> None:
    from lockgate.lint.engine import lint_paths

    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "20250101000000_domain.sql").write_text(
        "CREATE DOMAIN public.money_cents AS bigint;\nCREATE TABLE public.orders (total money_cents);\n"
    )
    (directory / "20250102000000_check.sql").write_text(
        "ALTER DOMAIN public.money_cents ADD CONSTRAINT positive CHECK (VALUE >= 0);\n"
    )
    report = lint_paths([directory], cache_dir=tmp_path / ".lockgate")
    (finding,) = [f for f in report.findings if f.rule_id == "constraint-without-not-valid"]
    assert "(public.orders.total)" in finding.message and "SHARE lock" in finding.message


_PG_MODES = {
    "AccessShareLock": "ACCESS SHARE",
    "RowShareLock": "ROW SHARE",
    "RowExclusiveLock": "ROW EXCLUSIVE",
    "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE",
    "ShareLock": "SHARE",
    "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
    "ExclusiveLock": "EXCLUSIVE",
    "AccessExclusiveLock": "ACCESS EXCLUSIVE",
}


@pytest.mark.parametrize(
    ("rule", "setup", "sql", "table"),
    [
        (
            "detach-partition-without-concurrently",
            "CREATE TABLE events (at int) PARTITION BY RANGE (at);\n"
            "CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (10);",
            "ALTER TABLE events DETACH PARTITION events_1;",
            "events",
        ),
        ("set-tablespace", "CREATE TABLE t (a int);", "ALTER TABLE t SET TABLESPACE pg_default;", "t"),
        (
            "add-exclusion-constraint",
            "CREATE TABLE b (r int4range);",
            "ALTER TABLE b ADD CONSTRAINT b_no_overlap EXCLUDE USING gist (r WITH &&);",
            "b",
        ),
        (
            "constraint-without-not-valid",
            "CREATE DOMAIN posint AS int;\nCREATE TABLE u (v posint);",
            "ALTER DOMAIN posint ADD CONSTRAINT pos CHECK (VALUE > 0);",
            "u",
        ),
        (
            "constraint-without-not-valid",
            "CREATE DOMAIN posint AS int;\nCREATE TABLE u (v posint);",
            "ALTER DOMAIN posint SET NOT NULL;",
            "u",
        ),
        (
            "backfill-under-lock",
            "CREATE TABLE t (a int);",
            "ALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = 1;",
            "t",
        ),
        ("backfill-under-lock", "CREATE TABLE t (a int);", "CREATE INDEX t_a ON t (a);\nDELETE FROM t;", "t"),
    ],
)
def test_the_lock_a_finding_names_is_the_lock_postgresql_takes(
    conn: psycopg.Connection[tuple[object, ...]], rule: str, setup: str, sql: str, table: str
) -> None:
    (finding,) = [f for f in lint_sql(sql) if f.rule_id == rule]
    named = re.search(r"\ban? ([A-Z ]+?) lock\b", finding.message)
    assert named is not None, finding.message
    conn.execute(setup)  # committed first: a table created in the same transaction is locked by its CREATE
    with conn.transaction(force_rollback=True):
        conn.execute(sql)
        held = [
            _PG_MODES[str(mode)]
            for (mode,) in conn.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = %s::regclass", (table,)
            )
        ]
    assert strongest(held) == named.group(1), (held, finding.message)
