"""The subject among bystanders, left/right swaps undone, held-out reprojection errors."""

import numpy as np
import pytest

from mvmocap.associate import (
    SubjectSettings,
    choose_subject,
    cluster_frame_people,
    fix_left_right,
    limb_groups,
    link_tracks,
    mirror_distance,
)
from mvmocap.skeletons import get_format
from mvmocap.synthetic import generate_motion, observe, ring_rig
from mvmocap.triangulate import heldout_errors, heldout_summary

FLIP = get_format("body25").flip_index


@pytest.fixture(scope="module")
def scene():
    """A subject seen by 5 cameras, a bystander 3 m away seen by 2 of them, candidates shuffled."""
    rig = ring_rig(5, 3.5, image_size=(1280, 720), seed=2)
    F = 60
    subject = generate_motion("mixed", F, 30.0, seed=1)
    bystander = generate_motion("walk", F, 30.0, seed=2) + np.array([0.0, 2.8, 0.0])
    obs_s = observe(rig, subject, noise_px=2.0, outlier_ratio=0.02, dropout_ratio=0.05, seed=3).keypoints2d
    obs_b = observe(rig, bystander, noise_px=2.0, outlier_ratio=0.02, dropout_ratio=0.05, seed=4).keypoints2d
    obs_b[:, [0, 1, 3]] = 0.0  # the bystander is only seen by cam3 and cam5
    obs_s[10:15, 1] = 0.0  # the subject leaves cam2 for a while
    rng = np.random.default_rng(0)
    cands = np.stack([obs_s, obs_b], axis=2)  # (F, V, 2, J, 3)
    order = rng.random((F, 5)) < 0.5  # per view-frame, the bystander first or second
    cands[order] = cands[order][:, ::-1]
    return rig, subject, obs_s, cands, order


def test_subject_chosen_in_every_view_frame_never_the_bystander(scene):
    rig, _, obs_s, cands, order = scene
    choice = choose_subject(rig, cands, fps=30.0)
    seen = obs_s[..., 2].max(-1) > 0
    expected = np.where(order, 1, 0)
    assert (choice.assignment[seen] == expected[seen]).all()
    assert (choice.assignment[~seen] == -1).all()
    np.testing.assert_allclose(choice.keypoints2d[seen], obs_s[seen])
    assert choice.tracks >= 2  # the bystander was seen as a person (two views), then dropped
    assert choice.report["view_frames_assigned"] == int(seen.sum())
    assert choice.report["detections_dropped"] == int((cands[..., 2].max(-1) > 0).sum() - seen.sum())


def test_frames_clustered_in_threads_give_the_same_people(scene):
    """Chunks of frames clustered side by side (threads) find the clusters found one after another."""
    rig, _, _, cands, _ = scene
    long = np.concatenate([cands] * 8)  # 480 frames: two chunks of frames
    one, three = (cluster_frame_people(rig, long, settings=SubjectSettings(), threads=n) for n in (1, 3))
    assert sum(map(len, one)) >= len(long)  # everyone found
    for a, b in zip(one, three, strict=True):
        assert len(a) == len(b)
        for (views_a, centre_a), (views_b, centre_b) in zip(a, b, strict=True):
            np.testing.assert_array_equal(views_a, views_b)
            np.testing.assert_array_equal(centre_a, centre_b)


def test_most_confident_detection_does_not_win(scene):
    """The bystander is made far more confident in its two views: the subject still wins."""
    rig, _, obs_s, cands, order = scene
    loud = cands.copy()
    by = np.where(order, 0, 1)
    f, v = np.indices(by.shape)
    loud[f, v, by, :, 2] = np.where(loud[f, v, by, :, 2] > 0, 1.0, 0.0)
    sub = np.where(order, 1, 0)
    loud[f, v, sub, :, 2] = np.where(loud[f, v, sub, :, 2] > 0, 0.35, 0.0)
    choice = choose_subject(rig, loud, fps=30.0)
    seen = obs_s[..., 2].max(-1) > 0
    assert (choice.assignment[seen] == sub[seen]).all()


def test_settings_are_checked():
    with pytest.raises(ValueError, match=r"associate.gate must be in \(0, 1\)"):
        SubjectSettings(gate=2.0)
    with pytest.raises(ValueError, match="candidates must be"):
        choose_subject(ring_rig(3), np.zeros((4, 2, 1, 25, 3)))


def test_mirror_distance_ignores_swaps():
    points = np.random.default_rng(0).uniform(0, 500, (25, 2))
    det = np.concatenate([points[FLIP], np.ones((25, 1))], -1)  # every label swapped
    assert mirror_distance(det, points, FLIP, 0.1) == pytest.approx(0.0)
    det[:, 2] = 0
    assert mirror_distance(det, points, FLIP, 0.1) == np.inf


def test_left_right_swaps_flipped_back_per_limb(scene):
    rig, _, obs_s, _, _ = scene
    clean = obs_s.copy()
    swapped = clean.copy()
    legs = limb_groups("body25")["legs"]
    swapped[20:30, 2][:, legs] = clean[20:30, 2][:, FLIP[legs]]  # one view: only the legs, 10 frames
    swapped[40:44, 4] = clean[40:44, 4][:, FLIP]  # another view: the whole body, 4 frames
    fixed, flips = fix_left_right(rig, swapped, threshold_px=20.0)
    groups = limb_groups("body25")
    names = list(groups)
    expected = np.zeros_like(flips)
    expected[20:30, 2, names.index("legs")] = True
    expected[40:44, 4, :] = True
    limbs = [names.index("arms"), names.index("legs")]
    assert (flips[..., limbs] == expected[..., limbs]).all()
    # eyes and ears lie a few pixels from their mirror images: flipped back where that is clear, never wrongly
    head = names.index("head")
    assert not flips[..., head][~expected[..., head]].any() and flips[40:44, 4, head].sum() >= 2
    body = np.setdiff1d(np.arange(25), groups["head"])
    np.testing.assert_allclose(fixed[:, :, body], clean[:, :, body])
    # a clean capture is left alone
    again, none = fix_left_right(rig, clean, threshold_px=20.0)
    assert not none.any() and np.array_equal(again, clean)


def test_heldout_errors_compare_swapped_views_swapped_back(scene):
    rig, _, obs_s, _, _ = scene
    kp = obs_s.copy()
    kp[:, 3] = obs_s[:, 3][:, FLIP]  # cam4 swaps everything, all the time
    plain = heldout_summary(heldout_errors(rig, kp, threshold_px=20.0), rig.names)
    fair = heldout_summary(heldout_errors(rig, kp, FLIP, threshold_px=20.0), rig.names)
    assert fair["per_camera"]["cam4"] < 5 < plain["per_camera"]["cam4"]
    assert fair["per_camera"]["cam1"] < 5
    assert heldout_summary(heldout_errors(rig.subset(["cam1", "cam2"]), kp[:, :2]), ["cam1", "cam2"]) == {
        "heldout_px": None, "per_camera": {"cam1": None, "cam2": None}}


def test_many_track_ids_are_packed(scene):
    """A detector that gives the bystander a new id every few frames: 12 id columns, 2 people."""
    rig, _, obs_s, cands, order = scene
    F = len(cands)
    wide = np.zeros((F, 5, 12, 25, 3))
    sub = np.where(order, 1, 0)
    f, v = np.indices(sub.shape)
    wide[:, :, 0] = cands[f, v, sub]
    for k in range(F):
        wide[k, :, 1 + (k // 6)] = cands[k, np.arange(5), 1 - sub[k]]
    choice = choose_subject(rig, wide, fps=30.0)
    seen = obs_s[..., 2].max(-1) > 0
    assert (choice.assignment[seen] == 0).all() and (choice.assignment[~seen] == -1).all()


def test_nobody_detected_gives_an_empty_choice():
    for views in (2, 4):
        choice = choose_subject(ring_rig(views), np.zeros((5, views, 0, 25, 3)))
        assert choice.keypoints2d.shape == (5, views, 25, 3) and not choice.keypoints2d.any()
        assert (choice.assignment == -1).all() and choice.report["view_frames_assigned"] == 0


def test_a_one_frame_false_cluster_does_not_take_the_track_over():
    """The subject walks 3 cm a frame; in frame 10 a false cluster (two views' detections of
    different people agreeing by chance) lies where the subject will be in frame 13. The subject's
    own track, seen in the frame before, continues: nearest first would hand the subject's later
    frames to the false cluster's track and split the subject in two."""
    views = np.zeros(4, dtype=int)
    clusters = [[(views, np.array([0.03 * f, 0.0, 0.9]))] for f in range(40)]
    clusters[10].append((views, np.array([0.03 * 13, 0.0, 1.1])))
    tracks = link_tracks(clusters, 30.0, SubjectSettings())
    assert sorted(len(t) for t in tracks) == [1, 40]
    assert all(c == 0 for c in max(tracks, key=len).values())
