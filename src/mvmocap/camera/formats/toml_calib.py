"""anipose / Pose2Sim and caliscope calibration TOML.

One table per camera (``[cam_0]``, ``[cam_1]`` ... or any table name) with ``name``, ``size =
[width, height]``, ``matrix`` (3x3 K), ``distortions`` (k1 k2 p1 p2 [k3]), ``rotation`` (Rodrigues
vector of ``R_cam_world``), ``translation`` (``t_cam_world``) and ``fisheye``; plus an optional
``[metadata]`` table. caliscope's ``camera_array.toml`` nests the tables under ``[cameras.N]``
with ``cam_id`` instead of ``name`` (the camera is ``cam<N>``, as its videos are named) and
``rotation`` as the 3x3 matrix; both are read (writing is always anipose's). Translations are read
as metres (Pose2Sim's unit; anipose writes the unit of its calibration board, so convert mm files
with ``scale``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from mvmocap.camera.camera import Camera, CameraRig
from mvmocap.camera.errors import CalibrationError
from mvmocap.utils import atomic_write_text

__all__ = ["read_toml", "write_toml"]

_REQUIRED = ("matrix", "distortions", "rotation", "translation")


def read_toml(path: str | Path, scale: float = 1.0) -> CameraRig:
    """Read a calibration TOML; camera order is the order of the tables in the file.

    ``scale`` multiplies translations (0.001 for a file written in millimetres).
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(path, "file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CalibrationError(path, f"not valid TOML ({err})") from None
    cameras = []
    tables = data.items()
    if isinstance(data.get("cameras"), dict) and all(isinstance(v, dict) for v in data["cameras"].values()):
        tables = ((f"cameras.{k}", v) for k, v in data["cameras"].items())  # caliscope
    for table, entry in tables:
        if table == "metadata" or not isinstance(entry, dict):
            continue
        missing = [k for k in _REQUIRED if k not in entry]
        if missing:
            raise CalibrationError(path, f"table [{table}] lacks field(s) {missing}")
        if entry.get("fisheye", False):
            raise CalibrationError(path, f"table [{table}]: fisheye cameras are not supported")
        name = str(entry["name"]) if "name" in entry else f"cam{entry['cam_id']}" if "cam_id" in entry else table
        try:
            size = entry.get("size")
            size = tuple(size) if size is not None else None
            t = np.asarray(entry["translation"], dtype=np.float64) * scale
            if np.shape(entry["rotation"]) == (3, 3):
                cam = Camera(name, entry["matrix"], entry["distortions"], entry["rotation"], t, size)
            else:
                cam = Camera.from_rvec(name, entry["matrix"], entry["distortions"], entry["rotation"], t, size)
        except (ValueError, TypeError) as err:
            raise CalibrationError(path, f"table [{table}]: {err}") from None
        cameras.append(cam)
    if not cameras:
        raise CalibrationError(path, "no camera tables found (expected [cam_0] with name, matrix, ...)")
    return CameraRig(cameras)


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[ " + ", ".join(_fmt(v) for v in value) + " ]"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


def write_toml(rig: CameraRig, path: str | Path) -> None:
    """Write the rig as a Pose2Sim/anipose TOML (metres, full precision), atomically."""
    lines = []
    for i, cam in enumerate(rig):
        # Without a known size, assume a centred principal point (as Pose2Sim does).
        size = list(cam.image_size or (int(2 * cam.K[0, 2] + 1), int(2 * cam.K[1, 2] + 1)))
        fields = {
            "name": cam.name,
            "size": size,
            "matrix": cam.K.tolist(),
            "distortions": (cam.dist if cam.dist.size else np.zeros(4)).tolist(),
            "rotation": cam.rvec.tolist(),
            "translation": cam.t.tolist(),
            "fisheye": False,
        }
        lines.append(f"[cam_{i}]")
        lines += [f"{key} = {_fmt(value)}" for key, value in fields.items()]
        lines.append("")
    lines += ["[metadata]", "adjusted = false", "error = 0.0", ""]
    atomic_write_text(path, "\n".join(lines))
