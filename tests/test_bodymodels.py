import sys

import cv2
import numpy as np
import pytest
import torch

from mvmocap.bodymodels import (
    ModelFileError,
    SMPLFamilyModel,
    find_model_file,
    from_standard,
    load_smpl_family,
    read_model_file,
    to_standard,
)
from mvmocap.skeletons import BODY25, HAND21
from mvmocap.synthetic.model_files import make_model_arrays, write_model_file


@pytest.fixture(scope="module")
def smpl_arrays():
    return make_model_arrays("smpl", seed=1)


@pytest.fixture(scope="module")
def smpl(smpl_arrays):
    return SMPLFamilyModel(smpl_arrays, dtype=torch.float64)


@pytest.fixture(scope="module")
def mano():
    return SMPLFamilyModel(make_model_arrays("mano", seed=2), dtype=torch.float64)


def _random_params(model, B, seed=0, scale=0.4):
    g = torch.Generator().manual_seed(seed)
    poses = torch.randn(B, model.pose_dim, generator=g, dtype=torch.float64) * scale
    shapes = torch.randn(B, model.num_shapes, generator=g, dtype=torch.float64)
    Rh = torch.randn(B, 3, generator=g, dtype=torch.float64)
    Th = torch.randn(B, 3, generator=g, dtype=torch.float64)
    return poses, shapes, Rh, Th


@pytest.mark.parametrize("form", ["chumpy", "pkl", "npz"])
def test_all_file_forms_read_the_same_arrays_without_chumpy(tmp_path, smpl_arrays, form):
    path = write_model_file(smpl_arrays, tmp_path / f"SMPL_NEUTRAL.{'npz' if form == 'npz' else 'pkl'}", form)
    assert "chumpy" not in sys.modules
    arrays = read_model_file(path)
    assert "chumpy" not in sys.modules
    for key, value in smpl_arrays.items():
        np.testing.assert_array_equal(arrays[key], value)


def test_untrusted_pickle_content_is_refused(tmp_path):
    import pickle

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"v_template": np.zeros(3), "payload": print}, protocol=2))
    with pytest.raises(ModelFileError, match="refusing to load __builtin__.print"):
        read_model_file(path)
    path.write_bytes(pickle.dumps({"v_template": np.zeros((3, 3))}, protocol=2))
    with pytest.raises(ModelFileError, match=r"missing field\(s\) \['shapedirs'"):
        read_model_file(path)


def test_rest_pose_is_the_template(smpl, smpl_arrays):
    out = smpl(torch.zeros(2, 72, dtype=torch.float64), torch.zeros(1, 10, dtype=torch.float64), keypoints="body25")
    np.testing.assert_allclose(out.vertices[1].numpy(), smpl_arrays["v_template"], atol=1e-6)
    np.testing.assert_allclose(out.joints[0].numpy(), smpl_arrays["J_regressor"] @ smpl_arrays["v_template"], atol=1e-6)


def _reference_vertices(arrays, pose, betas, ids):
    """Straightforward per-vertex LBS from the published definition (NumPy, 4x4 matrices)."""
    J = arrays["J_regressor"].shape[0]
    parents = arrays["kintree_table"][0].astype(np.int64)
    rots = [cv2.Rodrigues(pose[3 * j: 3 * j + 3])[0] for j in range(J)]
    v_shaped = arrays["v_template"] + arrays["shapedirs"][..., : len(betas)] @ betas
    joints = arrays["J_regressor"] @ v_shaped
    feature = np.concatenate([(r - np.eye(3)).ravel() for r in rots[1:]])
    v_posed = v_shaped + arrays["posedirs"] @ feature
    glob = []
    for j in range(J):
        local = np.eye(4)
        local[:3, :3] = rots[j]
        local[:3, 3] = joints[j] - (joints[parents[j]] if j else 0.0)
        glob.append(local if j == 0 else glob[parents[j]] @ local)
    out = []
    for i in ids:
        total = np.zeros((4, 4))
        for j in range(J):
            unposed = np.eye(4)
            unposed[:3, 3] = -joints[j]
            total += arrays["weights"][i, j] * glob[j] @ unposed
        out.append((total @ np.append(v_posed[i], 1.0))[:3])
    posed_joints = np.array([g[:3, 3] for g in glob])
    return np.array(out), posed_joints


def test_lbs_matches_a_per_vertex_reference(smpl, smpl_arrays):
    poses, shapes, _, _ = _random_params(smpl, 2, seed=3, scale=0.5)
    out = smpl(poses, shapes)
    ids = np.random.default_rng(0).choice(smpl.num_vertices, 150, replace=False)
    for b in range(2):
        ref, ref_joints = _reference_vertices(smpl_arrays, poses[b].numpy(), shapes[b].numpy(), ids)
        np.testing.assert_allclose(out.vertices[b, ids].numpy(), ref, atol=1e-9)
        np.testing.assert_allclose(out.joints[b].numpy(), ref_joints, atol=1e-9)


def test_keypoints_only_path_equals_full_mesh_and_body25_definition(smpl):
    poses, shapes, Rh, Th = _random_params(smpl, 5, seed=4)
    full = smpl(poses, shapes, Rh, Th, keypoints="body25")
    fast = smpl.keypoints(poses, shapes, Rh, Th, "body25")
    assert fast.shape == (5, 25, 3)
    np.testing.assert_allclose(fast.numpy(), full.keypoints.numpy(), atol=1e-10)
    kp, v, j = full.keypoints, full.vertices, full.joints
    names = smpl.joint_names
    np.testing.assert_allclose(kp[:, BODY25.index("Nose")], v[:, 332], atol=1e-12)
    np.testing.assert_allclose(kp[:, BODY25.index("RHeel")], v[:, 6787], atol=1e-12)
    np.testing.assert_allclose(kp[:, BODY25.index("LElbow")], j[:, names.index("left_elbow")], atol=1e-12)
    mid = (j[:, names.index("left_hip")] + j[:, names.index("right_hip")]) / 2
    np.testing.assert_allclose(kp[:, BODY25.index("MidHip")], mid, atol=1e-12)


def test_mano_hand21_order(mano):
    poses, shapes, Rh, Th = _random_params(mano, 3, seed=5)
    out = mano(poses, shapes, Rh, Th, keypoints="hand21")
    kp, v, j = out.keypoints, out.vertices, out.joints
    np.testing.assert_allclose(kp[:, HAND21.index("Wrist")], j[:, 0], atol=1e-12)
    np.testing.assert_allclose(kp[:, HAND21.index("Thumb4")], v[:, 744], atol=1e-12)
    np.testing.assert_allclose(kp[:, HAND21.index("Index1")], j[:, mano.joint_names.index("index1")], atol=1e-12)
    np.testing.assert_allclose(kp[:, HAND21.index("Pinky4")], v[:, 671], atol=1e-12)


def test_parameter_conventions_round_trip_exactly(smpl):
    poses, shapes, Rh, Th = _random_params(smpl, 4, seed=6)
    emc = smpl(poses, shapes, Rh, Th).vertices
    std = to_standard(smpl, poses, shapes, Rh, Th)
    # The standard convention: global orientation about the root joint, plus transl.
    std_pose = torch.cat([std["global_orient"], std["body_pose"]], 1)
    np.testing.assert_allclose(smpl(std_pose, std["betas"], Th=std["transl"]).vertices.numpy(), emc.numpy(), atol=1e-9)
    back = from_standard(smpl, **std)
    assert torch.all(back["poses"][:, :3] == 0)
    np.testing.assert_allclose(smpl(**back).vertices.numpy(), emc.numpy(), atol=1e-9)
    # With a zero root pose, the documented closed form holds: transl = Th + R(Rh) J0 - J0.
    poses[:, :3] = 0
    std = to_standard(smpl, poses, shapes, Rh, Th)
    np.testing.assert_allclose(std["global_orient"].numpy(), Rh.numpy(), atol=1e-9)


def test_dtypes_shared_shapes_empty_batch_and_errors(smpl):
    f32 = smpl(torch.zeros(3, 72), torch.zeros(1, 10), keypoints="body25")
    assert f32.vertices.dtype == torch.float32 and f32.keypoints.shape == (3, 25, 3)
    empty = smpl(torch.zeros(0, 72, dtype=torch.float64), keypoints="body25")
    assert empty.vertices.shape == (0, 6890, 3) and empty.keypoints.shape == (0, 25, 3)
    assert smpl.keypoints(torch.zeros(0, 72)).shape == (0, 25, 3)
    with pytest.raises(ValueError, match=r"poses must be \(B, 72\)"):
        smpl(torch.zeros(2, 69))
    with pytest.raises(ValueError, match=r"shapes must be \(B, 10\) or \(1, 10\)"):
        smpl(torch.zeros(2, 72), torch.zeros(3, 10))
    with pytest.raises(ValueError, match="no 'hand21' keypoints; available: \\['body25'\\]"):
        smpl(torch.zeros(1, 72), keypoints="hand21")
    assert smpl.parameter_layout == {"poses": (72,), "shapes": (10,), "Rh": (3,), "Th": (3,)}


def test_gradients_are_finite_and_correct(mano):
    poses, shapes, Rh, Th = _random_params(mano, 2, seed=7)
    params = [p.clone().requires_grad_(True) for p in (poses, shapes, Rh, Th)]

    def keypoints(*p):
        return mano.keypoints(*p, format="hand21")

    assert torch.autograd.gradcheck(keypoints, params, eps=1e-6, atol=1e-5)
    zero = torch.zeros(1, 48, dtype=torch.float64, requires_grad=True)
    mano.keypoints(zero, format="hand21").sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_smplx_expression_and_smplh_hands():
    smplx = SMPLFamilyModel(make_model_arrays("smplx", num_shapes=10, seed=3, dtype=np.float32))
    assert smplx.kind == "smplx" and smplx.num_expression == 10 and smplx.pose_dim == 165
    expr = torch.zeros(1, 10)
    expr[0, 0] = 2.0
    plain = smplx(torch.zeros(1, 165)).vertices
    moved = smplx(torch.zeros(1, 165), expression=expr).vertices
    assert (moved - plain).abs().max() > 1e-3
    smplh = SMPLFamilyModel(make_model_arrays("smplh", seed=3, dtype=np.float32))
    assert smplh.keypoint_formats == ["body25", "bodyhands", "handl21", "handr21"]
    assert smplh.keypoints(torch.zeros(2, 156), format="handr21").shape == (2, 21, 3)


def test_user_regressor_file_replaces_body25(tmp_path, smpl_arrays):
    write_model_file(smpl_arrays, tmp_path / "SMPL_NEUTRAL.npz", "npz")
    rng = np.random.default_rng(0)
    matrix = np.zeros((25, 6890))
    for k in range(25):
        cols = rng.choice(6890, 5, replace=False)
        matrix[k, cols] = rng.dirichlet(np.ones(5))
    np.save(tmp_path / "J_regressor_body25.npy", matrix)
    model = load_smpl_family("smpl", path=tmp_path, regressor=tmp_path / "J_regressor_body25.npy")
    poses = torch.randn(2, 72, dtype=torch.float64) * 0.3
    out = model(poses, keypoints="body25")
    expected = np.einsum("kv,bvc->bkc", matrix, out.vertices.numpy())
    np.testing.assert_allclose(out.keypoints.numpy(), expected, atol=1e-6)  # float32 model
    np.testing.assert_allclose(model.keypoints(poses).numpy(), out.keypoints.numpy(), atol=1e-6)
    np.save(tmp_path / "bad.npy", matrix[:, :100])
    with pytest.raises(ValueError, match=r"bad\.npy: regressor must be \(K, 6890\)"):
        load_smpl_family("smpl", path=tmp_path, regressor=tmp_path / "bad.npy")


def test_model_search_order_and_helpful_error(tmp_path, monkeypatch, smpl_arrays):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MVMOCAP_MODELS", raising=False)
    with pytest.raises(ModelFileError) as err:
        find_model_file("smpl", "female")
    message = str(err.value)
    assert "SMPL_FEMALE.pkl" in message and "https://smpl.is.tue.mpg.de" in message
    assert str(tmp_path / "xdg" / "mvmocap" / "models") in message and "MVMOCAP_MODELS" in message
    user = write_model_file(smpl_arrays, tmp_path / "xdg" / "mvmocap" / "models" / "smpl" / "SMPL_FEMALE.npz", "npz")
    assert find_model_file("smpl", "female") == user
    env = write_model_file(smpl_arrays, tmp_path / "env" / "SMPL_FEMALE.pkl", "pkl")
    monkeypatch.setenv("MVMOCAP_MODELS", str(tmp_path / "env"))
    assert find_model_file("smpl", "female") == env
    explicit = write_model_file(smpl_arrays, tmp_path / "mine.pkl", "pkl")
    assert find_model_file("smpl", "female", explicit) == explicit
    with pytest.raises(ValueError, match="this is a smpl model file, not mano"):
        load_smpl_family("mano", "right", path=explicit)


def test_load_body_model_specs(tmp_path, monkeypatch, smpl_arrays):
    from mvmocap.bodymodels import load_body_model

    write_model_file(smpl_arrays, tmp_path / "SMPL_MALE.pkl", "chumpy")
    write_model_file(make_model_arrays("mano", seed=0), tmp_path / "mano" / "MANO_LEFT.pkl", "chumpy")
    monkeypatch.setenv("MVMOCAP_MODELS", str(tmp_path))
    assert load_body_model("smpl:male").kind == "smpl"
    assert load_body_model(f"smpl:{tmp_path / 'SMPL_MALE.pkl'}", dtype=torch.float64).v_template.dtype == torch.float64
    assert load_body_model("mano:left").keypoint_formats == ["hand21"]
    with pytest.raises(ModelFileError, match="no smpl model file \\(neutral\\) found"):
        load_body_model("smpl")
