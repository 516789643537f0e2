"""One vocabulary for everything a gate can say: a ``Problem`` with a stable code, a ``Severity``, the file
and line, one line of message and the fix.

The plan's validation rules, the naming and immutability checks, Supabase's shared-history checks and the
Action's report all speak it, and lint's findings share its ``Severity``, so every door (CLI, hooks, the PR
comment, the API, the dashboard) shows one problem one way, fix included.

Plain classes, not NamedTuples or dataclasses: the pre-commit hooks build problems, and their start-up
budget has no room for ``typing`` or ``dataclasses`` (tests/hooks/test_hook_startup.py).
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """Most severe first; ``rank`` orders them. A ``str``, so ``severity == "error"`` and JSON just work."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO


class Problem:
    """A validation or check problem: ``code`` is the stable rule id (``checksum-mismatch``), ``message``
    one line naming the file, ``help`` what to do about it (shown by every door)."""

    __slots__ = ("code", "help", "line", "message", "path", "severity", "version")

    def __init__(
        self,
        code: str,
        severity: Severity | str,
        message: str,
        path: str | None = None,
        line: int | None = None,
        version: int | None = None,
        help: str | None = None,
    ) -> None:
        self.code = code
        self.severity = Severity(severity)
        self.message = message
        self.path = path
        self.line = line
        self.version = version
        self.help = help if help is not None else FIXES.get(code)

    def _key(self) -> tuple[object, ...]:
        return (self.code, self.severity, self.message, self.path, self.line, self.version, self.help)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Problem({self.code!r}, {self.severity.value!r}, {self.message!r}, path={self.path!r}, "
            f"line={self.line!r}, version={self.version!r})"
        )

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def with_path(self, path: str | None, message: str | None = None) -> Problem:
        """The same problem named from elsewhere (a repository-relative path in the PR check)."""
        return Problem(
            self.code, self.severity, message or self.message, path, self.line, self.version, self.help
        )


FIXES: dict[str, str] = {
    "checksum-mismatch": "an applied migration was edited: revert the file and put the change in a new migration",
    "cosmetic-edit": "nothing to do; `lockgate repair --cosmetic` records the new checksum",
    "renamed-migration": "rename the file back; applied migrations keep their names",
    "missing-file": "restore the deleted file; the database already ran it",
    "duplicate-version": "rename one file (lockgate create makes a fresh version)",
    "out-of-order": "rename the file to a version after the latest applied one, or set allow-out-of-order",
    "bad-filename": "name migrations <YYYYMMDDHHMMSS>_<snake_case>.sql",
}
"""The fix of each problem code, where one sentence says it; it travels with the problem (``help``), so
``lockgate validate`` shows what the PR comment shows."""
