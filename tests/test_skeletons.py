import numpy as np
import pytest

from mvmocap.skeletons import BODY25, FORMATS, HAND21, conversion_plan, convert_keypoints, get_format, guess_format


def test_registry_formats_and_sizes():
    sizes = {name: fmt.num_joints for name, fmt in FORMATS.items()}
    assert sizes == {"body25": 25, "coco17": 17, "halpe26": 26, "blazepose33": 33, "hand21": 21, "bodyhands": 67}
    assert BODY25.joints[:9] == ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
                                 "MidHip")
    assert BODY25.joints[19:] == ("LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")
    assert guess_format(33).name == "blazepose33"
    with pytest.raises(ValueError, match="no keypoint format has 18 joints"):
        guess_format(18)
    with pytest.raises(KeyError, match="unknown keypoint format 'smpl'"):
        get_format("smpl")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_limbs_connect_all_joints(name):
    fmt = FORMATS[name]
    # Every joint is on some limb, and the limbs connect the whole skeleton (MediaPipe's mouth
    # corners form a part of their own).
    seen = {0, fmt.index("LMouth")} if name == "blazepose33" else {0}
    for _ in range(fmt.num_joints):
        for a, b in fmt.limbs:
            if a in seen or b in seen:
                seen |= {a, b}
    assert seen == set(range(fmt.num_joints))


def test_flip_index_pairs_left_and_right():
    flip = BODY25.flip_index
    assert np.array_equal(flip[flip], np.arange(25))
    assert BODY25.joints[flip[BODY25.index("LBigToe")]] == "RBigToe"
    assert flip[BODY25.index("Nose")] == BODY25.index("Nose")
    assert len(BODY25.left_right_pairs) == 11
    assert np.array_equal(HAND21.flip_index, np.arange(21))


def test_coco_to_body25_derives_neck_and_midhip_with_lowest_confidence(rng):
    coco = np.concatenate([rng.uniform(0, 100, (4, 17, 2)), rng.uniform(0.2, 1.0, (4, 17, 1))], -1)
    body = convert_keypoints(coco, "coco17", "body25")
    assert body.shape == (4, 25, 3)
    ls, rs = coco[:, 5], coco[:, 6]
    np.testing.assert_allclose(body[:, BODY25.index("Neck"), :2], (ls[:, :2] + rs[:, :2]) / 2)
    np.testing.assert_allclose(body[:, BODY25.index("Neck"), 2], np.minimum(ls[:, 2], rs[:, 2]))
    np.testing.assert_allclose(body[:, BODY25.index("LAnkle")], coco[:, 15])
    assert np.all(body[:, BODY25.index("LHeel")] == 0)  # coco17 has no feet


def test_derived_joint_is_missing_when_a_source_is_missing(rng):
    coco = np.concatenate([rng.uniform(0, 100, (1, 17, 2)), np.ones((1, 17, 1))], -1)
    coco[0, 11, 2] = 0.0  # LHip missing
    body = convert_keypoints(coco, "coco17", "body25")
    assert np.all(body[0, BODY25.index("MidHip")] == 0)
    assert np.all(body[0, BODY25.index("LHip")] == 0)


def test_blazepose_and_halpe_to_body25():
    plan = conversion_plan("blazepose33", "body25")
    blaze = get_format("blazepose33")
    assert plan[BODY25.index("LBigToe")] == (blaze.index("LFootIndex"),)
    assert plan[BODY25.index("RSmallToe")] == ()
    halpe = conversion_plan("halpe26", "body25")
    assert halpe[BODY25.index("Neck")] == (get_format("halpe26").index("Neck"),)  # direct, not derived
    assert all(p for p in halpe)  # halpe26 covers all of body25
    kp3d = np.ones((2, 3, 33, 4))
    assert convert_keypoints(kp3d, "blazepose33", "body25").shape == (2, 3, 25, 4)
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 17, C\)"):
        convert_keypoints(kp3d, "coco17", "body25")
