-- Migration: Query monitoring helpers
-- Date: 2025-08-28
-- Description: Admin-only views of long-running queries, blocked sessions and table sizes.

CREATE SCHEMA IF NOT EXISTS monitoring;

REVOKE ALL ON SCHEMA monitoring FROM PUBLIC;

CREATE OR REPLACE FUNCTION monitoring.long_running_queries(min_duration INTERVAL DEFAULT INTERVAL '1 minute')
RETURNS TABLE (pid INTEGER, duration INTERVAL, state TEXT, query TEXT)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
  SELECT a.pid, now() - a.query_start, a.state, a.query
  FROM pg_catalog.pg_stat_activity AS a
  WHERE a.state <> 'idle'
    AND a.query_start < now() - min_duration
  ORDER BY a.query_start;
$$;

CREATE OR REPLACE FUNCTION monitoring.blocked_sessions()
RETURNS TABLE (blocked_pid INTEGER, blocking_pids INTEGER[], waiting_for INTERVAL, query TEXT)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
  SELECT a.pid, pg_catalog.pg_blocking_pids(a.pid), now() - a.query_start, a.query
  FROM pg_catalog.pg_stat_activity AS a
  WHERE pg_catalog.cardinality(pg_catalog.pg_blocking_pids(a.pid)) > 0;
$$;

CREATE OR REPLACE FUNCTION monitoring.table_sizes()
RETURNS TABLE (table_name TEXT, total_bytes BIGINT, row_estimate BIGINT)
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
  SELECT c.oid::pg_catalog.regclass::TEXT, pg_catalog.pg_total_relation_size(c.oid), c.reltuples::BIGINT
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'
  ORDER BY 2 DESC;
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA monitoring FROM PUBLIC, anon, authenticated;
GRANT USAGE ON SCHEMA monitoring TO service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA monitoring TO service_role;
