"""Lock-safety rules: heavy locks held on tables that already exist (family ``lock-safety``).

Only tables that exist before the migration matter: a table created earlier in the same file (``t`` and
``public.t`` are the same table) has no readers or writers to block, so every rule here asks
``ctx.is_existing_table(...)`` first. Messages follow squawk: name the lock, what it blocks, and the
safe alternative.
"""

from __future__ import annotations

from collections.abc import Iterator

from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import statement_rule
from lockgate.statements import Statement


@statement_rule(
    id="index-without-concurrently",
    family="lock-safety",
    severity="warning",
    kinds=["IndexStmt"],
    summary="`CREATE INDEX` without `CONCURRENTLY` on an existing table.",
    why="""
        A plain `CREATE INDEX` takes a SHARE lock on the table for the whole build: reads continue but
        every INSERT, UPDATE and DELETE waits until the index is built, which takes minutes on a large
        table. `CREATE INDEX CONCURRENTLY` builds the index without blocking writes. It cannot run
        inside a transaction block, so put it in its own file marked `-- lockgate: no-transaction`.
    """,
    bad="""
        CREATE INDEX orders_customer_idx ON public.orders (customer_id);
    """,
    good="""
        -- lockgate: no-transaction
        CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON public.orders (customer_id);
    """,
    help="Use CREATE INDEX CONCURRENTLY in its own migration marked `-- lockgate: no-transaction`.",
)
def index_without_concurrently(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    node = statement.node
    relation = node.get("relation")
    if node.get("concurrent") or not ctx.is_existing_table(relation, statement):
        return
    kind = "CREATE UNIQUE INDEX" if node.get("unique") else "CREATE INDEX"
    yield Violation(
        ctx.statement_span_head(statement),
        f"{kind} takes a SHARE lock on {ctx.qualified(relation)}, blocking writes for the whole build",
    )
