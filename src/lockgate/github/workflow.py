"""GitHub Actions workflow commands and files: annotations, masks, notices, outputs, the job summary.

Every line goes through ``mask_secrets`` first. ``::add-mask::`` makes the runner hide a value in the
log, but the comment and the job summary are not logs: they are only safe because nothing secret is
ever written to them, which this class enforces in one place.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from lockgate.conninfo import MIN_ANYWHERE, secret_forms
from lockgate.db import mask_secrets
from lockgate.lint.formats.github_format import escape_data, escape_property

MAX_SUMMARY_BYTES = 1_000_000
"""GitHub rejects a step summary over 1 MiB; stay clearly below."""


class Workflow:
    """Writes workflow commands to ``out`` and the runner's files, masking the database URLs."""

    def __init__(
        self,
        secret_urls: Iterable[str | None] = (),
        out: TextIO | None = None,
        output_file: Path | None = None,
        summary_file: Path | None = None,
    ) -> None:
        self.secret_urls = [url for url in secret_urls if url]
        self.out = out or sys.stdout
        self.output_file = output_file
        self.summary_file = summary_file

    def mask(self, text: str) -> str:
        for url in self.secret_urls:
            text = mask_secrets(text, url)
        return text

    def echo(self, text: str) -> None:
        self.out.write(self.mask(text) + "\n")
        self.out.flush()

    def add_masks(self) -> None:
        """``::add-mask::`` for each URL and every form of its password, so no later step can print them.

        The runner hides a registered value wherever it occurs in a later log line, by exact match and
        line by line (older runners do not split a multi-line value), so each line of each value is
        registered on its own too. Forms shorter than ``MIN_ANYWHERE`` characters are not registered:
        the runner would blank those letters in every word of the log.
        """
        values: dict[str, None] = {}
        for url in self.secret_urls:
            values[url] = None
            values.update(dict.fromkeys(form for form in secret_forms(url) if len(form) >= MIN_ANYWHERE))
        for value in values:
            for line in dict.fromkeys([value, *value.splitlines()]):
                if line.strip():
                    self.out.write(f"::add-mask::{escape_data(line)}\n")
        self.out.flush()

    def annotate(
        self, level: str, message: str, *, file: str | None = None, line: int | None = None, title: str = ""
    ) -> None:
        properties = {"file": file, "line": str(line) if line else None, "title": title or None}
        props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items() if value)
        separator = " " if props else ""
        self.echo(f"::{level}{separator}{props}::{escape_data(self.mask(message))}")

    def notice(self, message: str) -> None:
        self.annotate("notice", message)

    def raw_annotation(self, command: str) -> None:
        """An annotation already formatted (the lint ``github`` format)."""
        self.echo(command)

    def set_output(self, name: str, value: str) -> None:
        """``name=value`` to ``$GITHUB_OUTPUT``, with a random heredoc delimiter for any value."""
        if self.output_file is None:
            return
        delimiter = f"lockgate_{uuid.uuid4().hex}"
        with self.output_file.open("a", encoding="utf-8") as handle:
            handle.write(f"{name}<<{delimiter}\n{self.mask(value)}\n{delimiter}\n")

    def summary(self, markdown: str) -> None:
        if self.summary_file is None:
            return
        text = self.mask(markdown)
        if len(text.encode("utf-8")) > MAX_SUMMARY_BYTES:
            text = text.encode("utf-8")[: MAX_SUMMARY_BYTES - 200].decode("utf-8", errors="ignore")
            text += "\n\n… (truncated: the job summary is limited to 1 MiB; see report-json)\n"
        with self.summary_file.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
