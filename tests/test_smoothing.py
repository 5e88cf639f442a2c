"""Detections smoothed over time along each detector track, without lag (mvmocap.sync.smoothing)."""

import numpy as np
import pytest

from mvmocap.io import MultiViewKeypoints
from mvmocap.sync import SmoothSettings, smooth_detections
from mvmocap.sync.smoothing import _one_pass, one_euro


def _lag_frames(signal: np.ndarray, reference: np.ndarray) -> float:
    """The shift (frames, 0.05 steps) that best lines ``signal`` up with ``reference``: positive
    when ``signal`` runs behind."""
    t = np.arange(len(reference))
    shifts = np.arange(-3, 3.001, 0.05)
    inner = slice(10, -10)
    errors = [np.mean((np.interp(t + d, t, signal)[inner] - reference[inner]) ** 2) for d in shifts]
    return float(shifts[int(np.argmin(errors))])


def test_one_euro_removes_jitter_without_lag():
    """A keypoint moving slowly back and forth (a quarter of the body size per second at most; body
    size 400 px, 60 fps) with 3 px of detector jitter: the jitter's acceleration falls several
    times, the motion is kept, and no lag is added, where the causal filter alone lags."""
    fps, size = 60.0, 400.0
    times = np.arange(240) / fps
    truth = 30 * np.sin(2 * np.pi * 0.5 * times)
    rng = np.random.default_rng(0)
    noisy = truth + rng.normal(0, 3.0, truth.shape)
    values = np.stack([noisy, np.zeros_like(noisy)], -1)[:, None]  # (T, 1, 2)
    settings = SmoothSettings()
    smoothed = one_euro(values, times, settings, scale=size)[:, 0, 0]
    causal = _one_pass(values, np.ones((240, 1), bool), times, size, settings)[:, 0, 0]
    jitter = lambda x: np.median(np.abs(np.diff(x - truth, 2)))  # noqa: E731 the error's acceleration
    assert jitter(smoothed) < jitter(noisy) / 4
    assert np.sqrt(np.mean((smoothed - truth)[5:-5] ** 2)) < 0.6 * 3.0  # closer to the motion than the detections
    clean = np.stack([truth, np.zeros_like(truth)], -1)[:, None]
    assert abs(_lag_frames(one_euro(clean, times, settings, scale=size)[:, 0, 0], truth)) < 0.05
    assert abs(_lag_frames(smoothed, truth)) < 0.5  # the noise left moves the best shift a little
    assert _lag_frames(causal, truth) > 1.0  # the causal filter alone runs more than a frame behind


def test_smooth_detections_per_track_keeps_gaps_and_confidences():
    """Each view's track on its own: missing keypoints stay missing, confidences unchanged, a
    track's other view untouched by this one; disabled, the sequence comes back as given."""
    rng = np.random.default_rng(1)
    F, J = 60, 25
    kp = np.zeros((F, 2, J, 3))
    base = rng.uniform(200, 800, (J, 2))
    kp[..., :2] = base + rng.normal(0, 2.0, (F, 2, J, 2))
    kp[..., 2] = 0.9
    kp[20:25, 0, 3, 2] = 0.0  # a gap in one keypoint of view 0
    kp[40:, 1] = 0.0  # view 1 loses the person
    seq = MultiViewKeypoints(["a", "b"], list(range(F)), {0: kp}, "body25")
    out = smooth_detections(seq, fps=30.0, settings=SmoothSettings()).people[0]
    np.testing.assert_array_equal(out[..., 2], kp[..., 2])
    np.testing.assert_array_equal(out[20:25, 0, 3], kp[20:25, 0, 3])
    assert not out[40:, 1].any()
    still = np.abs(np.diff(out[5:35, 0, :, :2], 2, axis=0)).mean()
    assert still < np.abs(np.diff(kp[5:35, 0, :, :2], 2, axis=0)).mean() / 3
    assert smooth_detections(seq, fps=30.0, settings=SmoothSettings(enabled=False)) is seq


def test_smooth_settings_are_checked():
    with pytest.raises(ValueError, match="min_cutoff"):
        SmoothSettings(min_cutoff=0)
    with pytest.raises(ValueError, match="beta"):
        SmoothSettings(beta=-1)


def test_a_missing_sample_does_not_restart_the_filter():
    """A keypoint missing in one frame (its coordinates zeros, as detectors write them) leaves the
    filter's state as it was: the samples after it are smoothed as if it were not there, where a
    restart would pass the next noisy sample through unsmoothed."""
    rng = np.random.default_rng(2)
    times = np.arange(40) / 30.0
    values = (500 + rng.normal(0, 3.0, 40))[:, None, None].repeat(2, -1)  # (T, 1, 2) a still keypoint
    seen = np.ones((40, 1), bool)
    gap = values.copy()
    gap[20] = 0.0
    seen_gap = seen.copy()
    seen_gap[20] = False
    settings = SmoothSettings()
    after = slice(21, 24)  # the forward pass's first samples past the gap
    forwards = _one_pass(gap, seen_gap, times, 400.0, settings)[after, 0, 0]
    reference = _one_pass(np.delete(values, 20, 0), np.delete(seen, 20, 0), np.delete(times, 20), 400.0,
                          settings)[20:23, 0, 0]
    np.testing.assert_allclose(forwards, reference, atol=0.5)
    assert np.abs(forwards - values[after, 0, 0]).max() > 0.5  # smoothed, not the raw samples
