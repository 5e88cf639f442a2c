import numpy as np
import pytest

from mvmocap.metrics import mpjpe
from mvmocap.skeletons import BODY25
from mvmocap.synthetic import generate_motion
from mvmocap.triangulate import reprojection_report, triangulate, triangulate_dlt


def _observe_exact(rig, X):
    """(..., J, 3) points -> (..., V, J, 3) exact distorted pixels with confidence 1."""
    uv = np.moveaxis(rig.project(X), 0, -3)
    return np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], -1)


@pytest.mark.parametrize("robust", [True, False])
def test_exact_observations_give_exact_points_through_distortion(rig, robust):
    X = generate_motion("walk", 20, seed=2)
    res = triangulate(rig, _observe_exact(rig, X), robust=robust)
    np.testing.assert_allclose(res.keypoints3d[..., :3], X, atol=1e-7)
    np.testing.assert_allclose(res.keypoints3d[..., 3], 1.0)
    assert res.views_used.all()
    assert np.nanmax(res.reprojection_error) < 1e-5


def test_any_leading_dims_and_empty_batch(rig, rng):
    X = rng.uniform(-0.5, 0.5, (2, 3, 5, 3)) + [0, 0, 1]
    res = triangulate(rig, _observe_exact(rig, X))
    assert res.keypoints3d.shape == (2, 3, 5, 4)
    assert res.views_used.shape == res.reprojection_error.shape == (2, 3, 4, 5)
    assert res.joint_error.shape == (2, 3, 5)
    np.testing.assert_allclose(res.keypoints3d[..., :3], X, atol=1e-7)
    empty = triangulate(rig, np.zeros((0, 4, 25, 3)))
    assert empty.keypoints3d.shape == (0, 25, 4) and empty.views_used.shape == (0, 4, 25)


def test_fewer_than_two_views_is_missing_never_invented(rig):
    X = generate_motion("squat", 3, seed=1)
    kp = _observe_exact(rig, X)
    kp[:, 1:, 4, 2] = 0.0  # joint 4 seen by one camera only
    kp[:, :, 7, 2] = 0.0  # joint 7 seen by none
    kp[0] = 0.0  # a frame with no detection at all
    res = triangulate(rig, kp)
    assert np.all(res.keypoints3d[:, [4, 7]] == 0.0)
    assert np.all(res.keypoints3d[0] == 0.0)
    assert np.all(res.missing[:, [4, 7]]) and not res.missing[1:, 0].any()
    assert np.isnan(res.joint_error[:, 7]).all()
    three = triangulate(rig, kp, min_views=3)
    kp[:, 2:, 5, 2] = 0.0  # joint 5 in two views: enough for 2, not for 3
    assert not triangulate(rig, kp).missing[1:, 5].any()
    assert triangulate(rig, kp, min_views=3).missing[1:, 5].all()
    assert not three.missing[1:, 0].any()
    with pytest.raises(ValueError, match="min_views must be at least 2"):
        triangulate(rig, kp, min_views=1)


def test_left_right_swap_in_one_view_is_rejected(rig):
    X = generate_motion("arms", 10, seed=4)
    kp = _observe_exact(rig, X)
    flip = BODY25.flip_index
    kp[:, 2] = kp[:, 2][:, flip]  # camera 3 mirrored its left and right
    robust = triangulate(rig, kp)
    plain = triangulate_dlt(rig, kp)
    sided = flip != np.arange(25)
    assert not robust.views_used[:, 2, sided].any()
    assert robust.views_used[:, [0, 1, 3]].all()
    np.testing.assert_allclose(robust.keypoints3d[..., :3], X, atol=1e-6)
    assert np.linalg.norm(plain.keypoints3d[:, sided, :3] - X[:, sided], axis=-1).mean() > 0.02
    # The rejected observations are reported with their (large) reprojection error.
    assert np.nanmin(robust.reprojection_error[:, 2, sided]) > 20


def test_confidence_weights_matter(rig, rng):
    X = np.array([[[0.1, 0.2, 1.0]]])
    kp = _observe_exact(rig, X)
    kp[..., 0, 0, :2] += 6.0  # camera 1 is off by a few pixels (below the outlier threshold)
    low = kp.copy()
    low[..., 0, 0, 2] = 0.05
    err_equal = np.linalg.norm(triangulate_dlt(rig, kp).keypoints3d[..., :3] - X)
    err_low = np.linalg.norm(triangulate_dlt(rig, low).keypoints3d[..., :3] - X)
    assert err_low < 0.3 * err_equal


def test_robust_beats_plain_dlt_on_corrupted_capture(small_capture):
    cap = small_capture
    robust = triangulate(cap.rig, cap.keypoints2d)
    plain = triangulate_dlt(cap.rig, cap.keypoints2d)
    err, missing = mpjpe(robust.keypoints3d, cap.points3d)
    plain_err, _ = mpjpe(plain.keypoints3d, cap.points3d)
    assert err < 0.015 and plain_err > 2 * err
    assert missing < 0.05
    # Most outliers are rejected, most clean observations kept.
    seen = cap.keypoints2d[..., 2] > 0
    assert (robust.views_used & cap.outlier).sum() < 0.2 * cap.outlier.sum()
    assert (robust.views_used & seen & ~cap.outlier).sum() > 0.97 * (seen & ~cap.outlier).sum()


def test_input_validation(rig):
    with pytest.raises(ValueError, match=r"keypoints2d has 3 views but the rig has 4 cameras"):
        triangulate(rig, np.zeros((5, 3, 25, 3)))
    with pytest.raises(ValueError, match=r"must be \(\.\.\., V, J, 3\)"):
        triangulate(rig, np.zeros((5, 4, 25, 2)))


def test_report_counts_per_camera_and_joint(rig):
    X = generate_motion("walk", 8, seed=5)
    kp = _observe_exact(rig, X)
    kp[:, 3, :, :2] += 100.0  # camera 4 is wrong everywhere
    res = triangulate(rig, kp)
    report = reprojection_report(res, rig.names, list(BODY25.joints))
    assert report["frames"] == 8
    assert report["per_camera"]["cam4"]["rejected_fraction"] == 1.0
    assert report["per_camera"]["cam1"]["rejected_fraction"] == 0.0
    assert report["per_camera"]["cam1"]["reprojection_error_px"] < 1e-4
    assert report["per_joint"]["Nose"]["missing_frames"] == 0
    assert report["mean_reprojection_error_px"] < 1e-4


def test_many_cameras_confident_outliers_still_rejected():
    from mvmocap.synthetic import ring_rig

    rig = ring_rig(10, seed=8)
    X = generate_motion("turn", 6, seed=6)
    kp = _observe_exact(rig, X)
    kp[..., 2] = 0.6
    # The two most confident views of every joint are false detections far from the truth.
    kp[:, [0, 5], :, :2] += [150.0, -90.0]
    kp[:, [0, 5], :, 2] = 0.99
    res = triangulate(rig, kp, proposal_views=6)
    assert not res.views_used[:, [0, 5]].any() and res.views_used[:, 1:5].all()
    np.testing.assert_allclose(res.keypoints3d[..., :3], X, atol=1e-6)
