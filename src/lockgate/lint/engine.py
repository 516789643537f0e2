"""Run the enabled rules over files and collect findings; never raises on bad input.

Each file is read and parsed exactly once. Whatever goes wrong with one file (unreadable, not UTF-8,
empty, a syntax error, even a rule bug) becomes a finding for that file and the other files are still
linted: a hook that crashes tells the author nothing about where the problem is.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockgate.catalog.model import Catalog
from lockgate.checksum import normalise_text
from lockgate.errors import ConfigError
from lockgate.files import NotRegularFile, SymlinkOutside, check_symlink, read_regular_file
from lockgate.lint.configuration import LintSettings, build_settings
from lockgate.lint.context import FileContext
from lockgate.lint.findings import FileResult, Finding, LintReport, Span, Violation
from lockgate.lint.ignores import Ignore, find_ignores
from lockgate.lint.registry import REGISTRY, FileCheck, Rule, StatementCheck, load_rules
from lockgate.problems import Severity
from lockgate.statements import ParsedSql, SqlError, Statement, parse_sql

if TYPE_CHECKING:
    from lockgate.catalog.snapshots import ByPath
    from lockgate.lint.cache import ResultCache

PARALLEL_THRESHOLD = 64
"""Below this many files a process pool costs more in start-up than it saves."""
CACHE_THRESHOLD = 16
"""Below this many files the result cache is left alone: reading it, keying each file by the whole history
before it and rewriting it costs milliseconds per thousand files of the directory, more than linting a few
files saves (the pre-commit hook lints the staged ones, which are new anyway)."""


def default_settings() -> LintSettings:
    return build_settings()


class _Collector:
    """Turns violations into findings for one file, applying severity overrides."""

    def __init__(self, path: str, text: str, settings: LintSettings) -> None:
        self.path = path
        self.text = text
        self._lines: list[str] | None = None
        self.settings = settings
        self.findings: list[Finding] = []

    @property
    def lines(self) -> list[str]:
        """Source lines for excerpts, split on the first finding (most files have none)."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def add(self, rule: Rule, violation: Violation) -> None:
        if rule.id not in self.settings.enabled:
            return
        line = violation.span.line
        source = self.lines[line - 1] if 1 <= line <= len(self.lines) else ""
        self.findings.append(
            Finding(
                rule.id,
                self.settings.severity(rule),
                self.path,
                violation.span,
                violation.message,
                violation.help or rule.help,
                source,
                violation.fix,
            )
        )

    def rule_failed(self, rule: Rule, exc: Exception) -> None:
        self.add_at("internal-error", 1, 1, f"rule {rule.id} failed: {type(exc).__name__}: {exc}")

    def add_at(self, rule_id: str, line: int, column: int, message: str, help: str | None = None) -> None:
        source = self.lines[line - 1] if 1 <= line <= len(self.lines) else ""
        end = max(len(source.rstrip()) + 1, column + 1)
        self.add(REGISTRY[rule_id], Violation(Span(line, column, line, end), message, help))


def lint_text(
    text: str,
    path: str = "<sql>",
    settings: LintSettings | None = None,
    parsed: ParsedSql | None = None,
    catalog: Catalog | None = None,
    new_after: int | None = None,
) -> FileResult:
    """Lint one migration's text (already decoded). ``parsed``, when the caller already parsed the same
    normalised text (``lockgate run`` has), saves the second parse. ``catalog`` is the schema the file
    meets (``lockgate.catalog``); ``new_after`` the version after which the catalog's tables belong to
    the same pending plan."""
    load_rules()
    settings = settings or default_settings()
    text = normalise_text(text)
    collector = _Collector(path, text, settings)
    if parsed is None:
        parsed = _parse(text, collector)
    statements: tuple[Statement, ...] = parsed.statements if parsed else ()
    if parsed is not None:
        if not statements:
            collector.add_at("empty-migration", 1, 1, "the file contains only comments, no SQL statement")
        else:
            context = FileContext(
                path,
                text,
                parsed,
                pg_major=settings.pg_major,
                exposed_schemas=settings.exposed_schemas,
                catalog=catalog,
                new_after=new_after,
            )
            _run_rules(context, settings, collector)
            if catalog is not None and catalog.source != "history":
                collector.findings = _scaled_by_size(collector.findings, statements, catalog, settings)
    findings = _apply_ignores(text, statements, collector, settings, report_unused=bool(statements))
    findings.sort(key=Finding.sort_key)
    return FileResult(path, tuple(_dedupe(findings)), len(statements))


LARGE_BYTES = 1 << 30
SMALL_BYTES = 1 << 20


def _scaled_by_size(
    findings: list[Finding], statements: Sequence[Statement], catalog: Catalog, settings: LintSettings
) -> list[Finding]:
    """With sizes from a real database, a lock-safety finding says how big the table it locks is, is
    dropped on a tiny table (nobody waits long for it) and becomes an error on a large one (unless the
    project set the rule's severity itself)."""
    from lockgate import locks

    scaled: list[Finding] = []
    for finding in findings:
        rule = REGISTRY.get(finding.rule_id)
        statement = next((s for s in statements if s.line <= finding.line <= s.end_line), None)
        if rule is None or rule.family != "lock-safety" or statement is None:
            scaled.append(finding)
            continue
        table = next(
            (
                catalog.tables[lock.relation]
                for lock in locks.statement_locks(statement)
                if lock.kind == locks.TABLE and lock.relation in catalog.tables
            ),
            None,
        )
        if table is None or table.bytes is None:
            scaled.append(finding)
            continue
        rows = table.rows
        if (rows is not None and rows <= settings.small_table_rows) or table.bytes <= SMALL_BYTES:
            continue
        size = catalog.size(table.name)
        large = (rows is not None and rows >= settings.large_table_rows) or table.bytes >= LARGE_BYTES
        severity = Severity.ERROR if large and rule.id not in settings.severities else finding.severity
        scaled.append(
            finding._replace(message=f"{finding.message} ({table.name}: {size})", severity=severity)
        )
    return scaled


_RECOVERABLE = {"psql meta-command": "psql-meta-command", "unknown lockgate directive": "unknown-directive"}


def _parse(text: str, collector: _Collector) -> ParsedSql | None:
    """Parse, reporting problems as findings; never raises.

    A psql meta-command or an unknown directive is reported and its line blanked out (with as many
    spaces as it had bytes, so offsets and line numbers stay valid), then parsing resumes, so the
    rest of the file is still linted. Any other syntax error stops at PostgreSQL's first error.
    """
    if not text.strip():
        collector.add_at("empty-migration", 1, 1, "the file is empty")
        return None
    current = text
    for _ in range(text.count("\n") + 1):
        try:
            return parse_sql(current)
        except SqlError as exc:
            rule_id = next(
                (rule for prefix, rule in _RECOVERABLE.items() if exc.message.startswith(prefix)), None
            )
            collector.add_at(rule_id or "syntax-error", exc.line, exc.column, exc.message)
            if rule_id is None:
                return None
            lines = current.split("\n")
            lines[exc.line - 1] = " " * len(lines[exc.line - 1].encode("utf-8"))
            current = "\n".join(lines)
        except (RecursionError, ValueError, MemoryError) as exc:
            collector.add_at("syntax-error", 1, 1, f"PostgreSQL's parser gave up on this file ({exc})")
            return None
    return None


_StatementRules = dict[str, list[tuple[Rule, StatementCheck, bool]]]
_FileRules = list[tuple[Rule, FileCheck, frozenset[str] | None]]
_DISPATCH: dict[frozenset[str], tuple[_FileRules, _StatementRules]] = {}


def _dispatch(settings: LintSettings) -> tuple[_FileRules, _StatementRules]:
    """Enabled file rules, and statement rules by node kind, built once per rule set (not per file).

    Each entry carries the check function and whether it also runs on statements inside ``DO`` blocks,
    so the per-statement loop (the engine's hottest) does no attribute look-ups or ``None`` tests.
    """
    cached = _DISPATCH.get(settings.enabled)
    if cached is None:
        file_rules: _FileRules = []
        by_kind: _StatementRules = {}
        for rule in settings.active_rules():
            if rule.file_check is not None:
                file_rules.append((rule, rule.file_check, rule.kinds))
            if rule.statement_check is not None:
                for kind in rule.kinds or ():  # (a file rule's kinds only gate it: see _run_rules)
                    by_kind.setdefault(kind, []).append((rule, rule.statement_check, rule.embedded))
        cached = _DISPATCH[settings.enabled] = (file_rules, by_kind)
    return cached


def _run_rules(context: FileContext, settings: LintSettings, collector: _Collector) -> None:
    file_rules, by_kind = _dispatch(settings)
    add = collector.add
    for statement in context.executed:
        checks = by_kind.get(statement.kind)
        if checks is None:
            continue
        embedded = context.is_embedded(statement)
        for rule, check, on_embedded in checks:
            if embedded and not on_embedded:
                continue
            try:
                for violation in check(context, statement):
                    add(rule, violation)
            except Exception as exc:  # a rule bug must not hide the file's other findings
                collector.rule_failed(rule, exc)
    present: set[str] | None = None
    for rule, file_check, needs in file_rules:
        if needs is not None:
            if present is None:
                present = {statement.kind for statement in context.executed}
            if needs.isdisjoint(present):
                continue
        try:
            for violation in file_check(context):
                add(rule, violation)
        except Exception as exc:
            collector.rule_failed(rule, exc)


def _apply_ignores(
    text: str,
    statements: Sequence[Statement],
    collector: _Collector,
    settings: LintSettings,
    report_unused: bool = True,
) -> list[Finding]:
    """Drop suppressed findings; report unknown ids, and unused ones when the rules actually ran
    (in a file that does not parse, nothing ran, so nothing could have been used)."""
    ignores = find_ignores(text, statements)
    if not ignores:
        return collector.findings
    kept = [finding for finding in collector.findings if not _suppressed(finding, ignores)]
    collector.findings = []
    for ignore in ignores:
        for rule_id in ignore.rule_ids:
            if rule_id not in REGISTRY:
                collector.add(
                    REGISTRY["unknown-ignore"],
                    Violation(ignore.span, f"lockgate-ignore names unknown rule {rule_id!r}"),
                )
            elif report_unused and rule_id not in ignore.used and rule_id in settings.enabled:
                target = "this file" if ignore.file_level else "the next statement"
                collector.add(
                    REGISTRY["unused-ignore"],
                    Violation(ignore.span, f"lockgate-ignore: {rule_id} suppresses nothing in {target}"),
                )
    extra = [finding for finding in collector.findings if not _suppressed(finding, ignores, mark=False)]
    return kept + extra


def _suppressed(finding: Finding, ignores: Iterable[Ignore], mark: bool = True) -> bool:
    hit = False
    for ignore in ignores:
        if ignore.covers(finding.rule_id, finding.line):
            hit = True
            if mark:
                ignore.used.add(finding.rule_id)
    return hit


def _dedupe(findings: Iterable[Finding]) -> Iterator[Finding]:
    seen: set[tuple[str, Span, str]] = set()
    for finding in findings:
        key = (finding.rule_id, finding.span, finding.message)
        if key not in seen:
            seen.add(key)
            yield finding


def lint_file(
    path: Path,
    settings: LintSettings | None = None,
    display: str | None = None,
    catalog: Catalog | None = None,
    new_after: int | None = None,
    data: bytes | None = None,
) -> FileResult:
    """Read and lint one file; unreadable and non-UTF-8 files become findings, and so do the files
    ``lockgate.files`` refuses (not a regular file, a symlink leading out of its directory). ``data``: the
    file's bytes when the caller has read them already (the history's reader has, once)."""
    load_rules()
    settings = settings or default_settings()
    name = display or str(path)
    collector = _Collector(name, "", settings)
    try:
        check_symlink(path)
        if data is None:
            data = read_regular_file(path)
    except (NotRegularFile, SymlinkOutside) as exc:
        collector.add_at("unreadable-file", 1, 1, str(exc.strerror))
        return FileResult(name, tuple(collector.findings))
    except OSError as exc:
        collector.add_at("unreadable-file", 1, 1, f"cannot read file: {exc.strerror or exc}")
        return FileResult(name, tuple(collector.findings))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        collector = _Collector(name, data.decode("utf-8", errors="replace"), settings)  # for the excerpt
        collector.add_at(
            "unreadable-file",
            line,
            column,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); PostgreSQL clients may apply it differently",
        )
        return FileResult(name, tuple(collector.findings))
    return lint_text(text, name, settings, catalog=catalog, new_after=new_after)


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given, plus the ``*.sql`` entries directly inside given directories; no duplicates.

    Every ``*.sql`` entry, not only regular files: a FIFO or a directory named like a migration is
    reported by ``lint_file`` (as ``lockgate run`` would refuse it), not silently skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir() and not _leads_out(path):
            # scandir, not glob: one system call for the listing, and no Path per non-SQL entry; names
            # sort like the paths they become.
            with os.scandir(path) as entries:
                names = sorted(e.name for e in entries if e.name.endswith(".sql"))
            found.extend(path / name for name in names)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise ConfigError(f"{path}: no such file or directory")
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


def _leads_out(path: Path) -> bool:
    """A symlink named on the command line that leads out of its directory is linted as a file, to be
    refused as one (``git`` and pre-commit pass a symlink to a directory as a file), not scanned."""
    try:
        check_symlink(path)
    except SymlinkOutside:
        return True
    return False


def display_path(path: Path, cwd: Path | None = None) -> str:
    """The path relative to the working directory when it is inside it (what editors and CI expect)."""
    if not path.is_absolute() and ".." not in path.parts:
        return str(path)  # already relative to the working directory (and pathlib dropped any "./")
    try:
        cwd = cwd or Path.cwd().resolve()
        absolute = path if path.is_absolute() else cwd / path
        return os.path.relpath(absolute, cwd) if absolute.is_relative_to(cwd) else str(path)
    except (ValueError, OSError):
        return str(path)


class _ShareLinter:
    """Lints a list of files with fixed settings and the catalogs each file meets; a module-level class so
    a spawned worker can unpickle it."""

    def __init__(
        self,
        settings: LintSettings,
        cwd: Path,
        catalogs: Mapping[Path, Catalog] | None = None,
        new_after: int | None = None,
    ) -> None:
        self.settings, self.cwd = settings, cwd
        self.catalogs: Mapping[Path, Catalog] = catalogs or {}  # lazy: see catalog.snapshots
        self.new_after = new_after
        self.contents: dict[Path, bytes] = {}
        """Bytes already read, by path: each is linted from these (and dropped), not read again."""

    def display(self, path: Path) -> str:
        return display_path(path, self.cwd)

    def __call__(self, share: Sequence[Path]) -> list[FileResult]:
        return [
            lint_file(
                path,
                self.settings,
                self.display(path),
                self._catalog(path),
                self.new_after,
                self.contents.pop(path, None),
            )
            for path in share
        ]

    def _catalog(self, path: Path) -> Catalog | None:
        """The catalog ``path`` meets: a read-only view while it is linted when the history can give one
        (no copy per file; lint never changes a catalog), else the mapping's own value."""
        view = getattr(self.catalogs, "view", None)  # ByPath (not imported here: lint without history)
        if view is not None:
            found: Catalog | None = view(path)
            return found
        return self.catalogs.get(path)


Contents = dict[Path, tuple[str, bytes]]
"""Path -> (SHA-256 of its bytes, its bytes), for files read once and both hashed and linted."""


def history_catalogs(
    files: Sequence[Path], cache_dir: Path | None, contents: Contents | None = None
) -> ByPath:
    """The catalog each file meets, from the migrations before it in its own directory (the history the
    file will run on top of). The operations are read once per directory, before any worker starts; each
    catalog is built when its file is linted (``catalog.snapshots``). ``contents``, when given, receives
    the digest and bytes of each of ``files`` that history read."""
    from lockgate.catalog.directory import directory_catalogs
    from lockgate.catalog.snapshots import ByPath

    by_directory = {}
    names: dict[Path, dict[str, Path]] = {}  # directory -> its files' names -> their paths (no Path built)
    for path in files:
        names.setdefault(path.parent, {})[path.name] = path
    for directory in sorted(names):
        read: dict[str, tuple[str, bytes]] | None = {} if contents is not None else None
        by_directory[directory] = directory_catalogs(directory, cache_dir, read)
        if contents is not None and read:
            wanted = names[directory]
            contents.update((wanted[name], entry) for name, entry in read.items() if name in wanted)
    return ByPath(by_directory, names)


def lint_paths(
    paths: Sequence[Path],
    settings: LintSettings | None = None,
    jobs: int = 1,
    *,
    history: bool = True,
    cache_dir: Path | None = None,
    database: Callable[[list[Path]], tuple[Mapping[Path, Catalog], int | None]] | None = None,
    cache: bool = False,
) -> LintReport:
    """Lint every file under ``paths``; ``jobs`` > 1 (or 0 = one per usable CPU) lints in parallel. With
    ``history``, each file is judged against the schema the earlier files of its directory build; with
    ``database`` (files -> their catalogs read from a real database, and its latest applied version),
    against that database as it is, sizes included. With ``cache`` (and a ``cache_dir``), results of files
    linted before with the same bytes, settings, history and lockgate are reused (``lint.cache``) from
    ``CACHE_THRESHOLD`` files on; never with ``database``, whose schema changes without any file changing."""
    load_rules()
    settings = settings or default_settings()
    files = collect_files(paths)
    new_after: int | None = None
    contents: Contents = {}
    by_path: ByPath | None = None
    catalogs: Mapping[Path, Catalog] | None = None
    if database is not None:
        catalogs, new_after = database(files)
    elif history:
        catalogs = by_path = history_catalogs(files, cache_dir, contents)
    lint_share = _ShareLinter(settings, Path.cwd().resolve(), catalogs, new_after)
    # Parse trees are acyclic dicts and lists that reference counting frees file by file; the cyclic
    # collector would only re-scan them (every 700 allocations), which cost 5-10% of a large run.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if cache and cache_dir is not None and database is None and len(files) >= CACHE_THRESHOLD:
            from lockgate.lint.cache import ResultCache

            results = _lint_cached(
                files, lint_share, jobs, ResultCache(cache_dir, settings), by_path, contents
            )
        else:
            lint_share.contents = {path: data for path, (_, data) in contents.items()}
            results = _lint_files(files, lint_share, jobs)
    finally:
        if collecting:
            gc.enable()
    return LintReport(tuple(results), tuple(sorted(settings.enabled)), settings.note)


def _lint_cached(
    files: list[Path],
    lint_share: _ShareLinter,
    jobs: int,
    cache: ResultCache,
    history: ByPath | None,
    contents: Contents,
) -> list[FileResult]:
    """Results from the cache where it has them; the other files linted (in parallel when many) and
    stored. A file that cannot be read, or is a symlink out of its directory, is linted every time: its
    finding is about the file system, not about bytes."""
    found: dict[Path, FileResult] = {}
    keys: dict[Path, tuple[str, bytes]] = {}
    for path in files:
        read = _read(path, contents)
        if read is None:
            continue
        digest, data = read
        steps = history.steps_digest_or_none(path) if history is not None else None
        slot, key = os.path.abspath(path), cache.key(digest, steps, lint_share.display(path))
        result = cache.get(slot, key)
        if result is not None:
            found[path] = result
        else:
            keys[path] = (slot, key)
            lint_share.contents[path] = data
    missed = [path for path in files if path not in found]
    for path, result in zip(missed, _lint_files(missed, lint_share, jobs), strict=True):
        found[path] = result
        if path in keys:
            cache.put(*keys[path], result)
    cache.save()
    return [found[path] for path in files]


def _read(path: Path, contents: Contents) -> tuple[str, bytes] | None:
    """The digest and bytes of a file lint will read, from ``contents`` or the disk; None when lint would
    refuse it."""
    try:
        read = contents.pop(path, None)  # read by the history from a directory entry that is no symlink
        if read is None:
            check_symlink(path)
            import hashlib  # (already imported by the history's reader)

            data = read_regular_file(path)
            read = (hashlib.sha256(data).hexdigest(), data)
    except OSError:
        return None
    return read


def _lint_files(files: list[Path], lint_share: _ShareLinter, jobs: int) -> list[FileResult]:
    if len(files) < PARALLEL_THRESHOLD:
        return lint_share(files)
    from lockgate.lint.parallel import lint_shares, usable_cpus

    # One contiguous share per CPU; this process lints the first share itself instead of waiting,
    # so N CPUs cost N-1 extra processes and each result crosses a pipe once.
    workers = max(1, usable_cpus() if jobs == 0 else jobs)
    size = -(-len(files) // workers)
    return lint_shares([files[start : start + size] for start in range(0, len(files), size)], lint_share)
