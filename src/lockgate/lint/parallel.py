"""Lint shares of the file list at once: forked children on POSIX, a process pool elsewhere.

Why not ``ProcessPoolExecutor`` everywhere: importing ``concurrent.futures.process`` (multiprocessing,
threading, queues, pickle) costs ~45 ms on a 2-vCPU machine, a tenth of linting 1,000 files, before any
worker starts. A forked child already has the linter imported and the rules registered, for free, and it
sends its results back through a pipe as ``marshal`` data (built in, nothing to import).

Whatever goes wrong in a child (it crashes, is killed, sends garbage) costs time, never results: the
parent lints that share itself.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lockgate.lint.findings import FileResult, from_wire, to_wire

LintShare = Callable[[Sequence[Path]], list[FileResult]]


def usable_cpus() -> int:
    """CPUs this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def lint_shares(shares: Sequence[Sequence[Path]], lint_share: LintShare) -> list[FileResult]:
    """``lint_share`` over every share, the first one in this process; results in share order."""
    if len(shares) <= 1:
        return lint_share(shares[0]) if shares else []
    if hasattr(os, "fork") and sys.platform.startswith("linux") and not _threaded():
        return _forked(shares, lint_share)
    return _pooled(shares, lint_share)  # pragma: no cover - macOS/Windows: spawned workers


def _threaded() -> bool:
    """Whether other threads run (a server calling the linter): forking then could copy a lock another
    thread holds, so the pool is used instead. Without ``threading`` imported there are none."""
    threading = sys.modules.get("threading")
    return threading is not None and threading.active_count() > 1


def _forked(shares: Sequence[Sequence[Path]], lint_share: LintShare) -> list[FileResult]:
    children: list[tuple[int, int, Sequence[Path]]] = []
    try:
        return _fork_and_collect(shares, lint_share, children)
    except BaseException:
        # Ctrl-C, or the parent failing: no worker outlives it (a ``kill -INT`` reaches only this process).
        _stop(children)
        raise


def _stop(children: Sequence[tuple[int, int, Sequence[Path]]]) -> None:
    """Kill and reap the workers still running and close their pipes."""
    for pid, read_end, _ in children:
        if not pid:
            continue
        with contextlib.suppress(ProcessLookupError):  # it ended already
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        with contextlib.suppress(OSError):  # closed after reading
            os.close(read_end)


def _fork_and_collect(
    shares: Sequence[Sequence[Path]],
    lint_share: LintShare,
    children: list[tuple[int, int, Sequence[Path]]],
) -> list[FileResult]:
    for share in shares[1:]:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            read_end, write_end = os.pipe()
        except OSError:  # out of descriptors: this process lints the share (below)
            children.append((0, -1, share))
            continue
        # Ctrl-C is held back from fork until the child is on the list: arriving in between, it left a
        # worker that ``_stop`` never heard of, linting on after its parent had gone.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            try:
                pid = os.fork()
            except OSError:  # out of processes or memory: the same
                os.close(read_end)
                os.close(write_end)
                children.append((0, -1, share))
                continue
            if pid == 0:  # the child: lint, send, and leave without running the parent's exit handlers
                status = 1
                try:
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)
                    os.close(read_end)
                    _write_all(write_end, marshal.dumps(_to_wire(lint_share(share))))
                    status = 0
                finally:
                    os._exit(status)
            os.close(write_end)
            children.append((pid, read_end, share))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
    results = lint_share(shares[0])
    for index, (pid, read_end, share) in enumerate(children):
        received = None
        if pid:
            payload = _read_all(read_end)
            _, status = os.waitpid(pid, 0)
            children[index] = (0, -1, share)  # reaped: nothing left to stop
            received = _from_wire(payload) if status == 0 else None
        results.extend(received if received is not None else lint_share(share))
    return results


def _pooled(shares: Sequence[Sequence[Path]], lint_share: LintShare) -> list[FileResult]:  # pragma: no cover
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=len(shares) - 1) as pool:
        pending = [pool.submit(lint_share, share) for share in shares[1:]]
        results = lint_share(shares[0])
        for future in pending:
            results.extend(future.result())
    return results


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _to_wire(results: list[FileResult]) -> Any:
    return [to_wire(result) for result in results]


def _from_wire(payload: bytes) -> list[FileResult] | None:
    try:
        return [from_wire(item) for item in marshal.loads(payload)]
    except (EOFError, ValueError, TypeError):  # a child that died half-way through writing
        return None
