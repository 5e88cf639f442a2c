"""``mvmocap``: command-line entry point. Each command group's options and handlers live in
its own module (:mod:`mvmocap.cli.calib`, :mod:`~mvmocap.cli.run`, :mod:`~mvmocap.cli.files`,
:mod:`~mvmocap.cli.bench`); each handler is a thin layer over a function of the library."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from mvmocap.cli.bench import add_bench_commands
from mvmocap.cli.calib import add_calib_commands
from mvmocap.cli.files import add_file_commands
from mvmocap.cli.run import add_run_commands
from mvmocap.console import Console
from mvmocap.threads import use_threads
from mvmocap.utils import InputError

EXIT_DONE, EXIT_BUG, EXIT_INPUT = 0, 1, 2  # README: exit codes

log = logging.getLogger("mvmocap")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mvmocap", description="Multi-view markerless motion capture.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    add_calib_commands(sub)
    add_file_commands(sub)
    add_run_commands(sub)
    add_bench_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = use_threads()
    start = time.perf_counter()
    with Console(verbose=args.verbose):
        try:
            code = args.func(args)
        except (InputError, FileNotFoundError) as err:  # the user's input: files, settings, options, model files
            log.error("%s", err)
            return EXIT_INPUT
        except OSError as err:  # the machine: a full disk, no permission, a vanished mount
            log.error("%s%s", f"{err.filename}: " if err.filename else "", err.strerror or err)
            return EXIT_INPUT
        except Exception:  # noqa: BLE001 - anything else is ours to fix
            log.exception("this is a bug in mvmocap, not a problem with your input; please report it with the "
                          "command line and the traceback above (and log.txt of the run)")
            return EXIT_BUG
        log.debug("done in %.2f s on %d PyTorch thread(s)", time.perf_counter() - start, threads)
    return code


if __name__ == "__main__":
    sys.exit(main())
