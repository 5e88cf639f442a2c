"""The Gauss-Newton fit: analytic Jacobians, the banded solve, the three views of one loss, the solver."""

import numpy as np
import pytest
import torch

from mvmocap.bodymodels import BodyModel, SMPLFamilyModel
from mvmocap.fit import BodyFitter, load_fit_config
from mvmocap.fit.banded import Coupling, solve_banded
from mvmocap.fit.joint_limits import JointLimitPrior
from mvmocap.fit.losses import keypoints3d_loss, position_smoothness, reprojection_loss, rotation_smoothness
from mvmocap.fit.optim import weighted_sum
from mvmocap.fit.priors import GMMPosePrior, pose_pull_scale, pose_regulariser
from mvmocap.fit.problem import PARAMETERS, PoseProblem
from mvmocap.geometry.torch_rotations import axis_angle_to_matrix_t
from mvmocap.metrics import fit_metrics
from mvmocap.synthetic import ring_rig
from mvmocap.synthetic.body_motion import corrupt_keypoints3d, model_motion
from mvmocap.synthetic.model_files import make_model_arrays
from mvmocap.synthetic.motions import motion_curves
from mvmocap.utils import InputError


def _without_correctives(kind: str, **options) -> SMPLFamilyModel:
    """A float64 model whose keypoints are exactly linear blend skinning (pose blend shapes off)."""
    arrays = make_model_arrays(kind, seed=3)
    arrays["posedirs"] = np.zeros_like(arrays["posedirs"])
    return SMPLFamilyModel(arrays, dtype=torch.float64, **options)


@pytest.mark.parametrize("kind, options, fmt", [("smpl", {}, "body25"), ("smplh", {"hand_pca": 6}, "bodyhands"),
                                                ("mano", {}, "hand21")])
def test_smpl_family_jacobian_is_exact(kind, options, fmt):
    model = _without_correctives(kind, **options)
    poses = torch.randn(3, model.pose_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 0.5
    shapes = torch.randn(1, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 0.5
    kp, jac = model.keypoint_jacobian(poses, shapes, fmt)
    kp_ref, jac_ref = BodyModel.keypoint_jacobian(model, poses, shapes, fmt)  # output by output, autograd
    assert jac.shape == (3, kp.shape[1], 3, model.pose_dim)
    np.testing.assert_allclose(kp.numpy(), kp_ref.numpy(), atol=1e-12)
    np.testing.assert_allclose(jac.numpy(), jac_ref.numpy(), atol=1e-10)


def test_smpl_jacobian_with_pose_correctives_is_close():
    """The pose blend shapes move the vertex keypoints a little with the pose; their derivative is
    left out, their values are not."""
    model = SMPLFamilyModel(make_model_arrays("smpl", seed=3), dtype=torch.float64)
    poses = torch.randn(2, model.pose_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) * 0.4
    kp, jac = model.keypoint_jacobian(poses, torch.zeros(1, 10, dtype=torch.float64))
    kp_ref, jac_ref = BodyModel.keypoint_jacobian(model, poses, torch.zeros(1, 10, dtype=torch.float64))
    np.testing.assert_allclose(kp.numpy(), kp_ref.numpy(), atol=1e-12)
    assert np.abs(jac - jac_ref).max() < 0.01 * np.abs(jac_ref).max()


@pytest.mark.parametrize("hand", [None, "L"])
def test_anny_jacobian_is_exact(hand):
    from mvmocap.bodymodels.anny_model import AnnyModel

    model = AnnyModel(dtype=torch.float64, hand=hand)
    fmt = "hand21" if hand else "bodyhands"
    poses = torch.randn(2, model.pose_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 0.4
    shapes = torch.full((1, 6), 0.2, dtype=torch.float64)
    kp, jac = model.keypoint_jacobian(poses, shapes, fmt)
    kp_ref, jac_ref = BodyModel.keypoint_jacobian(model, poses, shapes, fmt)
    np.testing.assert_allclose(kp.numpy(), kp_ref.numpy(), atol=1e-12)
    np.testing.assert_allclose(jac.numpy(), jac_ref.numpy(), atol=1e-10)


def _dense(frames: int, jac: torch.Tensor, orders) -> torch.Tensor:
    """The couplings' full matrix, built from explicit difference operators."""
    m = jac.shape[1]
    total = torch.zeros(frames * jac.shape[2], frames * jac.shape[2], dtype=torch.float64)
    G = torch.block_diag(*jac)
    for order, scale in orders:
        D = torch.diff(torch.eye(frames, dtype=torch.float64), n=order, dim=0)
        D = torch.kron(D, torch.eye(m, dtype=torch.float64))
        total += scale * G.T @ D.T @ D @ G
    return total


def test_banded_solve_matches_a_dense_solve():
    gen = torch.Generator().manual_seed(0)
    F, m, n = 40, 5, 4
    jac = torch.randn(F, m, n, dtype=torch.float64, generator=gen)
    orders = ((2, 0.7), (1, 0.2))
    coupling = Coupling(jac, orders)
    local = torch.randn(F, n, n, dtype=torch.float64, generator=gen)
    local = local @ local.transpose(1, 2) * 0.05 + 0.01 * torch.eye(n, dtype=torch.float64)
    blocks = local + coupling.own_frame_weights()[:, None, None] * (jac.transpose(1, 2) @ jac)
    rhs = torch.randn(F, n, dtype=torch.float64, generator=gen)
    x, steps = solve_banded(blocks, rhs, [coupling], iterations=500, tolerance=1e-12)
    exact = torch.linalg.solve(torch.block_diag(*local) + _dense(F, jac, orders), rhs.reshape(-1))
    np.testing.assert_allclose(x.reshape(-1).numpy(), exact.numpy(), atol=1e-9)
    assert 0 < steps < 500
    direct, none = solve_banded(blocks, rhs, [], iterations=5, tolerance=1e-3)  # no coupling: frame by frame
    np.testing.assert_allclose(direct.numpy(), torch.linalg.solve(blocks, rhs[..., None])[..., 0].numpy(), atol=1e-12)
    assert none == 0


@pytest.fixture(scope="module")
def problem_parts():
    """A float64 SMPL model, a short noisy motion with its projections, and every loss weighted."""
    model = _without_correctives("smpl")
    frames = 12
    truth = model_motion(model, motion_curves("mixed", frames, seed=2), np.zeros(10))
    fitter = BodyFitter(model, dtype=torch.float64)
    true_kp = fitter.evaluate(truth["poses"], truth["shapes"], truth["Rh"], truth["Th"])
    target = torch.as_tensor(corrupt_keypoints3d(true_kp, seed=4))
    rig = ring_rig(3, seed=1)
    kp2d = np.moveaxis(rig.project(true_kp), 0, 1)
    target2d = torch.as_tensor(np.concatenate([kp2d + 3.0, np.ones(kp2d.shape[:-1] + (1,))], -1))
    gen = np.random.default_rng(0)
    means = gen.normal(0, 0.2, (3, 69))
    covars = np.stack([np.eye(69) * s for s in (0.1, 0.2, 0.3)])
    gmm = GMMPosePrior(means, covars, np.array([0.5, 0.3, 0.2]), 69)
    weights = {"keypoints3d": 1.0, "torso": 0.5, "reprojection": 1e-4, "kp_velocity": 0.2, "kp_acceleration": 0.3,
               "Th_acceleration": 2.0, "rot_velocity": 0.1, "rot_acceleration": 0.05, "joint_limits": 1.0,
               "pose_reg": 3e-3, "gmm": 1e-3}
    params = {"poses": torch.as_tensor(truth["poses"]) + 0.3, "Rh": torch.as_tensor(truth["Rh"]) + 0.1,
              "Th": torch.as_tensor(truth["Th"]) + 0.05}
    problem = PoseProblem(model, torch.zeros(1, 10, dtype=torch.float64), "body25", target, fitter.torso, weights,
                          0.05, JointLimitPrior.for_model(model), gmm, rig=rig, target2d=target2d, sigma2d=20.0,
                          reference=torch.zeros_like(params["poses"]), pose_scale=pose_pull_scale(model))
    return problem, params


def test_frame_shares_sum_to_each_loss(problem_parts):
    """Each term's per-frame shares (what the per-frame damping compares) add up to the loss as
    computed directly; a temporal difference counts for its centre frame."""
    problem, params = problem_parts
    poses, Rh, Th = (params[k] for k in PARAMETERS)
    kp = problem.model.keypoints(poses, problem.shapes, Rh, Th)
    rots = axis_angle_to_matrix_t(torch.cat([Rh[:, None], poses.reshape(len(poses), -1, 3)], 1))
    direct = {
        "keypoints3d": keypoints3d_loss(kp, problem.target, 0.05),
        "torso": keypoints3d_loss(kp[:, problem.torso], problem.target[:, problem.torso], 0.05),
        "reprojection": reprojection_loss(problem._pixels(kp), problem._target_pixels, 20.0),
        "kp_velocity": position_smoothness(kp, 1), "kp_acceleration": position_smoothness(kp, 2),
        "Th_acceleration": position_smoothness(Th, 2), "rot_velocity": rotation_smoothness(rots, 1),
        "rot_acceleration": rotation_smoothness(rots, 2), "joint_limits": problem.limits(poses),
        "pose_reg": pose_regulariser(poses, problem.reference, problem.pose_scale), "gmm": problem.gmm(poses),
    }
    shares = problem.frame_terms(params)
    assert set(shares) == set(direct) == set(problem.weights)
    for name, value in direct.items():
        assert shares[name].shape == (12,), name
        np.testing.assert_allclose(float(shares[name].sum()), float(value), rtol=1e-10, err_msg=name)
    assert shares["kp_acceleration"][[0, -1]].abs().max() == 0 and (shares["kp_acceleration"][1:-1] > 0).all()
    assert shares["kp_velocity"][-1] == 0 and (shares["kp_velocity"][:-1] > 0).all()
    total = sum(problem.weights[k] * float(v) for k, v in direct.items())
    np.testing.assert_allclose(float(problem.weighted(shares).sum()), total, rtol=1e-10)
    logged = problem.weighted_totals(shares)
    for name, value in direct.items():
        np.testing.assert_allclose(logged[name], problem.weights[name] * float(value), rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("free", [PARAMETERS, ("Rh", "Th")])
def test_gradient_is_the_loss_derivative_and_the_blocks_its_gauss_newton_matrix(problem_parts, free):
    problem, params = problem_parts
    leaves = {k: v.clone().requires_grad_(k in free) for k, v in params.items()}
    total, _ = weighted_sum(problem.terms(leaves), problem.weights)
    total.backward()
    expected = torch.cat([leaves[k].grad for k in free], 1)
    lin = problem.linearise(params, free)
    np.testing.assert_allclose(lin.gradient.numpy(), expected.numpy(), rtol=1e-7, atol=1e-12)
    n = expected.shape[1]
    assert lin.blocks.shape == (12, n, n)
    np.testing.assert_allclose(lin.blocks.numpy(), lin.blocks.transpose(1, 2).numpy(), atol=1e-12)
    assert (torch.linalg.eigvalsh(lin.blocks) > -1e-12).all()  # positive semi-definite, as J^T W J is


def test_gauss_newton_fit_matches_lbfgs_and_beats_its_loss():
    model = SMPLFamilyModel(make_model_arrays("smpl", seed=5))
    frames = 120
    truth = model_motion(model, motion_curves("walk", frames, seed=6), np.random.default_rng(1).normal(0, 0.5, 10))
    fitter = BodyFitter(model)
    true_kp = fitter.evaluate(truth["poses"], truth["shapes"], truth["Rh"], truth["Th"])
    observed = corrupt_keypoints3d(true_kp, seed=8)
    fast = fitter.fit(observed)
    slow = BodyFitter(model, load_fit_config(overrides={"solver": {"method": "lbfgs"}})).fit(observed)
    ours, theirs = (fit_metrics(model, truth, true_kp, r) for r in (fast, slow))
    assert ours["kp_mpjpe_mm"] < theirs["kp_mpjpe_mm"] + 0.5 and ours["pve_mm"] < theirs["pve_mm"] + 1.0
    assert ours["flipped_frames"] == 0
    for a, b in zip(fast.log, slow.log, strict=True):
        assert a["stage"] == b["stage"] and a["loss_end"] <= a["loss_start"]
        if a["stage"] == "poses":  # the same loss, minimised further
            assert a["loss_end"] <= b["loss_end"] * 1.001
    assert all(e.get("solver") == "gauss-newton" for e in fast.log)
    assert not any(e.get("solver") for e in slow.log)


def test_solver_settings_are_checked(tmp_path):
    with pytest.raises(InputError, match=r"solver\.method: must be gauss-newton or lbfgs"):
        load_fit_config(overrides={"solver": {"method": "newton"}})
    with pytest.raises(InputError, match=r"solver\.cg_iterations: must be a whole number >= 1"):
        load_fit_config(overrides={"solver": {"cg_iterations": 0}})
    file = tmp_path / "fit.yml"
    file.write_text("solver:\n  tolerance: 1e-3\n")  # YAML reads 1e-3 without a dot as text
    with pytest.raises(InputError, match=r"fit\.yml: solver\.tolerance: must be a number, got '1e-3'"):
        load_fit_config(file)


def test_a_jacobian_with_many_more_residuals_than_parameters_is_taken_forward():
    """A shape fit of a body with fingers has 74 residuals (limbs) and 6 parameters: reverse mode
    made one backward pass per residual (2146 in one fit, 19 of its 21 s); forward mode makes one
    pass per parameter. Both give the same matrix; few residuals keep reverse mode."""
    from mvmocap.fit.gauss_newton import _jacobian

    generator = torch.Generator().manual_seed(0)
    A = torch.randn(80, 4, dtype=torch.float64, generator=generator)
    calls = []

    def residuals(x):
        calls.append(1)
        return torch.sin(A @ x) * x.square().sum()

    x = torch.randn(4, dtype=torch.float64, generator=generator)
    reference = torch.autograd.functional.jacobian(residuals, x)
    calls.clear()
    forward = _jacobian(residuals, x, 80)
    assert len(calls) == 4  # one pass per parameter
    torch.testing.assert_close(forward, reference, rtol=1e-12, atol=1e-12)
    calls.clear()
    few = _jacobian(lambda x: residuals(x)[:12], x, 12)
    assert len(calls) == 1 and torch.allclose(few, reference[:12], rtol=1e-12, atol=1e-12)
