"""Per-camera detection with a cache that survives interruptions.

Each frame's detections are written atomically to ``OUT/keypoints2d/<cam>/<frame:06d>.json``
(EasyMocap ``annots`` layout) as soon as they exist; a camera is finished when its
``.complete`` marker is written. A rerun skips finished cameras and resumes an unfinished
one at its first missing frame, so nothing already computed is lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mvmocap.detect.mediapipe_hands import HandDetection
from mvmocap.io import FrameSource, MultiViewKeypoints, write_annots
from mvmocap.utils import atomic_write_text

__all__ = ["MARKER", "detect_camera", "save_body", "save_hands", "load_hands"]

log = logging.getLogger(__name__)
MARKER = ".complete"  # not a .json: readers of the folder never see it


def save_body(out: Path, cam: str, index: int, people, size: tuple[int, int], timestamp: float = float("nan")) -> None:
    """Write one frame's body25 detections as EasyMocap annots: ``people`` is one (25, 3) array
    (person 0) or ``{person id: (25, 3)}`` (ids per camera); ``timestamp`` the frame's time in
    seconds on the camera's clock (NaN: unknown)."""
    if not isinstance(people, dict):
        people = {0: people}
    seq = MultiViewKeypoints([cam], [index], {pid: np.asarray(kp)[None, None] for pid, kp in people.items()},
                             "body25", {cam: np.array([timestamp])})
    write_annots(out, seq, {cam: size})


def save_hands(out: Path, cam: str, index: int, hands, size: tuple[int, int], timestamp: float = float("nan")) -> None:
    """Write one frame's hand detections, unassigned: ``[{"keypoints", "label", "score"}, ...]``."""
    doc = {"width": size[0], "height": size[1],
           "hands": [{"keypoints": h.keypoints.tolist(), "label": h.label, "score": h.score} for h in hands]}
    if np.isfinite(timestamp):
        doc["timestamp"] = float(timestamp)
    atomic_write_text(out / cam / f"{index:06d}.json", json.dumps(doc))


def detect_camera(source: FrameSource, cam: str, out: Path, make_detector: Callable, frames: range,
                  settings: dict, save: Callable = save_body, bar=None) -> int:
    """Detect ``frames`` of one camera into ``out/<cam>/`` (one file per frame, written by
    ``save``); returns how many frames were detected now. ``make_detector()`` returns a
    ``detector(rgb, index)``; ``settings`` (with anything else the result depends on) key the cache.
    ``bar`` (a progress bar, see :func:`mvmocap.console.progress`) advances by one per frame of
    ``frames``, cached ones included."""
    folder = out / cam
    marker = folder / MARKER
    stat = source.path.stat()
    identity = {"frames": [frames.start, frames.stop], "settings": settings,
                "source": [str(source.path.resolve()), stat.st_size, int(stat.st_mtime)]}
    bar = bar if bar is not None else _NoBar()
    if marker.exists():
        if json.loads(marker.read_text()) == identity:
            bar.update(len(frames))
            return 0
        log.info("camera %s: the cache was made from other input, settings or frames; detecting again", cam)
        marker.unlink()
        for stale in folder.glob("[0-9]*.json"):
            stale.unlink()
    existing = {int(p.stem) for p in folder.glob("[0-9]*.json")} if folder.is_dir() else set()
    start = next((f for f in frames if f not in existing), frames.stop)
    detector = make_detector() if start < frames.stop else None
    bar.set_postfix_str(cam)
    bar.update(start - frames.start)
    count = 0
    for index, rgb in source.frames(start, frames.stop):
        save(out, cam, index, detector(rgb, index), (rgb.shape[1], rgb.shape[0]), source.current_time)
        count += 1
        bar.update(1)
    if detector is not None:
        detector.close()
    atomic_write_text(marker, json.dumps(identity))
    return count


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass


def load_hands(out: Path, cameras: list[str], frames: range) -> list[list[list[HandDetection]]]:
    """Read the cached hand detections back: ``[frame][view] -> list of HandDetection``."""
    table = []
    for f in frames:
        row = []
        for cam in cameras:
            doc = json.loads((out / cam / f"{f:06d}.json").read_text())
            row.append([HandDetection(np.asarray(h["keypoints"], dtype=np.float64), h["label"], float(h["score"]))
                        for h in doc["hands"]])
        table.append(row)
    return table
