"""Camera frames from an EasyMocap dataset: ``videos/<cam>.mp4`` (read directly, never extracted
to disk) or ``images/<cam>/<frame>.jpg|png``."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from mvmocap.io.errors import DataError
from mvmocap.utils import natural_sorted

__all__ = ["list_video_cameras", "FrameSource"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


def list_video_cameras(root: str | Path) -> dict[str, Path]:
    """Camera name -> its video file or image folder, in natural order. ``videos/`` wins over ``images/``."""
    root = Path(root)
    found: dict[str, Path] = {}
    if (root / "videos").is_dir():
        for p in (root / "videos").iterdir():
            if p.suffix.lower() in _VIDEO_SUFFIXES:
                found[p.stem] = p
    if not found and (root / "images").is_dir():
        for p in (root / "images").iterdir():
            if p.is_dir() and not p.name.startswith("."):
                found[p.name] = p
    if not found:
        raise DataError(root, "no camera input: expected videos/<cam>.mp4 or images/<cam>/<frame>.jpg")
    return {name: found[name] for name in natural_sorted(found)}


class FrameSource:
    """Frames of one camera as RGB uint8 (H, W, 3).

    ``size``: (width, height) of the frames as they are delivered (after a rotation tag).
    ``count``: the number of frames (of a video: its video packets, counted without decoding;
    OpenCV's own count is duration x frame rate where the container stores none, as Matroska
    files (OBS's default) do not: a variable-rate recording then "ended early").
    ``current_time``: while :meth:`frames` runs, the time in seconds of the frame just yielded,
    from the video container's timestamps (so variable frame rates and dropped frames keep
    their true times); NaN for image folders, whose times are the frame number / fps.
    A video's rotation tag (the display matrix phones write) is applied, so portrait phone videos
    come out upright, as the phone showed them and as calibration tools that honour the tag see
    them (OpenCV's wheels leave it off unless asked: :func:`_open_video`).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.current_time = float("nan")
        if self.path.is_dir():
            self.images = [self.path / n for n in natural_sorted(p.name for p in self.path.iterdir()
                                                                 if p.suffix.lower() in _IMAGE_SUFFIXES)]
            if not self.images:
                raise DataError(self.path, "image folder is empty (expected .jpg or .png frames)")
            self.count = len(self.images)
            first = cv2.imread(str(self.images[0]), cv2.IMREAD_COLOR)
            if first is None:
                raise DataError(self.images[0], "unreadable image")
            self.size = (first.shape[1], first.shape[0])
        else:
            self.images = None
            if not self.path.is_file():  # a pipe or a device would block the reader forever
                raise DataError(self.path, "not a regular file (a pipe, a socket or a device); mvmocap reads video "
                                           "files: record to a file first")
            cap = _open_video(self.path)
            ok, first = cap.read() if cap.isOpened() else (False, None)
            self.count = (_frame_count(self.path) or int(cap.get(cv2.CAP_PROP_FRAME_COUNT))) if ok else 0
            self.size = (first.shape[1], first.shape[0]) if ok else (0, 0)
            self.fps = cap.get(cv2.CAP_PROP_FPS) if ok else 0.0
            cap.release()
            if not ok or self.count <= 0:
                raise DataError(self.path, "cannot read this video (corrupt, empty or an unsupported codec); "
                                           "re-encode it to H.264 mp4 or give an images/<cam>/ folder instead")

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (index, rgb) for frames ``start`` .. ``stop - 1``."""
        stop = self.count if stop is None else min(stop, self.count)
        if self.images is not None:
            for i in range(start, stop):
                bgr = cv2.imread(str(self.images[i]), cv2.IMREAD_COLOR)
                if bgr is None:
                    raise DataError(self.images[i], "unreadable image")
                yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            return
        cap = _open_video(self.path)
        try:
            if start:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            for i in range(start, stop):
                ok, bgr = cap.read()
                if not ok:
                    raise DataError(self.path, f"video ends early at frame {i} of {stop}")
                self.current_time = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()


def _open_video(path: Path) -> cv2.VideoCapture:
    """A capture of ``path`` that applies the video's rotation tag (OpenCV 4.11's wheels report
    ``CAP_PROP_ORIENTATION_AUTO`` off: a phone's portrait video came out lying on its side)."""
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def _frame_count(path: Path) -> int | None:
    """The video packets of ``path``'s first video stream, counted by the FFmpeg of the
    ``imageio-ffmpeg`` wheel copying them to nowhere (tens of milliseconds for a minute of video);
    None if FFmpeg cannot say."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-i", str(path),
               "-map", "0:v:0", "-c", "copy", "-f", "null", "-progress", "pipe:1", "-"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    counts = re.findall(r"^frame=(\d+)$", done.stdout, flags=re.MULTILINE)
    return int(counts[-1]) if done.returncode == 0 and counts and int(counts[-1]) > 0 else None
