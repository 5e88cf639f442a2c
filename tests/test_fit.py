"""The whole fit on SMPL-format stand-in models: accuracy, any facing, windows, gaps, 2D, CLI."""

import json

import numpy as np
import pytest
import torch

from mvmocap.bodymodels import SMPLFamilyModel, load_body_model
from mvmocap.cli.main import main
from mvmocap.fit import BodyFitter, load_fit_config, plan_windows
from mvmocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.io import read_keypoints3d, read_smpl_jsons, write_keypoints3d
from mvmocap.metrics import fit_metrics
from mvmocap.synthetic import ring_rig
from mvmocap.synthetic.body_motion import corrupt_keypoints3d, model_motion
from mvmocap.synthetic.model_files import make_model_arrays, write_model_file
from mvmocap.synthetic.motions import motion_curves

FRAMES = 150


@pytest.fixture(scope="module")
def arrays():
    return make_model_arrays("smpl", seed=5)


@pytest.fixture(scope="module")
def model(arrays):
    return SMPLFamilyModel(arrays)


@pytest.fixture(scope="module")
def truth(model):
    shapes = np.random.default_rng(2).normal(0, 0.5, 10)
    params = model_motion(model, motion_curves("mixed", FRAMES, seed=11), shapes)
    keypoints = BodyFitter(model).evaluate(params["poses"], params["shapes"], params["Rh"], params["Th"])
    return params, keypoints


def test_fit_recovers_a_corrupted_motion(model, truth):
    params, true_kp = truth
    observed = corrupt_keypoints3d(true_kp, seed=1)
    result = BodyFitter(model).fit(observed)
    metrics = fit_metrics(model, params, true_kp, result)
    assert metrics["kp_mpjpe_mm"] < 15.0  # the input is 15 mm per axis (about 24 mm) plus outliers
    assert metrics["pve_mm"] < 25.0
    assert metrics["jitter_ratio"] < 1.5
    assert metrics["flipped_frames"] == 0
    stages = [entry["stage"] for entry in result.log]
    assert stages[:3] == ["shape", "global", "poses"] and all(e["loss_end"] <= e["loss_start"] for e in result.log)
    assert result.poses.shape == (FRAMES, 72) and result.shapes.shape == (1, 10)


@pytest.mark.parametrize("turn", [[np.pi, 0.0, 0.0], [0.0, 0.0, 2.5], [2.0, 1.0, -1.0]])
def test_any_facing_including_upside_down(model, truth, turn):
    params, _ = truth
    R = axis_angle_to_matrix(np.array(turn))
    turned = dict(params, Rh=matrix_to_axis_angle(R @ axis_angle_to_matrix(params["Rh"])), Th=params["Th"] @ R.T)
    fitter = BodyFitter(model)
    true_kp = fitter.evaluate(turned["poses"], turned["shapes"], turned["Rh"], turned["Th"])
    observed = np.concatenate([true_kp, np.ones(true_kp.shape[:2] + (1,))], -1)
    result = fitter.fit(observed[:60])
    metrics = fit_metrics(model, {k: v[:60] if k != "shapes" else v for k, v in turned.items()}, true_kp[:60],
                          result)
    assert metrics["kp_mpjpe_mm"] < 12.0 and metrics["flipped_frames"] == 0


@pytest.mark.slow
def test_windows_cover_the_sequence_without_a_seam(model, truth):
    assert plan_windows(10, 20, 4) == [(0, 10)]
    windows = plan_windows(150, 60, 12)
    assert windows[0] == (0, 60) and windows[-1][1] == 150
    assert all(b[0] == a[1] - 12 for a, b in zip(windows, windows[1:], strict=False))
    params, true_kp = truth
    observed = corrupt_keypoints3d(true_kp, seed=2)
    config = load_fit_config(overrides={"window": {"size": 60, "overlap": 12}})
    result = BodyFitter(model, config).fit(observed)
    metrics = fit_metrics(model, params, true_kp, result)
    assert metrics["kp_mpjpe_mm"] < 16.0 and metrics["flipped_frames"] == 0
    accel = np.linalg.norm(np.diff(result.keypoints, 2, axis=0), axis=-1).mean(1)
    true_accel = np.linalg.norm(np.diff(true_kp, 2, axis=0), axis=-1).mean(1)
    for start, _ in windows[1:]:
        border = slice(start - 2, start + 14)  # the cross-faded overlap and its edges
        assert accel[border].max() < true_accel[border].max() + 3 * np.median(accel)
    assert len({e["window"] for e in result.log if "window" in e}) == len(windows)
    # windows fitted side by side (threads) give the same fit as one after another
    in_threads = BodyFitter(model, config).fit(observed, threads=3)
    for key in ("poses", "Rh", "Th", "keypoints"):
        np.testing.assert_array_equal(getattr(in_threads, key), getattr(result, key))


@pytest.mark.slow
def test_frames_without_detections_are_interpolated(model, truth):
    params, true_kp = truth
    observed = corrupt_keypoints3d(true_kp, outlier_ratio=0.0, seed=3)
    observed[40:52] = 0.0  # 0.4 s seen by nobody
    result = BodyFitter(model).fit(observed)
    gap_error = np.linalg.norm(result.keypoints[40:52] - true_kp[40:52], axis=-1).mean()
    assert np.isfinite(result.keypoints).all() and gap_error < 0.1  # unseen fast limbs: bridged, not known
    accel = np.linalg.norm(np.diff(result.keypoints, 2, axis=0), axis=-1).max(1)
    true_accel = np.linalg.norm(np.diff(true_kp, 2, axis=0), axis=-1).max(1)
    assert accel[38:52].max() < 1.5 * true_accel.max()  # no jump into or out of the gap


@pytest.mark.slow
def test_reprojection_stage_uses_the_2d_detections(model, truth):
    params, true_kp = truth
    rig = ring_rig(4, seed=2)
    kp2d = np.moveaxis(rig.project(true_kp[:40]), 0, 1)
    kp2d = np.concatenate([kp2d, np.ones(kp2d.shape[:-1] + (1,))], -1)
    rng = np.random.default_rng(5)
    observed = np.concatenate([true_kp[:40] + rng.normal(0, 0.03, (40, 25, 3)), np.ones((40, 25, 1))], -1)
    plain = BodyFitter(model).fit(observed)
    config = load_fit_config(overrides={"reprojection": {"enabled": True}})
    refined = BodyFitter(model, config).fit(observed, kp2d, rig)
    assert refined.log[-1]["stage"] == "reprojection"
    err = [np.linalg.norm(r.keypoints - true_kp[:40], axis=-1).mean() for r in (plain, refined)]
    assert err[1] < 0.7 * err[0]


def test_config_is_validated(tmp_path):
    bad = tmp_path / "exp.yml"
    bad.write_text("poses:\n  weights:\n    keypoint3d: 1.0\n")
    with pytest.raises(ValueError, match=r"exp\.yml: unknown key 'poses\.weights\.keypoint3d'"):
        load_fit_config(bad)
    bad.write_text("window: {size: 10, overlap: 8}\n")
    with pytest.raises(ValueError, match="overlap in"):
        load_fit_config(bad)
    good = tmp_path / "good.yml"
    good.write_text("poses:\n  iterations: 7\n  passes:\n    - {robust_sigma: 0.2}\n")
    config = load_fit_config(good)
    assert config.stages["poses"].iterations == 7 and config.stages["poses"].passes[0].temporal == 1.0
    assert config.stages["shape"].iterations == 100  # untouched defaults
    with pytest.raises(FileNotFoundError):
        load_fit_config(tmp_path / "missing.yml")


def test_empty_and_tiny_sequences(model):
    empty = BodyFitter(model).fit(np.zeros((0, 25, 4)))
    assert empty.poses.shape == (0, 72) and empty.keypoints.shape == (0, 25, 3)
    unseen = BodyFitter(model).fit(np.zeros((2, 25, 4)))  # nothing detected: no crash, finite output
    assert np.isfinite(unseen.poses).all() and unseen.keypoints.shape == (2, 25, 3)


def test_bad_keypoints_are_refused(model):
    with pytest.raises(ValueError, match=r"keypoints3d must be \(F, 25, 4\)"):
        BodyFitter(model).fit(np.zeros((5, 17, 4)))
    with pytest.raises(ValueError, match="has no hand21 keypoints"):
        BodyFitter(model, keypoint_format="hand21")


@pytest.mark.slow
def test_fit_command_writes_both_conventions(tmp_path, arrays, model, truth):
    params, true_kp = truth
    write_model_file(arrays, tmp_path / "SMPL_NEUTRAL.pkl", "chumpy")
    observed = corrupt_keypoints3d(true_kp[:50], seed=4)
    write_keypoints3d(tmp_path / "kp3d", observed, frames=list(range(100, 150)))
    out = tmp_path / "out"
    code = main(["fit", "--keypoints3d", str(tmp_path / "kp3d"), "--out", str(out),
                 "--model", f"smpl:{tmp_path / 'SMPL_NEUTRAL.pkl'}"])
    assert code == 0
    easymocap, frames = read_smpl_jsons(out / "smpl")
    assert frames == list(range(100, 150)) and easymocap["poses"].shape == (50, 72)
    npz = np.load(out / "params.npz")
    assert {"global_orient", "body_pose", "betas", "transl", "fps", "poses", "Rh", "Th"} <= set(npz.files)
    loaded = load_body_model(f"smpl:{tmp_path / 'SMPL_NEUTRAL.pkl'}", dtype=torch.float64)
    as_std = loaded(torch.tensor(np.concatenate([npz["global_orient"], npz["body_pose"]], 1)),
                    torch.tensor(npz["betas"][None]), Th=torch.tensor(npz["transl"])).vertices
    as_emc = loaded(*(torch.tensor(easymocap[k] if k != "shapes" else npz["shapes"]) for k in
                      ("poses", "shapes", "Rh", "Th"))).vertices
    np.testing.assert_allclose(as_std.numpy(), as_emc.numpy(), atol=1e-5)
    fitted, _ = read_keypoints3d(out / "keypoints3d_fit")
    assert np.linalg.norm(fitted[..., :3] - true_kp[:50], axis=-1).mean() < 0.02
    log = json.loads((out / "fit_log.json").read_text())
    assert [s["stage"] for s in log["stages"]][:2] == ["shape", "global"]
    assert main(["fit", "--keypoints3d", str(tmp_path / "kp3d"), "--out", str(out), "--model", "smpl:female"]) == 2
