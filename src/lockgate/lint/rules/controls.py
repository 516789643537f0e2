"""Rules the engine reports itself: files it cannot lint, and lockgate's own comments gone wrong."""

from __future__ import annotations

from lockgate.lint.registry import engine_rule

SYNTAX_ERROR = engine_rule(
    id="syntax-error",
    family="apply-correctness",
    severity="error",
    summary="The file does not parse as PostgreSQL SQL.",
    why="""
        PostgreSQL would reject the migration at deploy time. lockgate uses PostgreSQL's own parser
        (through pglast), so the message and position are the ones the server would report. Nothing
        else in the file is checked until it parses.
    """,
    bad="""
        ALTER TABLE public.orders ADD COLUMN note text
        ALTER TABLE public.orders ADD COLUMN paid boolean;
    """,
    good="""
        ALTER TABLE public.orders ADD COLUMN note text;
        ALTER TABLE public.orders ADD COLUMN paid boolean;
    """,
    help="Fix the SQL at the reported position (a missing `;` is the usual cause).",
    required=True,
)

PSQL_META_COMMAND = engine_rule(
    id="psql-meta-command",
    family="apply-correctness",
    severity="error",
    summary="A psql meta-command (`\\i`, `\\set`, `\\connect`...) in a migration.",
    why="""
        Backslash commands are interpreted by the `psql` client, not by PostgreSQL. lockgate (like
        every migration runner that talks to the server directly) sends plain SQL, so the server
        reports a syntax error at deploy time.
    """,
    bad="""
        \\set ON_ERROR_STOP on
        CREATE TABLE public.audit_log (id bigint PRIMARY KEY);
    """,
    good="""
        CREATE TABLE public.audit_log (id bigint PRIMARY KEY);
    """,
    help="Remove the meta-command; inline included files and use SQL (`SET ...`) for settings.",
    required=True,
)

UNREADABLE_FILE = engine_rule(
    id="unreadable-file",
    family="lint",
    severity="error",
    summary="The file cannot be read, is not a regular file, leads out of its directory, or is not UTF-8.",
    why="""
        A migration that cannot be read cannot be checked or applied, and a file in another encoding
        may apply differently depending on the client's encoding setting. A FIFO, socket or device
        named like a migration is never read (reading it could wait forever), and neither is a symlink
        whose target is outside the file's directory: git records only the link, so review and
        `check-immutable` would never see an edit to what actually runs.
    """,
    bad="""
        -- (a file saved as Latin-1 containing 'café')
    """,
    good="""
        -- (the same file saved as UTF-8)
    """,
    help="Save the file as UTF-8, check its permissions, and keep migrations as regular files in their directory.",
    required=True,
)

EMPTY_MIGRATION = engine_rule(
    id="empty-migration",
    family="lint",
    severity="warning",
    summary="The file is empty or contains only comments.",
    why="""
        An empty migration is recorded as applied while doing nothing. Real histories have them (some
        tools write one per database they skip, `supabase migration new` starts with an empty file), so
        `lockgate run` applies them as no-ops; but an empty file can also mean the SQL was never saved
        or was commented out by mistake. `empty_migrations = "error"` in `[tool.lockgate]` makes this an
        error in lint, `validate` and `run` alike.
    """,
    bad="""
        -- ALTER TABLE public.orders ADD COLUMN note text;
    """,
    good="""
        ALTER TABLE public.orders ADD COLUMN note text;
    """,
    help="Write the migration's SQL, or delete the file.",
)

UNKNOWN_DIRECTIVE = engine_rule(
    id="unknown-directive",
    family="lint",
    severity="error",
    summary="A `-- lockgate:` directive lockgate does not know.",
    why="""
        Directives change how a migration is applied (`-- lockgate: no-transaction`). A misspelt one
        would silently apply the file the other way, so it is an error rather than a comment.
    """,
    bad="""
        -- lockgate: no-transactions
        CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer_id);
    """,
    good="""
        -- lockgate: no-transaction
        CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer_id);
    """,
    help="Use a known directive: `-- lockgate: no-transaction`.",
    required=True,
)

UNKNOWN_IGNORE = engine_rule(
    id="unknown-ignore",
    family="lint",
    severity="warning",
    summary="A `lockgate-ignore` comment names a rule that does not exist.",
    why="""
        A misspelt rule id suppresses nothing, so the finding it was meant to acknowledge is still
        reported, or worse, the author believes a risk was reviewed when the comment does nothing.
    """,
    bad="""
        -- lockgate-ignore: index-without-concurently
        CREATE INDEX orders_customer_idx ON public.orders (customer_id);
    """,
    good="""
        -- lockgate-ignore: index-without-concurrently
        CREATE INDEX orders_customer_idx ON public.orders (customer_id);
    """,
    help="Use a rule id from docs/rules.md.",
)

UNUSED_IGNORE = engine_rule(
    id="unused-ignore",
    family="lint",
    severity="warning",
    summary="A `lockgate-ignore` comment suppresses nothing.",
    why="""
        Stale suppressions hide future problems: when the statement changes, the comment silently
        keeps suppressing a rule nobody re-reviewed. Remove suppressions that no longer match.
    """,
    bad="""
        -- lockgate-ignore: index-without-concurrently
        CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer_id);
    """,
    good="""
        CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer_id);
    """,
    help="Remove the rule id from the comment (or the whole comment).",
)

INTERNAL_ERROR = engine_rule(
    id="internal-error",
    family="lint",
    severity="error",
    summary="A lockgate rule failed on this file (a bug in lockgate).",
    why="""
        Linting must never crash the hook: a rule that raises is reported as this finding, and all
        other rules and files are still checked. Please report it with the SQL that triggered it.
    """,
    bad="""
        -- (any SQL that makes a rule raise)
    """,
    good="""
        -- (not applicable)
    """,
    help="Report this at https://github.com/lockgate/lockgate/issues with the statement.",
    required=True,
)
