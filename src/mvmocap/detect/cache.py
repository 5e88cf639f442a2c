"""Per-camera detection with a cache that survives interruptions.

Each frame's detections are written atomically to ``OUT/keypoints2d/<cam>/<frame:06d>.json``
(EasyMocap ``annots`` layout) as soon as they exist; a camera is finished when its
``.complete`` marker is written. A rerun skips finished cameras and resumes an unfinished
one at its first missing frame, so nothing already computed is lost; another frame range reuses
the frames it shares with the cache (a frame is detected again only when the input or the
detector settings changed).

Resuming gives the same detections as an uninterrupted run: a detector that tracks people from
frame to frame and can save its state (``state()`` / ``restore(state)``, as the BlazePose
detector does) leaves it in ``<cam>/.tracker.json`` every ``TRACKER_EVERY`` frames, and a resumed
camera starts from it (detecting the frames after it again: the same detections). A detector without that
(MediaPipe's legacy solution) is warmed up on the ``WARMUP_FRAMES`` frames before the first
missing one, their results discarded, so that its tracking and filters are close to what they were.
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

__all__ = ["MARKER", "TRACKER", "UNDECODABLE", "WARMUP_FRAMES", "detect_camera", "detect_camera_in_worker", "save_body",
           "save_hands", "load_hands", "undecodable_frames"]

log = logging.getLogger(__name__)
MARKER = ".complete"  # not a .json: readers of the folder never see it
TRACKER = ".tracker.json"  # the detector's state after a frame: {"frame": index, "identity": ..., "state": ...}
UNDECODABLE = ".undecodable.json"  # the frames of the video that could not be decoded (sorted list)
WARMUP_FRAMES = 15
TRACKER_EVERY = 10  # frames between two saves of the detector's state (one file write a frame fewer)


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
    ``frames``, cached ones included. A tracking detector's state is saved after every frame whose
    number + 1 is a multiple of ``TRACKER_EVERY`` (module docstring)."""
    folder = out / cam
    marker = folder / MARKER
    stat = source.path.stat()
    # What the detections depend on. Not the frame range: each frame is cached on its own, so a
    # narrower or shifted rerun keeps (and reuses) the frames detected before. The frames' size too:
    # detections of a phone video read before its rotation tag was applied are not reused.
    identity = {"settings": settings, "source": [str(source.path.resolve()), stat.st_size, int(stat.st_mtime)],
                "size": list(source.size)}
    bar = bar if bar is not None else _NoBar()
    existing = {int(p.stem) for p in folder.glob("[0-9]*.json")} if folder.is_dir() else set()
    start = next((f for f in frames if f not in existing), frames.stop)
    if marker.exists():
        if _read_marker(marker) != identity:
            log.info("camera %s: the cache was made from other input or settings; detecting again", cam)
            marker.unlink()
            for stale in folder.glob("[0-9]*.json"):
                stale.unlink()
            start = frames.start
        elif start == frames.stop:
            bar.update(len(frames))
            return 0
        else:  # a frame outside the range cached before, or one deleted (damaged, as its error says)
            log.info("camera %s: frame %d is not in the cache; detecting from there", cam, start)
            marker.unlink()
    detector = make_detector() if start < frames.stop else None
    run_from = write_from = start
    if detector is not None and start > frames.start:
        run_from, write_from = _resume(detector, folder, identity, start, frames.start)
    bar.set_postfix_str(cam)
    bar.update(write_from - frames.start)
    count = 0
    for index, rgb in source.frames(run_from, frames.stop):
        people = detector(rgb, index)
        if index < write_from:  # detected before: only the detector's state was wanted
            continue
        save(out, cam, index, people, (rgb.shape[1], rgb.shape[0]), source.current_time)
        if hasattr(detector, "state") and (index + 1) % TRACKER_EVERY == 0:
            atomic_write_text(folder / TRACKER, json.dumps({"frame": index, "identity": identity,
                                                            "state": detector.state()}))
        count += 1
        bar.update(1)
    if detector is not None:
        detector.close()
    if source.undecodable:  # kept with the cache, for the run's report
        known = set(undecodable_frames(out, [cam]).get(cam, [])) | set(source.undecodable)
        atomic_write_text(folder / UNDECODABLE, json.dumps(sorted(known)))
    atomic_write_text(marker, json.dumps(identity))
    (folder / TRACKER).unlink(missing_ok=True)
    return count


def detect_camera_in_worker(path: Path, cam: str, out: Path, make_detector: Callable, frames: range, settings: dict,
                            save: Callable) -> int:
    """:func:`detect_camera` in a worker process, the camera given by its file. (This module imports
    neither PyTorch nor the pipeline: a worker starts in about 1 s, not 2.7.)"""
    from mvmocap.console import quiet_native_libraries

    quiet_native_libraries()
    return detect_camera(FrameSource(path), cam, out, make_detector, frames, settings, save=save)


def undecodable_frames(out: Path, cams: list[str]) -> dict[str, list[int]]:
    """``{camera: frame numbers}`` of the cameras in the detection cache ``out`` whose videos had
    frames that could not be decoded (detected as grey frames: nobody seen)."""
    found = {}
    for cam in cams:
        try:
            frames = json.loads((out / cam / UNDECODABLE).read_text())
        except (OSError, ValueError):
            continue
        if frames:
            found[cam] = [int(f) for f in frames]
    return found


def _read_marker(marker: Path):
    """The identity a ``.complete`` marker holds; None for an empty or damaged one (detected again)."""
    try:
        return json.loads(marker.read_text())
    except (OSError, ValueError):
        return None


def _resume(detector, folder: Path, identity: dict, missing: int, first: int) -> tuple[int, int]:
    """Where a camera whose first missing frame is ``missing`` resumes: (the first frame run through
    the detector, the first frame written). From the saved tracker state when there is one for
    this input (frames after it are detected and written again), else after a warm-up (module
    docstring)."""
    saved = None
    try:
        saved = json.loads((folder / TRACKER).read_text())
    except (OSError, ValueError):
        pass
    if (hasattr(detector, "restore") and isinstance(saved, dict) and saved.get("identity") == identity
            and first <= saved.get("frame", -1) < missing):
        detector.restore(saved["state"])
        return saved["frame"] + 1, saved["frame"] + 1
    return max(first, missing - WARMUP_FRAMES), missing


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
