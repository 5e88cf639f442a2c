"""Calibrated cameras: projection with OpenCV distortion, undistortion, calibration file formats."""

from mvmocap.camera.calibio import FORMATS_HELP, find_calibration, load_calibration, save_calibration
from mvmocap.camera.camera import Camera, CameraRig
from mvmocap.camera.distortion import distort, undistort
from mvmocap.camera.errors import CalibrationError
from mvmocap.camera.formats.easymocap import (
    read_easymocap,
    read_intrinsics,
    write_easymocap,
    write_extrinsics,
    write_intrinsics,
)
from mvmocap.camera.formats.qualisys import read_qualisys, write_qualisys
from mvmocap.camera.formats.toml_calib import read_toml, write_toml

__all__ = [
    "find_calibration",
    "FORMATS_HELP",
    "CalibrationError",
    "Camera",
    "CameraRig",
    "distort",
    "load_calibration",
    "read_easymocap",
    "read_intrinsics",
    "read_qualisys",
    "read_toml",
    "save_calibration",
    "undistort",
    "write_easymocap",
    "write_extrinsics",
    "write_intrinsics",
    "write_qualisys",
    "write_toml",
]
