"""Anny (Apache-2.0, assets in its PyPI package) behind the ``BodyModel`` interface.

- ``shapes`` (B or 1, 6): Anny's phenotype values (gender, age, muscle, weight, height,
  proportions) minus 0.5, so zero is Anny's average adult, like SMPL's zero betas. Anny
  interpolates its blend shapes inside [0, 1]; keep ``shapes`` within [-0.5, 0.5].
- ``poses`` (B, 3 x posed bones): axis-angle of each posed bone relative to Anny's reference
  orientation (its ``local-ref`` parameterization; zero is Anny's reference pose). By default the
  body bones are posed and fingers, toes and eyes stay in their reference pose.
- joints: the posed heads of all rig bones; faces: Anny's triangles.
- hand21 keypoints per hand (``handl21``, ``handr21``; bone heads and fingertip vertices, see
  :meth:`AnnyModel._hand21_map`) and ``bodyhands`` (body25 + both hands);
- body25 keypoints: Anny's shipped COCO-WholeBody body+feet regressor (23 points, loaded for the
  topology in use, each row checked to sum to 1), plus Neck and MidHip as the means of the
  shoulders and hips, OpenPose's definition.

The model runs at its stored precision (float32 unless asked); inputs of another dtype are cast
and the outputs cast back, gradients flowing through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.bodymodels.base import BodyModel, BodyOutput
from mvmocap.bodymodels.lbs import check_parents, skinned_keypoint_jacobian, subtree_matrix
from mvmocap.bodymodels.regressors import FoldedRegressor, KeypointMap, stack_maps
from mvmocap.geometry.torch_rotations import axis_angle_to_matrix_t, left_jacobian_t
from mvmocap.skeletons import BODY25, HAND21, get_format
from mvmocap.utils import InputError, native_output_to_log

log = logging.getLogger(__name__)

__all__ = ["AnnyModel", "ANNY_BODY_BONES", "ANNY_FINGER_BONES", "ANNY_PHENOTYPES", "anny_with_fingers"]

_HAND21_FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")  # Anny's finger1 .. finger5
ANNY_PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
ANNY_BODY_BONES = (
    "root", "pelvis.L", "upperleg01.L", "upperleg02.L", "lowerleg01.L", "lowerleg02.L", "foot.L",
    "pelvis.R", "upperleg01.R", "upperleg02.R", "lowerleg01.R", "lowerleg02.R", "foot.R",
    "spine05", "spine04", "spine03", "spine02", "spine01",
    "clavicle.L", "shoulder01.L", "upperarm01.L", "upperarm02.L", "lowerarm01.L", "lowerarm02.L", "wrist.L",
    "clavicle.R", "shoulder01.R", "upperarm01.R", "upperarm02.R", "lowerarm01.R", "lowerarm02.R", "wrist.R",
    "neck01", "neck02", "neck03", "head",
)
# The finger bones, for whole-body fits with hands (AnnyModel(posed_bones=ANNY_BODY_BONES + ANNY_FINGER_BONES)).
ANNY_FINGER_BONES = tuple(f"finger{f}-{k}.{s}" for s in "LR" for f in range(1, 6) for k in (1, 2, 3))
# Anny's COCO-WholeBody labels for each body25 joint (Neck and MidHip are means of two).
_BODY25_FROM_COCO = {
    "Nose": ("nose",), "Neck": ("left_shoulder", "right_shoulder"), "MidHip": ("left_hip", "right_hip"),
    "REye": ("right_eye",), "LEye": ("left_eye",), "REar": ("right_ear",), "LEar": ("left_ear",),
    "LBigToe": ("left_big_toe",), "LSmallToe": ("left_small_toe",), "LHeel": ("left_heel",),
    "RBigToe": ("right_big_toe",), "RSmallToe": ("right_small_toe",), "RHeel": ("right_heel",),
    **{f"{s}{part}": (f"{side}_{part.lower()}",) for s, side in (("R", "right"), ("L", "left"))
       for part in ("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle")},
}


def _import_anny():
    try:
        import warp

        warp.config.log_level = warp.LOG_WARNING  # keep the banner of Anny's skinning kernels off stdout
        import anny
        from anny.keypoints import KeypointsRegressor
    except ImportError as err:  # anny is a dependency; this only happens in a broken install
        raise ImportError("the Anny body model needs the 'anny' package: pip install anny==0.6.2") from err
    return anny, KeypointsRegressor


class AnnyModel(BodyModel):
    """Anny with body bones posed by axis-angle and body25 keypoints (see module docstring).

    ``hand="R"`` or ``"L"`` builds Anny's hand model instead (its hand rig and topology, the
    wrist and the 15 finger bones posed, hand21 keypoints; see :meth:`_hand21_map`).
    """

    def __init__(self, posed_bones: tuple[str, ...] | None = None, dtype: torch.dtype = torch.float32,
                 hand: str | None = None):
        super().__init__()
        anny, KeypointsRegressor = _import_anny()
        if hand not in (None, "R", "L"):
            raise InputError(f"hand must be None, 'R' or 'L', got {hand!r}")
        options = {} if hand is None else {"rig": f"anny-hand.{hand}", "topology": f"hand.{hand}"}
        with native_output_to_log(log):  # Warp's CUDA probe prints a warning on machines without a GPU
            self.anny = anny.Anny(**options).to(dtype=dtype)
        self.anny.requires_grad_(False)
        self.name = "anny" if hand is None else f"anny-hand.{hand}"
        self.hand_side = None if hand is None else hand.lower()
        self.joint_names = list(self.anny.bone_labels)
        if posed_bones is None:
            posed_bones = ANNY_BODY_BONES if hand is None else ("root",) + tuple(
                f"finger{f}-{k}.{hand}" for f in range(1, 6) for k in (1, 2, 3))
        self.parents = check_parents(np.asarray(self.anny.bone_parents))
        unknown = [b for b in posed_bones if b not in self.joint_names]
        if unknown:
            raise ValueError(f"anny: unknown bones {unknown}; bones are {self.joint_names}")
        self.posed_bones = list(posed_bones)
        self.register_buffer("posed_index", torch.tensor([self.joint_names.index(b) for b in posed_bones]))
        if self.anny.pose_parameterization != "local-ref":
            raise ValueError(f"anny: expected the 'local-ref' pose parameterization, got "
                             f"{self.anny.pose_parameterization!r}")
        self._chain = _PosedChain.build(self.parents, self.posed_index.tolist())
        self.pose_dim = 3 * len(posed_bones)
        self.num_shapes = len(ANNY_PHENOTYPES)
        self.num_vertices = int(self.anny.template_vertices.shape[0])
        self.register_buffer("faces", self.anny.faces.clone().long())
        if hand is None:
            self.regressors = {"body25": self._body25_map(KeypointsRegressor)}
            self.regressors.update({f"hand{s.lower()}21": self._hand21_map(s) for s in "LR"})
            self.regressors["bodyhands"] = stack_maps(
                "bodyhands", [self.regressors[k] for k in ("body25", "handl21", "handr21")])
        else:
            self.regressors = {"hand21": self._hand21_map(hand)}
        a = self.anny
        self.folded = {
            name: FoldedRegressor.build(kmap, a.vertex_bone_indices, a.vertex_bone_weights, a.template_vertices,
                                        a.blendshapes, len(self.joint_names))
            for name, kmap in self.regressors.items()
        }
        self._dtype = dtype

    def _body25_map(self, KeypointsRegressor) -> KeypointMap:
        coco = KeypointsRegressor.coco(self.anny)
        weights = coco.regression_weights.double().cpu().numpy()  # (23, V) for this topology
        if not np.allclose(weights.sum(1), 1.0, atol=1e-3):
            raise ValueError("anny: keypoint regressor rows do not sum to 1; topology mismatch?")
        labels = list(coco.labels)
        rows = np.stack([np.mean([weights[labels.index(n)] for n in _BODY25_FROM_COCO[j]], 0) for j in BODY25.joints])
        ids = np.flatnonzero(np.any(rows != 0, axis=0))
        return KeypointMap("body25", np.zeros((25, len(self.joint_names))), ids, rows[:, ids])

    def _hand21_map(self, side: str) -> KeypointMap:
        """hand21 from the bone heads (wrist; finger{1..5}-{1,2,3}: thumb CMC/MCP/IP, finger
        MCP/PIP/DIP) and one fingertip vertex per finger: among the vertices that the last
        phalanx carries most, the one farthest along it in the rest pose."""
        names = self.joint_names
        template = self.anny.template_vertices.double().cpu().numpy()
        heads = self.anny.template_bone_heads.double().cpu().numpy()
        main_bone = self.anny.vertex_bone_indices[:, 0].cpu().numpy()
        jw = np.zeros((len(HAND21.joints), len(names)))
        tips = {}
        jw[HAND21.index("Wrist"), names.index(f"wrist.{side}")] = 1.0
        for f, finger in enumerate(_HAND21_FINGERS, start=1):
            bones = [names.index(f"finger{f}-{k}.{side}") for k in (1, 2, 3)]
            for k, bone in enumerate(bones, start=1):
                jw[HAND21.index(f"{finger}{k}"), bone] = 1.0
            direction = heads[bones[2]] - heads[bones[1]]
            carried = np.flatnonzero(main_bone == bones[2])
            if not len(carried):
                raise ValueError(f"anny: no vertex follows finger{f}-3.{side}; cannot place its tip")
            tips[f"{finger}4"] = int(carried[np.argmax(template[carried] @ direction)])
        ids = np.array(sorted(set(tips.values())))
        vw = np.zeros((len(HAND21.joints), len(ids)))
        for name, vid in tips.items():
            vw[HAND21.index(name), np.searchsorted(ids, vid)] = 1.0
        return KeypointMap("hand21", jw, ids, vw)

    @property
    def keypoint_formats(self) -> list[str]:
        return sorted(self.regressors)

    @property
    def posed_joints(self) -> np.ndarray:
        return self.posed_index.cpu().numpy()

    @property
    def pose_frame(self) -> np.ndarray:
        # Anny's 'local-ref' deltas are in the root's reference axes: the identity for the body,
        # a turned frame for the hand rigs.
        U = self.anny.reference_bone_orientations
        return np.eye(3) if U is None else U[0].double().cpu().numpy().T

    girth_shapes = tuple(ANNY_PHENOTYPES.index(name) for name in ("muscle", "weight"))

    @property
    def shape_bounds(self) -> tuple[float, float]:
        return (-0.5, 0.5)

    def _rest(self, shapes: torch.Tensor) -> dict[str, torch.Tensor]:
        """Anny's rest model for (S, 6) shapes (S = 1 when shared by all frames), with the
        blend-shape coefficients under ``coeffs``."""
        phenotype = {name: shapes[:, i] + 0.5 for i, name in enumerate(ANNY_PHENOTYPES)}
        coeffs = self.anny.get_phenotype_blendshape_coefficients(**phenotype)
        return {**self.anny.get_rest_model(coeffs), "coeffs": coeffs}

    def rest_root(self, shapes: torch.Tensor) -> torch.Tensor:
        # Anny's local-ref pose places the root where its reference pose puts it: pose it at zero.
        zero = shapes.new_zeros(shapes.shape[0], self.pose_dim)
        return self.posed(zero, shapes, None, False).joints[:, 0]

    def posed(self, poses, shapes, keypoints, vertices) -> BodyOutput:
        dtype = poses.dtype
        poses, shapes = poses.to(self._dtype), shapes.to(self._dtype)
        B = poses.shape[0]
        if B == 0:
            empty = poses.new_zeros
            return BodyOutput(empty(0, self.num_joints, 3).to(dtype),
                              empty(0, self.num_vertices, 3).to(dtype) if vertices else None,
                              empty(0, get_format(keypoints).num_joints, 3).to(dtype) if keypoints else None)
        shared = shapes.shape[0] == 1 or bool((shapes == shapes[:1]).all())
        rest = self._rest(shapes[:1] if shared else shapes)
        transforms, bone_poses = self._bone_transforms(poses, rest["rest_bone_poses"])
        joints = bone_poses[..., :3, 3]
        kmap = self.regressors[keypoints] if keypoints else None
        verts = support = None
        if vertices:
            verts = self._skin(rest["rest_vertices"], transforms)
            if kmap is not None:
                support = verts[:, torch.as_tensor(kmap.vertex_ids, device=verts.device)]
        if kmap is None:
            kps = None
        elif vertices:
            kps = kmap.apply(joints, support)
        else:  # keypoints only: the regressor folded through skinning, no vertex is skinned
            kps = self.folded[keypoints].apply(rest["coeffs"], transforms)
            if kmap.joint_weights.any():
                kps = kps + torch.einsum("kj,bjc->bkc", torch.as_tensor(kmap.joint_weights, dtype=joints.dtype),
                                         joints)

        def back(x):
            return None if x is None else x.to(dtype)

        return BodyOutput(back(joints), back(verts), back(kps))

    def keypoint_jacobian(self, poses, shapes, format="body25"):
        """Analytic (Anny has no pose correctives, so exact): the folded regressor's parts turned
        about each posed bone's head. In the local-ref parameterization bone c's posed rotation
        is ``W_p U_p^T D_c U_c``, so a change ``d`` of its axis-angle turns its subtree by
        ``W_p U_p^T J(r_c) d`` (the root: ``U_0^T J(r_0) d``), ``J`` the left Jacobian of SO(3)."""
        dtype = poses.dtype
        poses, shapes, _, _ = self.prepare(poses, shapes)
        if not (shapes == shapes[:1]).all():
            return super().keypoint_jacobian(poses, shapes, format)
        poses, shapes = poses.to(self._dtype), shapes[:1].to(self._dtype)
        rest = self._rest(shapes)
        transforms, bone_poses = self._bone_transforms(poses, rest["rest_bone_poses"])
        fold, kmap = self.folded[format], self.regressors[format]
        like = dict(dtype=self._dtype, device=poses.device)
        rest_points = fold.template.to(**like) + torch.einsum("ba,akjc->bkjc", rest["coeffs"].to(**like),
                                                              fold.shape_dirs.to(**like))
        joint_weights = torch.as_tensor(kmap.joint_weights, **like)
        rest_points = rest_points + joint_weights[None, :, :, None] * rest["rest_bone_poses"][:, None, :, :3, 3]
        mass = fold.mass.to(**like) + joint_weights
        U = self.anny.reference_bone_orientations
        U = rest["rest_bone_poses"][0, :, :3, :3] if U is None else U.to(**like)
        slots = self.posed_joints
        parents = self.parents[slots]
        turn = bone_poses[:, np.maximum(parents, 0), :3, :3] @ U[np.maximum(parents, 0)].transpose(-1, -2)
        turn[:, parents < 0] = U[0].T  # the root's delta is read in its own reference axes
        axes = turn @ left_jacobian_t(poses.reshape(len(poses), -1, 3))
        key = ("subtree", self._dtype, poses.device)
        if key not in self._cast_cache:
            self._cast_cache[key] = torch.as_tensor(subtree_matrix(self.parents, slots), **like)
        kp, jac = skinned_keypoint_jacobian(transforms, rest_points, mass, bone_poses[:, slots, :3, 3], axes,
                                            self._cast_cache[key])
        return kp.to(dtype), jac.to(dtype)

    def skinning(self, poses: torch.Tensor, shapes: torch.Tensor) -> dict[str, np.ndarray]:
        poses, shapes = poses.to(self._dtype), shapes[:1].to(self._dtype)
        rest = self._rest(shapes)
        transforms, _ = self._bone_transforms(poses, rest["rest_bone_poses"])
        weights = np.zeros((self.num_vertices, len(self.joint_names)))
        index = self.anny.vertex_bone_indices.cpu().numpy()
        np.add.at(weights, (np.arange(len(index))[:, None], index),
                  self.anny.vertex_bone_weights.double().cpu().numpy())
        return {"rest_joints": rest["rest_bone_poses"][0, :, :3, 3].double().numpy(),
                "rest_vertices": rest["rest_vertices"][0].double().numpy(), "weights": weights,
                "transforms": transforms[..., :3, :].double().numpy()}

    def _bone_transforms(self, poses: torch.Tensor, rest_bone_poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, J, 4, 4) rest-to-posed transforms ``T_j`` and posed bone poses ``W_j``, as Anny's
        ``get_bone_transforms`` gives them, for (B, pose_dim) poses and (1, J, 4, 4) rest bone poses.

        Anny's chain runs over all of its bones (163 for the body, most never posed). Here it runs
        over the posed ones (:class:`_PosedChain`): with ``W^0`` the poses at zero deltas (Anny's
        reference pose, from Anny itself for one frame), a bone c posed by ``D_c`` whose nearest
        posed ancestor is a has ``W_c = W_a (W^0_a)^-1 W^0_c [U_c^T D_c U_c | 0]`` in the
        local-ref parameterization (``U`` the reference orientations), and every bone j follows
        its nearest posed bone-or-ancestor s: ``W_j = W_s (W^0_s)^-1 W^0_j``, ``T_j = W_j P_j^-1``
        (``P`` the rest poses). Rest poses per frame (B, J, 4, 4) take Anny's own chain."""
        if rest_bone_poses.shape[0] != 1:
            return self.anny.get_bone_transforms(self._bone_deltas(poses), rest_bone_poses)
        chain = self._chain
        B, J = poses.shape[0], len(self.joint_names)
        identity = torch.eye(4, dtype=rest_bone_poses.dtype, device=rest_bone_poses.device).expand(1, J, 4, 4)
        reference = self.anny.get_bone_transforms(identity, rest_bone_poses)[1][0]  # W^0 (J, 4, 4)
        reference_inverse = _rigid_inverse(reference)
        U = self.anny.reference_bone_orientations
        U = (rest_bone_poses[0, :, :3, :3] if U is None else U).to(reference)
        # the constant part of each chain link, (W^0_a)^-1 W^0_c (the root: W^0_0), then its posed turn
        links = reference[chain.bones].clone()
        has_parent = chain.parent >= 0
        links[has_parent] = reference_inverse[chain.bones[chain.parent[has_parent]]] @ links[has_parent]
        turns = links[:, :3, :3].expand(B, -1, -1, -1).clone()
        posed = chain.slot >= 0
        U_posed = U[chain.bones[posed]]
        D = axis_angle_to_matrix_t(poses.reshape(B, -1, 3))[:, chain.slot[posed]]
        turns[:, posed] = links[posed, :3, :3] @ (U_posed.transpose(-1, -2) @ D @ U_posed)
        rotations, translations = [], []
        for i, parent in enumerate(chain.parent.tolist()):  # parents come first
            if parent < 0:
                rotations.append(turns[:, i])
                translations.append(links[i, :3, 3].expand(B, 3))
            else:
                rotations.append(rotations[parent] @ turns[:, i])
                translations.append(rotations[parent] @ links[i, :3, 3] + translations[parent])
        Rw = torch.stack(rotations, 1)[:, chain.anchor]  # (B, J, 3, 3): each bone's nearest posed bone
        tw = torch.stack(translations, 1)[:, chain.anchor]
        follow = reference_inverse[chain.bones[chain.anchor]] @ reference  # (J, 4, 4) (W^0_s)^-1 W^0_j
        to_transform = follow @ _rigid_inverse(rest_bone_poses[0])
        return _compose(Rw, tw, to_transform), _compose(Rw, tw, follow)

    def _bone_deltas(self, poses: torch.Tensor) -> torch.Tensor:
        """(B, J, 4, 4) per-bone rotations of Anny's local-ref pose from (B, pose_dim) axis-angle."""
        B = poses.shape[0]
        delta = torch.eye(4, dtype=self._dtype, device=poses.device).repeat(B, len(self.joint_names), 1, 1)
        delta[:, self.posed_index, :3, :3] = axis_angle_to_matrix_t(poses.reshape(B, -1, 3))
        return delta

    def _skin(self, rest_vertices: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
        """Anny's own skinning kernel (validated against our reference in the tests)."""
        return self.anny.get_skinned_vertices(rest_vertices.expand(transforms.shape[0], -1, -1), transforms)


@dataclass(frozen=True)
class _PosedChain:
    """The posed bones of a rig (and its root) as a kinematic chain of their own.

    Attributes:
        bones: (C,) bone index of each chain member, parents before children.
        parent: (C,) position in ``bones`` of each member's nearest posed ancestor (-1: the root).
        slot: (C,) the member's position in the poses (-1: the root, when it is not posed).
        anchor: (J,) position in ``bones`` of each bone's nearest chain member at or above it.
    """

    bones: np.ndarray
    parent: np.ndarray
    slot: np.ndarray
    anchor: np.ndarray

    @staticmethod
    def build(parents: np.ndarray, posed: list[int]) -> _PosedChain:
        members = sorted(set(posed) | {0})
        position = {bone: i for i, bone in enumerate(members)}
        anchor = np.zeros(len(parents), dtype=np.int64)
        for j in range(1, len(parents)):  # parents come before their children
            anchor[j] = position[j] if j in position else anchor[parents[j]]
        parent = np.array([-1 if bone == 0 else anchor[parents[bone]] for bone in members])
        slot = np.array([posed.index(bone) if bone in posed else -1 for bone in members])
        return _PosedChain(np.array(members), parent, slot, anchor)


def _rigid_inverse(pose: torch.Tensor) -> torch.Tensor:
    """(..., 4, 4) inverse of rigid transforms ``[R | t]``: ``[R^T | -R^T t]``."""
    inverse = torch.zeros_like(pose)
    rotation_t = pose[..., :3, :3].transpose(-1, -2)
    inverse[..., :3, :3] = rotation_t
    inverse[..., :3, 3] = -(rotation_t @ pose[..., :3, 3:])[..., 0]
    inverse[..., 3, 3] = 1.0
    return inverse


def _compose(rotations: torch.Tensor, translations: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
    """(B, J, 4, 4) ``[R | t] C``: (B, J, 3, 3) rotations and (B, J, 3) translations times (J, 4, 4) ``C``
    (an einsum: half the time of the broadcast ``@`` over a batch of 3 x 3 products)."""
    out = torch.zeros(rotations.shape[:2] + (4, 4), dtype=rotations.dtype, device=rotations.device)
    out[..., :3, :] = torch.einsum("bjik,jkl->bjil", rotations, constant[:, :3, :])
    out[..., :3, 3] += translations
    out[..., 3, 3] = 1.0
    return out


def anny_with_fingers() -> AnnyModel:
    """Anny with its body and finger bones posed: the whole-body model of ``--exp body+hands``."""
    return AnnyModel(posed_bones=ANNY_BODY_BONES + ANNY_FINGER_BONES)
