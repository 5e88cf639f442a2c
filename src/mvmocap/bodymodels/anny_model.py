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
        transforms, bone_poses = self.anny.get_bone_transforms(self._bone_deltas(poses), rest["rest_bone_poses"])
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
        transforms, bone_poses = self.anny.get_bone_transforms(self._bone_deltas(poses), rest["rest_bone_poses"])
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
        transforms, _ = self.anny.get_bone_transforms(self._bone_deltas(poses), rest["rest_bone_poses"])
        weights = np.zeros((self.num_vertices, len(self.joint_names)))
        index = self.anny.vertex_bone_indices.cpu().numpy()
        np.add.at(weights, (np.arange(len(index))[:, None], index),
                  self.anny.vertex_bone_weights.double().cpu().numpy())
        return {"rest_joints": rest["rest_bone_poses"][0, :, :3, 3].double().numpy(),
                "rest_vertices": rest["rest_vertices"][0].double().numpy(), "weights": weights,
                "transforms": transforms[..., :3, :].double().numpy()}

    def _bone_deltas(self, poses: torch.Tensor) -> torch.Tensor:
        """(B, J, 4, 4) per-bone rotations of Anny's local-ref pose from (B, pose_dim) axis-angle."""
        B = poses.shape[0]
        delta = torch.eye(4, dtype=self._dtype, device=poses.device).repeat(B, len(self.joint_names), 1, 1)
        delta[:, self.posed_index, :3, :3] = axis_angle_to_matrix_t(poses.reshape(B, -1, 3))
        return delta

    def _skin(self, rest_vertices: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
        """Anny's own skinning kernel (validated against our reference in the tests)."""
        return self.anny.get_skinned_vertices(rest_vertices.expand(transforms.shape[0], -1, -1), transforms)


def anny_with_fingers() -> AnnyModel:
    """Anny with its body and finger bones posed: the whole-body model of ``--exp body+hands``."""
    return AnnyModel(posed_bones=ANNY_BODY_BONES + ANNY_FINGER_BONES)
