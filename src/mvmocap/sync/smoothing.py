"""Detections smoothed over time along each detector track, with no lag.

A keypoint detector run frame by frame jitters: the same still wrist lands a few pixels apart in
consecutive frames, and triangulation turns that into millimetres of 3D jitter (on a real 60 fps
capture, mvmocap's triangulated limb joints moved with a median acceleration of 13-20
mm/frame^2 against 4.5-7.4 for MediaPipe's legacy pose solution, whose graph filters its
landmarks over time). Each view's detector track (a track id of the detection cache: the same
person followed by the detector) is smoothed here per keypoint with the One Euro filter (Casiez,
Roussel and Vogel, CHI 2012): a first-order low-pass filter whose cutoff rises with the
keypoint's speed, so that a still keypoint is smoothed strongly and a fast one is followed. As in
MediaPipe's landmark filter, speeds are measured in the body's size in the image (the median
diagonal of the track's confident keypoints), so that one setting suits near and far people.

A causal filter lags; the detections are all known here, so the filter runs forwards and
backwards over each stretch of the track and the two are averaged: their lags are equal and
opposite, and cancel (a zero-phase filter). A keypoint missing in a frame (confidence 0) is
left out (the filter picks it up where it is seen again), a keypoint that jumps (the detector's
track handed to someone else, left and right swapped) starts the filter afresh; confidences are
kept as detected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mvmocap.io import MultiViewKeypoints
from mvmocap.sync.resample import frame_times

__all__ = ["SmoothSettings", "one_euro", "smooth_detections"]

_JUMP = 0.25  # body sizes in one sample: a keypoint farther from the filter's state has jumped (the detector's
# track handed to another person, left and right swapped); the filter starts afresh there


@dataclass(frozen=True)
class SmoothSettings:
    """The experiment's ``smooth`` section: each view's detector tracks smoothed over time, without
    lag (the detection cache keeps the detections as detected).

    enabled: smooth the detections (false: use them as detected)
    min_cutoff: Hz, the cutoff frequency of a still keypoint
    beta: how fast the cutoff rises with the keypoint's speed, Hz per (body size per second)
    derivative_cutoff: Hz, the cutoff of the speed the filter measures
    """

    enabled: bool = True
    min_cutoff: float = 1.0
    beta: float = 10.0
    derivative_cutoff: float = 1.0

    def __post_init__(self) -> None:
        for key in ("min_cutoff", "derivative_cutoff"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key}: must be above 0 Hz, got {getattr(self, key)!r}")
        if not self.beta >= 0:
            raise ValueError(f"beta: must be 0 or more, got {self.beta!r}")


def _alpha(cutoff: np.ndarray | float, dt: np.ndarray | float) -> np.ndarray | float:
    """The smoothing factor of a first-order low-pass filter with ``cutoff`` Hz over ``dt`` s."""
    r = 2 * math.pi * cutoff * dt
    return r / (r + 1)


def _one_pass(values: np.ndarray, seen: np.ndarray, times: np.ndarray, scale: float,
              s: SmoothSettings) -> np.ndarray:
    """The causal One Euro filter over (T, J, D) ``values`` at (T,) ``times``, each of the J
    points filtered on its own over the frames where (T, J) ``seen`` (a missing sample leaves its
    state as it was; after a gap the filter follows the first sample back almost fully; a sample
    more than :data:`_JUMP` x ``scale`` from the state starts it afresh), speeds measured in
    units of ``scale``. Unseen samples are returned as given."""
    out = values.copy()
    state = values[0].copy()
    speed = np.zeros(values.shape[1:])
    last = np.where(seen[0], times[0], np.nan)
    started = seen[0].copy()
    for t in range(1, len(values)):
        now = seen[t]
        jumped = now & (np.linalg.norm(values[t] - state, axis=-1) > _JUMP * scale)  # a seen sample only:
        started &= ~jumped  # a missing one (its coordinates mean nothing) leaves the state as it was
        dt = np.maximum(times[t] - np.where(started, last, times[t]), 1e-6)[:, None]  # (J, 1)
        raw_speed = (values[t] - state) / (dt * scale)
        a_speed = _alpha(s.derivative_cutoff, dt)
        new_speed = np.where(started[:, None], speed + a_speed * (raw_speed - speed), 0.0)
        cutoff = s.min_cutoff + s.beta * np.linalg.norm(new_speed, axis=-1, keepdims=True)
        new_state = np.where(started[:, None], state + _alpha(cutoff, dt) * (values[t] - state), values[t])
        state = np.where(now[:, None], new_state, state)
        speed = np.where(now[:, None], new_speed, speed)
        last = np.where(now, times[t], last)
        started |= now
        out[t] = np.where(now[:, None], state, values[t])
    return out


def one_euro(values: np.ndarray, times: np.ndarray, settings: SmoothSettings, *, seen: np.ndarray | None = None,
             scale: float = 1.0) -> np.ndarray:
    """(T, J, D) ``values`` (rows in time order, at (T,) ``times`` seconds) filtered forwards and
    backwards and averaged: the One Euro filter without lag (module docstring), each of the J
    points on its own over the frames where (T, J) ``seen`` (default: all); the speed that raises
    the cutoff is the norm of a point's D-dimensional velocity in units of ``scale`` per second."""
    seen = np.ones(values.shape[:2], bool) if seen is None else seen
    if len(values) < 3:
        return values.copy()
    forwards = _one_pass(values, seen, times, scale, settings)
    backwards = _one_pass(values[::-1], seen[::-1], -times[::-1], scale, settings)[::-1]
    return 0.5 * (forwards + backwards)


def _body_size(track: np.ndarray) -> float:
    """A track's body size in pixels: the median over its frames of the diagonal of the box of
    the confident keypoints (one figure: a size per frame would carry the pose's changes)."""
    sizes = []
    for frame in track:
        points = frame[frame[:, 2] > 0, :2]
        if len(points) >= 3:
            sizes.append(float(np.linalg.norm(points.max(0) - points.min(0))))
    return float(np.median(sizes)) if sizes and np.median(sizes) > 0 else 1.0


def smooth_detections(seq: MultiViewKeypoints, *, fps: float, settings: SmoothSettings) -> MultiViewKeypoints:
    """``seq`` with every view's detector track smoothed (module docstring); each camera's times
    are its timestamps where known, else frame number / ``fps``. Returned as given when
    ``settings.enabled`` is false."""
    if not settings.enabled:
        return seq
    times = [frame_times(seq.frames, fps, seq.times.get(cam)) for cam in seq.cameras]
    people = {}
    for pid, kp in seq.people.items():
        smoothed = kp.copy()
        for v in range(len(seq.cameras)):
            mine = kp[:, v, :, 2].max(-1) > 0  # the frames this track has in this view
            if mine.sum() < 3:
                continue
            rows = np.flatnonzero(mine & np.isfinite(times[v]))
            track = kp[rows, v]
            smoothed[rows, v, :, :2] = one_euro(track[..., :2], times[v][rows], settings, seen=track[..., 2] > 0,
                                                scale=_body_size(track))
        people[pid] = smoothed
    return MultiViewKeypoints(seq.cameras, seq.frames, people, seq.skeleton, seq.times)
