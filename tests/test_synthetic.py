import numpy as np
import pytest

from mvmocap.skeletons import BODY25
from mvmocap.synthetic import MOTIONS, CaptureSpec, generate_motion, make_capture, observe, ring_rig


@pytest.mark.parametrize("kind", MOTIONS)
def test_motions_are_rigid_grounded_and_smooth(kind):
    X = generate_motion(kind, 240, fps=30, seed=3)
    assert X.shape == (240, 25, 3)
    bones = np.array([np.linalg.norm(X[:, a] - X[:, b], axis=-1) for a, b in BODY25.limbs])
    np.testing.assert_allclose(bones.std(1), 0.0, atol=1e-9)  # bone lengths never change
    feet = [BODY25.index(n) for n in ("LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")]
    np.testing.assert_allclose(X[:, feet, 2].min(1), 0.0, atol=1e-9)  # a foot on the ground
    speed = np.linalg.norm(np.diff(X, axis=0), axis=-1) * 30
    assert speed.max() < 8.0  # metres per second: no jumps
    assert np.abs(X[..., :2]).max() < 2.0  # stays inside the capture volume


def test_motions_differ_and_move_the_right_parts():
    squat = generate_motion("squat", 90, seed=0)
    hip = squat[:, BODY25.index("MidHip"), 2]
    assert hip.max() - hip.min() > 0.3
    arms = generate_motion("arms", 90, seed=0)
    assert arms[:, BODY25.index("RWrist"), 2].max() > arms[:, BODY25.index("Nose"), 2].max()
    walk = generate_motion("walk", 90, seed=0)
    assert np.linalg.norm(walk[-1, 8, :2] - walk[0, 8, :2]) > 1.0
    with pytest.raises(ValueError, match="unknown motion"):
        generate_motion("dance", 10)


def test_observations_corruptions_match_their_rates():
    rig = ring_rig(4, seed=1)
    X = generate_motion("mixed", 400, seed=1)
    obs = observe(rig, X, noise_px=2.0, outlier_ratio=0.1, dropout_ratio=0.05, seed=2)
    kp = obs.keypoints2d
    seen = kp[..., 2] > 0
    assert 0.09 < obs.outlier.sum() / seen.sum() < 0.115
    assert 0.03 < 1 - seen[obs.visible].mean() < 0.07
    assert not seen[~obs.visible].any()
    conf = kp[..., 2][seen]
    assert 0.2 <= conf.min() and conf.max() < 1.0 and conf.std() > 0.03
    truth = np.moveaxis(rig.project(X), 0, 1)
    err = np.linalg.norm(kp[..., :2] - truth, axis=-1)[seen & ~obs.outlier]
    assert 2.0 < np.median(err) < 3.0  # 2 px per axis: median radius about 2.35 px
    assert np.median(np.linalg.norm(kp[..., :2] - truth, axis=-1)[obs.outlier]) > 20


def test_rig_is_a_ring_looking_at_the_volume():
    rig = ring_rig(6, radius=3.0, seed=0)
    assert rig.names == [f"cam{i}" for i in range(1, 7)]
    np.testing.assert_allclose(np.linalg.norm(rig.centers()[:, :2], axis=1), 3.0)
    centre = rig.project(np.array([0.0, 0.0, 0.9]))
    for cam, uv in zip(rig, centre, strict=True):
        np.testing.assert_allclose(uv, cam.K[:2, 2], atol=1.0)


def test_capture_is_reproducible():
    a = make_capture(CaptureSpec(frames=30, seed=4))
    b = make_capture(CaptureSpec(frames=30, seed=4))
    np.testing.assert_array_equal(a.keypoints2d, b.keypoints2d)
    assert not np.array_equal(a.keypoints2d, make_capture(CaptureSpec(frames=30, seed=5)).keypoints2d)
