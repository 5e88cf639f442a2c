import json
import logging

import numpy as np
import pytest

from mvmocap.io import (
    DataError,
    MultiViewKeypoints,
    read_keypoints2d,
    read_keypoints3d,
    write_annots,
    write_keypoints3d,
    write_openpose,
)


def _sequence(rng, cameras=("cam1", "cam2", "cam10"), frames=5, people=(0, 3)):
    data = {}
    for pid in people:
        kp = np.concatenate([rng.uniform(0, 1000, (frames, len(cameras), 25, 2)),
                             rng.uniform(0.1, 1.0, (frames, len(cameras), 25, 1))], -1)
        kp[rng.random(kp.shape[:-1]) < 0.2] = 0.0  # missing detections
        data[pid] = kp
    return MultiViewKeypoints(list(cameras), list(range(10, 10 + frames)), data, "body25")


@pytest.mark.parametrize("writer", [write_annots, write_openpose])
def test_round_trip_keeps_people_frames_and_camera_order(tmp_path, rng, writer):
    seq = _sequence(rng)
    writer(tmp_path, seq)
    back = read_keypoints2d(tmp_path)
    assert back.cameras == ["cam1", "cam2", "cam10"]  # natural order, not string order
    assert back.frames == seq.frames
    assert back.skeleton == "body25"
    assert sorted(back.people) == [0, 3]
    for pid in seq.people:
        np.testing.assert_array_equal(back.people[pid], seq.people[pid])
    assert back.person().shape == (5, 3, 25, 3)
    assert back.select_cameras(["cam10", "cam1"]).person(3).shape == (5, 2, 25, 3)


def test_reads_easymocap_annots_with_hands(tmp_path):
    doc = {"filename": "images/01/000000.jpg", "height": 1080, "width": 1920,
           "annots": [{"personID": 2, "bbox": [0, 0, 10, 10, 0.9],
                       "keypoints": [[float(j), 2.0 * j, 0.5] for j in range(25)],
                       "handl2d": [[1.0, 1.0, 0.7]] * 21, "handr2d": [[2.0, 2.0, 0.8]] * 21}]}
    for cam in ("01", "02"):
        (tmp_path / cam).mkdir()
        (tmp_path / cam / "000000.json").write_text(json.dumps(doc))
    body = read_keypoints2d(tmp_path)
    np.testing.assert_allclose(body.person(2)[0, 1, 7], [7.0, 14.0, 0.5])
    hand = read_keypoints2d(tmp_path, part="handr")
    assert hand.skeleton == "hand21"
    np.testing.assert_allclose(hand.person(2)[0, 0, 20], [2.0, 2.0, 0.8])


def test_openpose_nan_and_zero_confidence_are_missing(tmp_path):
    flat = [100.0, 200.0, 0.9] * 25
    flat[3:6] = [float("nan"), float("nan"), 0.8]
    flat[6:9] = [55.0, 66.0, 0.0]
    for cam in ("a", "b"):
        (tmp_path / cam).mkdir()
        (tmp_path / cam / f"{cam}_000000000000_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": flat}]}))
    kp = read_keypoints2d(tmp_path).person()
    assert np.all(kp[0, :, 1] == 0) and np.all(kp[0, :, 2] == 0)
    np.testing.assert_allclose(kp[0, 0, 0], [100, 200, 0.9])


def test_frames_pair_by_number_not_by_position(tmp_path, rng, caplog):
    seq = _sequence(rng, frames=4)
    write_annots(tmp_path, seq)
    (tmp_path / "cam2" / "000011.json").unlink()  # a frame missing in the middle of one camera
    with caplog.at_level(logging.WARNING):
        back = read_keypoints2d(tmp_path)
    assert "different frame counts (cam1: 4, cam2: 3, cam10: 4)" in caplog.text
    assert back.frames == seq.frames
    kp, truth = back.person(0), seq.people[0]
    assert not kp[1, 1, :, 2].any()  # the missing frame is not seen in cam2 ...
    np.testing.assert_allclose(kp[2:, 1], truth[2:, 1])  # ... and the later frames stay paired
    np.testing.assert_allclose(kp[:, [0, 2]], truth[:, [0, 2]])
    common = read_keypoints2d(tmp_path, common_frames=True)
    assert common.frames == [seq.frames[i] for i in (0, 2, 3)]
    np.testing.assert_allclose(common.person(0), truth[[0, 2, 3]])


def test_bad_files_name_the_file(tmp_path, rng):
    write_annots(tmp_path, _sequence(rng, frames=2))
    (tmp_path / "cam2" / "000011.json").write_text("{not json")
    with pytest.raises(DataError, match=r"cam2/000011\.json: not valid JSON"):
        read_keypoints2d(tmp_path)
    (tmp_path / "cam2" / "000011.json").write_text(json.dumps({"annots": [{"keypoints": [1, 2]}]}))
    with pytest.raises(DataError, match=r"000011\.json: field 'keypoints' has 2 values"):
        read_keypoints2d(tmp_path)
    (tmp_path / "cam2" / "000011.json").write_text(json.dumps({"something": 1}))
    with pytest.raises(DataError, match="neither OpenPose"):
        read_keypoints2d(tmp_path)
    with pytest.raises(DataError, match="no keypoint folder for camera 'cam7'"):
        read_keypoints2d(tmp_path, cameras=["cam1", "cam7"])
    with pytest.raises(DataError, match="no camera sub-folders"):
        read_keypoints2d(tmp_path / "cam1")


def test_all_zero_confidences_warn_and_read_as_missing(tmp_path, rng, caplog):
    seq = _sequence(rng, frames=2)
    for kp in seq.people.values():
        kp[..., 2] = 0.0
    write_openpose(tmp_path, seq)  # people with nothing detected are not written
    with caplog.at_level(logging.WARNING):
        back = read_keypoints2d(tmp_path)
    assert back.people == {} and "no keypoint has a confidence above 0" in caplog.text
    assert back.person().shape == (2, 3, 25, 3) and not back.person().any()


def test_keypoints3d_round_trip(tmp_path, rng):
    kp = np.concatenate([rng.normal(size=(6, 25, 3)), rng.uniform(0, 1, (6, 25, 1))], -1)
    kp[2, 4, 3] = 0.0
    write_keypoints3d(tmp_path, kp, frames=[0, 1, 2, 5, 6, 10], pid=1)
    assert sorted(p.name for p in tmp_path.iterdir())[:2] == ["000000.json", "000001.json"]
    back, frames = read_keypoints3d(tmp_path, pid=1)
    assert frames == [0, 1, 2, 5, 6, 10]
    expected = kp.copy()
    expected[2, 4] = 0.0  # a missing joint is written as zeros
    np.testing.assert_array_equal(back, expected)
    with pytest.raises(DataError, match="no file holds person 4"):
        read_keypoints3d(tmp_path, pid=4)
    with pytest.raises(ValueError, match=r"must be \(F, J, 4\)"):
        write_keypoints3d(tmp_path, kp[..., :3])


def test_hidden_leftovers_of_an_interrupted_write_are_not_read(tmp_path, rng):
    """An atomic write killed midway leaves a hidden temporary file; readers must skip it."""
    from mvmocap.io import read_keypoints3d, write_keypoints3d

    seq = _sequence(rng, frames=3)
    write_annots(tmp_path / "annots", seq)
    (tmp_path / "annots" / "cam1" / ".000010.tmp123.json").write_text("{trunc")
    assert read_keypoints2d(tmp_path / "annots").frames == seq.frames
    kp = np.concatenate([rng.normal(size=(3, 25, 3)), np.ones((3, 25, 1))], -1)
    write_keypoints3d(tmp_path / "k3d", kp, [4, 5, 6])
    (tmp_path / "k3d" / ".000007.tmp9.json").write_text("[")
    back, frames = read_keypoints3d(tmp_path / "k3d")
    assert frames == [4, 5, 6]
    write_keypoints3d(tmp_path / "k3d", kp[:2], [4, 5])  # a shorter rerun replaces the stage's output whole
    assert read_keypoints3d(tmp_path / "k3d")[1] == [4, 5]


def test_the_frame_rate_of_a_detection_cache_comes_from_its_timestamps(tmp_path):
    """A ``--keypoints`` run of a 60 fps detection cache took 30 fps (the fit's smoothing per second
    and the sync's frames were off by two); the files' timestamps say 60."""
    from mvmocap.io import MultiViewKeypoints, keypoint_frame_rate, write_annots

    kp = np.zeros((20, 1, 25, 3))
    kp[..., 2] = 1.0
    write_annots(tmp_path, MultiViewKeypoints(["cam1"], list(range(20)), {0: kp}, "body25",
                                              {"cam1": 0.5 + np.arange(20) / 60.0}))
    assert keypoint_frame_rate(tmp_path / "cam1") == pytest.approx(60.0)
    write_annots(tmp_path / "plain", MultiViewKeypoints(["cam1"], list(range(20)), {0: kp}, "body25"))
    assert keypoint_frame_rate(tmp_path / "plain" / "cam1") is None
