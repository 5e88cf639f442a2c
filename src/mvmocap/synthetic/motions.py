"""Procedural, human-like motions: walking, squats, arm raises, turning on the spot, and mixes.

A motion is a set of joint-angle curves (degrees, radians inside) plus a root path on the
ground. Segments of a mixed sequence blend over half a second, so every curve is smooth. The
stance foot stays on the ground (z = 0): the root height follows the longer leg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.geometry import rotation_about_axis
from mvmocap.synthetic.skeleton import JOINTS, REFERENCE_HEIGHT, forward_kinematics, rest_offsets, to_body25
from mvmocap.utils import InputError

__all__ = ["MOTIONS", "MotionCurves", "generate_motion", "motion_curves", "motion_keypoints"]

MOTIONS = ("walk", "squat", "arms", "turn", "mixed")

_ANGLES = ("hip_flex", "hip_abd", "knee", "shoulder_flex", "shoulder_abd", "elbow")
_CURVES = tuple(f"{s}_{a}" for a in _ANGLES for s in "rl") + ("lean", "head_yaw", "speed", "turn_rate")


def _zero(t: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.zeros_like(t) for k in _CURVES}


def _walk(t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    c = _zero(t)
    freq = rng.uniform(0.85, 1.0)  # strides per second
    phase = 2 * np.pi * freq * t
    for side, shift in (("r", 0.0), ("l", np.pi)):
        ph = phase + shift
        c[f"{side}_hip_flex"] = 8 + 24 * np.sin(ph)
        c[f"{side}_knee"] = 8 + 55 * np.clip(np.cos(ph - 0.3), 0, None) ** 2
        c[f"{side}_shoulder_flex"] = -18 * np.sin(ph)
        c[f"{side}_shoulder_abd"] = 8 + 0 * t
        c[f"{side}_elbow"] = 20 + 12 * np.clip(-np.sin(ph), 0, None)
    c["lean"] = 4 + 0 * t
    c["speed"] = 1.5 * freq * 0.75 + 0 * t  # metres per second
    return c


def _squat(t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    c = _zero(t)
    period = rng.uniform(2.5, 3.5)
    depth = (1 - np.cos(2 * np.pi * t / period)) / 2
    for side in "rl":
        c[f"{side}_hip_flex"] = 95 * depth
        c[f"{side}_knee"] = 110 * depth
        c[f"{side}_hip_abd"] = 10 * depth
        c[f"{side}_shoulder_flex"] = 85 * depth
        c[f"{side}_shoulder_abd"] = 6 + 0 * t
        c[f"{side}_elbow"] = 10 + 10 * depth
    c["lean"] = 30 * depth
    return c


def _arms(t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    c = _zero(t)
    period = rng.uniform(2.0, 3.0)
    lift = (1 - np.cos(2 * np.pi * t / period)) / 2
    front = (np.floor(t / period) % 2) == 1  # alternate lateral and frontal raises
    for side in "rl":
        c[f"{side}_shoulder_abd"] = np.where(front, 8, 8 + 150 * lift)
        c[f"{side}_shoulder_flex"] = np.where(front, 160 * lift, 0)
        c[f"{side}_elbow"] = 10 + 20 * lift * front
        c[f"{side}_knee"] = 5 + 0 * t
    c["head_yaw"] = 20 * np.sin(2 * np.pi * t / (2 * period))
    return c


def _turn(t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    c = _zero(t)
    phase = 2 * np.pi * 1.2 * t
    for side, shift in (("r", 0.0), ("l", np.pi)):
        c[f"{side}_hip_flex"] = 10 * np.clip(np.sin(phase + shift), 0, None)
        c[f"{side}_knee"] = 5 + 20 * np.clip(np.sin(phase + shift), 0, None)
        c[f"{side}_shoulder_abd"] = 10 + 0 * t
        c[f"{side}_elbow"] = 25 + 0 * t
    c["turn_rate"] = rng.choice([-1, 1]) * 2 * np.pi / rng.uniform(3.0, 4.0) + 0 * t
    c["head_yaw"] = 15 * np.sin(phase / 3)
    return c


_BUILDERS = {"walk": _walk, "squat": _squat, "arms": _arms, "turn": _turn}


def _mixed(t: np.ndarray, rng: np.random.Generator, segment_s: float = 4.0, blend_s: float = 0.5):
    order = ["walk", "turn", "squat", "arms"]
    n_seg = int(np.ceil(t[-1] / segment_s)) + 1 if len(t) else 1
    kinds = [order[i % len(order)] for i in range(n_seg)]
    curves = _zero(t)
    total = np.zeros_like(t)
    for i, kind in enumerate(kinds):
        start, end = i * segment_s, (i + 1) * segment_s
        # A smooth window: 1 inside the segment, cosine ramps of blend_s at both ends.
        up = np.clip((t - start + blend_s / 2) / blend_s, 0, 1)
        down = np.clip((end + blend_s / 2 - t) / blend_s, 0, 1)
        w = (0.5 - 0.5 * np.cos(np.pi * up)) * (0.5 - 0.5 * np.cos(np.pi * down))
        seg = _BUILDERS[kind](t - start, rng)
        for k in _CURVES:
            curves[k] += w * seg[k]
        total += w
    return {k: v / np.maximum(total, 1e-9) for k, v in curves.items()}


def _root_path(curves: dict[str, np.ndarray], dt: float, radius: float, start_yaw: float):
    """Integrate speed and turning into a ground path that stays near a circle of ``radius``."""
    F = len(curves["speed"])
    xy = np.zeros((F, 2))
    yaw = np.zeros(F)
    pos = np.array([radius * np.cos(start_yaw - np.pi / 2), radius * np.sin(start_yaw - np.pi / 2)])
    heading = start_yaw
    for f in range(F):  # a short recurrence per frame (the path depends on the past)
        xy[f], yaw[f] = pos, heading
        speed = curves["speed"][f]
        r = np.linalg.norm(pos)
        # Walk counter-clockwise round the origin, steering back onto the circle.
        tangent = np.arctan2(pos[1], pos[0]) + np.pi / 2 + 1.2 * np.clip((r - radius) / radius, -1, 1)
        steer = np.angle(np.exp(1j * (tangent - heading)))
        heading += dt * (curves["turn_rate"][f] + min(speed, 1.0) * 2.0 * steer)
        pos = pos + dt * speed * np.array([np.cos(heading), np.sin(heading)])
    return xy, yaw


def _local_rotations(c: dict[str, np.ndarray], yaw: np.ndarray) -> np.ndarray:
    F = len(yaw)
    rot = np.broadcast_to(np.eye(3), (F, len(JOINTS), 3, 3)).copy()
    rad = {k: np.deg2rad(v) for k, v in c.items()}

    def ry(a):
        return rotation_about_axis(a, "y")

    def rx(a):
        return rotation_about_axis(a, "x")

    rot[:, JOINTS.index("MidHip")] = rotation_about_axis(yaw, "z")
    rot[:, JOINTS.index("Spine")] = ry(rad["lean"])
    rot[:, JOINTS.index("Head")] = rotation_about_axis(rad["head_yaw"], "z") @ ry(-0.6 * rad["lean"])
    for s, sign in (("r", -1.0), ("l", 1.0)):
        S = s.upper()
        rot[:, JOINTS.index(f"{S}Shoulder")] = ry(-rad[f"{s}_shoulder_flex"]) @ rx(sign * rad[f"{s}_shoulder_abd"])
        rot[:, JOINTS.index(f"{S}Elbow")] = ry(-rad[f"{s}_elbow"])
        # Hips are children of the root, so counter the trunk lean they do not inherit.
        rot[:, JOINTS.index(f"{S}Hip")] = ry(-rad[f"{s}_hip_flex"]) @ rx(sign * rad[f"{s}_hip_abd"])
        rot[:, JOINTS.index(f"{S}Knee")] = ry(rad[f"{s}_knee"])
        rot[:, JOINTS.index(f"{S}Ankle")] = ry(rad[f"{s}_hip_flex"] - rad[f"{s}_knee"])  # keep the foot level
    return rot


@dataclass
class MotionCurves:
    """A motion as joint-angle curves (degrees, (F,) each; see ``CURVES``) plus a ground path.

    Angles: ``{r,l}_{hip_flex, hip_abd, knee, shoulder_flex, shoulder_abd, elbow}``, ``lean``
    (trunk forward), ``head_yaw``; flexions move the limb forward (knees: the shin backward),
    abductions outward, from a standing pose with the arms hanging. ``xy`` (F, 2) is the root's
    ground position and ``yaw`` (F,) the heading (radians about z, 0 = facing +x).
    """

    angles: dict[str, np.ndarray]
    xy: np.ndarray
    yaw: np.ndarray


def motion_curves(kind: str = "mixed", num_frames: int = 300, fps: float = 30.0, radius: float = 1.0,
                  seed: int = 0) -> MotionCurves:
    """Curves of a motion ``kind``: ``walk``, ``squat``, ``arms``, ``turn`` or ``mixed`` (all four in
    turn, four seconds each). ``radius`` bounds where the subject walks around the origin."""
    if kind not in MOTIONS:
        raise InputError(f"unknown motion {kind!r}; choose one of {MOTIONS}")
    if num_frames < 0 or fps <= 0:
        raise InputError("num_frames must be >= 0 and fps > 0")
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / fps
    curves = _mixed(t, rng) if kind == "mixed" else _BUILDERS[kind](t, rng)
    xy, yaw = _root_path(curves, 1.0 / fps, radius, start_yaw=rng.uniform(-np.pi, np.pi))
    return MotionCurves({k: v for k, v in curves.items() if k not in ("speed", "turn_rate")}, xy, yaw)


def generate_motion(
    kind: str = "mixed",
    num_frames: int = 300,
    fps: float = 30.0,
    height: float = REFERENCE_HEIGHT,
    radius: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Body25 keypoints ``(F, 25, 3)`` in metres (z up, feet on z = 0) for a motion ``kind``
    (see :func:`motion_curves`), posed on the procedural skeleton of ``height`` metres."""
    return motion_keypoints(motion_curves(kind, num_frames, fps, radius, seed), height)


def motion_keypoints(motion: MotionCurves, height: float = REFERENCE_HEIGHT) -> np.ndarray:
    """Body25 keypoints ``(F, 25, 3)`` of ``motion`` posed on the procedural skeleton of ``height`` metres."""
    num_frames = len(motion.yaw)
    offsets = rest_offsets(height)
    rot = _local_rotations(motion.angles, motion.yaw)
    positions = forward_kinematics(rot, np.zeros((num_frames, 3)), offsets)
    # Root height: the lowest foot point touches the ground.
    feet = [JOINTS.index(n) for n in ("RHeel", "RBigToe", "RSmallToe", "LHeel", "LBigToe", "LSmallToe")]
    ground = positions[:, feet, 2].min(1)
    positions[..., :2] += motion.xy[:, None, :]
    positions[..., 2] -= ground[:, None]
    return to_body25(positions)
