"""EasyMocap calibration: ``intri.yml`` + ``extri.yml`` (OpenCV FileStorage YAML).

intri.yml: ``names`` (list of camera names), ``K_<cam>`` 3x3, ``dist_<cam>`` 1x5, optional
``H_<cam>`` / ``W_<cam>`` image height and width. extri.yml: ``names``, ``R_<cam>`` 3x1
Rodrigues vector, ``Rot_<cam>`` 3x3 (same rotation), ``T_<cam>`` 3x1, all ``cam <- world``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mvmocap.camera.camera import Camera, CameraRig
from mvmocap.camera.errors import CalibrationError
from mvmocap.utils import atomic_path

__all__ = ["read_easymocap", "write_easymocap", "read_intrinsics", "write_intrinsics", "write_extrinsics"]


def _open(path: Path) -> cv2.FileStorage:
    if not path.is_file():
        raise CalibrationError(path, "file not found; EasyMocap calibration needs intri.yml and extri.yml")
    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except cv2.error as err:
        raise CalibrationError(path, f"not a readable OpenCV YAML file ({err.msg.strip()})") from None
    except SystemError:  # what OpenCV raises for a truncated or binary file
        raise CalibrationError(path, "not a readable OpenCV YAML file (truncated or not text); write it again "
                                     "(mvmocap calib convert, or your calibration tool)") from None
    if not fs.isOpened():
        raise CalibrationError(path, "not a readable OpenCV YAML file")
    return fs


def _names(fs: cv2.FileStorage, path: Path) -> list[str]:
    node = fs.getNode("names")
    if node.empty() or not node.isSeq():
        raise CalibrationError(path, "field 'names' (the list of camera names) is missing")
    names = []
    for i in range(node.size()):
        item = node.at(i)
        if item.isString():
            names.append(item.string())
        elif item.isInt():
            names.append(str(int(item.real())))
        else:
            raise CalibrationError(path, f"field 'names' entry {i} is not a string")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CalibrationError(path, f"field 'names' lists {repeated} more than once; each camera once")
    return names


def _image_size(fs: cv2.FileStorage, path: Path, name: str) -> tuple[int, int] | None:
    """``(W_<cam>, H_<cam>)`` in pixels, or None when the file has none."""
    w, h = _scalar(fs, f"W_{name}"), _scalar(fs, f"H_{name}")
    if w is None and h is None:
        return None
    if not all(v is not None and np.isfinite(v) and v > 0 and float(v).is_integer() for v in (w, h)):
        raise CalibrationError(path, f"fields 'W_{name}' / 'H_{name}' must be the image width and height in "
                                     f"pixels (whole numbers above 0), got {w} and {h}")
    return int(w), int(h)


def _intrinsic_matrix(fs: cv2.FileStorage, path: Path, name: str) -> np.ndarray:
    K = _matrix(fs, path, f"K_{name}", 9).reshape(3, 3)
    if not (K[0, 0] > 0 and K[1, 1] > 0 and np.allclose(K[1:, 0], 0) and np.allclose(K[2], [0, 0, 1])):
        hint = " (it looks transposed)" if np.allclose(K[:, 2], [0, 0, 1]) and not np.allclose(K[2, :2], 0) else ""
        raise CalibrationError(path, f"field 'K_{name}' must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, "
                                     f"fy > 0{hint}")
    return K


def _matrix(fs: cv2.FileStorage, path: Path, key: str, size: int | None, required: bool = True) -> np.ndarray | None:
    node = fs.getNode(key)
    if node.empty() or node.isNone():
        if required:
            raise CalibrationError(path, f"field '{key}' is missing")
        return None
    mat = node.mat()
    if mat is None:
        raise CalibrationError(path, f"field '{key}' is not an OpenCV matrix (!!opencv-matrix)")
    mat = np.asarray(mat, dtype=np.float64)
    if size is not None and mat.size != size:
        raise CalibrationError(path, f"field '{key}' must have {size} values, got shape {mat.shape}")
    if not np.all(np.isfinite(mat)):
        raise CalibrationError(path, f"field '{key}' contains NaN or infinite values")
    return mat


def _scalar(fs: cv2.FileStorage, key: str) -> float | None:
    node = fs.getNode(key)
    if node.empty() or node.isNone():
        return None
    if node.isInt() or node.isReal():
        return node.real()
    mat = node.mat()
    return None if mat is None else float(np.asarray(mat).reshape(-1)[0])


def read_easymocap(intri: str | Path, extri: str | Path) -> CameraRig:
    """Read ``intri.yml`` and ``extri.yml``. Camera order is the order of ``names`` in intri.yml."""
    intri, extri = Path(intri), Path(extri)
    fi, fe = _open(intri), _open(extri)
    try:
        names = _names(fi, intri)
        extri_names = set(_names(fe, extri))
        missing = [n for n in names if n not in extri_names]
        if missing:
            raise CalibrationError(extri, f"cameras {missing} are in {intri.name} but have no extrinsics here")
        cameras = []
        for name in names:
            K = _intrinsic_matrix(fi, intri, name)
            dist = _matrix(fi, intri, f"dist_{name}", None, required=False)
            dist = np.zeros(5) if dist is None else dist.reshape(-1)
            if dist.size not in (4, 5, 8):
                raise CalibrationError(intri, f"field 'dist_{name}' must have 4, 5 or 8 values, got {dist.size}")
            size = _image_size(fi, intri, name)
            rvec = _matrix(fe, extri, f"R_{name}", 3, required=False)
            try:  # what is left to check is the pose (K and the size were checked above)
                if rvec is not None:
                    cam = Camera.from_rvec(name, K, dist, rvec, _matrix(fe, extri, f"T_{name}", 3), size)
                else:
                    rot = _matrix(fe, extri, f"Rot_{name}", 9, required=False)
                    if rot is None:
                        raise CalibrationError(extri, f"field 'R_{name}' (or 'Rot_{name}') is missing")
                    cam = Camera(name, K, dist, rot.reshape(3, 3), _matrix(fe, extri, f"T_{name}", 3), size)
            except CalibrationError:
                raise
            except ValueError as err:
                raise CalibrationError(extri, str(err)) from None
            cameras.append(cam)
    finally:
        fi.release()
        fe.release()
    return CameraRig(cameras)


def read_intrinsics(intri: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray, tuple[int, int] | None]]:
    """``intri.yml`` alone: ``{camera: (K (3, 3), dist, (W, H) or None)}`` in its ``names`` order."""
    intri = Path(intri)
    fs = _open(intri)
    try:
        out = {}
        for name in _names(fs, intri):
            K = _intrinsic_matrix(fs, intri, name)
            dist = _matrix(fs, intri, f"dist_{name}", None, required=False)
            out[name] = (K, np.zeros(5) if dist is None else dist.reshape(-1), _image_size(fs, intri, name))
    finally:
        fs.release()
    return out


def write_intrinsics(cameras: dict[str, tuple[np.ndarray, np.ndarray, tuple[int, int] | None]],
                     intri: str | Path) -> None:
    """Write ``{camera: (K, dist, (W, H))}`` as ``intri.yml`` (atomically)."""
    with atomic_path(intri, suffix=".yml") as tmp:
        fs = cv2.FileStorage(str(tmp), cv2.FILE_STORAGE_WRITE)
        fs.write("names", list(cameras))
        for name, (K, dist, size) in cameras.items():
            fs.write(f"K_{name}", np.asarray(K, dtype=np.float64))
            fs.write(f"dist_{name}", np.asarray(dist, dtype=np.float64).reshape(1, -1))
            if size is not None:
                fs.write(f"H_{name}", int(size[1]))
                fs.write(f"W_{name}", int(size[0]))
        fs.release()


def write_easymocap(rig: CameraRig, intri: str | Path, extri: str | Path) -> None:
    """Write ``intri.yml`` and ``extri.yml`` (atomically; full float64 precision)."""
    with atomic_path(intri, suffix=".yml") as tmp:
        fs = cv2.FileStorage(str(tmp), cv2.FILE_STORAGE_WRITE)
        fs.write("names", rig.names)
        for cam in rig:
            fs.write(f"K_{cam.name}", cam.K)
            dist = np.zeros(5) if cam.dist.size == 0 else cam.dist
            fs.write(f"dist_{cam.name}", dist.reshape(1, -1))
            if cam.image_size is not None:
                fs.write(f"H_{cam.name}", int(cam.image_size[1]))
                fs.write(f"W_{cam.name}", int(cam.image_size[0]))
        fs.release()
    write_extrinsics(rig, extri)


def write_extrinsics(rig: CameraRig, extri: str | Path) -> None:
    """Write ``extri.yml`` alone (atomically): ``R_`` (Rodrigues), ``Rot_`` and ``T_`` per camera."""
    with atomic_path(extri, suffix=".yml") as tmp:
        fs = cv2.FileStorage(str(tmp), cv2.FILE_STORAGE_WRITE)
        fs.write("names", rig.names)
        for cam in rig:
            fs.write(f"R_{cam.name}", cam.rvec.reshape(3, 1))
            fs.write(f"Rot_{cam.name}", cam.R)
            fs.write(f"T_{cam.name}", cam.t.reshape(3, 1))
        fs.release()
