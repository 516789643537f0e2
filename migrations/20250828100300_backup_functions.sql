-- Migration: Backup helpers
-- Date: 2025-08-28
-- Description: Snapshot a public table into the backups schema before risky changes, and list snapshots.

CREATE SCHEMA IF NOT EXISTS backups;

REVOKE ALL ON SCHEMA backups FROM PUBLIC;

CREATE OR REPLACE FUNCTION backups.snapshot_table(source_table TEXT)
RETURNS TEXT
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  snapshot_name TEXT := source_table || '_' || pg_catalog.to_char(pg_catalog.clock_timestamp(), 'YYYYMMDDHH24MISS');
BEGIN
  IF pg_catalog.to_regclass(pg_catalog.format('public.%I', source_table)) IS NULL THEN
    RAISE EXCEPTION 'table public.% does not exist', source_table;
  END IF;
  EXECUTE pg_catalog.format('CREATE TABLE backups.%I AS TABLE public.%I', snapshot_name, source_table);
  RETURN 'backups.' || snapshot_name;
END;
$$;

CREATE OR REPLACE FUNCTION backups.list_snapshots()
RETURNS TABLE (snapshot TEXT, total_bytes BIGINT)
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
  SELECT c.relname::TEXT, pg_catalog.pg_total_relation_size(c.oid)
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
  WHERE n.nspname = 'backups' AND c.relkind = 'r'
  ORDER BY c.relname;
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA backups FROM PUBLIC, anon, authenticated;
GRANT USAGE ON SCHEMA backups TO service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA backups TO service_role;
