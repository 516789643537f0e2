"""What ``lockgate run`` checks and adds for Supabase projects once it holds the run lock.

Kept out of ``service.run`` so that the core runner knows nothing about Supabase: the service calls
``prepare_run`` once and passes the hooks it returns to the runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lockgate.config import Config
from lockgate.db import DatabaseTarget
from lockgate.errors import ConnectionFailed, LockgateError
from lockgate.runner import AppliedHook, is_transactional
from lockgate.supabase.pooler import direct_url_hint, observe_pooler
from lockgate.supabase.shared_history import (
    SUPABASE_TABLE,
    ensure_table,
    read_rows,
    record_migration,
    shared_history_enabled,
)

if TYPE_CHECKING:
    import psycopg

    from lockgate.source import Migration


def prepare_run(
    conn: psycopg.Connection[Any],
    config: Config,
    target: DatabaseTarget,
    pending: Sequence[Migration],
    *,
    dry_run: bool,
) -> tuple[AppliedHook, ...]:
    """Refuse what would go wrong, then return the hooks that keep Supabase's history in step."""
    _refuse_session_state_through_pooler(target, pending)
    if not shared_history_enabled(conn, config):
        return ()
    if not dry_run:
        ensure_table(conn)
    rows = read_rows(conn) or []
    conn.commit()
    pushed = {row.version for row in rows}
    already = [m for m in pending if m.version_text in pushed]
    if already:
        names = ", ".join(m.filename for m in already[:3]) + (" ..." if len(already) > 3 else "")
        raise LockgateError(
            f"{len(already)} pending migration(s) were already applied by `supabase db push` ({names} in "
            f"{SUPABASE_TABLE}); nothing was run — record them with `lockgate adopt` first"
        )
    return () if dry_run else (record_migration,)


def _refuse_session_state_through_pooler(target: DatabaseTarget, pending: Sequence[Migration]) -> None:
    """Files run outside a transaction rely on session-level timeouts, which a transaction pooler loses."""
    outside = [m for m in pending if not is_transactional(m)]
    if not outside or target.embedded:
        return
    verdict = observe_pooler(target)
    if verdict.mode != "transaction":
        return
    raise ConnectionFailed(
        f"{outside[0].filename} runs outside a transaction, and {target.masked} is a transaction-mode "
        f"pooler ({verdict.how}): its session-level lock_timeout could be lost; nothing was run — "
        f"{direct_url_hint(target.url)}"
    )
