import cv2
import numpy as np
import pytest

from mvmocap.camera import Camera, CameraRig, distort, undistort

K = np.array([[1100.0, 0.0, 955.0], [0.0, 1080.0, 545.0], [0.0, 0.0, 1.0]])


def _camera(dist):
    return Camera.look_at("c", K, [3.0, 1.0, 2.0], [0.0, 0.0, 1.0], dist=dist, image_size=(1920, 1080))


def _points(rng, n=500):
    return rng.uniform([-1.0, -1.0, 0.0], [1.0, 1.0, 2.0], (n, 3))


@pytest.mark.parametrize(
    "dist",
    [
        [],
        [-0.2, 0.05, 0.001, -0.002],
        [-0.25, 0.08, 0.0015, -0.001, -0.01],
        [0.1, -0.05, 0.001, 0.002, 0.01, 0.05, -0.02, 0.003],
    ],
)
def test_project_matches_opencv(rng, dist):
    cam = _camera(dist)
    X = _points(rng)
    expected, _ = cv2.projectPoints(X, cam.rvec, cam.t, cam.K, np.asarray(dist, dtype=np.float64))
    np.testing.assert_allclose(cam.project(X), expected[:, 0], atol=1e-6)


@pytest.mark.parametrize(
    "dist", [[-0.3, 0.1, 0.002, -0.001, -0.02], [0.1, -0.05, 0.001, 0.002, 0.01, 0.05, -0.02, 0.003]]
)
def test_undistort_inverts_distortion(rng, dist):
    cam = _camera(dist)
    uv = cam.project(_points(rng))
    ideal = cam.undistort_points(uv)
    # Undistorted pixels are the pinhole projection of the same points.
    Xc = cam.world_to_camera(_points(np.random.default_rng(1234)))
    pinhole = cam.normalized_to_pixels(Xc[:, :2] / Xc[:, 2:])
    np.testing.assert_allclose(ideal, pinhole, atol=1e-6)
    # And agree with OpenCV's iterative undistortion run to convergence.
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-14)
    if hasattr(cv2, "undistortPointsIter"):  # OpenCV 4
        ref = cv2.undistortPointsIter(uv[:, None], cam.K, np.asarray(dist), None, cam.K, crit)[:, 0]
    else:  # OpenCV 5 folds the criteria into undistortPoints
        ref = cv2.undistortPoints(uv[:, None], cam.K, np.asarray(dist), R=None, P=cam.K, criteria=crit)[:, 0]
    np.testing.assert_allclose(ideal, ref, atol=1e-4)


def test_distort_undistort_normalised_round_trip(rng):
    xy = rng.uniform(-0.6, 0.6, (1000, 2))
    d = [-0.28, 0.07, 0.001, -0.0015, -0.008]
    np.testing.assert_allclose(undistort(distort(xy, d), d), xy, atol=1e-12)


def test_compiled_and_torch_distortion_agree(rng):
    """NumPy points take a compiled loop, tensors the differentiable expression: the same lens."""
    import torch

    xy = rng.uniform(-0.8, 0.8, (7, 3, 2))
    for d in ([-0.28, 0.07, 0.001, -0.0015, -0.008], [0.1, -0.05, 0.001, 0.002, 0.01, 0.05, -0.02, 0.003]):
        np.testing.assert_allclose(distort(xy, d), distort(torch.tensor(xy), d).numpy(), rtol=1e-13, atol=1e-15)


def test_camera_geometry():
    cam = Camera.look_at("c", K, [2.0, -1.0, 1.5], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(cam.center, [2.0, -1.0, 1.5], atol=1e-12)
    # The target projects onto the principal point; world up projects upwards (smaller v).
    np.testing.assert_allclose(cam.project(np.array([0.0, 0.0, 1.0])), K[:2, 2], atol=1e-9)
    assert cam.project(np.array([0.0, 0.0, 1.5]))[1] < K[1, 2]
    P = cam.P
    Xh = np.array([0.3, -0.2, 1.1, 1.0])
    np.testing.assert_allclose((P @ Xh)[:2] / (P @ Xh)[2], cam.project(Xh[:3]), atol=1e-9)
    back = Camera.from_rvec("c", K, [], cam.rvec, cam.t)
    np.testing.assert_allclose(back.R, cam.R, atol=1e-12)


def test_invalid_cameras_raise():
    with pytest.raises(ValueError, match="K must be"):
        Camera("bad", np.eye(3) * [1, 1, 2], [], np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="not a rotation"):
        Camera("bad", K, [], np.diag([1.0, 1.0, -1.0]), np.zeros(3))
    with pytest.raises(ValueError, match="distortion must have 0, 4, 5 or 8"):
        Camera("bad", K, [0.1, 0.2, 0.3], np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        Camera("bad", K, [], np.eye(3), [0.0, np.nan, 0.0])
    with pytest.raises(ValueError, match=r"t must have shape \(3,\)"):
        Camera("bad", K, [], np.eye(3), [0.0, 0.0])


def test_rig_order_lookup_and_errors(rig):
    names = ["cam10", "cam2", "cam1"]
    ordered = CameraRig(Camera(n, K, [], np.eye(3), [0, 0, 3.0 + i]) for i, n in enumerate(names))
    assert ordered.names == names  # file order, never string order
    assert ordered["cam2"].t[2] == 4.0 and ordered.index("cam1") == 2
    assert ordered.subset(["cam1", "cam10"]).names == ["cam1", "cam10"]
    with pytest.raises(KeyError, match="no camera named 'cam3'"):
        ordered["cam3"]
    with pytest.raises(ValueError, match="unique"):
        CameraRig([ordered[0], ordered[0]])
    X = np.zeros((7, 2, 3))
    assert rig.project(X).shape == (4, 7, 2, 2)
    assert rig.projection_matrices().shape == (4, 3, 4)
    assert rig.centers().shape == (4, 3)
    inside = rig[0].in_image(np.array([[0.0, 0.0], [1919.4, 1079.4], [-1.0, 5.0], [5.0, 1080.0]]))
    assert inside.tolist() == [True, True, False, False]
