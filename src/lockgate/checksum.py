"""Checksums of migration text, stable across operating systems.

A Windows checkout with ``core.autocrlf`` or an editor that adds a UTF-8 BOM must never look like an
edited migration, so the text is normalised (BOM removed, CRLF and CR turned into LF) before hashing.
"""

from __future__ import annotations

BOM = "\ufeff"


def normalise_text(text: str) -> str:
    if text.startswith(BOM):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def checksum(text: str) -> str:
    """SHA-256 (hex) of the normalised text."""
    import hashlib  # here, not at the top: the pre-commit hooks import this module and never hash

    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()
