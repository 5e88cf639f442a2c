"""Argument types and checks shared by the ``mvmocap`` commands."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from enum import Enum

from mvmocap.io import check_dataset_folder

__all__ = ["positive_float", "CameraNames", "int_from", "dataset_root", "add_synth_options", "spec_from",
           "add_options", "options_from"]


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


class CameraNames(argparse.Action):
    """``--cams``-like lists: each camera once (a repeated name is an argparse error, exit 2)."""

    def __call__(self, parser, namespace, values, option_string=None):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            parser.error(f"{option_string} names {repeated} more than once; list each camera once")
        setattr(namespace, self.dest, values)


def int_from(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def dataset_root(args: argparse.Namespace) -> None:
    """A mistyped ROOT is reported as such, before anything (log.txt included) is written under it."""
    check_dataset_folder(args.root)


def add_synth_options(p: argparse.ArgumentParser, frames: int) -> None:
    from mvmocap.synthetic import MOTIONS

    p.add_argument("--frames", type=int_from(1), default=frames)
    p.add_argument("--cameras", type=int_from(2), default=4, help="cameras on the ring")
    p.add_argument("--radius", type=float, default=3.5, help="ring radius in metres")
    p.add_argument("--motion", choices=MOTIONS, default="mixed")
    p.add_argument("--noise", type=float, default=2.0, help="2D noise, pixels (standard deviation)")
    p.add_argument("--outliers", type=float, default=0.1, help="fraction of observations replaced by outliers")
    p.add_argument("--dropouts", type=float, default=0.05, help="fraction of observations dropped")
    p.add_argument("--seed", type=int, default=0)


def spec_from(args: argparse.Namespace):
    from mvmocap.synthetic import CaptureSpec

    return CaptureSpec(frames=args.frames, cameras=args.cameras, radius=args.radius, motion=args.motion,
                       noise_px=args.noise, outlier_ratio=args.outliers, dropout_ratio=args.dropouts, seed=args.seed)


def add_options(parser: argparse.ArgumentParser, options: type, *, only: tuple[str, ...] | None = None) -> None:
    """The command-line arguments of the dataclass ``options``'s fields, from each field's
    :func:`mvmocap.pipeline.options.option` metadata (fields without a flag are not offered;
    ``only``: these fields alone). The option is declared once, where the library reads it."""
    for f in fields(options):
        cli = f.metadata.get("cli")
        if cli is None or (only is not None and f.name not in only):
            continue
        if cli.positional:
            parser.add_argument(f.name, help=cli.help)
            continue
        if cli.negated:
            parser.add_argument(cli.negated, dest=f.name, action="store_false", help=cli.help)
            continue
        default = None if f.default is MISSING else f.default
        kwargs = {"dest": f.name, "help": cli.help, "default": default.value if isinstance(default, Enum) else default}
        if cli.cameras:
            kwargs |= {"nargs": "+", "action": CameraNames}
        elif cli.choices:
            kwargs["choices"] = [c.value if isinstance(c, Enum) else c for c in cli.choices]
        elif cli.minimum is not None:
            kwargs["type"] = int_from(cli.minimum)
        elif cli.positive:
            kwargs["type"] = positive_float
        parser.add_argument(cli.flag or "--" + f.name.replace("_", "-"), **kwargs)


def options_from(args: argparse.Namespace, options: type):
    """An ``options`` dataclass from the parsed command line (the fields it offered)."""
    return options(**{f.name: getattr(args, f.name) for f in fields(options) if hasattr(args, f.name)})
