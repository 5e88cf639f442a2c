"""Joint-angle files: OpenSim's motion storage (``.mot``, what OpenSim writes: a name line,
``version=1``, ``nRows``, ``nColumns`` (the time column included), ``inDegrees=yes``,
``endheader``, then tab-separated columns headed ``time``) and CSV (a ``time`` and a ``frame``
column, then one per angle). Angles in degrees, the pelvis's position in metres; both written
atomically."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from mvmocap.angles.joints import JointAngles
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["ANGLE_FORMATS", "read_mot", "write_angles"]

ANGLE_FORMATS = (".mot", ".csv")


def _mot_text(angles: JointAngles, name: str) -> str:
    lines = [name, "version=1", f"nRows={len(angles.frames)}", f"nColumns={len(angles.names) + 1}", "inDegrees=yes",
             "endheader", "\t".join(("time", *angles.names))]
    lines += ["\t".join([f"{t:.6f}", *(f"{v:.6f}" for v in row)]) for t, row in zip(angles.times, angles.values,
                                                                                    strict=True)]
    return "\n".join(lines) + "\n"


def _csv_text(angles: JointAngles) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time", "frame", *angles.names])
    for t, f, row in zip(angles.times, angles.frames, angles.values, strict=True):
        writer.writerow([f"{t:.6f}", int(f), *(f"{v:.6f}" for v in row)])
    return buffer.getvalue()


def write_angles(path: str | Path, angles: JointAngles, *, name: str = "mvmocap joint angles") -> Path:
    """Write ``angles`` to ``path``, a ``.mot`` or ``.csv`` file by its suffix; returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ANGLE_FORMATS:
        raise InputError(f"{path}: joint angles are written as .mot (OpenSim) or .csv, not "
                         f"{path.suffix or 'no suffix'!r}")
    atomic_write_text(path, _mot_text(angles, name) if suffix == ".mot" else _csv_text(angles))
    return path


def read_mot(path: str | Path) -> tuple[list[str], np.ndarray]:
    """A ``.mot``/``.sto`` file's column labels (``time`` first) and (rows, columns) values."""
    text = Path(path).read_text(encoding="utf-8").splitlines()
    end = next(i for i, line in enumerate(text) if line.strip().lower() == "endheader")
    labels = text[end + 1].split("\t")
    values = np.array([[float(v) for v in line.split("\t")] for line in text[end + 2:] if line.strip()])
    return labels, values.reshape(-1, len(labels))
