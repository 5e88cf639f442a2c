"""Qualisys QTM calibration export (``.qca.txt``, XML).

Facts of the format, as used by Pose2Sim's converter (the de-facto reference for markerless
users of Qualisys rigs):

- ``calibration/cameras/camera`` elements with ``serial`` (the name) and ``model``.
- ``fov_video`` (left, top, right, bottom): the video window on the sensor, inclusive pixel bounds.
- ``intrinsic``: ``focalLengthU/V``, ``centerPointU/V`` and the distortion terms
  ``radialDistortion1..3``, ``tangentalDistortion1..2`` in sensor sub-pixel units (64 per pixel);
  the principal point is relative to the full sensor, so ``fov_video`` left/top are subtracted.
- ``transform``: camera position ``x, y, z`` in millimetres and rotation ``r11..r33`` of the
  camera in the world; the Qualisys camera looks along its -z axis with y up, which a rotation
  of pi about x turns into OpenCV's (y down, z forward).

Only cameras whose ``model`` says video (or ``none``) are read by default: marker-only cameras
have no video to detect people in.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from mvmocap.camera.camera import Camera, CameraRig
from mvmocap.camera.errors import CalibrationError
from mvmocap.utils import InputError, atomic_path

__all__ = ["read_qualisys", "write_qualisys"]

SUBPIXELS = 64.0
_FLIP = np.diag([1.0, -1.0, -1.0])  # rotation of pi about x: Qualisys camera axes -> OpenCV


def _attr(elem: ET.Element, key: str, path: Path, where: str) -> float:
    value = elem.get(key)
    if value is None:
        raise CalibrationError(path, f"{where}: attribute '{key}' is missing")
    try:
        return float(value)
    except ValueError:
        raise CalibrationError(path, f"{where}: attribute '{key}'={value!r} is not a number") from None


def _child(elem: ET.Element, tag: str, path: Path, where: str) -> ET.Element:
    found = elem.find(tag)
    if found is None:
        raise CalibrationError(path, f"{where}: element <{tag}> is missing")
    return found


def read_qualisys(path: str | Path, video_only: bool = True) -> CameraRig:
    """Read a ``.qca.txt``. Cameras keep the file's order."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(path, "file not found")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise CalibrationError(path, f"not valid XML ({err})") from None
    elems = root.findall("cameras/camera")
    if not elems:
        raise CalibrationError(path, "no <cameras><camera> elements found")
    cameras = []
    for i, elem in enumerate(elems):
        name = elem.get("serial") or f"cam{i}"
        where = f"camera {name}"
        model = (elem.get("model") or "none").lower()
        if video_only and not any(m in model for m in ("video", "none", "miqus")):
            continue
        fov = _child(elem, "fov_video", path, where)
        left, top = _attr(fov, "left", path, where), _attr(fov, "top", path, where)
        width = _attr(fov, "right", path, where) - left + 1
        height = _attr(fov, "bottom", path, where) - top + 1
        intr = _child(elem, "intrinsic", path, where)
        a = {k: _attr(intr, k, path, where) for k in ("focalLengthU", "focalLengthV", "centerPointU", "centerPointV")}
        K = np.array(
            [
                [a["focalLengthU"] / SUBPIXELS, 0.0, a["centerPointU"] / SUBPIXELS - left],
                [0.0, a["focalLengthV"] / SUBPIXELS, a["centerPointV"] / SUBPIXELS - top],
                [0.0, 0.0, 1.0],
            ]
        )
        dist_keys = ("radialDistortion1", "radialDistortion2", "tangentalDistortion1", "tangentalDistortion2")
        dist = [_attr(intr, k, path, where) / SUBPIXELS for k in dist_keys]
        dist.append(float(intr.get("radialDistortion3", 0.0)) / SUBPIXELS)
        tf = _child(elem, "transform", path, where)
        position = np.array([_attr(tf, k, path, where) for k in "xyz"]) / 1000.0
        rows = np.array([[_attr(tf, f"r{i}{j}", path, where) for j in (1, 2, 3)] for i in (1, 2, 3)])
        R = _FLIP @ rows  # rows.T is R_world_camQ; R_cam_world = flip @ R_camQ_world
        try:
            cameras.append(Camera(name, K, dist, R, -R @ position, (width, height)))
        except ValueError as err:
            raise CalibrationError(path, f"{where}: {err}") from None
    if not cameras:
        raise CalibrationError(path, "no video cameras found (set video_only=False to read marker cameras)")
    return CameraRig(cameras)


def write_qualisys(rig: CameraRig, path: str | Path) -> None:
    """Write a ``.qca.txt`` that :func:`read_qualisys` reads back to the same rig."""
    root = ET.Element("calibration", {"source": Path(path).name, "type": "regular", "created": "mvmocap"})
    ET.SubElement(root, "results", {"std-dev": "0", "min-max-diff": "0"})
    cams = ET.SubElement(root, "cameras")
    for cam in rig:
        if cam.image_size is None:
            raise InputError(f"camera '{cam.name}': Qualisys files need the image size")
        if abs(cam.K[0, 1]) > 1e-12 or cam.dist.size > 5 and np.any(cam.dist[5:]):
            raise InputError(f"camera '{cam.name}': skew and k4..k6 cannot be stored in a Qualisys file")
        w, h = cam.image_size
        el = ET.SubElement(cams, "camera", {"active": "1", "serial": cam.name, "model": "video", "viewrotation": "0"})
        ET.SubElement(el, "fov_video", {"left": "0", "top": "0", "right": str(w - 1), "bottom": str(h - 1)})
        rows = _FLIP @ cam.R
        position = cam.center * 1000.0
        tf = {k: repr(float(v)) for k, v in zip("xyz", position, strict=True)}
        tf.update({f"r{i + 1}{j + 1}": repr(float(rows[i, j])) for i in range(3) for j in range(3)})
        ET.SubElement(el, "transform", tf)
        d = np.zeros(5)
        d[: min(5, cam.dist.size)] = cam.dist[:5]
        intr = {
            "focalLengthU": cam.K[0, 0], "focalLengthV": cam.K[1, 1],
            "centerPointU": cam.K[0, 2], "centerPointV": cam.K[1, 2],
            "radialDistortion1": d[0], "radialDistortion2": d[1], "radialDistortion3": d[4],
            "tangentalDistortion1": d[2], "tangentalDistortion2": d[3],
        }
        ET.SubElement(el, "intrinsic", {k: repr(float(v) * SUBPIXELS) for k, v in intr.items()})
    ET.indent(root)
    with atomic_path(path) as tmp:
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
