"""SMPL, SMPL-H, SMPL-X and MANO from the published model arrays (one class for all four).

Model definition (Loper et al. 2015): ``T(beta, theta) = T_bar + S beta + P (R(theta) - I)``,
rest joints ``J(beta) = J_regressor @ (T_bar + S beta)``, then linear blend skinning with the
kinematic tree. SMPL-X's expression blend shapes extend ``S`` (``expression`` argument).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from mvmocap.bodymodels.base import BodyModel, BodyOutput
from mvmocap.bodymodels.joint_names import joint_names_for
from mvmocap.bodymodels.lbs import (
    check_parents,
    forward_kinematics,
    pose_feature,
    skin_points,
    skinned_keypoint_jacobian,
    subtree_matrix,
)
from mvmocap.bodymodels.model_files import MODEL_FILE_NAMES, find_model_file, read_model_file
from mvmocap.bodymodels.regressors import KeypointMap, load_regressor_file, smpl_family_keypoint_maps
from mvmocap.geometry.torch_rotations import axis_angle_to_matrix_t, left_jacobian_t
from mvmocap.utils import InputError

__all__ = ["SMPLFamilyModel", "load_smpl_family"]

log = logging.getLogger(__name__)

SMPLX_BETAS = 300  # SMPL-X stores 300 shape then 100 expression directions


class SMPLFamilyModel(BodyModel):
    """A SMPL-family body or hand model built from its arrays.

    Args:
        arrays: ``v_template`` (V, 3), ``shapedirs`` (V, 3, S), ``posedirs`` (V, 3, 9 (J-1)),
            ``J_regressor`` (J, V), ``weights`` (V, J), ``kintree_table`` (2, J), ``f`` (F, 3).
        num_shapes: shape coefficients used (at most those in the file).
        num_expression: SMPL-X expression coefficients (ignored by other models).
        name: label for messages.
        dtype: precision the arrays are stored in (inputs of another dtype get cast copies).
        hand_pca: pose the fingers with this many PCA coefficients per hand of the file's
            ``hands_components`` (around ``hands_mean``; SMPL-H / SMPL-X: ``..l``, ``..r``)
            instead of 45 axis-angle values per hand; ``poses`` is then the other joints'
            axis-angle followed by the coefficients (MANO: 3 + n; SMPL-H: 66 + 2n; SMPL-X: 75 + 2n).
        hand_side: MANO only: ``"r"`` (default) or ``"l"``, the hand the file models.
    """

    def __init__(self, arrays: dict[str, np.ndarray], num_shapes: int = 10, num_expression: int = 10,
                 name: str | None = None, dtype: torch.dtype = torch.float32, hand_pca: int | None = None,
                 hand_side: str = "r"):
        super().__init__()
        v_template = np.asarray(arrays["v_template"], dtype=np.float64)
        J_regressor = np.asarray(arrays["J_regressor"], dtype=np.float64)
        num_joints = J_regressor.shape[0]
        self.kind, self.joint_names = joint_names_for(num_joints)
        self.name = name or self.kind
        if hand_side not in ("l", "r"):
            raise ValueError(f"hand_side must be 'l' or 'r', got {hand_side!r}")
        self.hand_side = hand_side if self.kind == "mano" else None
        V = v_template.shape[0]
        shapedirs = np.asarray(arrays["shapedirs"], dtype=np.float64).reshape(V, 3, -1)
        if self.kind == "smplx":
            expr = shapedirs[..., SMPLX_BETAS:SMPLX_BETAS + num_expression]
            shapedirs = shapedirs[..., :SMPLX_BETAS]
            self.num_expression = expr.shape[-1]
        else:
            expr = np.zeros((V, 3, 0))
            self.num_expression = 0
        if num_shapes > shapedirs.shape[-1]:
            raise InputError(f"{self.name}: {num_shapes} shape coefficients asked, the file has {shapedirs.shape[-1]}")
        dirs = np.concatenate([shapedirs[..., :num_shapes], expr], -1)  # (V, 3, S + E)
        posedirs = np.asarray(arrays["posedirs"], dtype=np.float64).reshape(V, 3, -1)
        if posedirs.shape[-1] != 9 * (num_joints - 1):
            raise InputError(f"{self.name}: posedirs has {posedirs.shape[-1]} columns, expected {9 * (num_joints - 1)}")
        parents = np.asarray(arrays["kintree_table"], dtype=np.int64)[0].copy()
        parents[(parents < 0) | (parents >= num_joints)] = -1
        self.parents = check_parents(parents)
        self.num_shapes = num_shapes
        self.num_vertices = V
        self.pose_dim = 3 * num_joints
        store = dict(dtype=dtype)
        self.register_buffer("v_template", torch.tensor(v_template, **store))
        self.register_buffer("shapedirs", torch.tensor(dirs.transpose(2, 0, 1).copy(), **store))  # (S+E, V, 3)
        self.register_buffer("posedirs", torch.tensor(posedirs.transpose(2, 0, 1).copy(), **store))  # (P, V, 3)
        self.register_buffer("lbs_weights", torch.tensor(np.asarray(arrays["weights"]), **store))
        self.register_buffer("J_template", torch.tensor(J_regressor @ v_template, **store))
        self.register_buffer("J_shapedirs", torch.tensor(np.einsum("jv,vcs->sjc", J_regressor, dirs), **store))
        self.register_buffer("faces", torch.tensor(np.asarray(arrays["f"], dtype=np.int64)))
        self.hand_pca = None
        self.num_pca_hands = 0
        if hand_pca is not None:
            self._use_hand_pca(arrays, hand_pca, store)
        self.regressors: dict[str, KeypointMap] = smpl_family_keypoint_maps(self.kind, self.joint_names)
        self._support_cache: dict = {}

    def _use_hand_pca(self, arrays: dict[str, np.ndarray], hand_pca: int, store: dict) -> None:
        """Pose each hand's 15 finger joints (the last 15 joints per hand: MANO's; SMPL-H's and
        SMPL-X's left then right) by ``hand_pca`` coefficients around the hand's mean pose."""
        suffixes = {"mano": [""], "smplh": ["l", "r"], "smplx": ["l", "r"]}.get(self.kind)
        keys = [(f"hands_components{x}", f"hands_mean{x}") for x in suffixes or []]
        if not keys or any(k not in arrays for pair in keys for k in pair):
            raise InputError(f"{self.name}: hand_pca needs a MANO, SMPL-H or SMPL-X file with hands_components")
        components = [np.asarray(arrays[c], dtype=np.float64) for c, _ in keys]
        if not 1 <= hand_pca <= min(len(c) for c in components):
            raise InputError(f"{self.name}: hand_pca must be in 1..{min(len(c) for c in components)}, got {hand_pca}")
        self.hand_pca = hand_pca
        self.num_pca_hands = len(keys)
        self.pose_dim = 3 * (self.num_joints - 15 * len(keys)) + hand_pca * len(keys)
        self.register_buffer("pca_components", torch.tensor(np.stack([c[:hand_pca] for c in components]), **store))
        self.register_buffer("pca_mean", torch.tensor(np.stack([np.asarray(arrays[m]).reshape(45) for _, m in keys]),
                                                      **store))

    @property
    def keypoint_formats(self) -> list[str]:
        return sorted(self.regressors)

    @property
    def posed_joints(self) -> np.ndarray:
        # With hand PCA the finger joints are posed by the coefficients after the other joints.
        return np.arange(self.num_joints - 15 * self.num_pca_hands)

    @property
    def full_pose_joints(self) -> np.ndarray:
        return np.arange(self.num_joints)

    def zero_pose_joints(self) -> np.ndarray:
        return self.J_template.double().cpu().numpy()  # also with PCA poses, whose zero is the mean pose

    def add_regressor(self, name: str, keypoint_map: KeypointMap) -> None:
        """Register a keypoint regressor under ``name`` (e.g. a user's body25 ``.npy``)."""
        if keypoint_map.joint_weights.shape[1] != self.num_joints or (
            len(keypoint_map.vertex_ids) and keypoint_map.vertex_ids.max() >= self.num_vertices
        ):
            raise InputError(f"{self.name}: regressor {name!r} does not fit this model's joints/vertices")
        self.regressors[name] = keypoint_map

    def _blend_input(self, shapes: torch.Tensor, expression: torch.Tensor | None) -> torch.Tensor:
        if not self.num_expression:
            return shapes
        if expression is None:
            expression = shapes.new_zeros(shapes.shape[0], self.num_expression)
        expression = torch.as_tensor(expression).to(shapes).expand(shapes.shape[0], -1)
        if expression.shape[1] != self.num_expression:
            raise ValueError(f"{self.name}: expression must be (B, {self.num_expression})")
        return torch.cat([shapes, expression], 1)

    def rest_root(self, shapes: torch.Tensor) -> torch.Tensor:
        coeffs = self._blend_input(shapes, None)
        return self.cast("J_template", shapes)[0] + coeffs @ self.cast("J_shapedirs", shapes)[:, 0]

    def _rest_points(self, coeffs, rot, ids: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Rest positions after shape and pose blend shapes (B, N, 3) and skinning weights (N, J)
        of all vertices (ids None) or of the subset ``ids``."""
        like = coeffs
        template, shapedirs, posedirs, weights = (
            self.cast(n, like) for n in ("v_template", "shapedirs", "posedirs", "lbs_weights")
        )
        B = coeffs.shape[0]
        if ids is not None:
            key = (ids.tobytes(), like.dtype, like.device)
            if key not in self._support_cache:
                idx = torch.as_tensor(ids, device=like.device)
                self._support_cache[key] = (template[idx], shapedirs[:, idx], posedirs[:, idx], weights[idx])
            template, shapedirs, posedirs, weights = self._support_cache[key]
        n = template.shape[0]
        offsets = coeffs @ shapedirs.reshape(-1, n * 3) + pose_feature(rot) @ posedirs.reshape(-1, n * 3)
        return template + offsets.reshape(B, n, 3), weights

    def _rest_and_skin(self, coeffs, rot, transforms, ids: np.ndarray | None) -> torch.Tensor:
        """Blend shapes then skinning, for all vertices (ids None) or the subset ``ids``."""
        return skin_points(*self._rest_points(coeffs, rot, ids), transforms)

    def _kinematics(self, poses, shapes, expression=None) -> tuple[torch.Tensor, ...]:
        """Blend-shape coefficients, local rotations (B, J, 3, 3), rest joints, posed joints and
        transforms (B, J, 3, 4) of (B, pose_dim) ``poses`` (already broadcast)."""
        poses = self.full_poses(poses)
        B = poses.shape[0]
        coeffs = self._blend_input(shapes, expression)
        rot = axis_angle_to_matrix_t(poses.reshape(B, self.num_joints, 3))
        rest_joints = self.cast("J_template", poses) + torch.einsum(
            "bs,sjc->bjc", coeffs, self.cast("J_shapedirs", poses)
        )
        return (coeffs, rot, rest_joints) + forward_kinematics(rot, rest_joints, self.parents)

    def keypoint_jacobian(self, poses, shapes, format="body25"):
        """Analytic: the keypoints folded through skinning (pose blend shapes included in the
        values, their small change with the pose left out of the derivative)."""
        poses, shapes, _, _ = self.prepare(poses, shapes)
        coeffs, rot, rest_joints, joints, transforms = self._kinematics(poses, shapes)
        kmap = self.regressors[format]
        joint_weights = torch.as_tensor(kmap.joint_weights, dtype=poses.dtype, device=poses.device)
        rest = joint_weights[None, :, :, None] * rest_joints[:, None]  # joint keypoints turn with their joint
        mass = joint_weights
        if len(kmap.vertex_ids):
            support, weights = self._rest_points(coeffs, rot, kmap.vertex_ids)
            folded = torch.as_tensor(kmap.vertex_weights, dtype=poses.dtype, device=poses.device)[:, :, None] * weights
            rest = rest + torch.einsum("ksj,bsc->bkjc", folded, support)
            mass = mass + folded.sum(1)
        parent_rot = transforms[:, np.maximum(self.parents, 0), :, :3]
        parent_rot[:, 0] = torch.eye(3, dtype=poses.dtype, device=poses.device)
        axes = parent_rot @ left_jacobian_t(self.full_poses(poses).reshape(len(poses), self.num_joints, 3))
        key = ("subtree", poses.dtype, poses.device)
        if key not in self._cast_cache:
            self._cast_cache[key] = torch.as_tensor(subtree_matrix(self.parents, np.arange(self.num_joints)),
                                                    dtype=poses.dtype, device=poses.device)
        kp, jac = skinned_keypoint_jacobian(transforms, rest, mass, joints, axes, self._cast_cache[key])
        to_full = self.full_pose_matrix(poses)
        return kp, jac if to_full is None else jac @ to_full

    def full_poses(self, poses: torch.Tensor) -> torch.Tensor:
        """(B, pose_dim) -> (B, 3 J) axis-angle of every joint (expands PCA coefficients)."""
        if self.hand_pca is None:
            return poses
        kept = 3 * len(self.posed_joints)
        coeffs = poses[:, kept:].reshape(len(poses), self.num_pca_hands, self.hand_pca)
        components = self.cast("pca_components", poses)
        fingers = self.cast("pca_mean", poses) + torch.einsum("bhn,hnk->bhk", coeffs, components)
        return torch.cat([poses[:, :kept], fingers.reshape(len(poses), -1)], 1)

    def posed(self, poses, shapes, keypoints, vertices, expression=None) -> BodyOutput:
        coeffs, rot, _, joints, transforms = self._kinematics(poses, shapes, expression)
        kmap = self.regressors[keypoints] if keypoints else None
        verts = support = None
        if vertices:
            verts = self._rest_and_skin(coeffs, rot, transforms, None)
            if kmap is not None:
                support = verts[:, torch.as_tensor(kmap.vertex_ids, device=verts.device)]
        elif kmap is not None and len(kmap.vertex_ids):
            support = self._rest_and_skin(coeffs, rot, transforms, kmap.vertex_ids)
        kps = kmap.apply(joints, support) if kmap is not None else None
        return BodyOutput(joints, verts, kps)

    def skinning(self, poses: torch.Tensor, shapes: torch.Tensor) -> dict[str, np.ndarray]:
        coeffs = self._blend_input(shapes[:1], None)
        poses = self.full_poses(poses.to(coeffs))
        rot = axis_angle_to_matrix_t(poses.reshape(len(poses), self.num_joints, 3))
        rest_joints = self.cast("J_template", coeffs) + torch.einsum("bs,sjc->bjc", coeffs,
                                                                      self.cast("J_shapedirs", coeffs))
        _, transforms = forward_kinematics(rot, rest_joints.expand(len(poses), -1, -1), self.parents)
        rest_vertices = self.cast("v_template", coeffs) + torch.einsum("s,svc->vc", coeffs[0],
                                                                        self.cast("shapedirs", coeffs))
        return {"rest_joints": rest_joints[0].double().numpy(), "rest_vertices": rest_vertices.double().numpy(),
                "weights": self.lbs_weights.double().cpu().numpy(), "transforms": transforms.double().numpy(),
                "corrective_weights": pose_feature(rot).double().numpy(),
                "corrective_directions": self.posedirs.double().cpu().numpy()}

    def _apply(self, fn, recurse=True):
        self._support_cache = {}
        return super()._apply(fn, recurse)


def _mend_mano_left(left: dict[str, np.ndarray], file: Path) -> dict[str, np.ndarray]:
    """The published ``MANO_LEFT.pkl`` (v1.2) stores the x component of its shape directions as
    the right hand's instead of mirrored, so its shape coefficients move the left hand's vertices
    the wrong way along x. Where the right file lies next to it and the two x components agree
    (summed absolute difference below 1, as in the defective file), the left's is negated."""
    right_file = next((file.parent / n for n in MODEL_FILE_NAMES["mano"]["right"] if (file.parent / n).is_file()),
                      None)
    if right_file is None:
        log.info("%s: no MANO_RIGHT next to it; its shape directions are used as stored", file)
        return left
    right = read_model_file(right_file)
    x_left = np.asarray(left["shapedirs"], dtype=np.float64)[:, 0]
    x_right = np.asarray(right["shapedirs"], dtype=np.float64)[:, 0]
    if x_left.shape != x_right.shape or np.abs(x_left - x_right).sum() >= 1.0:
        return left
    log.warning("%s: the x component of its shape directions equals MANO_RIGHT's (the known defect of the "
                "published file); negated so that left and right hands mirror each other", file)
    shapedirs = np.array(left["shapedirs"], dtype=np.float64)
    shapedirs[:, 0] *= -1.0
    return {**left, "shapedirs": shapedirs}


def load_smpl_family(
    kind: str = "smpl",
    variant: str = "neutral",
    path: str | Path | None = None,
    num_shapes: int = 10,
    regressor: str | Path | None = None,
    regressor_format: str = "body25",
    hand_pca: int | None = None,
) -> SMPLFamilyModel:
    """Find and load a model file (see :func:`find_model_file`); optionally add a user
    ``.npy`` keypoint regressor (K x V) under ``regressor_format``, replacing the built-in one.
    A MANO file is a left hand when ``variant`` is ``left`` or its name says LEFT."""
    file = find_model_file(kind, variant, path)
    arrays = read_model_file(file)
    side = "l" if variant == "left" or (path is not None and "left" in file.name.lower()) else "r"
    if kind == "mano" and side == "l":
        arrays = _mend_mano_left(arrays, file)
    model = SMPLFamilyModel(arrays, num_shapes=num_shapes, name=f"{kind} ({file.name})", hand_pca=hand_pca,
                            hand_side=side)
    if model.kind != kind:
        raise InputError(f"{file}: this is a {model.kind} model file, not {kind}")
    if regressor is not None:
        model.add_regressor(regressor_format,
                            load_regressor_file(regressor, regressor_format, model.num_vertices, model.num_joints))
    return model
