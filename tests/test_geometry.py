import cv2
import numpy as np
import pytest

from mvmocap.geometry import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_rot6d,
    rot6d_to_matrix,
    rotation_about_axis,
)


def _random_axis_angle(rng, n, angles):
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    return axis * angles[:, None]


def test_axis_angle_matches_opencv_rodrigues(rng):
    aa = _random_axis_angle(rng, 50, rng.uniform(0, np.pi, 50))
    mats = axis_angle_to_matrix(aa)
    for a, m in zip(aa, mats, strict=True):
        np.testing.assert_allclose(m, cv2.Rodrigues(a)[0], atol=1e-12)


@pytest.mark.parametrize("angle", [0.0, 1e-9, 1e-4, 0.5, 2.0, np.pi - 1e-5, np.pi - 1e-9, np.pi])
def test_round_trip_including_zero_and_pi(rng, angle):
    aa = _random_axis_angle(rng, 20, np.full(20, angle))
    back = matrix_to_axis_angle(axis_angle_to_matrix(aa))
    # Near pi, axis and its negative are the same rotation: compare matrices there.
    np.testing.assert_allclose(axis_angle_to_matrix(back), axis_angle_to_matrix(aa), atol=1e-9)
    if angle < np.pi - 1e-3:
        np.testing.assert_allclose(back, aa, atol=1e-9)


def test_batched_shapes_and_errors():
    assert axis_angle_to_matrix(np.zeros((2, 5, 3))).shape == (2, 5, 3, 3)
    assert matrix_to_axis_angle(np.broadcast_to(np.eye(3), (4, 3, 3))).shape == (4, 3)
    assert axis_angle_to_matrix(np.zeros((0, 3))).shape == (0, 3, 3)
    with pytest.raises(ValueError, match=r"expected shape \(\.\.\., 3\)"):
        axis_angle_to_matrix(np.zeros((4, 2)))


def test_rot6d_round_trip_and_orthonormalisation(rng):
    mats = axis_angle_to_matrix(_random_axis_angle(rng, 30, rng.uniform(0, np.pi, 30)))
    np.testing.assert_allclose(rot6d_to_matrix(matrix_to_rot6d(mats)), mats, atol=1e-12)
    noisy = rot6d_to_matrix(matrix_to_rot6d(mats) + rng.normal(0, 0.1, (30, 6)))
    np.testing.assert_allclose(noisy @ np.swapaxes(noisy, -1, -2), np.broadcast_to(np.eye(3), noisy.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(noisy), 1.0, atol=1e-12)


def test_rotation_about_axis_direction():
    # Right-handed: +90 degrees about z takes x to y.
    np.testing.assert_allclose(rotation_about_axis(np.pi / 2, "z") @ [1, 0, 0], [0, 1, 0], atol=1e-12)
