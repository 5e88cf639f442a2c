"""A procedural human skeleton that produces body25 keypoints by forward kinematics.

Body frame: x forward, y to the subject's left, z up; rest pose standing with arms down.
Offsets are metres for a 1.72 m subject and scale with height. Virtual joints (``Spine``,
``Head``) carry rotations but are not keypoints.
"""

from __future__ import annotations

import numpy as np

from mvmocap.skeletons import BODY25

__all__ = ["JOINTS", "PARENTS", "rest_offsets", "forward_kinematics", "to_body25", "REFERENCE_HEIGHT"]

REFERENCE_HEIGHT = 1.72

# (name, parent, offset from parent in the body frame, metres), parents listed before children.
_RIGHT_SIDE = [
    ("RShoulder", "Neck", (0.0, -0.19, -0.03)),
    ("RElbow", "RShoulder", (0.0, 0.0, -0.29)),
    ("RWrist", "RElbow", (0.0, 0.0, -0.26)),
    ("RHip", "MidHip", (0.0, -0.10, 0.0)),
    ("RKnee", "RHip", (0.0, 0.0, -0.43)),
    ("RAnkle", "RKnee", (0.0, 0.0, -0.42)),
    ("RHeel", "RAnkle", (-0.05, 0.0, -0.07)),
    ("RBigToe", "RAnkle", (0.17, 0.025, -0.07)),
    ("RSmallToe", "RAnkle", (0.14, -0.04, -0.07)),
    ("REye", "Head", (0.08, -0.035, 0.17)),
    ("REar", "Head", (0.0, -0.075, 0.15)),
]
_TABLE = [
    ("MidHip", None, (0.0, 0.0, 0.0)),
    ("Spine", "MidHip", (0.0, 0.0, 0.0)),
    ("Neck", "Spine", (0.0, 0.0, 0.50)),
    ("Head", "Neck", (0.0, 0.0, 0.0)),
    ("Nose", "Head", (0.10, 0.0, 0.12)),
    *_RIGHT_SIDE,
    *[
        ("L" + n[1:], p if p in ("Neck", "MidHip", "Head") else "L" + p[1:], (x, -y, z))
        for n, p, (x, y, z) in _RIGHT_SIDE
    ],
]
JOINTS = [row[0] for row in _TABLE]
PARENTS = np.array([-1 if p is None else JOINTS.index(p) for _, p, _ in _TABLE])
_OFFSETS = np.array([row[2] for row in _TABLE], dtype=np.float64)
_BODY25_INDEX = np.array([JOINTS.index(n) for n in BODY25.joints])

# Height of the MidHip above the ground in the rest pose (thigh + shin + ankle height).
REST_HIP_HEIGHT = 0.43 + 0.42 + 0.07


def rest_offsets(height: float = REFERENCE_HEIGHT) -> np.ndarray:
    """(K, 3) parent-relative offsets scaled to a subject of ``height`` metres."""
    return _OFFSETS * (height / REFERENCE_HEIGHT)


def forward_kinematics(local_rot: np.ndarray, root_pos: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Global joint positions.

    Args:
        local_rot: (F, K, 3, 3) rotation of each joint relative to its parent (root: global).
        root_pos: (F, 3) world position of the root (MidHip).
        offsets: (K, 3) from :func:`rest_offsets`.
    Returns:
        (F, K, 3) world positions.
    """
    F, K = local_rot.shape[:2]
    glob = np.empty_like(local_rot)
    pos = np.empty((F, K, 3))
    for k in range(K):  # kinematic tree order; vectorised over frames
        p = PARENTS[k]
        if p < 0:
            glob[:, k], pos[:, k] = local_rot[:, k], root_pos
        else:
            glob[:, k] = glob[:, p] @ local_rot[:, k]
            pos[:, k] = pos[:, p] + glob[:, p] @ offsets[k]
    return pos


def to_body25(positions: np.ndarray) -> np.ndarray:
    """(..., K, 3) skeleton positions -> (..., 25, 3) in body25 order."""
    return positions[..., _BODY25_INDEX, :]
