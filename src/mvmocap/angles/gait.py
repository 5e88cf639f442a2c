"""Gait events and spatio-temporal figures from a body's feet, where the subject walks or runs.

A foot is on the ground while its lowest point (heel or big toe) is within ``contact_height`` of
the floor and it moves slower than ``contact_speed`` times its fastest swing (a real foot stands
still in stance; a fitted one drifts a little), both read on the feet averaged over ``min_contact``
seconds; the floor is a low percentile of both feet's heights over the run, so a floor a few
centimetres off the calibration's z = 0 does not matter. A contact (or a gap between two) shorter
than ``min_contact`` is noise. Its first frame is a **heel strike**
(initial contact), its last a **toe-off**. From the heel strikes: stride time and length (one
heel strike to the next of the same foot; the length between the foot's mean positions in the two
contacts), step time and length (to the next heel strike of the other foot, the length along the
direction the pelvis travels between them), cadence (steps per minute) and walking speed (the pelvis's mean horizontal
speed over the strides), per side. The subject walks when the pelvis moves faster than
``min_speed`` over the run and each foot has two heel strikes; otherwise there are no events.
Cost: linear in frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mvmocap.angles.joints import JointAngles
from mvmocap.skeletons import BODY25
from mvmocap.utils import true_runs

__all__ = ["GaitEvents", "GaitSettings", "cycle_summary", "gait_events", "normalised_cycles"]


@dataclass(frozen=True)
class GaitSettings:
    """How foot contacts are found (module docstring)."""

    contact_height: float = 0.035  # metres above the floor
    contact_speed: float = 0.5  # of the foot's fastest swing speed (its 95th percentile)
    min_contact: float = 0.06  # seconds; also the width of the feet's smoothing (wider blurs the landing)
    min_speed: float = 0.3  # m/s, the pelvis's median horizontal speed for a walk
    floor_percentile: float = 2.0


@dataclass
class GaitEvents:
    """Per side (``l``, ``r``): frame indices (into the run's frames) of heel strikes and toe-offs,
    and the spatio-temporal figures (``summary``: JSON-ready, seconds and metres)."""

    heel_strikes: dict[str, list[int]] = field(default_factory=dict)
    toe_offs: dict[str, list[int]] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return any(len(v) >= 2 for v in self.heel_strikes.values())


def _contacts(on_ground: np.ndarray, shortest: int) -> list[tuple[int, int]]:
    """(first, last) frame of each run of True, gaps shorter than ``shortest`` frames closed
    first (a foot flickering off the ground in noise), then runs shorter than it dropped."""
    runs = [[a, b - 1] for a, b in true_runs(on_ground)]
    merged: list[list[int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] - 1 < shortest:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return [(a, b) for a, b in merged if b - a + 1 >= shortest]


def _smoothed(values: np.ndarray, width: int) -> np.ndarray:
    """(F, ...) values averaged over ``width`` frames about each (edges: the frames there are)."""
    if width <= 1:
        return values
    kernel = np.ones(width)
    flat = values.reshape(len(values), -1)
    total = np.stack([np.convolve(c, kernel, mode="same") for c in flat.T], -1)
    count = np.convolve(np.ones(len(values)), kernel, mode="same")[:, None]
    return (total / count).reshape(values.shape)


def _mean_step(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def gait_events(keypoints: np.ndarray, fps: float, settings: GaitSettings | None = None) -> GaitEvents:
    """Gait events of (F, 25, 3) body25 ``keypoints`` in world metres (z up) at ``fps``; see the
    module docstring. A contact touching the first or last frame is cut off by the recording: it
    gives no heel strike (first) or toe-off (last)."""
    s = settings or GaitSettings()
    pelvis = keypoints[:, BODY25.index("MidHip"), :2]
    speed = np.linalg.norm(np.diff(pelvis, axis=0), axis=-1) * fps
    if len(keypoints) < 3 or float(np.median(speed)) < s.min_speed:
        return GaitEvents()
    feet = {side: keypoints[:, [BODY25.index(f"{side.upper()}Heel"), BODY25.index(f"{side.upper()}BigToe")]]
            for side in ("l", "r")}
    floor = np.percentile(np.concatenate([f[..., 2].ravel() for f in feet.values()]), s.floor_percentile)
    events = GaitEvents()
    places: dict[str, list[np.ndarray]] = {}
    shortest = max(2, int(round(s.min_contact * fps)))
    for side, foot in feet.items():
        foot = _smoothed(foot, shortest)
        height = foot[..., 2].min(-1) - floor
        moving = np.linalg.norm(np.gradient(foot[..., :2], axis=0), axis=-1).min(-1) * fps
        on_ground = (height < s.contact_height) & (moving < s.contact_speed * np.percentile(moving, 95))
        contacts = _contacts(on_ground, shortest)
        events.heel_strikes[side] = [a for a, _ in contacts if a > 0]
        events.toe_offs[side] = [b for _, b in contacts if b < len(keypoints) - 1]
        places[side] = [foot[a:b + 1, :, :2].mean((0, 1)) for a, b in contacts if a > 0]
    events.summary = _spatio_temporal(events, places, pelvis, fps)
    return events


def _heading(pelvis: np.ndarray, first: int, last: int) -> np.ndarray:
    """(2,) the unit direction the pelvis travels from frame ``first`` to ``last``."""
    way = pelvis[last] - pelvis[first]
    return way / max(float(np.linalg.norm(way)), 1e-9)


def _spatio_temporal(events: GaitEvents, places: dict[str, list[np.ndarray]], pelvis: np.ndarray,
                     fps: float) -> dict:
    """Stride and step figures per side, cadence and walking speed (module docstring)."""
    if not events.found:
        return {}
    strikes = sorted((f, side) for side, frames in events.heel_strikes.items() for f in frames)
    where = {(f, side): p for side in places for f, p in zip(events.heel_strikes[side], places[side], strict=True)}
    summary: dict = {"sides": {}}
    all_steps = []
    for side in ("l", "r"):
        own = events.heel_strikes[side]
        stride_times = [(b - a) / fps for a, b in zip(own, own[1:], strict=False)]
        stride_lengths = [float(np.linalg.norm(where[(b, side)] - where[(a, side)])) for a, b in zip(own, own[1:],
                                                                                                      strict=False)]
        steps = [(b - a, float((where[(b, sb)] - where[(a, sa)]) @ _heading(pelvis, a, b)))
                 for (a, sa), (b, sb) in zip(strikes, strikes[1:], strict=False) if sb == side and sa != side]
        all_steps += [t for t, _ in steps]
        summary["sides"][side] = {
            "heel_strikes": len(own), "toe_offs": len(events.toe_offs[side]),
            "stride_time_s": _mean_step(stride_times), "stride_length_m": _mean_step(stride_lengths),
            "step_time_s": _mean_step([t / fps for t, _ in steps]),
            "step_length_m": _mean_step([length for _, length in steps]),
        }
    first, last = strikes[0][0], strikes[-1][0]
    if all_steps:
        summary["cadence_steps_per_min"] = round(60.0 * fps / float(np.mean(all_steps)), 2)
    if last > first:
        path = np.linalg.norm(np.diff(pelvis[first:last + 1], axis=0), axis=-1).sum()
        summary["walking_speed_m_s"] = round(float(path * fps / (last - first)), 4)
    return summary


def normalised_cycles(values: np.ndarray, strikes: list[int], samples: int = 101) -> np.ndarray:
    """(C, samples) ``values`` (F,) of each gait cycle (one heel strike to the next of the same
    foot) resampled to 0-100% of the cycle."""
    grid = np.linspace(0.0, 1.0, samples)
    cycles = [np.interp(a + grid * (b - a), np.arange(a, b + 1), values[a:b + 1])
              for a, b in zip(strikes, strikes[1:], strict=False)]
    return np.asarray(cycles).reshape(-1, samples)


def cycle_summary(angles: JointAngles, events: GaitEvents) -> dict[str, dict[str, float]]:
    """Per angle of a side with two heel strikes or more: its range of motion over each of that
    foot's gait cycles, as ``range_mean`` and ``range_sd`` (degrees) and ``cycles`` counted."""
    summary = {}
    for name, column in zip(angles.names, angles.values.T, strict=True):
        side = name.rsplit("_", 1)[-1]
        if side not in ("l", "r") or name.startswith("pelvis_t"):
            continue
        cycles = normalised_cycles(column, events.heel_strikes.get(side, []))
        if len(cycles):
            ranges = np.ptp(cycles, axis=1)
            summary[name] = {"range_mean": round(float(ranges.mean()), 2), "range_sd": round(float(ranges.std()), 2),
                             "cycles": len(cycles)}
    return summary
