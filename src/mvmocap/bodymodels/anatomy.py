"""Anatomical frames of the body models: which joints are hips, knees, shoulders, elbows, and
the axes they bend about, derived from the model's own rest pose.

Each model has its frame: ``up``, ``anterior`` (the way the body faces) and ``left`` (the
subject's left), with ``anterior x left = up``. SMPL-family bodies: y up, facing +z, left +x;
Anny: z up, facing -y, left +x. Hinge axes follow from the rest bones: a rotation by +angle
about ``flexion_axis`` flexes the joint (knee: shin backwards; elbow: forearm forwards).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mvmocap.bodymodels.base import BodyModel

__all__ = ["Anatomy", "FingerJoint", "SIDES", "FINGERS", "anatomy_of", "finger_joints", "hand_joints", "hand_sides"]

SIDES = ("l", "r")

_SMPL_ROLES = {
    **{f"{role}_{s}": f"{side}_{name}" for s, side in (("l", "left"), ("r", "right"))
       for role, name in (("hip", "hip"), ("knee", "knee"), ("ankle", "ankle"), ("shoulder", "shoulder"),
                          ("elbow", "elbow"), ("wrist", "wrist"))},
    "neck": "neck", "head": "head",
}
_ANNY_ROLES = {
    **{f"{role}_{s}": f"{name}.{s.upper()}" for s in SIDES
       for role, name in (("hip", "upperleg01"), ("knee", "lowerleg01"), ("ankle", "foot"),
                          ("shoulder", "upperarm01"), ("elbow", "lowerarm01"), ("wrist", "wrist"))},
    "neck": "neck01", "head": "head",
}
_FRAMES = {  # up, anterior, left
    "smpl": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)),
    "anny": ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0), (1.0, 0.0, 0.0)),
}
_SPINE = {"smpl": ("spine1", "spine2", "spine3"), "anny": ("spine03", "spine02", "spine01")}
# Anny's second limb segments twist along the limb of the role given.
_TWIST = {"smpl": {}, "anny": {f"{n}02.{s.upper()}": f"{role}_{s}" for n, role in
                               (("upperleg", "hip"), ("lowerleg", "knee"), ("upperarm", "shoulder"),
                                ("lowerarm", "elbow")) for s in SIDES}}


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Axis-angle (3,) of the smallest rotation taking direction ``a`` to ``b``."""
    a, b = _unit(a), _unit(b)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis)
    angle = np.arctan2(s, np.dot(a, b))
    return axis / s * angle if s > 1e-9 else np.zeros(3)


@dataclass
class Anatomy:
    """Anatomical description of one body model (all vectors in the model's rest frame).

    Attributes:
        up, anterior, left: (3,) unit axes of the model frame.
        joints: role (``hip_l``, ``knee_r``, ``shoulder_l``, ``elbow_r``, ``ankle_l``, ``wrist_l``,
            ``neck``, ``head``) -> joint index.
        spine: joint indices sharing a trunk lean, root to neck.
        twist: joint index -> (3,) limb axis, for joints that should only twist about it (Anny's
            second limb segments).
        bone_dir: role -> (3,) rest direction of the bone leaving that joint (hip: thigh, ...).
        arm_down: side -> (3,) axis-angle turning the rest arm to hang straight down.
    """

    up: np.ndarray
    anterior: np.ndarray
    left: np.ndarray
    joints: dict[str, int]
    spine: list[int]
    twist: dict[int, np.ndarray]
    bone_dir: dict[str, np.ndarray] = field(default_factory=dict)
    arm_down: dict[str, np.ndarray] = field(default_factory=dict)

    def lateral_out(self, side: str) -> np.ndarray:
        return self.left if side == "l" else -self.left

    def knee_axis(self, side: str) -> np.ndarray:
        """Flexion (shin backwards) is a positive rotation about this axis."""
        return _unit(np.cross(self.anterior, self.bone_dir[f"knee_{side}"]))

    def elbow_axis(self, side: str) -> np.ndarray:
        """Flexion (forearm forwards, arm hanging) is a positive rotation about this axis."""
        from mvmocap.geometry import axis_angle_to_matrix

        # The anterior direction as the forearm sees it before the arm is lowered.
        anterior = axis_angle_to_matrix(self.arm_down[side]).T @ self.anterior
        return _unit(np.cross(self.bone_dir[f"elbow_{side}"], anterior))


def anatomy_of(model: BodyModel) -> Anatomy:
    """The anatomy of a body model (SMPL, SMPL-H, SMPL-X or Anny) from its rest pose."""
    family = "anny" if model.name == "anny" else "smpl"
    if getattr(model, "kind", family) == "mano":
        raise ValueError("hand models have no body anatomy")
    roles = _ANNY_ROLES if family == "anny" else _SMPL_ROLES
    up, anterior, left = (_unit(v) for v in _FRAMES[family])
    index = {role: model.joint_names.index(name) for role, name in roles.items()}
    rest = model.zero_pose_joints()
    child = {"hip": "knee", "knee": "ankle", "shoulder": "elbow", "elbow": "wrist"}
    bone_dir = {f"{r}_{s}": _unit(rest[index[f"{c}_{s}"]] - rest[index[f"{r}_{s}"]])
                for r, c in child.items() for s in SIDES}
    arm_down = {s: rotation_between(bone_dir[f"shoulder_{s}"], -up) for s in SIDES}
    spine = [model.joint_names.index(n) for n in _SPINE[family]]
    twist = {model.joint_names.index(n): bone_dir[role] for n, role in _TWIST[family].items()}
    return Anatomy(up, anterior, left, index, spine, twist, bone_dir, arm_down)


FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def hand_joints(model: BodyModel, side: str = "r") -> dict[str, int]:
    """Joint index of ``wrist`` and ``{thumb,index,middle,ring,pinky}{1,2,3}`` (base to tip) of a
    hand model (MANO, Anny's hand) or of one hand of a body model with hands (SMPL-H/X)."""
    names = model.joint_names
    S = side.upper()
    candidates = [  # (wrist name, finger joint name pattern)
        ("wrist", "{f}{k}"),
        (f"{'right' if side == 'r' else 'left'}_wrist", f"{'right' if side == 'r' else 'left'}_{{f}}{{k}}"),
        (f"wrist.{S}", "finger{n}-{k}." + S),
    ]
    for wrist, pattern in candidates:
        roles = {"wrist": wrist}
        for n, f in enumerate(FINGERS, start=1):
            for k in (1, 2, 3):
                roles[f"{f}{k}"] = pattern.format(f=f, k=k, n=n)
        if all(v in names for v in roles.values()):
            return {role: names.index(v) for role, v in roles.items()}
    raise ValueError(f"{model.name} has no {side} hand joints")


def hand_sides(model: BodyModel) -> list[str]:
    """The hands a model has: its ``hand_side`` for hand models, ``["l", "r"]`` for bodies with
    finger joints (SMPL-H, SMPL-X, Anny), ``[]`` otherwise."""
    if model.hand_side is not None:
        return [model.hand_side]
    sides = []
    for side in SIDES:
        try:
            hand_joints(model, side)
        except ValueError:
            continue
        sides.append(side)
    return sides


@dataclass
class FingerJoint:
    """One finger joint in the model frame, zero pose: ``bone`` (3,) the unit direction of the
    phalanx it moves, ``volar`` (3,) the unit palm-side normal orthogonal to it; flexion (the
    finger curling into the palm) is a positive rotation about ``flexion = bone x volar``."""

    joint: int
    bone: np.ndarray
    volar: np.ndarray

    @property
    def flexion(self) -> np.ndarray:
        return np.cross(self.bone, self.volar)


def finger_joints(model: BodyModel, side: str) -> dict[str, FingerJoint]:
    """``{thumb,index,middle,ring,pinky}{1,2,3}`` -> :class:`FingerJoint` for the ``side`` hand.

    The palm normal ``(index1 - wrist) x (pinky1 - wrist)`` points to the palm side of a right
    hand (palm down, fingers forward: the thumb is on the left) and to the back of a left hand.
    The last phalanx continues the middle one's direction.
    """
    joint = hand_joints(model, side)
    rest = model.zero_pose_joints()
    wrist = rest[joint["wrist"]]
    palm = _unit(np.cross(rest[joint["index1"]] - wrist, rest[joint["pinky1"]] - wrist))
    volar = palm if side == "r" else -palm
    out = {}
    for finger in FINGERS:
        idx = [joint[f"{finger}{k}"] for k in (1, 2, 3)]
        for k, j in enumerate(idx):
            bone = _unit(rest[idx[k + 1]] - rest[j] if k < 2 else rest[j] - rest[idx[k - 1]])
            out[f"{finger}{k + 1}"] = FingerJoint(j, bone, _unit(volar - (volar @ bone) * bone))
    return out
