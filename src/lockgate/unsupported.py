"""Statements that cannot work in a migration, classified from the parse tree before anything runs.

Each of these either fails at deploy time in a way that leaves a no-transaction file half-applied
(``COPY ... FROM stdin`` waits for data no one sends; ``BEGIN`` in a file whose statements run one by
one leaves a transaction open), or silently does something other than what it says (``SET LOCAL``
outside a transaction does nothing; ``SET TRANSACTION READ ONLY`` makes the tracking row unwritable).
``validate``, ``run`` (through the plan) and ``lint`` all ask this module, so they give one verdict.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lockgate.statements import (
    Node,
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
    calls_set_config = "set_config" in parsed.tree  # one scan of the file's parse tree, not one per statement
    if parsed.wrapped and _read_only_options(parsed.statements[0]):
        found.append(
            Refusal(
                parsed.statements[0],
                "BEGIN ... READ ONLY: a migration's transaction also writes its tracking row",
                "remove READ ONLY",
            )
        )
    for position, statement in enumerate(parsed.inner):
        refusal = (
            _copy(statement)
            or _characteristics(statement, position, parsed, transactional)
            or _reading_setting(statement, calls_set_config)
        )
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


READING_SETTINGS = {
    "standard_conforming_strings": frozenset({"on", "true", "yes", "1"}),
    "client_encoding": frozenset({"utf8", "unicode"}),
}
"""Settings that change how the server reads the text of the statements after them, with the values that
keep it reading them as lockgate's parser did (string literals with ``standard_conforming_strings`` on,
the file's bytes as UTF-8). With any other value the server could see two commands where the parser saw
one string (``'a\\''; DROP TABLE t; --'`` with standard_conforming_strings off), or other characters."""


def _reading_setting(statement: Statement, calls_set_config: bool) -> Refusal | None:
    """``SET standard_conforming_strings = off``, ``SET NAMES 'LATIN1'``, ``set_config('client_encoding',
    ...)``: the statements after it would not mean what lint, validate and the reviewer read."""
    name: str | None = None
    if statement.kind == "VariableSetStmt":
        candidate = str(statement.node.get("name") or "")
        if (
            candidate in READING_SETTINGS
            and _setting_value(statement.node) not in READING_SETTINGS[candidate]
        ):
            name = candidate
    elif calls_set_config:
        name = _set_config_of_reading_setting(statement.node)
    if name is None:
        return None
    keep = "on" if name == "standard_conforming_strings" else "UTF8"
    return Refusal(
        statement,
        f"changes {name}, which changes how PostgreSQL reads the statements after it: lockgate parses, lints "
        f"and applies migrations with {name} = {keep}",
        f"remove it ({name} stays {keep} for every migration)",
    )


def _setting_value(node: Node) -> str | None:
    """The lower-cased constant a ``SET`` assigns (None for RESET, DEFAULT or a non-constant)."""
    if node.get("kind") != "VAR_SET_VALUE":
        return None
    args = node.get("args") or []
    return _constant_text(args[0]) if args else None


def _constant_text(arg: Any) -> str | None:
    constant = arg.get("A_Const") if isinstance(arg, dict) else None
    if not isinstance(constant, dict):
        return None
    for key in ("sval", "ival", "boolval"):
        value = constant.get(key)
        if isinstance(value, dict):
            inner = next(iter(value.values()), 0)
            return str(inner).lower().replace("-", "").replace("_", "")
    return None


def _set_config_of_reading_setting(node: Node) -> str | None:
    """The reading setting a ``set_config(...)`` call anywhere in ``node`` changes to another value.
    Iterative: a generated statement's tree can be deeper than Python's stack."""
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(current)
            continue
        if not isinstance(current, dict):
            continue
        call = current.get("FuncCall")
        if isinstance(call, dict):
            names = [part.get("String", {}).get("sval") for part in call.get("funcname") or []]
            args = call.get("args") or []
            if names and names[-1] == "set_config" and args:
                setting = _constant_text(args[0])
                value = _constant_text(args[1]) if len(args) > 1 else None
                for name, keep in READING_SETTINGS.items():
                    if setting == name.replace("_", "") and value not in keep:
                        return name
        stack.extend(value for value in current.values() if isinstance(value, (dict, list)))
    return None


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
