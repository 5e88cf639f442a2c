"""Analytic inverse kinematics for the initial poses: limbs and trunk from keypoint directions.

Per frame and vectorised: the trunk bends from the rest Neck-MidHip direction to the observed
one (shared by the spine joints); each hip and shoulder turns its rest bone onto the observed
thigh / upper arm *and* its hinge axis onto the observed bending plane (so the knee or elbow
bends the way anatomy allows); knees and elbows take the observed angle. This starts the fit in
the right basin, where starting from the zero pose can leave a limb twisted or flipped.
"""

from __future__ import annotations

import numpy as np

from mvmocap.bodymodels.anatomy import SIDES, Anatomy
from mvmocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.skeletons import KeypointFormat

__all__ = ["initial_poses"]

_STRAIGHT = 0.15  # sin of the bend below which a limb counts as straight (plane undefined)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(F, 3, 3) smallest rotations taking unit directions a (3,) or (F, 3) to b (F, 3)."""
    a = np.broadcast_to(a, b.shape)
    axis = np.cross(a, b)
    angle = np.arctan2(np.linalg.norm(axis, axis=-1), np.sum(a * b, -1))
    return axis_angle_to_matrix(_unit(axis) * angle[:, None])


def _hinge_frame(bone_rest, axis_rest, bone_obs, child_obs):
    """Rotation (F, 3, 3) taking the rest bone and hinge axis onto the observed bone and bending
    plane, and the hinge angle (F,). Nearly straight limbs fall back to the plain swing."""
    n_obs = np.cross(bone_obs, child_obs)
    sin = np.linalg.norm(n_obs, axis=-1)
    angle = np.arctan2(sin, np.sum(bone_obs * child_obs, -1))
    n_obs = _unit(n_obs)
    n_rest = _unit(axis_rest - np.dot(axis_rest, bone_rest) * bone_rest)
    rest = np.stack([bone_rest, n_rest, np.cross(bone_rest, n_rest)], -1)  # columns
    obs = np.stack([bone_obs, n_obs, np.cross(bone_obs, n_obs)], -1)
    framed = obs @ rest.T
    swing = _swing(bone_rest, bone_obs)
    straight = (sin < _STRAIGHT)[:, None, None]
    return np.where(straight, swing, framed), angle


def initial_poses(kp: np.ndarray, Rh: np.ndarray, rest_kp: np.ndarray, anatomy: Anatomy, fmt: KeypointFormat,
                  posed_joints: np.ndarray, num_joints: int) -> np.ndarray:
    """Poses (F, pose_dim) from keypoints (F, K, 3), global rotations ``Rh`` (F, 3) and the
    model's zero-pose keypoints ``rest_kp`` (K, 3), all of one format ``fmt``."""
    F = len(kp)
    idx = fmt.index
    G_root = axis_angle_to_matrix(Rh)
    to_root = np.swapaxes(G_root, -1, -2)
    rot = np.broadcast_to(np.eye(3), (F, num_joints, 3, 3)).copy()

    def obs_dir(a: str, b: str, frame: np.ndarray) -> np.ndarray:
        return _unit(np.einsum("fij,fj->fi", frame, kp[:, idx(b)] - kp[:, idx(a)]))

    def rest_dir(a: str, b: str) -> np.ndarray:
        return _unit(rest_kp[idx(b)] - rest_kp[idx(a)])

    trunk = _swing(rest_dir("MidHip", "Neck"), obs_dir("MidHip", "Neck", to_root))
    share = matrix_to_axis_angle(trunk) / max(len(anatomy.spine), 1)
    for j in anatomy.spine:
        rot[:, j] = axis_angle_to_matrix(share)
    to_chest = np.swapaxes(G_root @ trunk, -1, -2)
    for s in SIDES:
        S = s.upper()
        for upper, lower, a, b, c, frame in (
            ("hip", "knee", "Hip", "Knee", "Ankle", to_root),
            ("shoulder", "elbow", "Shoulder", "Elbow", "Wrist", to_chest),
        ):
            axis = anatomy.knee_axis(s) if lower == "knee" else anatomy.elbow_axis(s)
            turn, angle = _hinge_frame(rest_dir(S + a, S + b), axis, obs_dir(S + a, S + b, frame),
                                       obs_dir(S + b, S + c, frame))
            rot[:, anatomy.joints[f"{upper}_{s}"]] = turn
            rot[:, anatomy.joints[f"{lower}_{s}"]] = axis_angle_to_matrix(axis[None] * angle[:, None])
    return matrix_to_axis_angle(rot)[:, posed_joints].reshape(F, -1)
