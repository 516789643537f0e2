"""Statements that cannot work in a migration, classified from the parse tree before anything runs.

Each of these either fails at deploy time in a way that leaves a no-transaction file half-applied
(``COPY ... FROM stdin`` waits for data no one sends; ``BEGIN`` in a file whose statements run one by
one leaves a transaction open), or silently does something other than what it says (``SET LOCAL``
outside a transaction does nothing; ``SET TRANSACTION READ ONLY`` makes the tracking row unwritable).
``validate``, ``run`` (through the plan) and ``lint`` all ask this module, so they give one verdict.
"""

from __future__ import annotations

from typing import NamedTuple

from lockgate.statements import (
    ParsedSql,
    Statement,
    sets_transaction_characteristics,
    transaction_characteristics,
)


class Refusal(NamedTuple):
    """A statement that cannot run as written, why, and what to do instead (one line each)."""

    statement: Statement
    reason: str
    fix: str

    def message(self) -> str:
        return f"{self.reason}; {self.fix}"


def refusals(parsed: ParsedSql) -> list[Refusal]:
    """Every statement of ``parsed`` that cannot work in a migration, in file order."""
    transactional = parsed.transactional
    found: list[Refusal] = []
    if parsed.wrapped and _read_only_options(parsed.statements[0]):
        found.append(
            Refusal(
                parsed.statements[0],
                "BEGIN ... READ ONLY: a migration's transaction also writes its tracking row",
                "remove READ ONLY",
            )
        )
    for position, statement in enumerate(parsed.inner):
        refusal = _copy(statement) or _characteristics(statement, position, parsed, transactional)
        if refusal is None and not transactional:
            refusal = _outside_transaction(statement)
        if refusal is not None:
            found.append(refusal)
    return found


def _copy(statement: Statement) -> Refusal | None:
    if statement.kind != "CopyStmt" or statement.node.get("filename"):
        return None
    if statement.node.get("is_from"):
        return Refusal(
            statement,
            "COPY ... FROM stdin reads rows the client sends through psql's COPY protocol, and lockgate "
            "sends plain SQL",
            "use INSERT ... VALUES, or COPY from a file on the database server",
        )
    return Refusal(
        statement,
        "COPY ... TO stdout sends rows to the client, and a migration has nowhere to put them",
        "remove it (export data outside migrations)",
    )


def _read_only_options(statement: Statement) -> bool:
    return "READ ONLY" in transaction_characteristics(statement.node.get("options"))


def _characteristics(
    statement: Statement, position: int, parsed: ParsedSql, transactional: bool
) -> Refusal | None:
    if not sets_transaction_characteristics(statement):
        return None
    if not transactional:
        return Refusal(
            statement,
            "SET TRANSACTION in a no-transaction file: each statement runs in its own transaction, so it "
            "changes nothing",
            "remove it, or drop `-- lockgate: no-transaction` so the file runs in one transaction",
        )
    if _sets_read_only(statement):
        return Refusal(
            statement,
            "READ ONLY transaction: the migration's transaction also writes its tracking row",
            "remove it",
        )
    if position >= parsed.hoisted:
        return Refusal(
            statement,
            "SET TRANSACTION after other statements: PostgreSQL accepts it only before a transaction's "
            "first query",
            "move it to the top of the file (lockgate then opens the migration's transaction with it)",
        )
    return None


def _sets_read_only(statement: Statement) -> bool:
    node = statement.node
    if node.get("name") == "TRANSACTION":
        return "READ ONLY" in transaction_characteristics(node.get("args"))
    if node.get("name") != "transaction_read_only" or node.get("kind") != "VAR_SET_VALUE":
        return False
    for arg in node.get("args") or []:
        constant = arg.get("A_Const", {})
        value = constant.get("sval", constant.get("ival", constant.get("boolval", {})))
        inner = next(iter(value.values()), 0) if isinstance(value, dict) else value
        if str(inner).lower() in {"1", "true", "on", "yes"}:
            return True
    return False


def _outside_transaction(statement: Statement) -> Refusal | None:
    """Statements that need the transaction a no-transaction file does not have."""
    if statement.kind == "TransactionStmt":
        word = statement.transaction_control or "BEGIN"
        return Refusal(
            statement,
            f"{word.replace('_', ' ')} in a no-transaction file: lockgate runs each of its statements on "
            "its own, so transaction control would leave a transaction open or end one that is not there",
            "remove it, or split the file: statements that need a transaction go in a normal migration",
        )
    if statement.kind == "VariableSetStmt" and statement.node.get("is_local"):
        return Refusal(
            statement,
            "SET LOCAL in a no-transaction file lasts only for its own statement and changes nothing",
            "use plain SET (lockgate resets session settings after every migration)",
        )
    if statement.kind == "LockStmt":
        return Refusal(
            statement,
            "LOCK TABLE in a no-transaction file: a lock lasts until the end of its transaction, which is "
            "this statement",
            "move it to a normal (transactional) migration",
        )
    return None
