"""Rotations and small batched math. Knows nothing of the rest of the package.

NumPy functions are here (cameras, files); the PyTorch ones for solvers and body models live in
:mod:`mvmocap.geometry.torch_rotations`, imported explicitly so NumPy-only users never load torch.
"""

from mvmocap.geometry.epipolar import essential_matrix, symmetric_epipolar_px
from mvmocap.geometry.rotations import (
    axis_angle_to_matrix,
    euler_zxy_to_matrix,
    matrix_to_axis_angle,
    matrix_to_euler_zxy,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_to_matrix,
    rot6d_to_matrix,
    rotation_about_axis,
)

__all__ = [
    "axis_angle_to_matrix",
    "essential_matrix",
    "euler_zxy_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_euler_zxy",
    "matrix_to_quaternion",
    "quaternion_to_matrix",
    "matrix_to_rot6d",
    "rot6d_to_matrix",
    "rotation_about_axis",
    "symmetric_epipolar_px",
]
