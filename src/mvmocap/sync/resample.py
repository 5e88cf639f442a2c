"""2D tracks on a common timeline.

Convention: camera ``c`` has an offset ``o_c`` (seconds) such that its frame taken at time ``t`` on
its own clock (the video timestamp, or frame number / fps) happened at ``t + o_c`` on the
reference timeline; the reference camera has offset 0. Resampling camera c onto reference times
``T`` reads its track at own times ``T - o_c``: positions interpolated linearly between the two
neighbouring frames, confidence the lower of the two; missing outside the camera's span, across a
gap of more than 1.5 frame intervals, or where a neighbour is missing.
"""

from __future__ import annotations

import numpy as np

__all__ = ["frame_times", "nearest_frames", "sample_track", "smooth_track"]


def frame_times(frames: list[int], fps: float, timestamps: np.ndarray | None = None) -> np.ndarray:
    """(F,) seconds on the camera's clock: its timestamps where known, else frame number / fps."""
    times = np.asarray(frames, dtype=np.float64) / fps
    if timestamps is not None:
        ts = np.asarray(timestamps, dtype=np.float64)
        times = np.where(np.isfinite(ts), ts, times)
    return times


def nearest_frames(times: np.ndarray, query: np.ndarray) -> np.ndarray:
    """(Q,) index of the frame of ``times`` (F,) sorted, F >= 1) nearest each of ``query`` (Q,)
    (the earlier one where two are equally near)."""
    if len(times) < 2:
        return np.zeros(len(query), dtype=np.intp)
    near = np.clip(np.searchsorted(times, query), 1, len(times) - 1)
    return np.where(np.abs(times[near - 1] - query) < np.abs(times[near] - query), near - 1, near)


def sample_track(track: np.ndarray, times: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Interpolate one camera's keypoints at other times.

    Args:
        track: (F, ..., 3) x, y, confidence at ``times`` (F,), increasing.
        query: (Q,) times to read the track at.
    Returns:
        (Q, ..., 3); confidence 0 where the track cannot say (see module docstring).
    """
    track = np.asarray(track, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    F = len(times)
    out = np.zeros((len(query),) + track.shape[1:])
    if F < 2 or len(query) == 0:
        if F == 1:
            exact = np.isclose(query, times[0], atol=1e-6)
            out[exact] = track[0]
        return out
    step = np.median(np.diff(times))
    hi = np.clip(np.searchsorted(times, query, side="right"), 1, F - 1)
    lo = hi - 1
    span = times[hi] - times[lo]
    w = np.clip((query - times[lo]) / np.where(span > 0, span, 1), 0.0, 1.0)
    inside = (query >= times[0] - 1e-9) & (query <= times[-1] + 1e-9) & (span <= 1.5 * step + 1e-9)
    shape = (-1,) + (1,) * (track.ndim - 1)
    w = w.reshape(shape)
    a, b = track[lo], track[hi]
    # a neighbour that hardly counts (w ~ 0 or 1) need not be seen
    wc = w[..., 0]
    conf_a = np.where(wc < 1 - 1e-6, a[..., 2], np.inf)
    conf_b = np.where(wc > 1e-6, b[..., 2], np.inf)
    conf = np.minimum(conf_a, conf_b)
    xy = (1 - w) * a[..., :2] + w * b[..., :2]
    out[..., :2] = xy
    inside = inside.reshape((-1,) + (1,) * (track.ndim - 2))
    out[..., 2] = np.where(inside & np.isfinite(conf), conf, 0.0)
    out[out[..., 2] <= 0] = 0.0
    return out


def smooth_track(track: np.ndarray, sigma: float) -> np.ndarray:
    """(F, ..., 3) keypoints smoothed over frames by a Gaussian of ``sigma`` frames, each sample
    weighted by whether it is seen (a missing sample neither counts nor is filled in).

    Used before offsets are searched: linear interpolation halves the noise of a raw track
    half-way between frames and not at whole frames, which would pull every estimate towards
    half frames; on a smoothed track neighbouring samples agree and interpolation is neutral.
    """
    track = np.asarray(track, dtype=np.float64)
    if sigma <= 0 or len(track) < 2:
        return track.copy()
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    seen = (track[..., 2] > 0).astype(np.float64)
    weighted = np.concatenate([track[..., :2] * seen[..., None], seen[..., None]], -1)
    flat = weighted.reshape(len(track), -1)
    padded = np.pad(flat, ((radius, radius), (0, 0)))
    smooth = sum(k * padded[i:i + len(track)] for i, k in enumerate(kernel)).reshape(weighted.shape)
    weight = smooth[..., 2]
    out = np.zeros_like(track)
    out[..., :2] = smooth[..., :2] / np.maximum(weight, 1e-12)[..., None]
    out[..., 2] = np.where(seen > 0, track[..., 2], 0.0)
    return out
