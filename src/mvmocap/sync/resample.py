"""2D tracks on a common timeline.

Convention: camera ``c`` has an offset ``o_c`` (seconds) such that its frame taken at time ``t`` on
its own clock (the video timestamp, or frame number / fps) happened at ``t + o_c`` on the
reference timeline; the reference camera has offset 0. Resampling camera c onto reference times
``T`` reads its track at own times ``T - o_c``: positions interpolated linearly between the two
neighbouring frames, confidence the lower of the two; missing outside the camera's span, across a
gap of more than 1.5 frame intervals, or where a neighbour is missing.
"""

from __future__ import annotations

import numba
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
    flat = np.ascontiguousarray(track.reshape(F, -1, 3))
    _sample(flat, np.ascontiguousarray(times), np.ascontiguousarray(query), float(np.median(np.diff(times))),
            out.reshape(len(query), -1, 3))
    return out


@numba.njit(cache=True, nogil=True)
def _sample(track, times, query, step, out):  # pragma: no cover - compiled
    """:func:`sample_track` on (F, M, 3) ``track`` into the zeroed (Q, M, 3) ``out``, query by query."""
    F = len(times)
    for q in range(len(query)):
        t = query[q]
        hi = min(max(np.searchsorted(times, t, side="right"), 1), F - 1)
        lo = hi - 1
        span = times[hi] - times[lo]
        w = min(max((t - times[lo]) / (span if span > 0 else 1.0), 0.0), 1.0)
        if not (times[0] - 1e-9 <= t <= times[F - 1] + 1e-9 and span <= 1.5 * step + 1e-9):
            continue
        for m in range(track.shape[1]):
            # a neighbour that hardly counts (w ~ 0 or 1) need not be seen
            conf_lo = track[lo, m, 2] if w < 1 - 1e-6 else np.inf
            conf_hi = track[hi, m, 2] if w > 1e-6 else np.inf
            if np.isnan(conf_lo) or np.isnan(conf_hi):
                continue
            conf = min(conf_lo, conf_hi)
            if np.isfinite(conf) and conf > 0:
                out[q, m, 0] = (1 - w) * track[lo, m, 0] + w * track[hi, m, 0]
                out[q, m, 1] = (1 - w) * track[lo, m, 1] + w * track[hi, m, 1]
                out[q, m, 2] = conf


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
