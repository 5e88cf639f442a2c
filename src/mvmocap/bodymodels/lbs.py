"""Linear blend skinning pieces shared by the body models (PyTorch, batched, differentiable).

A skeleton is a ``parents`` array (J,) with -1 for the root, every parent listed before its
children. Rest joints ``(B, J, 3)`` and per-joint rotations ``(B, J, 3, 3)`` relative to the
parent give global transforms; skinning blends them per vertex with weights ``(N, J)``.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["check_parents", "forward_kinematics", "pose_feature", "skin_points", "skinned_keypoint_jacobian",
           "subtree_matrix"]


def check_parents(parents) -> np.ndarray:
    """Validate a parents array: one root (-1) first, every parent before its child."""
    parents = np.asarray(parents, dtype=np.int64).reshape(-1)
    if parents.size == 0 or parents[0] != -1 or np.any(parents[1:] < 0):
        raise ValueError(f"parents must start with the root (-1) and have one root only; got {parents.tolist()}")
    if np.any(parents[1:] >= np.arange(1, parents.size)):
        raise ValueError("every parent must come before its child in the joint order")
    return parents


def forward_kinematics(
    rotations: torch.Tensor, rest_joints: torch.Tensor, parents: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """Posed joints and rest-to-posed transforms.

    Args:
        rotations: (B, J, 3, 3) local rotations (root: relative to the world).
        rest_joints: (B, J, 3) joint positions in the rest pose.
        parents: (J,) from :func:`check_parents`.
    Returns:
        posed_joints: (B, J, 3); transforms: (B, J, 3, 4) mapping a rest-pose point attached
        to joint j to its posed position, ``x' = A[:, j, :, :3] @ x + A[:, j, :, 3]``.
    """
    offsets = rest_joints.clone()
    offsets[:, 1:] = rest_joints[:, 1:] - rest_joints[:, parents[1:]]
    glob_rot = [rotations[:, 0]]
    glob_pos = [rest_joints[:, 0]]
    for j in range(1, len(parents)):  # a chain: each joint needs its parent's global pose
        p = parents[j]
        glob_rot.append(glob_rot[p] @ rotations[:, j])
        glob_pos.append(glob_pos[p] + (glob_rot[p] @ offsets[:, j, :, None])[..., 0])
    rot = torch.stack(glob_rot, 1)
    pos = torch.stack(glob_pos, 1)
    trans = pos - (rot @ rest_joints[..., None])[..., 0]
    return pos, torch.cat([rot, trans[..., None]], -1)


def skin_points(points: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Blend joint transforms per point.

    Args:
        points: (B, N, 3) rest-pose points (after blend shapes).
        weights: (N, J) skinning weights.
        transforms: (B, J, 3, 4) from :func:`forward_kinematics`.
    Returns:
        (B, N, 3) posed points.
    """
    blended = torch.einsum("nj,bjkl->bnkl", weights, transforms)
    return (blended[..., :3] @ points[..., None])[..., 0] + blended[..., 3]


def pose_feature(rotations: torch.Tensor) -> torch.Tensor:
    """SMPL pose blend-shape input: ``(R_j - I)`` of every non-root joint, flattened.

    (B, J, 3, 3) -> (B, (J - 1) * 9).
    """
    eye = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
    return (rotations[:, 1:] - eye).reshape(rotations.shape[0], (rotations.shape[1] - 1) * 9)


_LEVI_CIVITA = torch.zeros(3, 3, 3, dtype=torch.float64)
for _i, _j, _k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
    _LEVI_CIVITA[_i, _j, _k], _LEVI_CIVITA[_i, _k, _j] = 1.0, -1.0


def subtree_matrix(parents: np.ndarray, joints) -> np.ndarray:
    """(Q, J) 0/1 matrix: row q marks ``joints[q]`` and every joint below it in the tree."""
    parents = np.asarray(parents)
    inside = np.zeros((len(joints), len(parents)))
    for q, top in enumerate(joints):
        member = np.zeros(len(parents), dtype=bool)
        member[top] = True
        for j in range(int(top) + 1, len(parents)):  # parents come before their children
            member[j] = member[parents[j]]
        inside[q] = member
    return inside


def skinned_keypoint_jacobian(transforms: torch.Tensor, rest_points: torch.Tensor, mass: torch.Tensor,
                              pivots: torch.Tensor, axes: torch.Tensor, subtree: torch.Tensor
                              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Keypoints of linear blend skinning and their exact derivative w.r.t. the joint rotations.

    A keypoint is ``sum_j T_j [X_kj; M_kj] = sum_j (R_j X_kj + t_j M_kj)`` (a regressor folded
    through skinning, see :class:`~mvmocap.bodymodels.regressors.FoldedRegressor`). Changing the
    axis-angle of posed joint q by ``d`` turns every transform of its subtree by the rotation
    vector ``w = axes[q] @ d`` about ``pivots[q]``, so each part moves by ``w x (part - M pivot)``.

    Args:
        transforms: (B, J, 3 or 4, 4) rest-to-posed transforms ``[R_j | t_j]``.
        rest_points: (B or 1, K, J, 3) ``X``.
        mass: (K, J) ``M``.
        pivots: (B, Q, 3) posed position of each posed joint (the point its rotation turns about).
        axes: (B, Q, 3, 3) rotation vector per unit change of each posed joint's axis-angle.
        subtree: (Q, J) from :func:`subtree_matrix`.
    Returns:
        keypoints (B, K, 3) and their derivative (B, K, 3, 3 Q), columns in the order of ``axes``.
    """
    used = torch.nonzero(mass.abs().sum(0) > 0).flatten()  # joints that carry some keypoint
    R = transforms[:, used, :3, :3]
    t = transforms[:, used, :3, 3]
    M = mass[:, used].to(R)
    parts = torch.einsum("bjmn,bkjn->bkjm", R, rest_points[:, :, used].to(R)) + t[:, None] * M[None, :, :, None]
    inside = subtree[:, used].to(R)
    lever = torch.einsum("bkjc,qj->bkqc", parts, inside) - (M @ inside.T)[None, :, :, None] * pivots[:, None]
    # (w x l)_m = eps_mnp w_n l_p with w = axes[:, q] @ d: one batched product per posed joint
    turn = torch.einsum("mnp,bqna->bqmap", _LEVI_CIVITA.to(R), axes)  # (B, Q, 3 m, 3 a, 3 p)
    B, Q = axes.shape[:2]
    K = lever.shape[1]
    jac = turn.reshape(B, Q, 9, 3) @ lever.permute(0, 2, 3, 1)  # (B, Q, 3 m x 3 a, K)
    return parts.sum(2), jac.reshape(B, Q, 3, 3, K).permute(0, 4, 2, 1, 3).reshape(B, K, 3, 3 * Q)
