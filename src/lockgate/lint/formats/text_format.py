"""Human output in the style of ruff and squawk: location, rule, message, a source excerpt with a
caret line, the help line and the docs link. Plain ANSI styling (no rich) keeps start-up fast."""

from __future__ import annotations

from lockgate.lint.findings import Finding, LintReport
from lockgate.problems import Severity

_COLORS = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[1;33m", Severity.INFO: "\x1b[1;36m"}
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


def _style(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _caret(finding: Finding) -> str:
    """Spaces up to the column (tabs kept so the caret lines up), then ``^`` to the span's end."""
    source = finding.source_line
    start = max(finding.column - 1, 0)
    prefix = "".join("\t" if char == "\t" else " " for char in source[:start])
    if finding.span.end_line == finding.line:
        width = finding.span.end_column - finding.column
    else:
        width = len(source.rstrip()) - start
    return prefix + "^" * max(width, 1)


def render_finding(finding: Finding, color: bool = False) -> str:
    severity = _style(finding.severity.value, _COLORS[finding.severity], color)
    location = _style(f"{finding.path}:{finding.line}:{finding.column}", _BOLD, color)
    lines = [f"{location}: {severity}[{finding.rule_id}] {finding.message}"]
    if finding.source_line:
        gutter = " " * len(str(finding.line))
        lines += [
            f"{gutter} |",
            f"{finding.line} | {finding.source_line.rstrip()}",
            f"{gutter} | {_style(_caret(finding), _COLORS[finding.severity], color)}",
        ]
        pad = gutter
    else:
        pad = ""
    lines.append(f"{pad} = help: {finding.help}")
    if finding.fix:
        lines.append(f"{pad} = fix:")
        lines += [f"{pad}     {line}" for line in finding.fix.splitlines()]
    lines.append(_style(f"{pad} = docs: {finding.url}", _DIM, color))
    return "\n".join(lines)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render(report: LintReport, *, color: bool = False) -> str:
    blocks = [render_finding(finding, color) for finding in report.findings]
    summary = report.summary()
    if summary["findings"]:
        counts = f"{_plural(summary['errors'], 'error')}, {_plural(summary['warnings'], 'warning')}"
        where = f"{summary['files_with_findings']} of {_plural(summary['files'], 'file')}"
        tail = f"Found {counts} and {summary['info']} info in {where}."
    else:
        tail = f"All checks passed ({_plural(summary['files'], 'file')} linted)."
    if report.note:
        tail = f"{tail} {report.note}"
    return "\n\n".join([*blocks, tail]) + "\n"
