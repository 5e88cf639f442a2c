"""The run report's thumbnails: the fitted body's keypoints drawn over the videos of up to four
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
                     heldout_px: np.ndarray, keypoints: np.ndarray) -> list[dict]:
    """``OUT/thumbnails/``: for the frames of ``frames`` with the largest and the smallest mean of
    (F, V) ``heldout_px`` (NaN: not seen), the (F, 25, 3) fitted body25 ``keypoints`` of that frame
    drawn over each of the first four cameras of ``sources``. Returns the index entries written."""
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
                image = _drawn(np.ascontiguousarray(read[frames[row]]), rig[cam], keypoints[row])
                name = f"{label}_{cam}.jpg"
                ok, jpeg = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
                if ok:
                    (folder / name).write_bytes(jpeg.tobytes())
                    entries.append({"label": label, "camera": cam, "frame": int(frames[row]), "file": name,
                                    "heldout_px": round(float(mean[row]), 2)})
    if folder.is_dir():
        atomic_write_text(folder / "index.json", json.dumps(entries, indent=1))
    return entries


def _drawn(image: np.ndarray, camera, keypoints: np.ndarray) -> np.ndarray:
    """``image`` shrunk to the thumbnails' width with the (25, 3) ``keypoints`` drawn over it."""
    size = (image.shape[1], image.shape[0])
    scale = _WIDTH / size[0]
    small = cv2.resize(image, (_WIDTH, max(1, int(round(size[1] * scale)))), interpolation=cv2.INTER_AREA)
    camera = camera if camera.image_size is None or tuple(camera.image_size) == size else camera.resized(size)
    uv = camera.project(keypoints) * scale
    behind = camera.world_to_camera(keypoints)[:, 2] <= 0
    return draw_skeleton(small, np.c_[uv, (~behind).astype(float)], "body25", min_conf=0.5, thickness=2)
