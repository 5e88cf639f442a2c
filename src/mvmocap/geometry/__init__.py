"""Rotations and small batched math. Knows nothing of the rest of the package."""

from mvmocap.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_rot6d,
    rot6d_to_matrix,
    rotation_about_axis,
)

__all__ = [
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_rot6d",
    "rot6d_to_matrix",
    "rotation_about_axis",
]
