"""Anny adapter: runs on the real Anny assets shipped in its PyPI package (no download)."""

import numpy as np
import pytest
import torch

from mvmocap.bodymodels import from_standard, load_body_model, to_standard
from mvmocap.geometry.torch_rotations import axis_angle_to_matrix_t
from mvmocap.skeletons import BODY25


@pytest.fixture(scope="module")
def anny64():
    from mvmocap.bodymodels.anny_model import AnnyModel

    return AnnyModel(dtype=torch.float64)


def _params(model, B, seed=0):
    g = torch.Generator().manual_seed(seed)
    poses = torch.randn(B, model.pose_dim, generator=g, dtype=torch.float64) * 0.3
    shapes = (torch.rand(1, 6, generator=g, dtype=torch.float64) - 0.5) * 0.6
    return poses, shapes, torch.randn(B, 3, generator=g, dtype=torch.float64), torch.randn(B, 3, generator=g,
                                                                                          dtype=torch.float64)


def test_matches_annys_own_forward(anny64):
    poses, shapes, _, _ = _params(anny64, 3)
    ours = anny64(poses, shapes)
    delta = torch.eye(4, dtype=torch.float64).repeat(3, anny64.num_joints, 1, 1)
    delta[:, anny64.posed_index, :3, :3] = axis_angle_to_matrix_t(poses.reshape(3, -1, 3))
    phenotype = {k: float(shapes[0, i]) + 0.5 for i, k in enumerate(("gender", "age", "muscle", "weight", "height",
                                                                       "proportions"))}
    ref = anny64.anny(pose_parameters=delta, phenotype_kwargs=phenotype)
    np.testing.assert_allclose(ours.vertices.numpy(), ref["vertices"].numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.joints.numpy(), ref["bone_poses"][..., :3, 3].numpy(), atol=1e-10)


def test_folded_keypoints_equal_the_mesh_regression(anny64):
    poses, shapes, Rh, Th = _params(anny64, 4, seed=1)
    full = anny64(poses, shapes, Rh, Th, keypoints="body25")
    fast = anny64.keypoints(poses, shapes, Rh, Th)
    np.testing.assert_allclose(fast.numpy(), full.keypoints.numpy(), atol=1e-9)
    per_frame = (torch.rand(4, 6, dtype=torch.float64) - 0.5) * 0.6  # per-frame shapes too
    np.testing.assert_allclose(anny64.keypoints(poses, per_frame).numpy(),
                               anny64(poses, per_frame, keypoints="body25").keypoints.numpy(), atol=1e-9)
    whole = anny64(poses, shapes, Rh, Th, keypoints="bodyhands").keypoints  # body25 + hands, joints included
    np.testing.assert_allclose(anny64.keypoints(poses, shapes, Rh, Th, format="bodyhands").numpy(), whole.numpy(),
                               atol=1e-9)
    np.testing.assert_allclose(whole[:, :25].numpy(), full.keypoints.numpy(), atol=1e-12)
    kp = full.keypoints
    mean = (kp[:, BODY25.index("LShoulder")] + kp[:, BODY25.index("RShoulder")]) / 2
    np.testing.assert_allclose(kp[:, BODY25.index("Neck")].numpy(), mean.numpy(), atol=1e-12)


def test_reference_pose_is_a_standing_human(anny64):
    kp = anny64.keypoints(torch.zeros(1, anny64.pose_dim, dtype=torch.float64))[0].numpy()
    z = {name: kp[BODY25.index(name), 2] for name in BODY25.joints}
    assert z["Nose"] > z["Neck"] > z["MidHip"] > z["RKnee"] > z["RAnkle"] > z["RHeel"] - 0.05
    height = kp[:, 2].max() - kp[:, 2].min()
    assert 1.4 < height < 1.9  # nose to heel of an adult, metres
    # Left is +x for Anny, as in SMPL: the left shoulder is on the +x side of the right one.
    assert kp[BODY25.index("LShoulder"), 0] > kp[BODY25.index("RShoulder"), 0]


def test_conventions_round_trip(anny64):
    poses, shapes, Rh, Th = _params(anny64, 3, seed=2)
    emc = anny64(poses, shapes, Rh, Th).vertices
    std = to_standard(anny64, poses, shapes, Rh, Th)
    std_pose = torch.cat([std["global_orient"], std["body_pose"]], 1)
    np.testing.assert_allclose(anny64(std_pose, std["betas"], Th=std["transl"]).vertices.numpy(), emc.numpy(),
                               atol=1e-8)
    np.testing.assert_allclose(anny64(**from_standard(anny64, **std)).vertices.numpy(), emc.numpy(), atol=1e-8)


def test_default_model_dtypes_gradients_and_empty_batch():
    model = load_body_model()  # no name: Anny, float32
    assert model.name == "anny" and model.num_shapes == 6
    assert model.keypoint_formats == ["body25", "bodyhands", "handl21", "handr21"]
    poses = (torch.randn(2, model.pose_dim, dtype=torch.float64) * 0.2).requires_grad_(True)
    shapes = torch.zeros(1, 6, dtype=torch.float64, requires_grad=True)
    kp = model.keypoints(poses, shapes)
    assert kp.dtype == torch.float64 and kp.shape == (2, 25, 3)
    kp.square().sum().backward()
    assert torch.isfinite(poses.grad).all() and poses.grad.abs().sum() > 0
    assert torch.isfinite(shapes.grad).all() and shapes.grad.abs().sum() > 0
    empty = model(torch.zeros(0, model.pose_dim), keypoints="body25")
    assert empty.vertices.shape == (0, model.num_vertices, 3) and empty.keypoints.shape == (0, 25, 3)
    with pytest.raises(ValueError, match="unknown body model 'smpl-y'"):
        load_body_model("smpl-y")


@pytest.mark.parametrize("rig", ["fingers", "hand"])
def test_posed_chain_equals_annys_whole_rig_chain(rig):
    """The transforms from the chain of posed bones (root, body, fingers; or a hand rig) are Anny's own."""
    from mvmocap.bodymodels.anny_model import ANNY_BODY_BONES, ANNY_FINGER_BONES, AnnyModel

    model = AnnyModel(posed_bones=ANNY_BODY_BONES + ANNY_FINGER_BONES, dtype=torch.float64) if rig == "fingers" \
        else AnnyModel(hand="R", dtype=torch.float64)
    poses, shapes, _, _ = _params(model, 5, seed=3)
    rest = model._rest(shapes)["rest_bone_poses"]
    ours = model._bone_transforms(poses, rest)
    theirs = model.anny.get_bone_transforms(model._bone_deltas(poses), rest)
    for mine, anny_own in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.numpy(), anny_own.numpy(), atol=1e-12)
