"""Supabase security rules: table-driven fire (exact line:col) and quiet cases, plus realistic
Supabase migrations (profiles trigger on auth.users, storage bucket policies) that must stay quiet."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from lint_helpers import hits, lint_sql

from lockgate.lint.configuration import build_settings
from lockgate.lint.engine import lint_text
from lockgate.lint.registry import REGISTRY, all_rules
from lockgate.lint.supabase_config import api_schemas, resolve_exposed_schemas
from lockgate.problems import Severity

RLS = "ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;"

FIRES = [
    # rls-not-enabled
    ("rls-not-enabled", "CREATE TABLE public.orders (id bigint);", [(1, 14)]),
    (
        "rls-not-enabled",
        "CREATE TABLE orders (id bigint);\nALTER TABLE other ENABLE ROW LEVEL SECURITY;",
        [(1, 14)],
    ),
    (
        "rls-not-enabled",
        "CREATE TABLE orders (id bigint);\nALTER TABLE orders FORCE ROW LEVEL SECURITY;",
        [(1, 14)],
    ),
    ("rls-not-enabled", "CREATE TABLE IF NOT EXISTS\n  public.a (id int);", [(2, 3)]),
    ("rls-not-enabled", "CREATE TABLE public.copy AS SELECT 1 AS a;", [(1, 14)]),
    ("rls-not-enabled", "DO $$ BEGIN\n  CREATE TABLE public.t (a int);\nEND $$;", [(2, 3)]),
    # rls-disabled
    ("rls-disabled", "ALTER TABLE public.orders DISABLE ROW LEVEL SECURITY;", [(1, 1)]),
    (
        "rls-disabled",
        f"CREATE TABLE orders (a int);\n{RLS}\nALTER TABLE orders DISABLE ROW LEVEL SECURITY;",
        [(3, 1)],
    ),
    ("rls-disabled", "ALTER TABLE private.audit DISABLE ROW LEVEL SECURITY;", [(1, 1)]),
    # policy-without-rls
    (
        "policy-without-rls",
        "CREATE TABLE orders (a int);\nCREATE POLICY p ON public.orders FOR SELECT USING (true);",
        [(2, 20)],
    ),
    (
        "policy-without-rls",
        "CREATE TABLE private.t (a int);\nCREATE POLICY p ON private.t USING (true);\n"
        "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;",
        [(2, 20)],
    ),
    # auth-call-per-row
    ("auth-call-per-row", "CREATE POLICY p ON orders USING (auth.uid() = owner_id);", [(1, 34)]),
    (
        "auth-call-per-row",
        "CREATE POLICY p ON orders\n  USING (owner_id = auth.uid())\n"
        "  WITH CHECK (auth.jwt() ->> 'r' = 'a');",
        [(2, 21), (3, 15)],
    ),
    ("auth-call-per-row", "ALTER POLICY p ON orders USING (auth.role() = 'authenticated');", [(1, 33)]),
    (
        "auth-call-per-row",
        "CREATE POLICY p ON orders USING (current_setting('request.jwt.claims', true)::json->>'sub' = x);",
        [(1, 34)],
    ),
    (
        "auth-call-per-row",
        "CREATE POLICY p ON orders USING (EXISTS (SELECT 1 FROM m WHERE m.user_id = auth.uid()));",
        [(1, 76)],
    ),
    ("auth-call-per-row", "CREATE POLICY p ON orders USING (auth.email() = email);", [(1, 34)]),
    # always-true-write-policy
    ("always-true-write-policy", "CREATE POLICY p ON orders FOR UPDATE USING (true);", [(1, 45)]),
    (
        "always-true-write-policy",
        "CREATE POLICY p ON orders FOR INSERT TO anon WITH CHECK (true);",
        [(1, 58)],
    ),
    (
        "always-true-write-policy",
        "CREATE POLICY p ON orders FOR DELETE TO authenticated USING (1 = 1);",
        [(1, 64)],
    ),
    ("always-true-write-policy", "CREATE POLICY p ON orders USING (true) WITH CHECK (true);", [(1, 34)]),
    (
        "always-true-write-policy",
        "CREATE POLICY p ON orders FOR UPDATE\n  USING (x = 1)\n  WITH CHECK ('true'::boolean);",
        [(3, 15)],
    ),
    ("always-true-write-policy", "CREATE POLICY p ON orders FOR INSERT TO authenticated;", [(1, 1)]),
    # policy-uses-user-metadata
    (
        "policy-uses-user-metadata",
        "CREATE POLICY p ON orders USING ((select auth.jwt()) -> 'user_metadata' ->> 'role' = 'admin');",
        [(1, 57)],
    ),
    (
        "policy-uses-user-metadata",
        "CREATE POLICY p ON orders USING (\n  EXISTS (SELECT 1 FROM auth.users u\n"
        "    WHERE u.id = (select auth.uid()) AND u.raw_user_meta_data ->> 'admin' = 'y'));",
        [(3, 42)],
    ),
    (
        "policy-uses-user-metadata",
        "CREATE POLICY p ON orders WITH CHECK "
        "(current_setting('request.jwt.claims')::jsonb #>> '{user_metadata,org}' = org);",
        [(1, 88)],
    ),
    # security-definer-without-search-path
    (
        "security-definer-without-search-path",
        "CREATE FUNCTION public.f() RETURNS int\n  LANGUAGE sql SECURITY DEFINER AS 'select 1';",
        [(2, 16)],
    ),
    (
        "security-definer-without-search-path",
        "CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plpgsql SECURITY DEFINER\n"
        "SET statement_timeout = '1s' AS $$ BEGIN END $$;",
        [(1, 62)],
    ),
    (
        "security-definer-without-search-path",
        "ALTER FUNCTION g() SET search_path = '';\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'select 1';\n"
        "ALTER FUNCTION g() SET search_path = '';",
        [(2, 46)],
    ),
    (
        "always-true-write-policy",
        "CREATE POLICY p ON t FOR ALL TO service_role, anon USING (true);",
        [(1, 59)],
    ),
    # view-without-security-invoker
    ("view-without-security-invoker", "CREATE VIEW public.v AS SELECT 1;", [(1, 13)]),
    (
        "view-without-security-invoker",
        "CREATE VIEW public.v AS SELECT 1;\nREVOKE INSERT ON public.v FROM anon, authenticated;\n"
        "REVOKE ALL ON public.v FROM anon;\nGRANT SELECT ON public.v TO anon;",
        [(1, 13)],
    ),
    (
        "view-exposes-auth-users",
        "CREATE VIEW public.u AS SELECT id FROM auth.users;\nREVOKE ALL ON public.u FROM anon, authenticated;\n"
        "GRANT SELECT ON public.u TO authenticated;",
        [(1, 40)],
    ),
    (
        "view-without-security-invoker",
        "CREATE OR REPLACE VIEW v WITH (security_invoker = false) AS SELECT 1;",
        [(1, 24)],
    ),
    (
        "view-without-security-invoker",
        "CREATE VIEW v WITH (security_barrier) AS SELECT 1;\nALTER VIEW other SET (security_invoker = true);",
        [(1, 13)],
    ),
    # view-exposes-auth-users
    ("view-exposes-auth-users", "CREATE VIEW public.u AS SELECT id, email FROM auth.users;", [(1, 47)]),
    (
        "view-exposes-auth-users",
        "CREATE MATERIALIZED VIEW public.u AS\n"
        "  SELECT p.id FROM profiles p JOIN auth.users u ON u.id = p.id;",
        [(2, 36)],
    ),
    (
        "view-exposes-auth-users",
        "CREATE VIEW v WITH (security_invoker = true) AS SELECT * FROM (SELECT id FROM auth.users) s;",
        [(1, 79)],
    ),
    # auth-users-foreign-key-not-id
    ("auth-users-foreign-key-not-id", "CREATE TABLE i (e text REFERENCES auth.users (email));", [(1, 24)]),
    (
        "auth-users-foreign-key-not-id",
        "ALTER TABLE i\n  ADD CONSTRAINT i_fk FOREIGN KEY (p) REFERENCES auth.users (phone);",
        [(2, 7)],
    ),
    # extension-in-public
    ("extension-in-public", "CREATE EXTENSION IF NOT EXISTS pg_trgm;", [(1, 1)]),
    ("extension-in-public", 'CREATE EXTENSION "uuid-ossp" WITH SCHEMA public;', [(1, 1)]),
    # supabase-managed-schema-ddl
    ("supabase-managed-schema-ddl", "ALTER TABLE auth.users ADD COLUMN plan text;", [(1, 13)]),
    ("supabase-managed-schema-ddl", "CREATE TABLE storage.extra (a int);", [(1, 14)]),
    ("supabase-managed-schema-ddl", "CREATE INDEX i ON auth.users (email);", [(1, 19)]),
    (
        "supabase-managed-schema-ddl",
        "CREATE FUNCTION auth.f() RETURNS int LANGUAGE sql AS 'select 1';",
        [(1, 1)],
    ),
    ("supabase-managed-schema-ddl", "DROP TABLE IF EXISTS extensions.t;", [(1, 1)]),
    (
        "supabase-managed-schema-ddl",
        "CREATE TRIGGER t AFTER INSERT ON storage.objects FOR EACH ROW EXECUTE FUNCTION f();",
        [(1, 34)],
    ),
    ("supabase-managed-schema-ddl", "CREATE POLICY p ON realtime.messages USING (true);", [(1, 20)]),
    ("supabase-managed-schema-ddl", "DROP POLICY p ON auth.users;", [(1, 1)]),
    ("supabase-managed-schema-ddl", "ALTER TYPE auth.factor_type ADD VALUE 'x';", [(1, 1)]),
]

QUIET = [
    ("rls-not-enabled", f"CREATE TABLE public.orders (id bigint);\n{RLS}"),
    (
        "rls-not-enabled",
        "CREATE TABLE orders (id bigint);\nALTER TABLE IF EXISTS public.orders ENABLE ROW LEVEL SECURITY;",
    ),
    ("rls-not-enabled", "CREATE TABLE private.orders (id bigint);"),
    ("rls-not-enabled", "CREATE TEMP TABLE scratch (id bigint);"),
    ("rls-not-enabled", "CREATE TABLE auth.extra (id bigint);"),
    ("rls-disabled", "ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;"),
    ("rls-disabled", "ALTER TABLE public.orders NO FORCE ROW LEVEL SECURITY;"),
    ("policy-without-rls", f"CREATE TABLE orders (a int);\n{RLS}\nCREATE POLICY p ON orders USING (true);"),
    ("policy-without-rls", "CREATE TABLE orders (a int);\nCREATE POLICY p ON orders USING (true);\n" + RLS),
    ("policy-without-rls", "CREATE POLICY p ON public.orders USING (true);"),
    ("auth-call-per-row", "CREATE POLICY p ON orders USING ((select auth.uid()) = owner_id);"),
    ("auth-call-per-row", "CREATE POLICY p ON orders USING (((SELECT auth.uid() AS uid) IS NOT NULL));"),
    (
        "auth-call-per-row",
        "CREATE POLICY p ON orders USING (owner_id IN (SELECT auth.uid())) "
        "WITH CHECK ((select current_setting('app.tenant')) = tenant);",
    ),
    ("auth-call-per-row", "CREATE POLICY p ON orders USING (public.is_member(org_id));"),
    ("auth-call-per-row", "CREATE POLICY p ON orders USING (uid() = owner_id);"),
    ("always-true-write-policy", "CREATE POLICY p ON orders FOR SELECT USING (true);"),
    ("always-true-write-policy", "CREATE POLICY p ON orders FOR UPDATE TO editor USING (true);"),
    (
        "always-true-write-policy",
        "CREATE POLICY p ON orders FOR ALL TO service_role USING (true) WITH CHECK (true);",
    ),
    ("always-true-write-policy", "CREATE POLICY p ON orders AS RESTRICTIVE FOR UPDATE USING (true);"),
    (
        "always-true-write-policy",
        "CREATE POLICY p ON orders FOR INSERT WITH CHECK ((select auth.uid()) = owner);",
    ),
    ("always-true-write-policy", "CREATE POLICY p ON orders FOR UPDATE USING (x = 1) WITH CHECK (x = 1);"),
    ("always-true-write-policy", "CREATE POLICY p ON orders FOR DELETE USING (1 = 2);"),
    (
        "policy-uses-user-metadata",
        "CREATE POLICY p ON o USING ((select auth.jwt()) -> 'app_metadata' ->> 'r' = 'a');",
    ),
    ("policy-uses-user-metadata", "CREATE POLICY p ON o USING (note <> 'user_metadata');"),
    (
        "security-definer-without-search-path",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = '' AS 'select 1';",
    ),
    (
        "security-definer-without-search-path",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT "
        "AS 'select 1';",
    ),
    ("security-definer-without-search-path", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';"),
    (
        "security-definer-without-search-path",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'select 1';\n"
        "ALTER FUNCTION public.f() SET search_path = pg_catalog, public;",
    ),
    (
        "security-definer-without-search-path",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY INVOKER AS 'select 1';",
    ),
    ("view-without-security-invoker", "CREATE VIEW public.v WITH (security_invoker = true) AS SELECT 1;"),
    ("view-without-security-invoker", "CREATE VIEW v WITH (security_invoker) AS SELECT 1;"),
    (
        "view-without-security-invoker",
        "CREATE VIEW v WITH (security_invoker = on, security_barrier) AS SELECT 1;",
    ),
    (
        "view-without-security-invoker",
        "CREATE VIEW v AS SELECT 1;\nALTER VIEW public.v SET (security_invoker = true);",
    ),
    ("view-without-security-invoker", "CREATE VIEW private.v AS SELECT 1;"),
    (
        "view-without-security-invoker",
        "CREATE VIEW public.v AS SELECT 1;\nREVOKE ALL ON public.v FROM anon, authenticated;",
    ),
    (
        "view-without-security-invoker",
        "CREATE VIEW v AS SELECT 1;\nREVOKE SELECT ON v FROM anon;\nREVOKE SELECT, INSERT ON TABLE v FROM authenticated;",
    ),
    ("view-without-security-invoker", "CREATE TEMP VIEW v AS SELECT 1;"),
    ("view-exposes-auth-users", "CREATE VIEW private.u AS SELECT id FROM auth.users;"),
    (
        "view-exposes-auth-users",
        "CREATE VIEW public.u AS SELECT id FROM auth.users;\nREVOKE ALL ON public.u FROM PUBLIC, anon, authenticated;",
    ),
    (
        "view-exposes-auth-users",
        "CREATE VIEW public.u WITH (security_invoker = true) AS SELECT id FROM users;",
    ),
    ("auth-users-foreign-key-not-id", "CREATE TABLE p (id uuid REFERENCES auth.users (id));"),
    ("auth-users-foreign-key-not-id", "CREATE TABLE p (id uuid REFERENCES auth.users);"),
    ("auth-users-foreign-key-not-id", "CREATE TABLE p (e text REFERENCES public.users (email));"),
    ("extension-in-public", "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;"),
    ("extension-in-public", "CREATE EXTENSION IF NOT EXISTS pg_cron;"),
    ("extension-in-public", "CREATE EXTENSION plpgsql;"),
    (
        "supabase-managed-schema-ddl",
        "CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users\n"
        "  FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();",
    ),
    ("supabase-managed-schema-ddl", "DROP TRIGGER IF EXISTS on_auth_user_created ON auth.users;"),
    ("supabase-managed-schema-ddl", "CREATE POLICY p ON storage.objects FOR SELECT USING (bucket_id = 'a');"),
    ("supabase-managed-schema-ddl", "DROP POLICY IF EXISTS p ON storage.buckets;"),
    ("supabase-managed-schema-ddl", "ALTER POLICY p ON storage.objects USING (bucket_id = 'a');"),
    ("supabase-managed-schema-ddl", "CREATE EXTENSION pg_trgm WITH SCHEMA extensions;"),
    ("supabase-managed-schema-ddl", "INSERT INTO storage.buckets (id, name) VALUES ('a', 'a');"),
    ("supabase-managed-schema-ddl", "CREATE TABLE public.users (id uuid);\nDROP FUNCTION public.f();"),
]


@pytest.mark.parametrize(("rule", "sql", "expected"), FIRES)
def test_fires(rule: str, sql: str, expected: list[tuple[int, int]]) -> None:
    assert hits(sql, rule) == expected


@pytest.mark.parametrize(("rule", "sql"), QUIET)
def test_quiet(rule: str, sql: str) -> None:
    assert hits(sql, rule) == []


def test_every_supabase_rule_has_fire_and_quiet_cases() -> None:
    rules = {rule.id for rule in all_rules() if rule.family == "supabase"}
    assert rules == {case[0] for case in FIRES} == {case[0] for case in QUIET}


def test_security_invoker_rule_is_silent_before_pg15() -> None:
    assert hits("CREATE VIEW public.v AS SELECT 1;", "view-without-security-invoker", pg_major=14) == []
    assert REGISTRY["view-without-security-invoker"].pg_versions


def test_auth_call_message_names_policy_table_and_fix() -> None:
    (finding,) = [
        f
        for f in lint_sql('CREATE POLICY "own rows" ON orders USING (auth.uid() = owner_id);')
        if f.rule_id == "auth-call-per-row"
    ]
    assert finding.message == (
        'policy "own rows" on public.orders calls auth.uid() per row in USING; '
        "wrap it as (select auth.uid()) so it is evaluated once"
    )
    assert finding.severity is Severity.WARNING


@pytest.mark.parametrize(
    ("rule", "severity"),
    [
        ("rls-not-enabled", "error"),
        ("rls-disabled", "error"),
        ("policy-without-rls", "warning"),
        ("auth-call-per-row", "warning"),
        ("always-true-write-policy", "warning"),
        ("policy-uses-user-metadata", "error"),
        ("security-definer-without-search-path", "error"),
        ("view-without-security-invoker", "error"),
        ("view-exposes-auth-users", "error"),
        ("auth-users-foreign-key-not-id", "error"),
        ("extension-in-public", "warning"),
        ("supabase-managed-schema-ddl", "warning"),
    ],
)
def test_default_severities(rule: str, severity: str) -> None:
    assert REGISTRY[rule].severity.value == severity


# -- exposed schemas ------------------------------------------------------------------------------
def test_configured_exposed_schemas_replace_public() -> None:
    settings = build_settings({}, exposed_schemas=("api",))
    sql = "CREATE TABLE public.a (id int);\nCREATE TABLE api.b (id int);\n"
    found = [(f.rule_id, f.line) for f in lint_text(sql, "m.sql", settings).findings]
    assert ("rls-not-enabled", 2) in found
    assert ("rls-not-enabled", 1) not in found


def test_supabase_config_toml_api_schemas(tmp_path: Path) -> None:
    supabase = tmp_path / "supabase"
    (supabase / "migrations").mkdir(parents=True)
    (supabase / "config.toml").write_text('[api]\nschemas = ["public", "api", "graphql_public"]\n')
    assert api_schemas(supabase / "config.toml") == ("public", "api", "graphql_public")
    assert resolve_exposed_schemas((), tmp_path) == ("public", "api", "graphql_public")
    assert resolve_exposed_schemas(("x",), tmp_path) == ("x",)
    assert resolve_exposed_schemas((), tmp_path / "elsewhere") == ("public",)
    migration = supabase / "migrations" / "20250101000000_api.sql"
    result = lint_text("CREATE TABLE api.b (id int);\n", str(migration), build_settings())
    assert [f.rule_id for f in result.findings] == ["rls-not-enabled"]


@pytest.mark.parametrize("content", ["[api\nschemas = 1", "[api]\nschemas = 'public'", "[db]\nport = 1"])
def test_unusable_config_toml_falls_back(tmp_path: Path, content: str) -> None:
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text(content)
    assert resolve_exposed_schemas((), tmp_path) == ("public",)


# -- realistic migrations that must be quiet ------------------------------------------------------
PROFILES_MIGRATION = """
-- Migration: profiles filled from auth.users
-- Date: 2025-09-01
-- Description: A public profile per user, created by a trigger on auth.users.

CREATE TABLE IF NOT EXISTS public.profiles (
  id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  username text UNIQUE,
  avatar_url text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;

CREATE POLICY "Public profiles are viewable by everyone" ON public.profiles
  FOR SELECT USING (true);

CREATE POLICY "Users insert their own profile" ON public.profiles
  FOR INSERT TO authenticated WITH CHECK ((SELECT auth.uid()) = id);

CREATE POLICY "Users update their own profile" ON public.profiles
  FOR UPDATE TO authenticated
  USING ((SELECT auth.uid()) = id)
  WITH CHECK ((SELECT auth.uid()) = id);

CREATE OR REPLACE FUNCTION public.handle_new_user()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  INSERT INTO public.profiles (id, username, avatar_url)
  VALUES (NEW.id, NEW.raw_user_meta_data ->> 'user_name', NEW.raw_user_meta_data ->> 'avatar_url');
  RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS on_auth_user_created ON auth.users;
CREATE TRIGGER on_auth_user_created
  AFTER INSERT ON auth.users
  FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;

CREATE OR REPLACE VIEW public.profile_directory WITH (security_invoker = true) AS
  SELECT id, username, avatar_url FROM public.profiles;
"""

STORAGE_MIGRATION = """
-- Migration: avatars bucket
-- Date: 2025-09-02
-- Description: A public avatars bucket; users manage files in their own folder.

INSERT INTO storage.buckets (id, name, public)
VALUES ('avatars', 'avatars', true)
ON CONFLICT (id) DO NOTHING;

CREATE POLICY "Avatar images are publicly accessible" ON storage.objects
  FOR SELECT USING (bucket_id = 'avatars');

CREATE POLICY "Users upload their own avatar" ON storage.objects
  FOR INSERT TO authenticated
  WITH CHECK (bucket_id = 'avatars' AND (storage.foldername(name))[1] = (SELECT auth.uid())::text);

CREATE POLICY "Users update their own avatar" ON storage.objects
  FOR UPDATE TO authenticated
  USING ((SELECT auth.uid()) = owner_id::uuid)
  WITH CHECK (bucket_id = 'avatars');

DROP POLICY IF EXISTS "Old avatar policy" ON storage.objects;

CREATE POLICY "Admins delete avatars" ON storage.objects
  FOR DELETE TO authenticated
  USING (bucket_id = 'avatars' AND (SELECT auth.jwt()) -> 'app_metadata' ->> 'role' = 'admin');
"""


@pytest.mark.parametrize("migration", [PROFILES_MIGRATION, STORAGE_MIGRATION])
def test_realistic_supabase_migrations_are_quiet(migration: str) -> None:
    result = lint_text(textwrap.dedent(migration).lstrip(), "m.sql", build_settings())
    supabase_findings = [
        (f.rule_id, f.line, f.message) for f in result.findings if REGISTRY[f.rule_id].family == "supabase"
    ]
    assert supabase_findings == []


def test_sample_project_is_quiet() -> None:
    root = Path(__file__).resolve().parents[2] / "migrations"
    families = {"compatibility", "supabase"}
    for path in sorted(root.glob("*.sql")):
        result = lint_text(path.read_text(encoding="utf-8"), str(path), build_settings())
        assert [f for f in result.findings if REGISTRY[f.rule_id].family in families] == [], path


@pytest.mark.parametrize("rule_id", sorted(r.id for r in all_rules() if r.family == "supabase"))
def test_docs_examples(rule_id: str) -> None:
    """The bad example fires the rule; the good one is clean of every warning and error."""
    rule = REGISTRY[rule_id]
    assert [f for f in lint_sql(rule.bad, {"select": [rule_id]}) if f.rule_id == rule_id]
    good = lint_sql(rule.good, {"extend-select": ["all"]})
    assert [f.rule_id for f in good if f.rule_id == rule_id or f.severity.value != "info"] == []
