"""What a user sees on the terminal: our log lines, one progress bar per stage, an aligned summary.

- :class:`Console` (the command line enters it once): native libraries' writes to file
  descriptor 2 (MediaPipe's glog/absl lines, LiteRT's delegate notice, Warp's CUDA probe) go to
  a temporary file whose lines are logged at debug level by the ``mvmocap.native`` logger, so
  they land in ``log.txt`` and not between the progress bars. Python's own output (``sys.stderr``:
  our log lines, warnings, tracebacks) still reaches the terminal. Other packages' log records
  below WARNING are kept off the terminal too (they stay in ``log.txt``). ``verbose`` shows all.
- :func:`progress`: the one progress bar of a stage; it appears only after a second (a stage
  that is faster prints just its closing log line), is not drawn when the terminal is not a TTY
  (a log file or CI), and vanishes when the stage ends, before the stage's closing log line.
- :func:`summary_table`: the closing table of a command, keys aligned.

Knows nothing of the rest of the package.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

__all__ = ["Console", "progress", "log_to_file", "drain_native_output", "summary_table", "quiet_native_libraries"]

_OURS = logging.getLogger("mvmocap")
native_log = logging.getLogger("mvmocap.native")
_active: list[Console] = []


def quiet_native_libraries() -> None:
    """Ask glog, absl and TensorFlow Lite for warnings and errors only. Read when those libraries
    load, so call it before MediaPipe or LiteRT is imported; a value the user set is kept."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _ConsoleHandler(logging.Handler):
    """Log records to the terminal through ``tqdm.write`` (an open progress bar is redrawn below
    the line instead of being cut by it); other packages' records only from WARNING up."""

    def __init__(self, stream, verbose: bool):
        super().__init__(logging.DEBUG if verbose else logging.INFO)
        self.stream = stream
        self.verbose = verbose
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == native_log.name and not self.verbose:
            return False
        return (_is_ours(record) or self.verbose or record.levelno >= logging.WARNING) and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class Console:
    """The terminal for one command (see the module docstring). ``with Console(verbose=False):``."""

    def __init__(self, *, verbose: bool = False):
        self.verbose = verbose
        self._saved_fd: int | None = None
        self._sink = None
        self._read = 0
        self._stderr = sys.stderr
        self._handler: _ConsoleHandler | None = None
        self._levels = (logging.WARNING, logging.NOTSET)

    def __enter__(self) -> Console:
        root = logging.getLogger()
        terminal = sys.stderr
        if not self.verbose:
            quiet_native_libraries()
            with contextlib.suppress(OSError, AttributeError, ValueError):
                sys.stderr.flush()
                self._saved_fd = os.dup(2)
                terminal = os.fdopen(os.dup(self._saved_fd), "w", buffering=1, encoding=getattr(
                    sys.stderr, "encoding", None) or "utf-8", errors="replace")
                self._sink = tempfile.TemporaryFile()
                os.dup2(self._sink.fileno(), 2)
                sys.stderr = terminal
        self._handler = _ConsoleHandler(terminal, self.verbose)
        self._levels = root.level, _OURS.level
        root.addHandler(self._handler)
        root.setLevel(logging.DEBUG if self.verbose else logging.INFO)
        _OURS.setLevel(logging.DEBUG)  # our debug lines (native output among them) reach log.txt
        _active.append(self)
        return self

    def drain(self) -> None:
        """Log (debug, ``mvmocap.native``) what native code wrote since the last drain."""
        if self._sink is None:
            return
        self._sink.seek(self._read)
        data = self._sink.read()
        self._read += len(data)
        for line in data.decode("utf-8", "replace").splitlines():
            if line.strip():
                native_log.debug("%s", line.rstrip())

    def __exit__(self, *exc) -> None:
        self.drain()
        _active.remove(self)
        root = logging.getLogger()
        if self._handler is not None:
            root.removeHandler(self._handler)
        root.setLevel(self._levels[0])
        _OURS.setLevel(self._levels[1])
        if self._saved_fd is not None:
            sys.stderr.flush()
            os.dup2(self._saved_fd, 2)
            os.close(self._saved_fd)
            terminal, sys.stderr = sys.stderr, self._stderr
            terminal.close()
            self._sink.close()
            self._saved_fd = self._sink = None


def drain_native_output() -> None:
    """Log native output so far (see :meth:`Console.drain`); nothing when no console is active."""
    for console in _active:
        console.drain()


@contextlib.contextmanager
def progress(total: float, *, desc: str, unit: str) -> Iterator[tqdm]:
    """The progress bar of one stage: ``with progress(n, desc="detect", unit="view-frame") as bar:
    bar.update(1)``. Shown after a second, on a TTY only; gone when the block ends."""
    bar = tqdm(total=total, desc=desc, unit=unit, leave=False, delay=1.0, disable=None, dynamic_ncols=True,
               file=sys.stderr, bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} {unit} [{elapsed}<{remaining}]")
    try:
        yield bar
    finally:
        bar.close()
        drain_native_output()


def _is_ours(record: logging.LogRecord) -> bool:
    return record.name == _OURS.name or record.name.startswith(_OURS.name + ".")


@contextlib.contextmanager
def log_to_file(path: str | os.PathLike) -> Iterator[None]:
    """Also log to ``path`` while the block runs: our records at every level (native output
    included, drained before the file closes), other packages' from INFO up."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    handler.addFilter(lambda record: _is_ours(record) or record.levelno >= logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    levels = root.level, _OURS.level
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.INFO))
    _OURS.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        drain_native_output()
        root.removeHandler(handler)
        root.setLevel(levels[0])
        _OURS.setLevel(levels[1])
        handler.close()


def summary_table(title: str, rows: dict[str, str]) -> str:
    """``title`` then one ``  key  value`` line per row, the values aligned."""
    width = max(map(len, rows), default=0)
    return "\n".join([f"\n{title}", *(f"  {key:<{width}}  {value}" for key, value in rows.items())])
