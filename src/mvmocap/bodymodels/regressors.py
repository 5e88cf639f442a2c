"""Keypoint regressors: linear maps from a posed body to keypoints of a named format.

A keypoint is a weighted sum of posed joints and posed vertices,
``K = Wj @ joints + Wv @ vertices[support]``. Keeping the vertex part on its few support
vertices lets a keypoints-only forward skin those vertices and nothing else.

Built-in definitions for the SMPL family follow the published models: body25 takes joints where
OpenPose's and SMPL's agree (shoulders, elbows, wrists, hips, knees, ankles, neck; MidHip as the
mean of the hips) and the commonly used vertex indices for nose, eyes, ears, toes and heels;
hand21 takes MANO's 16 joints and one vertex at each fingertip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mvmocap.skeletons import get_format
from mvmocap.utils import InputError

__all__ = [
    "FoldedRegressor",
    "KeypointMap",
    "load_regressor_file",
    "regressor_from_matrix",
    "smpl_family_keypoint_maps",
    "stack_maps",
]

# Vertex indices of the SMPL/SMPL-H mesh (6890 vertices) and of SMPL-X (10475 vertices).
_HEAD_FEET = {
    "smpl": {"Nose": 332, "REye": 6260, "LEye": 2800, "REar": 4071, "LEar": 583, "LBigToe": 3216, "LSmallToe": 3226,
             "LHeel": 3387, "RBigToe": 6617, "RSmallToe": 6624, "RHeel": 6787},
    "smplx": {"Nose": 9120, "REye": 9929, "LEye": 9448, "REar": 616, "LEar": 6, "LBigToe": 5770, "LSmallToe": 5780,
              "LHeel": 8846, "RBigToe": 8463, "RSmallToe": 8474, "RHeel": 8635},
}
_HEAD_FEET["smplh"] = _HEAD_FEET["smpl"]
# Fingertip vertices, thumb/index/middle/ring/pinky.
_TIPS = {
    "mano": {"": (744, 320, 443, 554, 671)},
    "smplh": {"left_": (2746, 2319, 2445, 2556, 2673), "right_": (6191, 5782, 5905, 6016, 6133)},
    "smplx": {"left_": (5361, 4933, 5058, 5169, 5286), "right_": (8079, 7669, 7794, 7905, 8022)},
}
_BODY25_JOINTS = {
    "Neck": ("neck",), "MidHip": ("left_hip", "right_hip"),
    **{f"{s}{part}": (f"{side}_{smpl}",) for s, side in (("R", "right"), ("L", "left"))
       for part, smpl in (("Shoulder", "shoulder"), ("Elbow", "elbow"), ("Wrist", "wrist"), ("Hip", "hip"),
                          ("Knee", "knee"), ("Ankle", "ankle"))},
}
_FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")


@dataclass
class KeypointMap:
    """Keypoints as ``joint_weights @ joints + vertex_weights @ vertices[vertex_ids]``.

    Attributes:
        format: keypoint format name (its joint order is the row order).
        joint_weights: (K, J) weights on the posed model joints.
        vertex_ids: (S,) support vertices.
        vertex_weights: (K, S) weights on the posed support vertices.
    """

    format: str
    joint_weights: np.ndarray
    vertex_ids: np.ndarray
    vertex_weights: np.ndarray

    def apply(self, joints: torch.Tensor, support_vertices: torch.Tensor | None) -> torch.Tensor:
        """(B, J, 3) joints and (B, S, 3) posed support vertices -> (B, K, 3) keypoints."""
        jw = torch.as_tensor(self.joint_weights, dtype=joints.dtype, device=joints.device)
        out = torch.einsum("kj,bjc->bkc", jw, joints)
        if len(self.vertex_ids):
            vw = torch.as_tensor(self.vertex_weights, dtype=joints.dtype, device=joints.device)
            out = out + torch.einsum("ks,bsc->bkc", vw, support_vertices)
        return out


def _map_from_spec(fmt: str, joint_names: list[str], spec: dict[str, tuple[str, ...] | int]) -> KeypointMap:
    """spec: keypoint name -> joint names to average, or a single vertex index."""
    names = get_format(fmt).joints
    jw = np.zeros((len(names), len(joint_names)))
    vertex_rows: list[tuple[int, int]] = []
    for k, name in enumerate(names):
        source = spec[name]
        if isinstance(source, tuple):
            for joint in source:
                jw[k, joint_names.index(joint)] = 1.0 / len(source)
        else:
            vertex_rows.append((k, int(source)))
    ids = np.array(sorted({v for _, v in vertex_rows}), dtype=np.int64)
    vw = np.zeros((len(names), len(ids)))
    for k, v in vertex_rows:
        vw[k, np.searchsorted(ids, v)] = 1.0
    return KeypointMap(fmt, jw, ids, vw)


def _hand_spec(joint_prefix: str, wrist: str, tips: tuple[int, ...]) -> dict:
    spec: dict = {"Wrist": (wrist,)}
    for finger, tip in zip(_FINGERS, tips, strict=True):
        for k in (1, 2, 3):
            spec[f"{finger}{k}"] = (f"{joint_prefix}{finger.lower()}{k}",)
        spec[f"{finger}4"] = tip
    return spec


def smpl_family_keypoint_maps(kind: str, joint_names: list[str]) -> dict[str, KeypointMap]:
    """Built-in keypoint maps for a SMPL-family model: body25 (bodies), hand21 (MANO), handl21 /
    handr21 and bodyhands (body25 + both hands) for SMPL-H and SMPL-X."""
    maps = {}
    if kind in _HEAD_FEET:
        maps["body25"] = _map_from_spec("body25", joint_names, {**_BODY25_JOINTS, **_HEAD_FEET[kind]})
    if kind == "mano":
        maps["hand21"] = _map_from_spec("hand21", joint_names, _hand_spec("", "wrist", _TIPS["mano"][""]))
    elif kind in _TIPS:
        for side, key in (("left_", "handl21"), ("right_", "handr21")):
            maps[key] = _map_from_spec("hand21", joint_names, _hand_spec(side, f"{side}wrist", _TIPS[kind][side]))
        maps["bodyhands"] = stack_maps("bodyhands", [maps["body25"], maps["handl21"], maps["handr21"]])
    return maps


def stack_maps(fmt: str, maps: list[KeypointMap]) -> KeypointMap:
    """One map whose rows are those of ``maps`` in order (e.g. body25 + both hands)."""
    ids = np.array(sorted({int(i) for m in maps for i in m.vertex_ids}), dtype=np.int64)
    rows = sum(len(m.joint_weights) for m in maps)
    vw = np.zeros((rows, len(ids)))
    start = 0
    for m in maps:
        vw[start:start + len(m.joint_weights), np.searchsorted(ids, m.vertex_ids)] = m.vertex_weights
        start += len(m.joint_weights)
    if rows != get_format(fmt).num_joints:
        raise ValueError(f"{rows} keypoints stacked for {fmt}, which has {get_format(fmt).num_joints}")
    return KeypointMap(fmt, np.concatenate([m.joint_weights for m in maps]), ids, vw)


def regressor_from_matrix(fmt: str, matrix: np.ndarray, num_joints: int, source: str = "regressor") -> KeypointMap:
    """A user's ``(K, V)`` vertex regressor for format ``fmt`` (K must match the format)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    expected = get_format(fmt).num_joints
    if matrix.ndim != 2 or matrix.shape[0] != expected:
        raise InputError(f"{source}: a {fmt} regressor must be ({expected}, num_vertices), got {matrix.shape}")
    ids = np.flatnonzero(np.any(matrix != 0, axis=0))
    return KeypointMap(fmt, np.zeros((expected, num_joints)), ids, matrix[:, ids])


def load_regressor_file(path: str | Path, fmt: str, num_vertices: int, num_joints: int) -> KeypointMap:
    """Read a ``.npy`` (K, V) regressor, e.g. a body25 regressor made for SMPL meshes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: keypoint regressor not found")
    matrix = np.load(path, allow_pickle=False)
    if matrix.ndim != 2 or matrix.shape[1] != num_vertices:
        raise InputError(f"{path}: regressor must be (K, {num_vertices}) for this model, got {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise InputError(f"{path}: the regressor holds NaN or infinite weights; regenerate it")
    return regressor_from_matrix(fmt, matrix, num_joints, source=str(path))


@dataclass
class FoldedRegressor:
    """A vertex regressor folded through linear blend skinning and linear shape blend shapes.

    With posed vertices ``v_i = sum_b w_ib T_b [t_i + sum_a c_a B_ai; 1]`` (no pose correctives),
    a keypoint ``sum_i R_ki v_i`` equals ``sum_b T_b [X_kb; M_kb]`` with
    ``M_kb = sum_i R_ki w_ib``, ``X_kb = sum_i R_ki w_ib (t_i + sum_a c_a B_ai)``. Keypoints then
    cost K x bones per frame, whatever the mesh size, and are exact.

    Attributes:
        mass: (K, J); template: (K, J, 3); shape_dirs: (A, K, J, 3).
    """

    mass: torch.Tensor
    template: torch.Tensor
    shape_dirs: torch.Tensor

    @classmethod
    def build(cls, keypoint_map: KeypointMap, bone_indices: torch.Tensor, bone_weights: torch.Tensor,
              template: torch.Tensor, blendshapes: torch.Tensor, num_bones: int) -> FoldedRegressor:
        """Fold ``keypoint_map``'s vertex part. Mesh tensors are full-size: bone_indices/weights
        (V, k), template (V, 3), blendshapes (A, V, 3)."""
        ids = torch.as_tensor(keypoint_map.vertex_ids)
        R = torch.as_tensor(keypoint_map.vertex_weights, dtype=torch.float64)  # (K, S)
        K, S = R.shape
        idx, w = bone_indices[ids].long(), bone_weights[ids].double()  # (S, k)
        k_idx, s_idx = torch.nonzero(R, as_tuple=True)
        slots = idx.shape[1]
        rows = (k_idx[:, None] * num_bones + idx[s_idx]).reshape(-1)
        cols = s_idx[:, None].expand(-1, slots).reshape(-1)
        vals = (R[k_idx, s_idx][:, None] * w[s_idx]).reshape(-1)
        C = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (K * num_bones, S), check_invariants=True)
        C = C.coalesce()
        A = blendshapes.shape[0]
        shape_part = torch.sparse.mm(C, blendshapes[:, ids].double().permute(1, 0, 2).reshape(S, A * 3))
        return cls(
            mass=torch.sparse.mm(C, torch.ones(S, 1, dtype=torch.float64)).reshape(K, num_bones),
            template=torch.sparse.mm(C, template[ids].double()).reshape(K, num_bones, 3),
            shape_dirs=shape_part.reshape(K, num_bones, A, 3).permute(2, 0, 1, 3).contiguous(),
        )

    def apply(self, coeffs: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
        """coeffs (B or 1, A) blend-shape coefficients, transforms (B, J, 3 or 4, 4) -> (B, K, 3)."""
        like = dict(dtype=transforms.dtype, device=transforms.device)
        X = self.template.to(**like) + torch.einsum("ba,akjc->bkjc", coeffs.to(**like), self.shape_dirs.to(**like))
        B, J = transforms.shape[:2]
        K = X.shape[1]
        rot = transforms[:, :, :3, :3].permute(0, 2, 1, 3).reshape(B, 3, J * 3)  # (B, m, j c)
        moved = transforms[:, :, :3, 3].transpose(1, 2) @ self.mass.to(**like).T  # (B, 3, K)
        if X.shape[0] == 1:  # one body shape for all frames: a single matrix product
            return (rot @ X[0].reshape(K, J * 3).T + moved).transpose(1, 2)
        return (torch.einsum("bmn,bkn->bmk", rot, X.reshape(X.shape[0], K, J * 3)) + moved).transpose(1, 2)
