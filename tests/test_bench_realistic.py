"""``mvmocap bench realistic``: the floors it reports next to its figures (the detector's own error
against the truth and its apparent lag) and the cameras it starts apart."""

import logging

import numpy as np
import pytest

from mvmocap.bench.realistic import _detector_lags, _truth_errors
from mvmocap.skeletons import get_format
from mvmocap.synthetic import CaptureSpec, make_capture


def _shifted_projections(cap, lags: list[float]) -> np.ndarray:
    """(F, V, 25, 3) each camera's projection of the truth at frame k + its lag (linear between frames)."""
    F = len(cap.points3d)
    out = np.zeros((F, len(cap.rig), 25, 3))
    for v, (cam, lag) in enumerate(zip(cap.rig, lags, strict=True)):
        at = np.clip(np.arange(F) + lag, 0, F - 1)
        lo = np.minimum(np.floor(at).astype(int), F - 2)
        w = (at - lo)[:, None, None]
        points = (1 - w) * cap.points3d[lo] + w * cap.points3d[lo + 1]
        out[:, v, :, :2], out[:, v, :, 2] = cam.project(points), 0.9
    return out


def test_detector_lags_recover_a_known_shift_per_camera():
    cap = make_capture(CaptureSpec(frames=90, cameras=3, image_size=(1280, 720), seed=2))
    detections = _shifted_projections(cap, [0.0, 0.3, -0.46])
    lags = _detector_lags(cap.rig, detections, [cap.points3d] * 3, [np.arange(90)] * 3)
    np.testing.assert_allclose(list(lags.values()), [0.0, 0.3, -0.46], atol=0.021)


def test_truth_errors_compare_a_left_right_swap_swapped_back():
    """A swapped view-frame compared swapped back; a camera that stopped filming early has no
    error where it filmed nothing."""
    cap = make_capture(CaptureSpec(frames=20, cameras=2, image_size=(1280, 720), seed=3))
    detections = _shifted_projections(cap, [0.0, 0.0])
    flip = get_format("body25").flip_index
    detections[5, 1] = detections[5, 1, flip]  # one view-frame with every label swapped
    detections[6, 0, :, :2] += [3.0, 4.0]  # one 5 px off
    detections[15:, 1] = 0.0  # camera 2 filmed 15 frames
    errors = _truth_errors(cap.rig, detections, [cap.points3d, cap.points3d[:15]], [np.arange(20), np.arange(15)],
                           flip)
    assert np.nanmax(errors[5, 1]) < 1e-6
    np.testing.assert_allclose(errors[6, 0], 5.0, atol=1e-6)
    assert np.nanmax(np.delete(errors, 6, axis=0)) < 1e-6
    assert np.isnan(errors[15:, 1]).all() and np.isfinite(errors[15:, 0]).all()


def test_a_non_body_experiment_is_refused_before_the_render(tmp_path, caplog):
    from mvmocap.cli.main import main

    with caplog.at_level(logging.ERROR):
        assert main(["bench", "realistic", "--exp", "hands", "--data", str(tmp_path / "never-rendered")]) == 2
    assert "hands: a hands experiment; bench realistic runs body experiments" in caplog.text


def test_started_apart_drops_leading_frames_and_moves_the_truth(tmp_path):
    """Cameras started late: a camera that lost k leading frames shows at its frame i what it
    showed at i + k, so its offset grows by k / fps and its truth at its own times loses k rows."""
    import json

    from mvmocap.camera import save_calibration
    from mvmocap.io import FrameSource, write_params_npz
    from mvmocap.render import VideoWriter
    from mvmocap.synthetic.realistic import started_apart

    cap = make_capture(CaptureSpec(frames=12, cameras=3, image_size=(64, 48), seed=1))
    root = tmp_path / "capture"
    (root / "gt").mkdir(parents=True)
    save_calibration(cap.rig, root)
    for cam in cap.rig.names:  # frame i is grey level 10 i
        with VideoWriter(root / "videos" / f"{cam}.mp4", 30) as video:
            for i in range(12):
                video.write(np.full((48, 64, 3), 10 * i, np.uint8))
    write_params_npz(root / "gt" / "params.npz", {"keypoints3d": cap.points3d})
    write_params_npz(root / "gt" / "camera_times.npz", {f"subject_{c}": cap.points3d for c in cap.rig.names})
    offsets = {c: 0.01 * i for i, c in enumerate(cap.rig.names)}
    (root / "gt" / "offsets.json").write_text(json.dumps({"offsets": offsets, "spec": {"fps": 30.0, "seed": 4}}))

    dropped = started_apart(root, tmp_path / "apart", 0.2)
    assert dropped["cam1"] == 0 and set(dropped) == set(cap.rig.names) and 0 <= max(dropped.values()) <= 6
    made = json.loads((tmp_path / "apart" / "gt" / "offsets.json").read_text())
    truth = np.load(tmp_path / "apart" / "gt" / "camera_times.npz")
    for cam, k in dropped.items():
        assert made["offsets"][cam] == pytest.approx(offsets[cam] + k / 30.0)
        np.testing.assert_array_equal(truth[f"subject_{cam}"], cap.points3d[k:])
        source = FrameSource(tmp_path / "apart" / "videos" / f"{cam}.mp4")
        first = next(source.frames(0, 1))[1]
        assert source.count == 12 - k and abs(float(first.mean()) - 10 * k) < 3
