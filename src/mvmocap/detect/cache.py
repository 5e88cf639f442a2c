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

from tqdm import tqdm

from mvmocap.io import FrameSource, MultiViewKeypoints, write_annots
from mvmocap.utils import atomic_write_text

__all__ = ["detect_camera", "MARKER"]

log = logging.getLogger(__name__)
MARKER = ".complete"  # not a .json: readers of the folder never see it


def detect_camera(source: FrameSource, cam: str, out: Path, make_detector: Callable, frames: range,
                  settings: dict) -> int:
    """Detect ``frames`` of one camera into ``out/<cam>/``; returns how many frames were detected now."""
    folder = out / cam
    marker = folder / MARKER
    stat = source.path.stat()
    identity = {"frames": [frames.start, frames.stop], "settings": settings,
                "source": [str(source.path.resolve()), stat.st_size, int(stat.st_mtime)]}
    if marker.exists():
        if json.loads(marker.read_text()) == identity:
            return 0
        log.info("camera %s: the cache was made from other input, settings or frames; detecting again", cam)
        marker.unlink()
        for stale in folder.glob("[0-9]*.json"):
            stale.unlink()
    existing = {int(p.stem) for p in folder.glob("[0-9]*.json")} if folder.is_dir() else set()
    start = next((f for f in frames if f not in existing), frames.stop)
    detector = make_detector() if start < frames.stop else None
    count = 0
    size = None
    for index, rgb in tqdm(source.frames(start, frames.stop), total=frames.stop - start, desc=f"detect {cam}",
                           unit="frame", leave=False, disable=start >= frames.stop):
        kp = detector(rgb)
        size = (rgb.shape[1], rgb.shape[0])
        seq = MultiViewKeypoints([cam], [index], {0: kp[None, None]}, "body25")
        write_annots(out, seq, {cam: size})
        count += 1
    if detector is not None:
        detector.close()
    atomic_write_text(marker, json.dumps(identity))
    return count
