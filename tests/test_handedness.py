"""Left/right hand assignment across views, with wrong single-view labels."""

import numpy as np
import pytest

from mvmocap.associate import assign_hands
from mvmocap.detect import HandDetection
from mvmocap.synthetic import ring_rig


def _hand_points(rng, centre):
    return centre + rng.normal(0, 0.04, (21, 3))


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    rig = ring_rig(4, seed=1)
    frames = 30
    left = np.stack([_hand_points(rng, [0.25, 0.1, 1.0 + 0.01 * f]) for f in range(frames)])
    right = np.stack([_hand_points(rng, [-0.25, 0.0, 1.1]) for _ in range(frames)])
    return rng, rig, left, right


def _detections(rng, rig, left, right, wrong_label, drop):
    dets = []
    for f in range(len(left)):
        per_view = []
        for cam in rig:
            views = []
            for truth, label in ((left[f], "L"), (right[f], "R")):
                if rng.random() < drop:
                    continue
                uv = cam.project(truth) + rng.normal(0, 1.0, (21, 2))
                shown = label if rng.random() > wrong_label else ("R" if label == "L" else "L")
                views.append(HandDetection(np.concatenate([uv, np.full((21, 1), 0.9)], 1), shown, 0.9))
            rng.shuffle(views)
            per_view.append(views)
        dets.append(per_view)
    return dets


def _correct(rig, hand, truth):
    """(assigned, correct) detections in ``hand`` (F, V, 21, 3) against the true hand."""
    assigned = correct = 0
    for f in range(len(truth)):
        for v, cam in enumerate(rig):
            if hand[f, v, 0, 2] > 0:
                assigned += 1
                correct += np.linalg.norm(hand[f, v, :, :2] - cam.project(truth[f]), axis=1).mean() < 5
    return assigned, correct


def test_cross_view_consistency_overrides_wrong_labels(scene):
    rng, rig, left, right = scene
    dets = _detections(rng, rig, left, right, wrong_label=0.3, drop=0.15)
    hl, hr = assign_hands(dets, rig)
    (nl, cl), (nr, cr) = _correct(rig, hl, left), _correct(rig, hr, right)
    seen = sum(len(view) for frame in dets for view in frame)
    assert nl + nr == seen  # nothing dropped
    # 30% of the labels are wrong; geometry fixes nearly all. A hand seen by a single view has
    # nothing to be checked against, so a few such detections may keep a wrong label.
    assert cl + cr >= 0.97 * seen
    labels_right = sum((d.label == "L") == (np.linalg.norm(d.keypoints[:, :2] - rig[v].project(left[f]),
                                                          axis=1).mean() < 5)
                       for f, frame in enumerate(dets) for v, view in enumerate(frame) for d in view)
    assert labels_right < 0.8 * seen  # the labels alone were much worse


def test_body_wrists_decide_when_given(scene):
    rng, rig, left, right = scene
    dets = _detections(rng, rig, left, right, wrong_label=1.0, drop=0.0)  # every label wrong
    wrists = np.zeros((len(left), len(rig), 2, 3))
    for v, cam in enumerate(rig):
        wrists[:, v, 0, :2] = cam.project(left[:, 0])
        wrists[:, v, 1, :2] = cam.project(right[:, 0])
    wrists[..., 2] = 0.8
    hl, hr = assign_hands(dets, rig, body_wrists=wrists)
    for hand, truth in ((hl, left), (hr, right)):
        assigned, correct = _correct(rig, hand, truth)
        assert assigned == correct == len(left) * len(rig)
