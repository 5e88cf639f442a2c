"""The options of one ``mvmocap run``, declared once.

Each field of :class:`RunOptions` carries its command-line flag, help and bounds in its metadata
(:func:`option` with a :class:`Flag`); the ``run`` and ``sync`` commands are generated from them
(:func:`mvmocap.cli.args.add_options`), and library callers (``mvmocap.run(...)``, the batch, the
benchmarks) build the same object. The values are checked once, when it is made: frames become a
:class:`FrameSpan`, the sync mode a :class:`SyncMode`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from mvmocap.utils import InputError

__all__ = ["RunOptions", "FrameSpan", "SyncMode", "Flag", "option"]


class SyncMode(StrEnum):
    """The cameras' time offsets: ``file`` = ``ROOT/sync.yml`` when present, ``auto`` = estimated
    now (written to ``OUT/sync.yml``), ``none`` = the cameras taken as synchronised."""

    FILE = "file"
    AUTO = "auto"
    NONE = "none"


@dataclass(frozen=True)
class FrameSpan:
    """Frames ``start`` to ``stop`` (exclusive; None: to the end), from ``--frames A:B``."""

    start: int = 0
    stop: int | None = None

    @classmethod
    def parse(cls, text: str | FrameSpan | None) -> FrameSpan | None:
        """``"A:B"``, ``"A:"`` or ``":B"`` -> a span; None or "" -> None (every frame)."""
        if text is None or isinstance(text, FrameSpan):
            return text
        if not text:
            return None
        first, _, last = text.partition(":")
        try:
            start, stop = int(first or 0), (int(last) if last else None)
        except ValueError:
            raise InputError(f"--frames must look like 100:400, got {text!r}") from None
        if start < 0 or (stop is not None and stop <= start):
            raise InputError(f"--frames {text}: frame numbers start at 0 and A:B needs B > A (B exclusive)")
        return cls(start, stop)

    def __str__(self) -> str:
        return f"{self.start}:{'' if self.stop is None else self.stop}"


@dataclass(frozen=True)
class Flag:
    """How the command line offers a :class:`RunOptions` field: its ``help``, the ``flag`` (default
    ``--field-name``), or ``positional``; the ``minimum`` of an integer, ``positive`` for a number,
    ``choices``, ``cameras`` (a list of camera names, each once), ``negated`` (a switch that turns
    a True default off, e.g. ``--no-video``)."""

    help: str
    flag: str | None = None
    positional: bool = False
    minimum: int | None = None
    positive: bool = False
    choices: tuple[str, ...] | None = None
    cameras: bool = False
    negated: str | None = None


def option(flag: Flag | None = None, *, default: Any = None) -> Any:
    """A :class:`RunOptions` field with its ``default``, offered on the command line as ``flag``
    says (None: not offered)."""
    return field(default=default, metadata={"cli": flag})


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What one ``mvmocap run`` is asked to do (its command-line options), checked when made; each
    field's help is its documentation."""

    root: Path = option(Flag("dataset: videos/<cam>.mp4 or images/<cam>/, intri.yml + extri.yml", positional=True))
    out: Path | None = option(Flag("output folder (default ROOT/output)"))
    exp: str | Path = option(Flag("experiment: body, multi (everyone in the scene), hands, body+hands, or a YAML "
                                  "file (mvmocap settings --exp NAME prints one with every key)"), default="body")
    workers: int = option(Flag("processes detecting cameras, and threads choosing the subject and fitting a long "
                               "capture's windows, at once (default 0: one per core); the same results with any "
                               "number", minimum=0), default=0)
    max_people: int | None = option(Flag("--exp multi: at most this many people (default: the experiment's "
                                         "people.max_people, 10)", minimum=1))
    model: str | None = option(Flag("body: anny (default), smpl, smplh, smplx [:neutral|male|female|:PATH]; hands: "
                                    "anny-hand (default) or mano[:FOLDER]; body+hands: anny, smplh, smplx"))
    calib: Path | None = option(Flag("calibration file or folder (default: ROOT)"))
    cams: tuple[str, ...] | None = option(Flag("cameras to use (default: all with calibration)", cameras=True))
    vis_cams: tuple[str, ...] | None = option(Flag("cameras shown in the overlay video (default: first 4)",
                                                   cameras=True))
    frames: FrameSpan | None = option(Flag("frame range A:B (B exclusive)"))
    keypoints: Path | None = option(Flag("precomputed 2D keypoints (annots/ or OpenPose) instead of detection"))
    gmm: Path | None = option(Flag("gmm_08.pkl pose prior (SMPL family)"))
    fps: float | None = option(Flag("frame rate (default: the videos', else 30)", positive=True))
    videos: bool = option(Flag("skip the overlay and ground videos", negated="--no-video"), default=True)
    sync: SyncMode = option(Flag("camera time offsets: file = ROOT/sync.yml when present (default), auto = estimate "
                                 "now (writes OUT/sync.yml), none = cameras taken as synchronised",
                                 choices=tuple(SyncMode)), default=SyncMode.FILE)
    sync_file: Path | None = option(Flag("the sync.yml that --sync file reads (default ROOT/sync.yml; a session's "
                                         "shared one, say)"))

    def __post_init__(self) -> None:
        for name in ("root", "out", "calib", "keypoints", "gmm", "sync_file"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        for name in ("cams", "vis_cams"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))
                repeated = sorted({c for c in value if list(value).count(c) > 1})
                if repeated:
                    raise InputError(f"--{name.replace('_', '-')} names {repeated} more than once; list each camera "
                                     "once")
        try:
            object.__setattr__(self, "sync", SyncMode(self.sync))
        except ValueError:
            raise InputError(f"--sync must be one of {[m.value for m in SyncMode]}, got {self.sync!r}") from None
        object.__setattr__(self, "frames", FrameSpan.parse(self.frames))
        if self.fps is not None and not self.fps > 0:
            raise InputError(f"--fps must be above 0 frames per second, got {self.fps}")
        if self.vis_cams and not self.videos:
            raise InputError("--vis-cams chooses the views of the overlay video, which --no-video turns off; "
                             "drop one")
        if self.workers < 0:
            raise InputError(f"--workers must be 0 (one per core) or more, got {self.workers}")
        if self.max_people is not None and self.max_people < 1:
            raise InputError(f"--max-people must be at least 1, got {self.max_people}")

    @property
    def frame_bounds(self) -> tuple[int, int | None]:
        """(first frame, stop or None) of ``frames``; every frame: (0, None)."""
        return (self.frames.start, self.frames.stop) if self.frames else (0, None)

    def worker_count(self) -> int:
        """The processes that detect cameras and the threads that choose the subject and fit windows
        (``workers``, 0 meaning one per core)."""
        return self.workers or (os.cpu_count() or 1)

    @property
    def output(self) -> Path:
        return self.out if self.out is not None else self.root / "output"

    def check_for(self, kind: str) -> None:
        """Options the experiment's kind would ignore are refused."""
        body_only = [("--keypoints", self.keypoints), ("--gmm", self.gmm), ("--sync", self.sync != "file"),
                     ("--sync-file", self.sync_file)]
        readers = {"body": ("--keypoints", "--gmm", "--sync", "--sync-file"),
                   "multi": ("--keypoints", "--gmm", "--sync", "--sync-file", "--max-people")}
        unused = [flag for flag, given in (*body_only, ("--max-people", self.max_people is not None))
                  if given and flag not in readers.get(kind, ())]
        if unused:
            who = "multi experiments" if unused == ["--max-people"] else "body and multi experiments"
            raise InputError(f"{' and '.join(unused)}: read by {who} only; --exp {self.exp} ({kind}) would "
                             "ignore them: drop them")
