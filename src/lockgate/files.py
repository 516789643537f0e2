"""Reading migration files: regular files only, and never a symlink that leads out of their directory.

Why regular files only: ``open()`` on a FIFO named ``x.sql`` waits for a writer that never comes (a hung
``validate``), a socket cannot be opened at all, and a device may never reach its end. Every file is
therefore opened with ``O_NONBLOCK`` (an open that never waits; it changes nothing for reading a regular
file) and then ``fstat``-ed: the type checked is the type of what was opened, so nothing can swap the
file between the check and the read.

Why not a symlink leading out of the directory: git records a symlink as the text of its target, so
review, ``check-immutable`` and the checksums of a pull request would see one thing while ``run``
executes whatever the target holds that day: an edit there is invisible to all of them. A symlink to a
file inside the same directory (or below it) is fine: that file is itself tracked and reviewed.

Plain functions over ``os`` and ``stat`` (no pathlib, no typing): the pre-commit hooks import this.
"""

from __future__ import annotations

import errno
import os
import stat

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # absent on Windows, which has no FIFOs to block on
_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def kind(mode: int) -> str:
    """What a non-regular file is, for messages: ``a FIFO``, ``a socket``..."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a special file"


class NotRegularFile(OSError):
    """A path that exists but is not a regular file (a FIFO, socket, device or directory).

    An ``OSError`` so that code reporting unreadable files reports this one too; ``strerror`` is the
    message (``not a regular file (a FIFO)``)."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file ({what})", os.fspath(path))


class SymlinkOutside(OSError):
    """A symlink whose target is outside the directory that holds the link."""

    def __init__(self, path: str | os.PathLike[str], target: str, directory: str) -> None:
        super().__init__(
            errno.EPERM,
            f"symlink to {target}, outside {directory}; only files inside the directory are read "
            "(copy the file in instead)",
            os.fspath(path),
        )


def read_regular_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of ``path``; ``NotRegularFile`` for anything but a regular file, never a wait.

    Follows a symlink (``check_symlink`` decides whether the link itself is acceptable)."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # opening a socket; name what it is rather than "no such device"
            _raise_if_special(path)
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(path, kind(info.st_mode))
        # The raw descriptor, not a buffered file object: a third of the cost of ``Path.read_bytes``,
        # which shows when a thousand small migrations are read. One byte more than the size fstat gave,
        # so the usual file takes one read, not a second one to find the end (system calls are what a
        # thousand small files cost); a file growing meanwhile is read to its end all the same.
        chunks = [os.read(fd, info.st_size + 1)]
        if len(chunks[0]) > info.st_size:
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _raise_if_special(path: str | os.PathLike[str]) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise NotRegularFile(path, kind(mode))


def check_symlink(path: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None) -> None:
    """Raise ``SymlinkOutside`` if ``path`` is a symlink resolving outside ``directory`` (default: the
    directory holding it). A dangling link passes here and fails, named, when it is read."""
    if not os.path.islink(path):
        return
    check_link_target(path, directory)


def check_link_target(path: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None) -> None:
    """``check_symlink`` for a path already known to be a symlink (a directory entry says so for free)."""
    holder = os.path.dirname(os.path.abspath(path)) if directory is None else os.fspath(directory)
    target = os.path.realpath(path)
    if not os.path.exists(target):
        return
    inside = os.path.realpath(holder)
    try:
        contained = os.path.commonpath([inside, target]) == inside
    except ValueError:  # Windows: another drive
        contained = False
    if not contained:
        raise SymlinkOutside(path, target, os.fspath(holder))


def problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as a migration, without reading it; None when it can.

    For checks that look at a file but never read it (the naming hook): the same verdicts, in words."""
    try:
        check_symlink(path)
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None if stat.S_ISREG(mode) else f"not a regular file ({kind(mode)})"
