"""Every loss and prior: value at known inputs, zero at the truth, finite gradients."""

import pickle

import numpy as np
import pytest
import torch

from mvmocap.bodymodels import SMPLFamilyModel
from mvmocap.bodymodels.anatomy import anatomy_of
from mvmocap.fit.align import fill_missing_frames, kabsch
from mvmocap.fit.joint_limits import JointLimitPrior
from mvmocap.fit.losses import (
    geman_mcclure,
    keypoints3d_loss,
    limb_length_loss,
    position_smoothness,
    reprojection_loss,
    rotation_smoothness,
)
from mvmocap.fit.priors import GMMPosePrior, pose_regulariser, shape_regulariser
from mvmocap.fit.projection import project_rig, project_rig_jacobian
from mvmocap.fit.smoothing import lambda_for_cutoff, robust_smooth, whittaker_smooth
from mvmocap.geometry import axis_angle_to_matrix, rotation_about_axis
from mvmocap.geometry.torch_rotations import axis_angle_to_matrix_t
from mvmocap.synthetic.model_files import make_model_arrays


@pytest.fixture(scope="module")
def smpl():
    return SMPLFamilyModel(make_model_arrays("smpl", seed=4), dtype=torch.float64)


def _grad_finite(fn, *tensors):
    tensors = [t.clone().requires_grad_(True) for t in tensors]
    fn(*tensors).backward()
    return all(torch.isfinite(t.grad).all() for t in tensors)


def test_geman_mcclure():
    sq = torch.tensor([0.0, 0.01, 1.0, 100.0], dtype=torch.float64)
    assert torch.equal(geman_mcclure(sq, None), sq)
    gm = geman_mcclure(sq, 0.1)
    np.testing.assert_allclose(gm[1].item(), 0.01 / 2)  # r = sigma: half of sigma^2
    assert gm[0] == 0 and gm[3] < 0.01 and gm[3] > gm[2]  # saturates at sigma^2


def test_keypoint_and_reprojection_losses():
    target = torch.zeros(1, 3, 4, dtype=torch.float64)
    target[..., 3] = torch.tensor([1.0, 1.0, 0.0])
    pred = torch.zeros(1, 3, 3, dtype=torch.float64)
    assert keypoints3d_loss(pred, target) == 0
    pred[0, 0, 0] = 0.1
    pred[0, 2] = 5.0  # missing: ignored
    np.testing.assert_allclose(keypoints3d_loss(pred, target).item(), 0.01 / 2)
    assert _grad_finite(lambda p: keypoints3d_loss(p, target, 0.05), pred)
    t2 = torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    t2[..., 2] = 1.0
    p2 = torch.zeros(1, 2, 3, 2, dtype=torch.float64)
    p2[0, 1, 2] = 3.0  # 3 px in x and y: 18 px^2 on one of six
    np.testing.assert_allclose(reprojection_loss(p2, t2).item(), 18 / 6)
    assert _grad_finite(lambda p: reprojection_loss(p, t2, 10.0), p2)


def test_projection_matches_the_camera_model(rig, rng):
    X = rng.uniform(-0.5, 0.5, (4, 6, 3)) + [0, 0, 1]
    ours = project_rig(torch.tensor(X), rig).numpy()
    np.testing.assert_allclose(ours, np.moveaxis(rig.project(X), 0, 1), atol=1e-8)


def test_projection_jacobian_is_the_derivative(rig, rng):
    """The chain-rule Jacobian equals forward-mode differentiation, lens distortion included, and a
    point behind a camera (its depth clamped) gets no depth derivative there, as autograd."""
    from mvmocap.camera import Camera, CameraRig

    lens = np.array([-0.25, 0.08, 0.002, -0.003, 0.01])
    bent = CameraRig([Camera(c.name, c.K, lens, c.R, c.t, c.image_size) for c in rig])
    X = torch.tensor(rng.uniform(-0.5, 0.5, (3, 5, 3)) + [0, 0, 1])
    X[0, 0] = torch.as_tensor(rig[0].R.T @ (np.array([0.1, 0.1, -1.0]) - rig[0].t))  # behind camera 0
    for cameras in (rig, bent):
        pixels, jacobian = project_rig_jacobian(X, cameras)
        torch.testing.assert_close(pixels, project_rig(X, cameras))
        columns = [torch.func.jvp(lambda p, c=cameras: project_rig(p, c), (X,), (torch.eye(3, dtype=X.dtype)[a]
                                                                                   .expand_as(X),))[1]
                   for a in range(3)]
        torch.testing.assert_close(jacobian, torch.stack(columns, -1), rtol=1e-9, atol=1e-9)


def test_limb_length_loss():
    lengths = torch.tensor([0.4, 0.5], dtype=torch.float64)
    assert limb_length_loss(lengths, lengths, torch.ones(2, dtype=torch.float64)) == 0
    value = limb_length_loss(lengths, torch.tensor([0.4, 0.3], dtype=torch.float64), torch.tensor([1.0, 3.0]))
    np.testing.assert_allclose(value.item(), 3 * 0.04 / 4)


def test_rotation_smoothness_ignores_the_2pi_jump():
    angles = np.linspace(0.0, 0.5, 10)
    aa = np.zeros((10, 1, 3))
    aa[:, 0, 2] = angles
    aa[5:, 0, 2] -= 2 * np.pi  # same rotations, axis-angle jumps by 2 pi
    R = axis_angle_to_matrix_t(torch.tensor(aa))
    smooth_first = rotation_smoothness(R, 1).item()
    assert smooth_first < 0.01  # small steps only
    assert np.abs(np.diff(aa[:, 0, 2])).max() > 6  # whereas raw axis-angle differences jump
    constant = axis_angle_to_matrix_t(torch.tensor(np.full((5, 2, 3), 0.3)))
    assert rotation_smoothness(constant, 1) < 1e-24 and rotation_smoothness(constant, 2) < 1e-24
    # Uniform rotation speed: |R(a) - R(b)|_F^2 = 4 - 4 cos(a - b) per step.
    np.testing.assert_allclose(smooth_first, 4 - 4 * np.cos(0.5 / 9), rtol=1e-6)
    # Second differences of a uniform rotation: R_t (R(d) - 2 I + R(-d)), norm^2 = 2 (2 - 2 cos d)^2.
    np.testing.assert_allclose(rotation_smoothness(R, 2).item(), 2 * (2 - 2 * np.cos(0.5 / 9)) ** 2, rtol=1e-6)
    assert _grad_finite(lambda r: rotation_smoothness(r, 2), R)


def test_position_smoothness():
    t = torch.arange(6, dtype=torch.float64)[:, None, None] * torch.tensor([0.1, 0.0, 0.0], dtype=torch.float64)
    assert position_smoothness(t, 2) < 1e-24
    np.testing.assert_allclose(position_smoothness(t, 1).item(), 0.01)
    jolt = t.clone()
    jolt[3, 0, 2] = 0.2
    assert position_smoothness(jolt, 2) > 0.01
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        position_smoothness(t, 3)


def test_joint_limits_bend_one_way(smpl):
    anatomy = anatomy_of(smpl)
    prior = JointLimitPrior.for_model(smpl).double()
    zero = torch.zeros(1, 72, dtype=torch.float64)
    assert prior(zero) == 0
    knee = anatomy.joints["knee_l"]
    bent = zero.clone()
    bent[0, 3 * knee:3 * knee + 3] = torch.tensor(anatomy.knee_axis("l") * 1.2)
    assert prior(bent) < 1e-12  # anatomical flexion is free
    backwards = zero.clone()
    backwards[0, 3 * knee:3 * knee + 3] = torch.tensor(-anatomy.knee_axis("l") * 0.5)
    np.testing.assert_allclose(prior(backwards).item(), 0.25)  # relu(-a)^2
    sideways = zero.clone()
    sideways[0, 3 * knee:3 * knee + 3] = torch.tensor(anatomy.up * 0.3)
    assert prior(sideways) > 0.08
    twisted = zero.clone()
    hip = anatomy.joints["hip_r"]
    twisted[0, 3 * hip:3 * hip + 3] = torch.tensor(anatomy.bone_dir["hip_r"] * 1.5)
    np.testing.assert_allclose(prior(twisted).item(), 0.25)  # 0.5 rad beyond the 1 rad twist limit
    assert _grad_finite(prior, backwards + 0.01)


def test_regularisers():
    poses = torch.zeros(2, 9, dtype=torch.float64)
    poses[:, :3] = 5.0  # the root is not regularised
    assert pose_regulariser(poses) == 0
    poses[0, 3] = 1.0
    np.testing.assert_allclose(pose_regulariser(poses).item(), 1 / 12)
    np.testing.assert_allclose(shape_regulariser(torch.tensor([[1.0, -1.0, 0.0, 0.0]])).item(), 0.5)


def _gmm_file(path, dims=69, components=8, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(0, 0.1, (components, dims, dims))
    covars = A @ A.transpose(0, 2, 1) + 0.01 * np.eye(dims)
    data = {"means": rng.normal(0, 0.2, (components, dims)), "covars": covars,
            "weights": rng.dirichlet(np.ones(components))}
    with path.open("wb") as fh:
        pickle.dump(data, fh, protocol=2)
    return data


def test_gmm_prior_matches_its_definition(tmp_path, smpl):
    data = _gmm_file(tmp_path / "gmm_08.pkl")
    prior = GMMPosePrior.from_file(tmp_path / "gmm_08.pkl", smpl)
    x = np.random.default_rng(1).normal(0, 0.2, 69)
    expected = min(
        0.5 * (x - m) @ np.linalg.inv(c) @ (x - m) - np.log(w) + 0.5 * np.linalg.slogdet(c)[1]
        for m, c, w in zip(data["means"], data["covars"], data["weights"], strict=True)
    )
    poses = torch.tensor(np.concatenate([[0.0, 0.0, 0.0], x]))[None]
    np.testing.assert_allclose(prior(poses).item(), expected, rtol=1e-9)
    at_mean = torch.tensor(np.concatenate([[0, 0, 0], data["means"][0]]))[None]
    assert prior(at_mean) <= prior(poses)
    assert _grad_finite(prior, poses)
    smplh = SMPLFamilyModel(make_model_arrays("smplh", seed=1))
    assert GMMPosePrior.from_file(tmp_path / "gmm_08.pkl", smplh).dims == 63  # the 21 shared joints
    with pytest.raises(ValueError, match="expected means"):
        GMMPosePrior(data["means"], data["covars"][:, :5], data["weights"], 69)


def test_whittaker_smoother_is_the_exact_penalised_solution(rng):
    F = 60
    y, w, lam = rng.normal(size=(F, 4)), rng.uniform(0, 1, (F, 4)), 3.0
    w[10:15] = 0.0  # a gap is interpolated
    x = whittaker_smooth(y, w, lam)
    D = np.diff(np.eye(F), 2, axis=0)
    for k in range(4):
        W = np.diag(w[:, k])
        np.testing.assert_allclose(x[:, k], np.linalg.solve(W + lam * D.T @ D + 1e-9 * np.eye(F), W @ y[:, k]),
                                   atol=1e-7)
    np.testing.assert_allclose(whittaker_smooth(np.arange(20.0), np.ones(20), 50.0), np.arange(20.0), atol=1e-6)
    assert lambda_for_cutoff(4.0, 30.0) > lambda_for_cutoff(8.0, 30.0)


def test_robust_smoothing_ignores_outliers(rng):
    t = np.linspace(0, 2, 100)
    truth = np.stack([np.sin(t), np.cos(t), t], -1)[:, None]
    kp = np.concatenate([truth + rng.normal(0, 0.01, truth.shape), np.ones((100, 1, 1))], -1)
    kp[::10, 0, :3] += 0.5  # 10% far outliers
    clean = robust_smooth(kp, lambda_for_cutoff(4.0, 30.0))
    assert np.abs(clean[..., :3] - truth).max() < 0.03
    support = clean[:, 0, 3]
    assert np.median(support) > 0.8 and support[20] < support[25]  # outlier frames are trusted less


def test_kabsch_recovers_any_orientation_without_mirroring(rng):
    src = rng.normal(size=(1, 6, 3))
    for aa in ([0.0, 0.0, 3.0], [np.pi, 0.0, 0.0], [0.3, -2.0, 1.0]):
        R_true = axis_angle_to_matrix(np.array(aa))
        dst = src @ R_true.T + [1.0, 2.0, 0.5]
        R, t, ok = kabsch(src, dst, np.ones((1, 6)))
        np.testing.assert_allclose(R[0], R_true, atol=1e-9)
        np.testing.assert_allclose(t[0], [1.0, 2.0, 0.5], atol=1e-9)
    mirrored = src * [-1.0, 1.0, 1.0]  # a reflection is the best fit, but not allowed
    R, _, _ = kabsch(src, mirrored, np.ones((1, 6)))
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    _, _, ok = kabsch(src, src, np.array([[1.0, 1.0, 0.0, 0.0, 0.0, 0.0]]))
    assert not ok[0]
    filled = fill_missing_frames(np.arange(5.0)[:, None], np.array([False, True, False, False, True]))
    assert filled[:, 0].tolist() == [1.0, 1.0, 1.0, 4.0, 4.0]


def test_rotation_about_axis_helper_for_yaw():
    np.testing.assert_allclose(rotation_about_axis(np.pi, "x") @ [0, 0, 1.0], [0, 0, -1.0], atol=1e-12)
