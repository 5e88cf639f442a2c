"""Hand models and hand fitting: Anny's free hand, MANO-format stand-ins, the hand benchmark."""

import json

import numpy as np
import pytest
import torch

from mvmocap.bodymodels import SMPLFamilyModel, load_body_model
from mvmocap.bodymodels.anatomy import hand_joints
from mvmocap.cli.main import main
from mvmocap.fit import BodyFitter
from mvmocap.pipeline.experiment import load_experiment
from mvmocap.skeletons import HAND21
from mvmocap.synthetic.body_motion import corrupt_keypoints3d
from mvmocap.synthetic.hand_motion import hand_motion
from mvmocap.synthetic.model_files import make_model_arrays


@pytest.fixture(scope="module")
def anny_hand():
    return load_body_model("anny-hand:R", dtype=torch.float64)


def test_anny_hand_keypoints(anny_hand):
    assert anny_hand.keypoint_formats == ["hand21"] and anny_hand.pose_dim == 48
    poses = torch.randn(3, 48, dtype=torch.float64) * 0.3
    shapes = (torch.rand(1, 6, dtype=torch.float64) - 0.5) * 0.5
    full = anny_hand(poses, shapes, keypoints="hand21")
    np.testing.assert_allclose(anny_hand.keypoints(poses, shapes, format="hand21").numpy(), full.keypoints.numpy(),
                               atol=1e-10)
    names = anny_hand.joint_names
    np.testing.assert_allclose(full.keypoints[:, HAND21.index("Index2")], full.joints[:, names.index("finger2-2.R")])
    rest = anny_hand.keypoints(torch.zeros(1, 48, dtype=torch.float64), format="hand21")[0].numpy()
    # Each finger's tip lies beyond its last joint, 1 to 4 cm away, in the finger's direction.
    for finger in ("Thumb", "Index", "Middle", "Ring", "Pinky"):
        tip, dip, pip = (rest[HAND21.index(f"{finger}{k}")] for k in (4, 3, 2))
        assert 0.01 < np.linalg.norm(tip - dip) < 0.04 and np.dot(tip - dip, dip - pip) > 0


def test_hand_joint_roles():
    mano = SMPLFamilyModel(make_model_arrays("mano", seed=0))
    assert hand_joints(mano)["index1"] == mano.joint_names.index("index1")
    smplh = SMPLFamilyModel(make_model_arrays("smplh", seed=0))
    assert hand_joints(smplh, "l")["thumb3"] == smplh.joint_names.index("left_thumb3")
    with pytest.raises(ValueError, match="has no r hand joints"):
        hand_joints(SMPLFamilyModel(make_model_arrays("smpl", seed=0)))


@pytest.mark.slow
@pytest.mark.parametrize("which", ["mano", "anny"])
def test_hand_fit_recovers_a_noisy_motion(which, anny_hand):
    model = SMPLFamilyModel(make_model_arrays("mano", seed=1)) if which == "mano" else anny_hand
    truth = hand_motion(model, 90, seed=4)
    true_kp = model.sequence(truth, "hand21")
    observed = corrupt_keypoints3d(true_kp, noise_m=0.003, outlier_ratio=0.05, outlier_range=(0.02, 0.05), seed=5)
    fit = BodyFitter(model, load_experiment("hands").fit, keypoint_format="hand21").fit(observed)
    err = np.linalg.norm(fit.keypoints - true_kp, axis=-1)
    assert err.mean() < 0.004  # below the 3 mm-per-axis input noise (about 4.8 mm), outliers included
    assert np.percentile(err, 99) < 0.012


@pytest.mark.slow
def test_bench_hands_command(capsys):
    assert main(["bench", "hands", "--frames", "30", "--models", "mano"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["mano"]["kp_mpjpe_mm"] < 6 and result["mano"]["input_mpjpe_mm"] > 4


@pytest.mark.slow
def test_hands_pipeline_end_to_end(tmp_path, capsys):
    from mvmocap.pipeline.hands import hand_models
    from mvmocap.synthetic import make_hand_capture

    root = make_hand_capture(tmp_path / "data", hand_models(None), frames=20, seed=1)
    out = tmp_path / "out"
    assert main(["run", str(root), "--exp", "hands", "--out", str(out)]) == 0
    assert "mvmocap run --exp hands: summary" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    fitted = [s for s in ("l", "r") if (out / f"hand{s}" / "params.npz").exists()]
    assert fitted  # MediaPipe may miss a small hand in most views: at least one is fitted
    for side in fitted:
        truth = np.load(root / "gt" / f"hand{side}.npz")["keypoints3d"]
        fit = np.load(out / f"hand{side}" / "params.npz")["keypoints3d"]
        assert np.linalg.norm(fit - truth, axis=-1).mean() < 0.04  # MediaPipe's hand points are not Anny's
        assert report["hands"][side]["keypoints_found_fraction"] >= 0.3
    assert (out / "videos" / "overlay.mp4").is_file()
    assert len(list((out / "keypoints2d_hands" / "cam1").glob("*.json"))) == 20


def test_mano_pca_poses():
    arrays = make_model_arrays("mano", seed=3)
    full = SMPLFamilyModel(arrays, dtype=torch.float64)
    pca = SMPLFamilyModel(arrays, dtype=torch.float64, hand_pca=45)
    assert pca.pose_dim == 48 and SMPLFamilyModel(arrays, hand_pca=12).pose_dim == 15
    poses = torch.randn(4, 48, dtype=torch.float64) * 0.3
    comps = torch.tensor(arrays["hands_components"])
    coeffs = (poses[:, 3:] - torch.tensor(arrays["hands_mean"])) @ comps.T  # the components are orthonormal
    np.testing.assert_allclose(pca.keypoints(torch.cat([poses[:, :3], coeffs], 1), format="hand21").numpy(),
                               full.keypoints(poses, format="hand21").numpy(), atol=1e-10)
    truth = hand_motion(full, 60, seed=2)
    true_kp = full.sequence(truth, "hand21")
    observed = corrupt_keypoints3d(true_kp, noise_m=0.003, outlier_ratio=0.0, seed=3)
    fit = BodyFitter(SMPLFamilyModel(arrays, hand_pca=45), load_experiment("hands").fit,
                     keypoint_format="hand21").fit(observed)
    assert np.linalg.norm(fit.keypoints - true_kp, axis=-1).mean() < 0.004
    with pytest.raises(ValueError, match="hand_pca needs a MANO, SMPL-H or SMPL-X file"):
        SMPLFamilyModel(make_model_arrays("smpl", seed=0), hand_pca=6)
