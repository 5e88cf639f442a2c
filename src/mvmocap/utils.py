"""Small helpers every layer may use: the user-input error, natural ordering of names, atomic file
writes.

Knows nothing of the rest of the package.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["FileInputError", "InputError", "natural_key", "natural_sorted", "atomic_path", "atomic_write_text",
           "merge_settings",
           "native_output_to_log", "remove_stale_frames", "temporary_name", "remove_leftover_temporaries",
           "output_lock", "LOCK_NAME", "thinning_stride", "true_runs"]

_DIGITS = re.compile(r"(\d+)")


class InputError(ValueError):
    """What the user gave is wrong (a file, a setting, an option); the message names it and the fix.

    ``mvmocap`` reports it in one line and exits with 2. Any other exception is a bug in mvmocap
    (exit 1, with the traceback)."""


class FileInputError(InputError):
    """What is wrong with one file or folder the user gave: ``path``, and the message after it."""

    def __init__(self, path: str | Path, message: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: the mode new files get


def natural_key(name: str) -> tuple:
    """Sort key that orders ``cam2`` before ``cam10`` (digit runs compare as numbers)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in _DIGITS.split(name))


def natural_sorted(names) -> list[str]:
    """``names`` in natural order (see :func:`natural_key`)."""
    return sorted(names, key=natural_key)


def temporary_name(target: Path) -> str:
    """The prefix of a temporary file written for ``target`` by this process: hidden (readers of a
    folder skip dot files), naming the host and process so that a leftover of a killed run can be
    told from a file another live process is writing (:func:`remove_leftover_temporaries`)."""
    return f".{target.name}.{socket.gethostname()}-{os.getpid()}."


def remove_leftover_temporaries(folder: Path) -> None:
    """Delete the temporary files in ``folder`` (named by :func:`temporary_name`) left by processes
    of this host that no longer run (a kill -9, a power cut); those of live processes and of other
    hosts (a shared filesystem) are left alone. Each folder is looked at once per process, so a
    folder of many per-frame files costs one listing, not one per file written."""
    folder = Path(folder).resolve()
    if folder in _SWEPT:
        return
    _SWEPT.add(folder)
    owner = re.compile(rf"\.{re.escape(socket.gethostname())}-(\d+)\..*\.tmp")
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.startswith(".")]
    except OSError:
        return
    for name in names:
        found = owner.search(name)
        if found and not _alive(int(found.group(1))):
            (folder / name).unlink(missing_ok=True)


_SWEPT: set[Path] = set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


LOCK_NAME = ".mvmocap.lock"


def _lock_holder(lock: Path) -> tuple[str, int, str] | None:
    """(host, pid, since) written in a lock file, or None when it cannot be read."""
    try:
        host, pid, since = lock.read_text(encoding="utf-8").split("\n")[:3]
        return host, int(pid), since
    except (OSError, ValueError):
        return None


LOCK_HEARTBEAT_SECONDS = 30.0  # the holder touches its lock this often ...
LOCK_STALE_SECONDS = 120.0  # ... so a lock untouched this long is a dead run's, on any host


def _lock_is_stale(lock: Path, holder: tuple[str, int, str] | None, host: str) -> bool:
    """A lock left by a run that no longer runs: its process is gone (this host), or it has not been
    touched for ``LOCK_STALE_SECONDS`` (another host, on a shared filesystem: a lost node)."""
    if holder is not None and holder[0] == host:
        return not _alive(holder[1])
    try:
        return time.time() - lock.stat().st_mtime > LOCK_STALE_SECONDS
    except OSError:
        return True  # gone meanwhile


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold ``folder/.mvmocap.lock`` while a run writes into ``folder`` (created if need be), so that
    two runs never write one output folder at once: the second one is refused with an error naming
    the holder. The lock goes on any exit; the holder touches it every ``LOCK_HEARTBEAT_SECONDS``.
    A lock left by a killed run is found stale and taken over with a warning: at once when its
    process of this host is gone, after ``LOCK_STALE_SECONDS`` untouched when it is another host's
    (a node lost from a cluster, its trial run again elsewhere). Nested use by one process is allowed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock, host, pid = folder / LOCK_NAME, socket.gethostname(), os.getpid()
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is not None and holder[:2] == (host, pid):
                yield  # this process holds it already
                return
            if _lock_is_stale(lock, holder, host):
                who = f"process {holder[1]} on {holder[0]}" if holder else "an unreadable lock"
                logging.getLogger(__name__).warning("%s: left by a run that no longer runs (%s); taken over", lock,
                                                    who)
                lock.unlink(missing_ok=True)
                continue
            who = f"process {holder[1]} on {holder[0]}, since {holder[2]}" if holder else "unreadable lock"
            raise InputError(f"{folder}: another mvmocap run is writing here ({who}); wait for it to finish or "
                             f"choose another --out (if no run is going on, delete {lock})") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{host}\n{pid}\n{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        break
    else:
        raise InputError(f"{folder}: could not take the lock {lock}; delete it if no run is going on")
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(LOCK_HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                os.utime(lock)

    beating = threading.Thread(target=heartbeat, name="mvmocap-lock", daemon=True)
    beating.start()
    try:
        yield
    finally:
        done.set()
        beating.join()
        if (_lock_holder(lock) or ("", 0))[:2] == (host, pid):
            lock.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    A crash or exception leaves the previous file untouched and removes the temporary one; what a
    killed process left is removed by the next process writing into that folder.
    ``suffix`` (default: the target's own suffixes) lets writers that pick a format from the
    file extension, such as OpenCV's FileStorage, see the right one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".tmp" + ("".join(target.suffixes) if suffix is None else suffix)
    remove_leftover_temporaries(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=temporary_name(target), suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes it private; a result is a normal file
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def merge_settings(base: dict, update: dict | None, source: str, where: str = "") -> dict:
    """``base`` updated by ``update`` recursively; a key ``base`` lacks is an error naming
    ``source`` (the file it came from) and the key's dotted path."""
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if key not in base:
            raise InputError(f"{source}: unknown key '{where}{key}'; known: {sorted(base)}")
        if isinstance(base[key], dict) and value is not None and not isinstance(value, dict):
            raise InputError(f"{source}: '{where}{key}' holds settings ('key: value' lines below it), got "
                             f"{value!r}")
        if isinstance(base[key], dict) and isinstance(value, dict) and base[key]:
            out[key] = merge_settings(base[key], value, source, f"{where}{key}.")
        else:
            out[key] = value
    return out


def remove_stale_frames(root: str | os.PathLike, frames: list[int]) -> None:
    """Delete ``root/<frame:06d>.json`` files of frames not in ``frames``: a stage's per-frame
    output folder is replaced as a whole, never left mixing two runs."""
    keep = {f"{frame:06d}.json" for frame in frames}
    for path in Path(root).glob("[0-9]*.json"):
        if path.name not in keep:
            path.unlink()


@contextlib.contextmanager
def native_output_to_log(logger: logging.Logger) -> Iterator[None]:
    """Send what native libraries write to the process's stderr (file descriptor 2) while the block
    runs to ``logger`` at debug level instead of the console (LiteRT's and MediaPipe's start-up
    lines). Python's own warnings and errors raised in the block are not affected."""
    try:
        fd = os.dup(2)
    except OSError:  # no usable stderr: nothing to redirect
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(fd, 2)
            os.close(fd)
            sink.seek(0)
            for line in sink.read().decode("utf-8", "replace").splitlines():
                logger.debug("native: %s", line)


def thinning_stride(count: int, at_most: int) -> int:
    """The step k that keeps every k-th of ``count`` items, ``at_most`` of them at most."""
    return max(1, -(-count // max(at_most, 1)))


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in the (N,) ``mask``, ``stop`` one past its last element."""
    edges = np.flatnonzero(np.diff(np.r_[0, np.asarray(mask, dtype=np.int8), 0]))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
