"""H.264 ``.mp4`` writing with the FFmpeg binary that ships inside the ``imageio-ffmpeg`` wheel.

No system FFmpeg is needed. The video is written to a temporary file beside the target and
renamed when complete, so an interrupted run never leaves a truncated file under the real name.
When FFmpeg stops (a full disk, a vanished folder), the temporary file is removed, an earlier video
of that name stays as it was, and the error names the folder and the cause (FFmpeg's own error is
a bare "broken pipe").
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import numpy as np

from mvmocap.utils import remove_leftover_temporaries, temporary_name

__all__ = ["VideoWriter"]

_TMP_SUFFIX = ".tmp.mp4"
# x264's "medium" default kept the encoder behind the renderer (a 1920x1080 overlay: it finished
# seconds after the last frame); "veryfast" encodes several times faster for somewhat larger files.
_PRESET = "veryfast"


class VideoWriter:
    """Context manager: ``with VideoWriter(path, fps) as video: video.write(rgb_uint8)``.

    Frames are RGB uint8 (H, W, 3), all the same size; odd sizes are padded by one black pixel
    (H.264 with yuv420p needs even dimensions).
    """

    def __init__(self, path: str | Path, fps: float, quality: int = 7):
        self.path = Path(path)
        self.fps = float(fps)
        self.quality = quality
        self._gen = None
        self._size = None
        self.frames = 0
        self._tmp = self.path.with_name(temporary_name(self.path) + "video" + _TMP_SUFFIX)

    def __enter__(self) -> VideoWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftover_temporaries(self.path.parent)  # what a killed render left
        return self

    def write(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be uint8 (H, W, 3) RGB, got {frame.dtype} {frame.shape}")
        h, w = frame.shape[:2]
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))
        if self._gen is None:
            import imageio_ffmpeg

            self._size = frame.shape[:2]
            self._gen = imageio_ffmpeg.write_frames(
                str(self._tmp), (frame.shape[1], frame.shape[0]), fps=self.fps, codec="libx264",
                quality=self.quality, pix_fmt_in="rgb24", pix_fmt_out="yuv420p", macro_block_size=1,
                ffmpeg_log_level="error", output_params=["-preset", _PRESET],
            )
            self._gen.send(None)
        elif frame.shape[:2] != self._size:
            raise ValueError(f"frame {self.frames} is {frame.shape[:2]}, earlier frames {self._size}")
        try:
            self._gen.send(np.ascontiguousarray(frame))
        except OSError as err:
            raise self._failure(err) from None
        self.frames += 1

    def _failure(self, err: OSError) -> OSError:
        """FFmpeg's error as one that names the folder and says why."""
        folder = self.path.parent
        try:
            full = shutil.disk_usage(folder).free < 64 * 2**20
        except OSError:
            return OSError(errno.ENOENT, "the folder of the video is gone", str(folder))
        if full:
            return OSError(errno.ENOSPC, f"no space left on the device while writing {self.path.name}; free some "
                                         "space or choose another --out (the outputs before the videos are whole)",
                           str(folder))
        first_line = str(err.strerror or err).strip().splitlines()[0]
        return OSError(err.errno or errno.EIO, f"FFmpeg stopped writing {self.path.name} ({first_line})", str(folder))

    def __exit__(self, exc_type, exc, tb) -> None:
        failure = None
        if self._gen is not None:
            try:
                self._gen.close()  # FFmpeg writes the file's end now: a full disk can still show here
            except OSError as err:
                failure = self._failure(err)
        if exc_type is None and failure is None and self.frames:
            os.replace(self._tmp, self.path)
            return
        self._tmp.unlink(missing_ok=True)
        if exc_type is None and failure is not None:
            raise failure
