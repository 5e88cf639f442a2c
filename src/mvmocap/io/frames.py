"""Camera frames of a dataset: ``videos/<cam>.mp4`` (read directly, never extracted to disk) or
``images/<cam>/<frame>.jpg|png`` (EasyMocap's layout), and the video layouts of FreeMoCap and
caliscope (:func:`list_video_cameras`)."""

from __future__ import annotations

import logging
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from mvmocap.io.errors import DataError
from mvmocap.utils import natural_sorted

__all__ = ["check_dataset_folder", "has_camera_input", "list_video_cameras", "FrameSource", "UNDECODABLE_GREY",
           "frame_ranges"]

log = logging.getLogger(__name__)

UNDECODABLE_GREY = 128  # the value of every pixel of a frame that could not be decoded

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
_FREEMOCAP_SUFFIX = "_synchronized"  # FreeMoCap names a camera's video Camera_000_synchronized.mp4


def list_video_cameras(root: str | Path) -> dict[str, Path]:
    """Camera name -> its video file or image folder, in natural order, from the first of these
    layouts that holds any: ``videos/<cam>.mp4`` (EasyMocap, Pose2Sim), ``synchronized_videos/
    <cam>_synchronized.mp4`` (FreeMoCap; the camera is ``<cam>``), ``images/<cam>/`` (EasyMocap),
    two or more ``<cam>.mp4`` in the folder itself (caliscope's recordings: ``cam_0.mp4``)."""
    root = Path(root)
    found = (_videos_in(root / "videos") or _videos_in(root / "synchronized_videos", _FREEMOCAP_SUFFIX)
             or _image_folders_in(root / "images"))
    if not found:
        loose = _videos_in(root)
        found = loose if len(loose) >= 2 else {}
    if not found:
        raise DataError(root, "no camera input: expected videos/<cam>.mp4 or images/<cam>/<frame>.jpg (or FreeMoCap's "
                              "synchronized_videos/, or caliscope's cam_<n>.mp4 side by side)")
    return {name: found[name] for name in natural_sorted(found)}


def check_dataset_folder(root: str | Path) -> None:
    """A mistyped dataset folder is reported as such, before anything (a log included) is written under it."""
    if not Path(root).is_dir():
        raise DataError(Path(root), "dataset folder not found (expected videos/<cam>.mp4 or images/<cam>/ and a "
                                    "calibration)")


def has_camera_input(root: str | Path) -> bool:
    """Whether ``root`` holds cameras' videos or image folders (:func:`list_video_cameras`)."""
    try:
        list_video_cameras(root)
    except DataError:
        return False
    return True


def _videos_in(folder: Path, suffix: str = "") -> dict[str, Path]:
    """Camera name -> video file of ``folder`` (none when it is no folder), the name the file's stem
    less ``suffix``."""
    if not folder.is_dir():
        return {}
    videos = [p for p in folder.iterdir() if not p.is_dir() and p.suffix.lower() in _VIDEO_SUFFIXES]
    return {p.stem.removesuffix(suffix) if suffix and p.stem.endswith(suffix) else p.stem: p for p in videos}


def _image_folders_in(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.name: p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}


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
    A video with corrupt packets (a damaged copy, a recording cut short): OpenCV's reader stops at
    the first one, so from there FFmpeg decodes on and places each frame by its timestamp; a frame
    that cannot be decoded comes out flat grey (``UNDECODABLE_GREY``: nobody is detected in it, the
    camera does not see that frame) and is listed in ``undecodable``, with a warning naming the
    camera's file and the frames; the frames after it keep their place in time.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.current_time = float("nan")
        self.undecodable: list[int] = []
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
        yield from self._frames(start, stop)

    def read_frames(self, wanted: list[int], *, one_pass: int = 400) -> dict[int, np.ndarray]:
        """Frames ``wanted`` (frame numbers) as RGB: read in one pass from the first to the last
        when they lie within ``one_pass`` frames of each other (a seek decodes from the keyframe
        before it: one pass is never slower than two seeks there; the frames between are decoded
        but not converted to RGB), else each with its own seek; a frame the camera lacks is left out."""
        wanted = sorted(set(wanted))
        if not wanted:
            return {}
        if wanted[-1] - wanted[0] <= one_pass:
            return dict(self._frames(wanted[0], wanted[-1] + 1, only=set(wanted)))
        images: dict[int, np.ndarray] = {}
        for frame in wanted:
            images.update(self._frames(frame, frame + 1))
        return images

    def _frames(self, start: int, stop: int | None, *,
                only: set[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(index, rgb) of frames ``start`` .. ``stop - 1``, those in ``only`` when given (the
        others of a video are decoded, as they must be, but not converted)."""
        stop = self.count if stop is None else min(stop, self.count)
        if self.images is not None:
            for i in range(start, stop):
                if only is not None and i not in only:
                    continue
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
                ok = cap.grab()
                if ok and only is not None and i not in only:
                    continue
                ok, bgr = cap.retrieve() if ok else (False, None)
                if not ok:  # a corrupt packet or a cut: FFmpeg decodes on past it
                    cap.release()
                    yield from ((k, rgb) for k, rgb in self._frames_past_damage(i, stop) if only is None or k in only)
                    return
                self.current_time = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()

    def _frames_past_damage(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """Frames ``start`` .. ``stop - 1`` decoded by FFmpeg (which skips what it cannot decode),
        each placed by its timestamp; the frames it could not decode come out grey (class docstring)."""
        w, h = self.size
        grey = np.full((h, w, 3), UNDECODABLE_GREY, np.uint8)
        period = 1.0 / self.fps if self.fps > 0 else 1.0 / 30
        missing: list[int] = []
        expected = start
        for index, time_s, rgb in _ffmpeg_frames(self.path, (w, h), period):
            if index < expected:
                continue
            for gap in range(expected, min(index, stop)):
                missing.append(gap)
                self.undecodable.append(gap)
                self.current_time = gap * period
                yield gap, grey
            if index >= stop:
                break
            self.current_time = time_s
            yield index, rgb
            expected = index + 1
        for gap in range(expected, stop):  # the end could not be decoded (a recording cut short)
            missing.append(gap)
            self.undecodable.append(gap)
            self.current_time = gap * period
            yield gap, grey
        if missing:
            log.warning("%s: frames %s could not be decoded (corrupt or missing video data); they count as not "
                        "seen by this camera", self.path, frame_ranges(missing))


def frame_ranges(indices: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"`` (sorted frame numbers as runs)."""
    runs, first = [], indices[0]
    for a, b in zip(indices, [*indices[1:], None], strict=True):
        if b != a + 1:
            runs.append(f"{first}-{a}" if a > first else str(a))
            first = b
    return ", ".join(runs)


def _ffmpeg_frames(path: Path, size: tuple[int, int], period: float) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame index, time s, rgb) of every frame FFmpeg can decode from ``path`` (its rotation tag
    applied, as FFmpeg does by default), the index from the frame's timestamp counted from the first
    frame decoded: frame 0 (a video whose first frame OpenCV cannot read is refused when opened)."""
    w, h = size
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "info", "-i", str(path),
               "-map", "0:v:0", "-vf", "showinfo", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "pipe:1"]  # passthrough: a frame FFmpeg could not decode is not filled in by a copy
    times: queue.Queue = queue.Queue()

    def read_times(stream) -> None:  # showinfo logs each frame's time before the frame is written out
        for line in stream:
            found = re.search(r"\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:\s*(-?[\d.]+)", line)
            if found:
                times.put(float(found.group(1)))
        times.put(None)

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
    reader = threading.Thread(target=read_times, args=(_text_lines(process.stderr),), daemon=True)
    reader.start()
    first = None
    try:
        while True:
            data = process.stdout.read(w * h * 3)
            if len(data) < w * h * 3:
                break
            time_s = times.get()
            if time_s is None:
                break
            first = time_s if first is None else first
            yield int(round((time_s - first) / period)), time_s, np.frombuffer(data, np.uint8).reshape(h, w, 3)
    finally:
        process.kill()
        process.wait()


def _text_lines(stream) -> Iterator[str]:
    for raw in iter(stream.readline, b""):
        yield raw.decode("utf-8", "replace")


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
