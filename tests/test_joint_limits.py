"""Finger anatomy and joint limits: which way fingers bend, left hands as mirror images, the
MANO_LEFT shape-direction defect, and the limits acting in a hand fit."""

import numpy as np
import pytest
import torch

from mvmocap.bodymodels import SMPLFamilyModel, load_smpl_family
from mvmocap.bodymodels.anatomy import finger_joints, hand_joints, hand_sides
from mvmocap.fit import BodyFitter
from mvmocap.fit.joint_limits import JointLimitPrior
from mvmocap.pipeline.experiment import load_experiment
from mvmocap.skeletons import HAND21
from mvmocap.synthetic.hand_motion import hand_motion
from mvmocap.synthetic.model_files import make_model_arrays, mirror_hand_arrays, write_model_file

AXIAL_MIRROR = np.array([1.0, -1.0, -1.0])  # a rotation axis seen in the mirror x -> -x


@pytest.fixture(scope="module")
def mano_pair():
    right = make_model_arrays("mano", seed=0)
    return (SMPLFamilyModel(right, dtype=torch.float64),
            SMPLFamilyModel(mirror_hand_arrays(right), dtype=torch.float64, hand_side="l"))


@pytest.mark.parametrize("side", ["R", "L"])
def test_palm_side_agrees_with_the_thumb_of_annys_hands(side):
    """An anatomical fact the convention does not use: the rest thumb tip lies in front of the palm."""
    from mvmocap.bodymodels.anny_model import AnnyModel

    model = AnnyModel(hand=side, dtype=torch.float64)
    fingers = finger_joints(model, side.lower())
    out = model(torch.zeros(1, model.pose_dim, dtype=torch.float64), keypoints="hand21", vertices=False)
    tip = out.keypoints[0, HAND21.index("Thumb4")].numpy()
    base = out.joints[0, hand_joints(model, side.lower())["middle1"]].numpy()
    assert (tip - base) @ fingers["middle1"].volar > 0.02  # metres towards the palm side
    # Anny's hand rig poses in its root's reference axes, not the model frame.
    assert not np.allclose(model.pose_frame, np.eye(3))


def test_left_hand_mirrors_the_right(mano_pair):
    right, left = mano_pair
    assert hand_sides(right) == ["r"] and hand_sides(left) == ["l"]
    fr, fl = finger_joints(right, "r"), finger_joints(left, "l")
    for name in fr:
        np.testing.assert_allclose(fl[name].flexion, AXIAL_MIRROR * fr[name].flexion, atol=1e-9)
    truth_r, truth_l = hand_motion(right, 20, seed=3, side="r"), hand_motion(left, 20, seed=3, side="l")
    np.testing.assert_allclose(truth_l["poses"], truth_r["poses"] * np.tile(AXIAL_MIRROR, 16), atol=1e-9)
    shapes = np.random.default_rng(0).normal(0, 1, (1, 10))
    params_r = {"poses": truth_r["poses"], "shapes": shapes, "Rh": np.zeros((20, 3)), "Th": np.zeros((20, 3))}
    params_l = {**params_r, "poses": truth_l["poses"]}
    np.testing.assert_allclose(left.sequence(params_l), right.sequence(params_r) * [-1, 1, 1], atol=1e-9)


def test_mano_left_shape_defect_mended_next_to_the_right_file(tmp_path):
    right = make_model_arrays("mano", seed=0)
    write_model_file(right, tmp_path / "MANO_RIGHT.pkl", "chumpy")
    write_model_file(mirror_hand_arrays(right, defective=True), tmp_path / "MANO_LEFT.pkl", "chumpy")
    alone = tmp_path / "alone"
    write_model_file(mirror_hand_arrays(right, defective=True), alone / "MANO_LEFT.pkl", "chumpy")
    shapes = torch.tensor(np.random.default_rng(1).normal(0, 1, (1, 10)))
    zero = torch.zeros(1, 48, dtype=torch.float64)
    mirrored = SMPLFamilyModel(right).double()(zero, shapes).vertices[0].numpy() * [-1, 1, 1]

    mended = load_smpl_family("mano", "left", tmp_path).double()
    assert mended.hand_side == "l"
    np.testing.assert_allclose(mended(zero, shapes).vertices[0].numpy(), mirrored, atol=1e-6)
    as_stored = load_smpl_family("mano", "left", alone).double()  # no right file to compare with
    assert np.abs(as_stored(zero, shapes).vertices[0].numpy() - mirrored).max() > 1e-3
    assert load_smpl_family("mano", "right", tmp_path).hand_side == "r"


def test_fingers_bend_towards_the_palm_only(mano_pair):
    right, _ = mano_pair
    prior = JointLimitPrior.for_model(right).double()
    pip = finger_joints(right, "r")["index2"]
    zero = torch.zeros(1, 48, dtype=torch.float64)

    def posed(axis, degrees):
        p = zero.clone()
        p[0, 3 * pip.joint:3 * pip.joint + 3] = torch.tensor(axis * np.deg2rad(degrees))
        return p

    assert prior(zero) == 0 and prior(posed(pip.flexion, 100)) == 0
    np.testing.assert_allclose(prior(posed(pip.flexion, -25)).item(), np.deg2rad(20) ** 2)  # 5 degrees allowed
    np.testing.assert_allclose(prior(posed(pip.bone, 18)).item(), np.deg2rad(10) ** 2)  # 8 degrees of twist
    # The same limits reach fingers posed by PCA coefficients.
    arrays = make_model_arrays("mano", seed=0)
    pca = SMPLFamilyModel(arrays, dtype=torch.float64, hand_pca=45)
    back = posed(pip.flexion, -25)
    coeffs = (back[:, 3:] - torch.tensor(arrays["hands_mean"])) @ torch.tensor(arrays["hands_components"]).T
    np.testing.assert_allclose(JointLimitPrior.for_model(pca).double()(torch.cat([back[:, :3], coeffs], 1)).item(),
                               np.deg2rad(20) ** 2)


def test_hand_fit_keeps_fingers_from_bending_backwards(mano_pair):
    """Keypoints of fingers bent 40 degrees backwards at their middle joints: without limits the
    fit follows them, with the limits it stops near the straight finger."""
    right, _ = mano_pair
    fingers = finger_joints(right, "r")
    frames = 20
    poses = np.zeros((frames, 48))
    for name in ("index2", "middle2", "ring2", "pinky2"):
        j = fingers[name].joint
        poses[:, 3 * j:3 * j + 3] = fingers[name].flexion * np.deg2rad(-40)
    truth = {"poses": poses, "shapes": np.zeros((1, 10)), "Rh": np.zeros((frames, 3)), "Th": np.zeros((frames, 3))}
    observed = np.concatenate([right.sequence(truth, "hand21"), np.ones((frames, 21, 1))], -1)
    config = load_experiment("hands").fit

    def middle_joint_flexion(weight):
        config.stages["poses"].weights["joint_limits"] = weight
        fit = BodyFitter(right, config, keypoint_format="hand21").fit(observed)
        return np.rad2deg([fit.poses[:, 3 * fingers[n].joint:3 * fingers[n].joint + 3] @ fingers[n].flexion
                           for n in ("index2", "middle2", "ring2", "pinky2")])

    assert np.median(middle_joint_flexion(0.0)) < -30
    assert np.median(middle_joint_flexion(1.0)) > -12
