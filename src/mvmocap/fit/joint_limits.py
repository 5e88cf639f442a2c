"""Anatomical joint limits, a pose prior that needs no licensed file.

Each limited joint has three model-frame axes and a range for the component of its axis-angle
along each: ``penalty = sum relu(low - c)^2 + relu(c - high)^2`` with ``c = axes @ r`` (radians).

- knees and elbows are hinges: flexion in [0, 2.6] about the hinge axis, nothing about the others;
- hips and shoulders twist at most 1 rad about the bone; Anny's second limb segments only twist;
- fingers (``anatomy.finger_joints``) flex towards the palm: the base joint (MCP) from -30 to 100
  degrees with 25 degrees of spread and 15 of twist, the middle and last joints (PIP, DIP) are
  hinges (-5..115 and -10..90 degrees, 8 degrees of play about the other axes); the thumb's
  outer joints twist at most 30 degrees, its base is free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.bodymodels.anatomy import FINGERS, SIDES, Anatomy, anatomy_of, finger_joints, hand_sides

__all__ = ["JointLimit", "JointLimitPrior", "body_limits", "hand_limits", "model_limits"]

FREE = 1.0e6  # a bound that never binds (radians)
BODY_MAX_FLEXION = 2.6
BODY_MAX_TWIST = 1.0
_DEG = np.pi / 180.0
# (flexion low, high), spread, twist: degrees, for the finger joints 1 (MCP), 2 (PIP), 3 (DIP).
_FINGER_RANGES = {1: ((-30.0, 100.0), 25.0, 15.0), 2: ((-5.0, 115.0), 8.0, 8.0), 3: ((-10.0, 90.0), 8.0, 8.0)}
_THUMB_TWIST = 30.0  # degrees, thumb joints 2 and 3


@dataclass
class JointLimit:
    """Ranges of one joint's axis-angle components: ``axes`` (3, 3) orthonormal model-frame rows,
    ``low`` / ``high`` (3,) radians along each."""

    joint: int
    axes: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _frame(first: np.ndarray, second: np.ndarray | None = None) -> np.ndarray:
    """(3, 3) orthonormal rows starting with unit ``first`` (then ``second`` made orthogonal)."""
    first = first / np.linalg.norm(first)
    if second is None:
        second = np.eye(3)[np.argmin(np.abs(first))]
    second = second - (second @ first) * first
    second = second / np.linalg.norm(second)
    return np.stack([first, second, np.cross(first, second)])


def body_limits(anatomy: Anatomy) -> list[JointLimit]:
    """Hinged knees and elbows, twist-limited hips and shoulders, twist-only segments."""
    limits = []
    for s in SIDES:
        for role, axis in ((f"knee_{s}", anatomy.knee_axis(s)), (f"elbow_{s}", anatomy.elbow_axis(s))):
            limits.append(JointLimit(anatomy.joints[role], _frame(axis), np.zeros(3),
                                     np.array([BODY_MAX_FLEXION, 0.0, 0.0])))
    for joint, axis in anatomy.twist.items():
        limits.append(JointLimit(joint, _frame(axis), np.array([-FREE, 0.0, 0.0]), np.array([FREE, 0.0, 0.0])))
    for role in ("hip", "shoulder"):
        for s in SIDES:
            limits.append(JointLimit(anatomy.joints[f"{role}_{s}"], _frame(anatomy.bone_dir[f"{role}_{s}"]),
                                     np.array([-BODY_MAX_TWIST, -FREE, -FREE]), np.array([BODY_MAX_TWIST, FREE, FREE])))
    return limits


def hand_limits(model: BodyModel, side: str) -> list[JointLimit]:
    """Finger limits of the ``side`` hand (see the module docstring); axes: flexion, spread
    (about the palm normal), twist (about the bone)."""
    limits = []
    for name, f in finger_joints(model, side).items():
        finger, k = name[:-1], int(name[-1])
        axes = np.stack([f.flexion, f.volar, f.bone])
        if finger == FINGERS[0]:
            if k > 1:
                twist = _THUMB_TWIST * _DEG
                limits.append(JointLimit(f.joint, axes, np.array([-FREE, -FREE, -twist]),
                                         np.array([FREE, FREE, twist])))
            continue
        (flex_lo, flex_hi), spread, twist = _FINGER_RANGES[k]
        limits.append(JointLimit(f.joint, axes, np.array([flex_lo, -spread, -twist]) * _DEG,
                                 np.array([flex_hi, spread, twist]) * _DEG))
    return limits


def model_limits(model: BodyModel) -> list[JointLimit]:
    """The body's limits (bodies) and each hand's (hand models, bodies with fingers)."""
    try:
        limits = body_limits(anatomy_of(model))
    except ValueError:  # hand models have no body anatomy
        limits = []
    for side in hand_sides(model):
        limits += hand_limits(model, side)
    return limits


class JointLimitPrior(torch.nn.Module):
    """Squared hinge penalties outside each joint's ranges, mean over frames.

    Joints the model does not pose (e.g. Anny's fingers when only its body bones are posed) are
    skipped; the axes are turned into the frame of ``poses`` (``model.pose_frame``).
    """

    def __init__(self, model: BodyModel, limits: list[JointLimit]):
        super().__init__()
        slot = {int(j): i for i, j in enumerate(model.full_pose_joints)}
        limits = [lim for lim in limits if lim.joint in slot]
        self.full_poses = model.full_poses
        to_pose = model.pose_frame  # a model-frame row a reads r as a . (M r) = (a M) . r
        self.register_buffer("slots", torch.tensor([slot[lim.joint] for lim in limits], dtype=torch.long))
        self.register_buffer("axes", torch.tensor(np.array([lim.axes @ to_pose for lim in limits]).reshape(-1, 3, 3)))
        self.register_buffer("low", torch.tensor(np.array([lim.low for lim in limits]).reshape(-1, 3)))
        self.register_buffer("high", torch.tensor(np.array([lim.high for lim in limits]).reshape(-1, 3)))

    @classmethod
    def for_model(cls, model: BodyModel) -> JointLimitPrior:
        return cls(model, model_limits(model))

    def components(self, poses: torch.Tensor) -> torch.Tensor:
        """(F, L, 3) each limited joint's axis-angle along its three axes, the values the ranges bound."""
        r = self.full_poses(poses).reshape(poses.shape[0], -1, 3)[:, self.slots]
        return torch.einsum("jak,fjk->fja", self.axes.to(r), r)

    def forward(self, poses: torch.Tensor, *, per_frame: bool = False) -> torch.Tensor:
        """``poses`` (F, pose_dim) -> scalar, or each frame's share (F,) with ``per_frame``."""
        if not len(self.slots):
            return poses.new_zeros(len(poses)) if per_frame else poses.sum() * 0.0
        c = self.components(poses)
        excess = torch.relu(self.low.to(c) - c).square() + torch.relu(c - self.high.to(c)).square()
        shares = excess.sum((-1, -2)) / max(len(poses), 1)
        return shares if per_frame else shares.sum()
