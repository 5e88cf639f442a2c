"""3D keypoints as marker files: OpenSim's ``.trc`` and ``.c3d`` (through the ``c3d`` package).

- ``.trc``: tab-separated, OpenSim's header (``PathFileType 4 (X/Y/Z)``, then ``DataRate
  CameraRate NumFrames NumMarkers Units OrigDataRate OrigDataStartFrame OrigNumFrames``), one
  column triple per marker named after the body25 joint, ``Frame#`` counting from 1 and ``Time``
  in seconds from the first frame; a missing keypoint is three empty cells (OpenSim reads
  them as gaps). Axes and units from :class:`~mvmocap.export.axes.ExportFrame` (default y up,
  metres: OpenSim's).
- ``.c3d``: 32-bit float points (``POINT:SCALE`` -1), ``POINT:UNITS`` the export's units,
  ``POINT:RATE`` the fps, labels the joint names; a missing keypoint has residual -1 (the C3D
  mark of an invalid point). Same axes as the TRC.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mvmocap.export.axes import ExportFrame
from mvmocap.utils import atomic_path, atomic_write_text

__all__ = ["write_trc", "read_trc", "write_c3d"]


def write_trc(path: str | Path, keypoints: np.ndarray, names: list[str], fps: float,
              frame: ExportFrame | None = None) -> Path:
    """Write ``(F, K, 4)`` keypoints (metres, world axes; confidence 0 = missing) to ``path``."""
    frame = frame or ExportFrame()
    F, K = keypoints.shape[:2]
    points = frame.points(keypoints[..., :3])
    seen = keypoints[..., 3] > 0
    path = Path(path)
    lines = [f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
             f"{fps:g}\t{fps:g}\t{F}\t{K}\t{frame.units}\t{fps:g}\t1\t{F}",
             "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t",
             "\t\t" + "\t".join(f"{axis}{k + 1}" for k in range(K) for axis in "XYZ"),
             ""]
    for f in range(F):
        cells = [f"{v:.6f}" if seen[f, k] else "" for k in range(K) for v in points[f, k]]
        lines.append("\t".join([str(f + 1), f"{f / fps:.6f}", *cells]))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def read_trc(path: str | Path) -> tuple[np.ndarray, list[str], float, str]:
    """``(F, K, 3)`` positions (NaN where empty), marker names, data rate and units of a TRC file."""
    lines = Path(path).read_text().splitlines()
    header = dict(zip(lines[1].split("\t"), lines[2].split("\t"), strict=True))
    names = [n for n in lines[3].split("\t")[2:] if n]
    rows = [line.split("\t") for line in lines[6:] if line.strip()]
    values = np.array([[float(c) if c else np.nan for c in row[2:2 + 3 * len(names)]] for row in rows])
    return values.reshape(len(rows), len(names), 3), names, float(header["DataRate"]), header["Units"]


def write_c3d(path: str | Path, keypoints: np.ndarray, names: list[str], fps: float,
              frame: ExportFrame | None = None) -> Path:
    """Write ``(F, K, 4)`` keypoints (metres, world axes; confidence 0 = missing) to ``path``."""
    import c3d

    frame = frame or ExportFrame()
    writer = c3d.Writer(point_rate=float(fps), point_scale=-1.0, point_units=f"{frame.units:<4}")
    writer.set_point_labels(list(names))
    points = np.zeros(keypoints.shape[:2] + (5,), np.float32)  # x y z residual cameras
    seen = keypoints[..., 3] > 0
    points[..., :3] = np.where(seen[..., None], frame.points(keypoints[..., :3]), 0.0)
    points[..., 3] = np.where(seen, 0.0, -1.0)
    no_analog = np.zeros((0, 0), np.float32)
    writer.add_frames([(p, no_analog) for p in points])
    with atomic_path(path, suffix=".c3d") as tmp, open(tmp, "wb") as handle, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No analog data")  # points only, by design
        writer.write(handle)
    return Path(path)
