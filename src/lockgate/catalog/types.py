"""What an ``ALTER COLUMN ... TYPE`` costs, knowing the column's old type (from the catalog).

PostgreSQL skips the table rewrite when the old and new types are binary-coercible and the new one accepts
every old value: ``varchar(n)`` to ``varchar(m >= n)``, ``varchar`` or ``text``; ``text`` to unbounded
``varchar``; ``numeric(p, s)`` to ``numeric(q >= p, s)`` or unbounded ``numeric``; ``cidr`` to ``inet``;
``varbit(n)`` to a wider ``varbit`` (``ATColumnChangeRequiresRewrite`` and the types' length coercions in
PostgreSQL's source). A narrowing change (``text`` to ``varchar(50)``, a cut in ``numeric`` scale) has
to check or convert every row: a rewrite under ACCESS EXCLUSIVE that can also fail half-way through a
deploy on one long value.
"""

from __future__ import annotations

NONE = "none"
"""The same type: nothing happens."""
NO_REWRITE = "no-rewrite"
"""Only the catalog changes (binary-coercible and every old value fits)."""
NARROWING = "narrowing"
"""Every row is checked or converted, and a value that does not fit fails the migration."""
REWRITE = "rewrite"
"""Every row is converted and every index on the table rebuilt."""

_TEXTLIKE = frozenset({"text", "varchar", "citext"})


def type_change(old_type: str, old_mods: tuple[int, ...], new_type: str, new_mods: tuple[int, ...]) -> str:
    """One of ``NONE``, ``NO_REWRITE``, ``NARROWING``, ``REWRITE`` for a column going from the old type
    (pglast's last name part, e.g. ``varchar``, ``int4``) to the new one."""
    if old_type == new_type and old_mods == new_mods:
        return NONE
    if old_type in _TEXTLIKE and new_type in _TEXTLIKE:
        return _text_change(old_type, old_mods, new_type, new_mods)
    if old_type == new_type == "numeric":
        return _numeric_change(old_mods, new_mods)
    if old_type == new_type == "varbit":
        if not new_mods or (old_mods and new_mods[0] >= old_mods[0]):
            return NO_REWRITE
        return NARROWING
    if (old_type, new_type) == ("cidr", "inet"):
        return NO_REWRITE
    return REWRITE


def _text_change(old_type: str, old_mods: tuple[int, ...], new_type: str, new_mods: tuple[int, ...]) -> str:
    old_limit = old_mods[0] if old_type == "varchar" and old_mods else None
    new_limit = new_mods[0] if new_type == "varchar" and new_mods else None
    if new_limit is None:
        return NO_REWRITE
    if old_limit is not None and new_limit >= old_limit:
        return NO_REWRITE
    return NARROWING


def _numeric_change(old_mods: tuple[int, ...], new_mods: tuple[int, ...]) -> str:
    if not new_mods:
        return NO_REWRITE
    if not old_mods:
        return NARROWING
    old_precision, old_scale = old_mods[0], (old_mods[1] if len(old_mods) > 1 else 0)
    new_precision, new_scale = new_mods[0], (new_mods[1] if len(new_mods) > 1 else 0)
    if new_scale == old_scale and new_precision >= old_precision:
        return NO_REWRITE
    return NARROWING if new_scale < old_scale or new_precision < old_precision else REWRITE


def describe(type_name: str, mods: tuple[int, ...]) -> str:
    """``varchar(50)``, ``numeric(10, 2)``, ``text``: as a person writes it."""
    return f"{type_name}({', '.join(str(mod) for mod in mods)})" if mods else type_name
