"""Whole-body fits with hands (the 67-keypoint bodyhands format) and --exp body+hands."""

import json

import numpy as np
import pytest
import torch

from mvmocap.bodymodels import SMPLFamilyModel
from mvmocap.fit import BodyFitter
from mvmocap.pipeline.experiment import load_experiment
from mvmocap.pipeline.fitting import write_fit
from mvmocap.skeletons import BODYHANDS, get_format
from mvmocap.synthetic.body_motion import corrupt_keypoints3d, model_motion
from mvmocap.synthetic.hand_motion import hand_motion
from mvmocap.synthetic.model_files import make_model_arrays
from mvmocap.synthetic.motions import motion_curves

pytestmark = pytest.mark.slow  # end-to-end: make test-fast leaves it out


def test_bodyhands_format():
    assert BODYHANDS.num_joints == 67
    assert BODYHANDS.joints[25] == "LHandWrist" and BODYHANDS.joints[-1] == "RHandPinky4"
    flip = BODYHANDS.flip_index
    assert BODYHANDS.joints[flip[BODYHANDS.index("LHandThumb4")]] == "RHandThumb4"
    assert get_format("bodyhands") is BODYHANDS


def test_smplh_whole_body_fit_with_moving_fingers():
    model = SMPLFamilyModel(make_model_arrays("smplh", seed=2))
    assert "bodyhands" in model.keypoint_formats
    frames = 60
    truth = model_motion(model, motion_curves("walk", frames, seed=3), np.random.default_rng(0).normal(0, 0.3, 10))
    for side in ("l", "r"):  # the fingers move too (hand_motion poses only the finger joints here)
        truth["poses"] = truth["poses"] + hand_motion(model, frames, seed=5, side=side)["poses"]
    true_kp = model.sequence(truth, "bodyhands")
    observed = corrupt_keypoints3d(true_kp, noise_m=0.005, outlier_ratio=0.0, missing_ratio=0.05, seed=1)
    fit = BodyFitter(model, load_experiment("body+hands").fit, keypoint_format="bodyhands").fit(observed)
    err = np.linalg.norm(fit.keypoints - true_kp, axis=-1)
    assert err[:, :25].mean() < 0.01 and err[:, 25:].mean() < 0.008  # the input is 5 mm per axis


def test_smplh_hand_pca(tmp_path):
    """SMPL-H fingers by PCA: 45 components reproduce every pose; with components learnt from the
    motion (as MANO's are from real hands) 6 per hand fit it."""
    arrays = make_model_arrays("smplh", seed=2)
    full = SMPLFamilyModel(arrays, dtype=torch.float64)
    pca45 = SMPLFamilyModel(arrays, dtype=torch.float64, hand_pca=45)
    assert pca45.pose_dim == 66 + 90 and len(pca45.posed_joints) == 22
    poses = torch.randn(3, 156, dtype=torch.float64) * 0.3
    coeffs = [(poses[:, 66 + 45 * h:111 + 45 * h] - torch.tensor(arrays[f"hands_mean{x}"]))
              @ torch.tensor(arrays[f"hands_components{x}"]).T for h, x in enumerate("lr")]
    np.testing.assert_allclose(pca45.keypoints(torch.cat([poses[:, :66], *coeffs], 1), format="bodyhands").numpy(),
                               full.keypoints(poses, format="bodyhands").numpy(), atol=1e-10)

    frames = 60
    truth = model_motion(full, motion_curves("walk", frames, seed=3))
    for h, side in enumerate("lr"):
        fingers = hand_motion(full, frames, seed=5, side=side)["poses"][:, 66 + 45 * h:111 + 45 * h]
        truth["poses"][:, 66 + 45 * h:111 + 45 * h] = fingers
        mean = fingers.mean(0)
        _, _, vt = np.linalg.svd(fingers - mean)
        arrays[f"hands_components{side}"], arrays[f"hands_mean{side}"] = vt, mean
    true_kp = full.sequence(truth, "bodyhands")
    observed = corrupt_keypoints3d(true_kp, noise_m=0.005, outlier_ratio=0.0, missing_ratio=0.05, seed=1)
    pca6 = SMPLFamilyModel(arrays, hand_pca=6)
    fit = BodyFitter(pca6, load_experiment("body+hands").fit, keypoint_format="bodyhands").fit(observed)
    assert fit.poses.shape == (frames, 66 + 12)
    err = np.linalg.norm(fit.keypoints - true_kp, axis=-1)
    assert err[:, :25].mean() < 0.01 and err[:, 25:].mean() < 0.008
    write_fit(tmp_path, pca6, fit, list(range(frames)), 30.0)
    written = np.load(tmp_path / "params.npz")
    assert written["poses"].shape == (frames, 78) and written["full_poses"].shape == (frames, 156)
    np.testing.assert_allclose(full.sequence({"poses": written["full_poses"], "shapes": fit.shapes, "Rh": fit.Rh,
                                              "Th": fit.Th}, "bodyhands"), fit.keypoints, atol=1e-5)


def test_run_body_hands_on_a_rendered_capture(tmp_path):
    """Hands about 30 pixels long: found on the crops about the body's wrists (over whole frames,
    none of them is triangulated in this capture), triangulated and fitted."""
    from mvmocap.bodymodels.anny_model import ANNY_BODY_BONES, ANNY_FINGER_BONES, AnnyModel
    from mvmocap.cli.main import main
    from mvmocap.io import read_keypoints3d
    from mvmocap.synthetic import make_video_capture

    model = AnnyModel(posed_bones=ANNY_BODY_BONES + ANNY_FINGER_BONES)
    root = make_video_capture(tmp_path / "data", model, frames=12, cameras=3, image_size=(640, 360), seed=4,
                              fingers=True)
    out = tmp_path / "out"
    assert main(["run", str(root), "--exp", "body+hands", "--out", str(out), "--no-video"]) == 0
    params = np.load(out / "params.npz")
    assert params["keypoints3d"].shape == (12, 67, 3)
    truth = np.load(root / "gt" / "params.npz")["keypoints3d"]
    err = np.linalg.norm(params["keypoints3d"] - truth, axis=-1)
    triangulated = read_keypoints3d(out / "keypoints3d")[0][..., 3] > 0
    for hand in (slice(25, 46), slice(46, 67)):
        assert triangulated[:, hand].mean() > 0.3
        assert err[:, hand].mean() < 0.04
    assert triangulated[:, 25:].mean() > 0.6 and err[:, :25].mean() < 0.05
    from mvmocap.angles import WRIST_NAMES, read_mot  # issue 32: the wrists' angles of a fit with hands

    labels, values = read_mot(out / "angles.mot")
    assert set(WRIST_NAMES) <= set(labels) and np.isfinite(values).all()
    assert "wrist_flexion" in (out / "report.html").read_text()
    report = json.loads((out / "report.json").read_text())
    assert report["model"] == "anny" and len(report["triangulation"]["per_joint"]) == 67
    assert (out / "hands2d" / "cam1").is_dir() and (out / "keypoints2d" / "cam1").is_dir()


def test_hand_crop_follows_the_forearm():
    from mvmocap.detect.hand_crops import hand_crop
    from mvmocap.skeletons import BODY25

    body = np.zeros((25, 3))
    for name, xy in (("RShoulder", (100, 100)), ("RElbow", (100, 160)), ("RWrist", (100, 210))):
        body[BODY25.index(name)] = (*xy, 0.9)
    centre, width = hand_crop(body, "R", scale=1.6)
    np.testing.assert_allclose(centre, (100, 230))  # beyond the wrist, along the forearm
    np.testing.assert_allclose(width, 1.6 * 50)  # 1.6 x max(forearm 50, 0.6 x upper arm 60)
    body[BODY25.index("RWrist"), :2] = (100, 165)  # forearm towards the camera: the upper arm sets the size
    np.testing.assert_allclose(hand_crop(body, "R", scale=1.6)[1], 1.6 * 0.6 * 60)
    body[BODY25.index("RElbow"), 2] = 0.1
    assert hand_crop(body, "R") is None and hand_crop(body, "L") is None


def test_body_hands_model_needs_hands(tmp_path):
    from mvmocap.pipeline.bodyhands import body_hands_model
    from mvmocap.synthetic.model_files import write_model_file

    path = write_model_file(make_model_arrays("smpl", seed=0), tmp_path / "SMPL_NEUTRAL.npz", "npz")
    with pytest.raises(ValueError, match="has no hands; for --exp body\\+hands use anny, smplh or smplx"):
        body_hands_model(f"smpl:{path}")


def test_bench_bodyhands_command(capsys):
    from mvmocap.cli.main import main

    assert main(["bench", "bodyhands", "--frames", "30", "--models", "smplh"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["smplh"]["body_mpjpe_mm"] < 10 and result["smplh"]["hands_mpjpe_mm"] < 10


def test_bench_pipeline_body_hands_command(capsys):
    from mvmocap.cli.main import main

    assert main(["bench", "pipeline", "--exp", "body+hands", "--frames", "10", "--cameras", "3", "--no-video"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["left_hand_found"] > 0.3 and result["right_hand_found"] > 0.3
    assert result["body_kp_mpjpe_mm"] < 50 and result["left_hand_kp_mpjpe_mm"] < 50
    assert result["right_hand_kp_mpjpe_mm"] < 50
