"""A fitted body as a skinned skeleton: what the exporters (BVH, glTF) and the replay page need.

Every model here poses its mesh by linear blend skinning of a rest mesh (its shape applied),
optionally plus pose correctives that are linear in per-frame features (SMPL's ``R - I``):

``v_i(t) = sum_j w_ij A_j(t) [r_i + sum_p c_p(t) d_pi]``

with ``A_j(t)`` the rigid (3, 4) transform taking the rest pose to frame t, in world
coordinates (``Rh``/``Th`` folded in). Because ``A_j`` is rigid, joint j's world rotation
``A_j[:, :3]`` and position ``A_j(t) rest_j`` describe a skeleton whose rest frames are
axis-aligned at the rest joints: the form BVH and glTF bind poses take.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.geometry.torch_rotations import axis_angle_to_matrix_t

__all__ = ["SkinnedSequence", "skinned_sequence"]


@dataclass(frozen=True)
class SkinnedSequence:
    """A fitted sequence of F frames as a skinned skeleton of J joints and V vertices (float64,
    world frame of the capture: metres, z up).

    ``parents`` (J,) with -1 for the root; ``rest_joints`` (J, 3) and ``rest_vertices`` (V, 3)
    for the fitted shape; ``faces`` (T, 3); ``weights`` (V, J) rows summing to 1;
    ``transforms`` (F, J, 3, 4); ``joints`` (F, J, 3) posed; ``corrective_weights`` (F, P) and
    ``corrective_directions`` (P, V, 3), or both None for a model without pose correctives.
    """

    name: str
    joint_names: list[str]
    parents: np.ndarray
    rest_joints: np.ndarray
    rest_vertices: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    transforms: np.ndarray
    joints: np.ndarray
    corrective_weights: np.ndarray | None = None
    corrective_directions: np.ndarray | None = None

    @property
    def rotations(self) -> np.ndarray:
        """(F, J, 3, 3) world rotation of each joint relative to its axis-aligned rest frame."""
        return self.transforms[..., :3]

    def local_rotations(self) -> np.ndarray:
        """(F, J, 3, 3): each joint's rotation relative to its parent's (the root's to the world)."""
        rot = self.rotations
        local = rot.copy()
        local[:, 1:] = np.swapaxes(rot[:, self.parents[1:]], -1, -2) @ rot[:, 1:]
        return local

    def influences(self, multiple: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Every non-zero skinning weight per vertex, largest first: (V, K) joint indices and
        weights (rows summing to 1), K the most any vertex has, rounded up to a ``multiple``
        (glTF: 4); unused slots hold joint 0 with weight 0."""
        count = int((self.weights > 1e-8).sum(1).max())
        slots = multiple * max(1, -(-count // multiple))
        order = np.argsort(-self.weights, axis=1)[:, :slots]
        values = np.take_along_axis(self.weights, order, 1)
        values = np.where(values > 1e-8, values, 0.0)
        values = values / values.sum(1, keepdims=True)
        return np.where(values > 0, order, 0), values

    def vertices(self, frames: slice | np.ndarray | None = None, correctives: bool = True) -> np.ndarray:
        """(f, V, 3) skinned vertices of ``frames`` (all when None), by the formula of the module
        docstring; ``correctives=False`` leaves the pose correctives out."""
        index = slice(None) if frames is None else frames
        A = self.transforms[index]
        rest = np.broadcast_to(self.rest_vertices, (len(A),) + self.rest_vertices.shape)
        if correctives and self.corrective_weights is not None:
            rest = rest + np.einsum("fp,pvc->fvc", self.corrective_weights[index], self.corrective_directions)
        blended = np.einsum("vj,fjkl->fvkl", self.weights, A)
        return (blended[..., :3] @ rest[..., None])[..., 0] + blended[..., 3]


def skinned_sequence(model, params: dict[str, np.ndarray]) -> SkinnedSequence:
    """The skinned skeleton of ``model`` (a :class:`~mvmocap.bodymodels.BodyModel` that
    implements ``skinning``) posed by ``params`` (``poses`` (F, D), ``shapes`` (1, S), ``Rh``,
    ``Th`` (F, 3): the fit's parameters, EasyMocap convention)."""
    with torch.no_grad():
        poses = torch.as_tensor(np.asarray(params["poses"]), dtype=torch.float64)
        shapes = torch.as_tensor(np.asarray(params["shapes"]).reshape(-1, model.num_shapes)[:1], dtype=torch.float64)
        parts = model.skinning(poses, shapes)
        Rh = axis_angle_to_matrix_t(torch.as_tensor(np.asarray(params["Rh"]), dtype=torch.float64)).numpy()
    Th = np.asarray(params["Th"], dtype=np.float64)
    A = parts["transforms"]  # (F, J, 3, 4) in the model frame
    world = np.concatenate([Rh[:, None] @ A[..., :3], (Rh[:, None] @ A[..., 3:])[..., 0][..., None]
                            + Th[:, None, :, None]], -1)
    rest_joints = parts["rest_joints"]
    joints = (world[..., :3] @ rest_joints[..., None])[..., 0] + world[..., 3]
    return SkinnedSequence(model.name, list(model.joint_names), np.asarray(model.parents), rest_joints,
                           parts["rest_vertices"], model.faces.cpu().numpy().astype(np.int64), parts["weights"],
                           world, joints, parts.get("corrective_weights"), parts.get("corrective_directions"))
