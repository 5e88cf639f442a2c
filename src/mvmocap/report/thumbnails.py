"""The run report's thumbnails: the fitted bodies' keypoints drawn over the videos of up to four
cameras at the frame where the cameras agree worst and the one where they agree best (the mean
over cameras of the held-out error), saved by the run as ``OUT/thumbnails/<label>_<camera>.jpg``
with ``index.json`` (the page embeds them: reading frames of a video costs a seek or a pass)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.io import FrameSource
from mvmocap.render import draw_skeleton
from mvmocap.utils import atomic_write_text

__all__ = ["THUMBNAILS", "write_thumbnails"]

THUMBNAILS = "thumbnails"
_WIDTH = 240
_CAMERAS = 4


def write_thumbnails(out: Path, rig: CameraRig, sources: dict[str, FrameSource], frames: list[int],
                     heldout_px: np.ndarray, people: list[np.ndarray]) -> list[dict]:
    """``OUT/thumbnails/``: for the frames of ``frames`` with the largest and the smallest mean of
    (F, V) ``heldout_px`` (NaN: not seen), each person's (F, 25, 3) fitted body25 keypoints of
    ``people`` (NaN where a person is not there) drawn over each of the first four cameras of
    ``sources``. Returns the index entries written."""
    folder = out / THUMBNAILS
    with np.errstate(all="ignore"):
        mean = np.nanmean(heldout_px, axis=1) if heldout_px.size else np.zeros(0)
    rows = np.flatnonzero(np.isfinite(mean))
    entries: list[dict] = []
    if rows.size and sources:
        folder.mkdir(parents=True, exist_ok=True)
        chosen = {"worst": int(rows[np.argmax(mean[rows])]), "best": int(rows[np.argmin(mean[rows])])}
        for cam in [c for c in rig.names if c in sources][:_CAMERAS]:
            read = sources[cam].read_frames([frames[row] for row in chosen.values()])
            for label, row in chosen.items():
                if frames[row] not in read:
                    continue
                image = _drawn(np.ascontiguousarray(read[frames[row]]), rig[cam], [k[row] for k in people])
                name = f"{label}_{cam}.jpg"
                ok, jpeg = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
                if ok:
                    (folder / name).write_bytes(jpeg.tobytes())
                    entries.append({"label": label, "camera": cam, "frame": int(frames[row]), "file": name,
                                    "heldout_px": round(float(mean[row]), 2)})
    if folder.is_dir():
        atomic_write_text(folder / "index.json", json.dumps(entries, indent=1))
    return entries


def _drawn(image: np.ndarray, camera, people: list[np.ndarray]) -> np.ndarray:
    """``image`` shrunk to the thumbnails' width with each person's (25, 3) keypoints drawn over it."""
    size = (image.shape[1], image.shape[0])
    scale = _WIDTH / size[0]
    small = cv2.resize(image, (_WIDTH, max(1, int(round(size[1] * scale)))), interpolation=cv2.INTER_AREA)
    camera = camera if camera.image_size is None or tuple(camera.image_size) == size else camera.resized(size)
    for keypoints in people:
        there = np.isfinite(keypoints).all(-1)
        if not there.any():
            continue
        points = np.where(there[:, None], keypoints, 0.0)
        shown = there & (camera.world_to_camera(points)[:, 2] > 0)
        uv = camera.project(points) * scale
        shown &= np.isfinite(uv).all(-1) & (np.abs(uv) < 4 * _WIDTH).all(-1)  # far off the image: not drawn
        uv = np.where(shown[:, None], uv, 0.0)
        draw_skeleton(small, np.c_[uv, shown.astype(float)], "body25", min_conf=0.5, thickness=2)
    return small
