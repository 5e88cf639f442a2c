"""Human-like hand motions for a hand model: fists opening and closing, fingers counting, pinches,
with the wrist turning and drifting over a desk.

Each finger joint flexes towards the palm about its axis from ``anatomy.finger_joints`` (the
model's own joints, either hand), so the same curves drive MANO and other hand models. Ground
truth for tests and ``mvmocap bench hands``.
"""

from __future__ import annotations

import numpy as np

from mvmocap.bodymodels import BodyModel
from mvmocap.bodymodels.anatomy import FINGERS, finger_joints, hand_joints
from mvmocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = ["hand_motion"]

_MAX_FLEX = {"thumb": (35.0, 45.0, 50.0)}  # degrees per joint, base to tip
_DEFAULT_FLEX = (75.0, 95.0, 65.0)


def _curls(t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Curl in [0, 1] per finger over time: fist cycles, counting, pinches, blended."""
    period = rng.uniform(2.0, 3.0)
    fist = 0.5 - 0.5 * np.cos(2 * np.pi * t / period)
    curls = {}
    for i, finger in enumerate(FINGERS):
        count = 0.5 - 0.5 * np.cos(2 * np.pi * (t / (1.5 * period) - i / 5))
        mix = 0.5 - 0.5 * np.cos(2 * np.pi * t / (4 * period))  # slowly alternate the two patterns
        curls[finger] = np.clip((1 - mix) * fist + mix * count, 0.0, 1.0)
    pinch = np.clip(np.sin(2 * np.pi * t / (3 * period)), 0, None)
    curls["thumb"] = np.maximum(curls["thumb"], pinch)
    curls["index"] = np.maximum(curls["index"], 0.6 * pinch)
    return curls


def hand_motion(model: BodyModel, frames: int = 300, fps: float = 30.0, shapes=None, seed: int = 0,
                side: str = "r") -> dict:
    """Parameters ``poses`` (F, P), ``shapes`` (1, S), ``Rh``, ``Th`` (F, 3) of a hand model
    (MANO, Anny's hand; see ``anatomy.hand_joints``) performing a procedural hand motion."""
    rng = np.random.default_rng(seed)
    fingers = finger_joints(model, side)
    shapes = np.zeros((1, model.num_shapes)) if shapes is None else np.asarray(shapes, dtype=np.float64)
    shapes = shapes.reshape(1, model.num_shapes)
    t = np.arange(frames) / fps
    curls = _curls(t, rng)
    to_pose = model.pose_frame.T  # model-frame axis -> axis in ``poses``
    rot = np.broadcast_to(np.eye(3), (frames, model.num_joints, 3, 3)).copy()
    for finger in FINGERS:
        for k in (1, 2, 3):
            f = fingers[f"{finger}{k}"]
            angle = np.deg2rad(_MAX_FLEX.get(finger, _DEFAULT_FLEX)[k - 1]) * curls[finger]
            rot[:, f.joint] = axis_angle_to_matrix((to_pose @ f.flexion) * angle[:, None])
    poses = matrix_to_axis_angle(rot)[:, model.posed_joints].reshape(frames, -1)
    phase = rng.uniform(0, 2 * np.pi, 3)
    wrist_turn = np.stack([0.6 * np.sin(2 * np.pi * t / 5.0 + phase[0]), 0.8 * np.sin(2 * np.pi * t / 7.0 + phase[1]),
                           0.5 * np.sin(2 * np.pi * t / 6.0 + phase[2])], 1)
    joints = model.zero_pose_joints()
    wrist = joints[hand_joints(model, side)["wrist"]]
    R = axis_angle_to_matrix(wrist_turn) @ _palm_down(joints[fingers["middle1"].joint] - wrist,
                                                      fingers["middle1"].volar)
    wrist_path = np.stack([0.15 * np.sin(2 * np.pi * t / 8.0), 0.1 * np.sin(2 * np.pi * t / 6.0),
                           0.8 + 0.05 * np.sin(t)], 1)
    return {"poses": poses, "shapes": shapes, "Rh": matrix_to_axis_angle(R), "Th": wrist_path - R @ wrist}


def _palm_down(along: np.ndarray, volar: np.ndarray) -> np.ndarray:
    """(3, 3) rotation turning a hand whose fingers point ``along`` (3,) and whose palm faces
    ``volar`` (3,) palm down (-z), fingers along -y (a person at +y reaching towards cameras at -y)."""
    along = along / np.linalg.norm(along)
    down = volar - (volar @ along) * along
    down = down / np.linalg.norm(down)
    model_axes = np.stack([along, down, np.cross(along, down)], 1)
    world_axes = np.stack([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], 1)
    return world_axes @ model_axes.T
