"""The ``BodyModel`` interface every fitter and renderer uses, and the parameter conventions.

Parameters (EasyMocap convention), batched over B frames:

- ``poses`` (B, pose_dim): axis-angle per posed joint, root first (usually zero: the global
  rotation lives in ``Rh``);
- ``shapes`` (B, num_shapes) or (1, num_shapes) shared by all frames;
- ``Rh`` (B, 3) axis-angle and ``Th`` (B, 3) metres: ``V = R(Rh) @ M(poses, shapes) + Th``, a
  rotation about the template origin.

The standard SMPL convention rotates about the root joint ``J0(shapes)`` instead:
``global_orient = Rh`` and ``transl = Th + R(Rh) @ J0 - J0``; :func:`to_standard` and
:func:`from_standard` convert exactly (a non-zero root pose is folded into ``global_orient``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mvmocap.geometry.torch_rotations import axis_angle_to_matrix_t, matrix_to_axis_angle_t

__all__ = ["BodyModel", "BodyOutput", "to_standard", "from_standard"]


@dataclass
class BodyOutput:
    """Posed body in world coordinates: joints (B, J, 3), vertices (B, V, 3) or None,
    keypoints (B, K, 3) in the requested format or None."""

    joints: torch.Tensor
    vertices: torch.Tensor | None = None
    keypoints: torch.Tensor | None = None


class BodyModel(nn.Module):
    """Base class: subclasses implement :meth:`posed` (model frame) and :meth:`rest_root`.

    Attributes set by subclasses: ``name``, ``joint_names``, ``parents`` (J,), ``pose_dim``,
    ``num_shapes``, ``num_vertices`` and the ``faces`` buffer (F, 3); hand-only models (MANO,
    Anny's hand) set ``hand_side`` to ``"l"`` or ``"r"``.
    """

    name: str
    joint_names: list[str]
    parents: np.ndarray
    pose_dim: int
    num_shapes: int
    num_vertices: int
    faces: torch.Tensor
    hand_side: str | None = None
    # Shape components that change the body's girth far more than its bones (Anny's muscle and
    # weight): limb lengths hardly tell them, so the shape stage holds them to the mean
    # (``shape.weights.girth``) unless the bones ask for them.
    girth_shapes: tuple[int, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self._cast_cache: dict = {}

    # ------------------------------------------------------------------ to implement
    @property
    def keypoint_formats(self) -> list[str]:
        """Keypoint formats :meth:`forward` can return (e.g. ``["body25"]``)."""
        raise NotImplementedError

    def posed(self, poses: torch.Tensor, shapes: torch.Tensor, keypoints: str | None, vertices: bool,
              **extra) -> BodyOutput:
        """Pose the model in its own frame (no Rh/Th). Inputs already validated and broadcast."""
        raise NotImplementedError

    def skinning(self, poses: torch.Tensor, shapes: torch.Tensor) -> dict[str, np.ndarray]:
        """The model as linear blend skinning, for exporters (see :mod:`mvmocap.bodymodels.skinned`):
        ``poses`` (F, pose_dim), ``shapes`` (1, S) -> float64 arrays ``rest_joints`` (J, 3),
        ``rest_vertices`` (V, 3), ``weights`` (V, J), ``transforms`` (F, J, 3, 4) in the model
        frame, and, for models with pose correctives, ``corrective_weights`` (F, P) and
        ``corrective_directions`` (P, V, 3)."""
        raise NotImplementedError(f"{self.name}: no skinning description for export")

    def rest_root(self, shapes: torch.Tensor) -> torch.Tensor:
        """(B, 3) root joint position ``J0`` with all poses zero, for ``shapes`` (B, S): the
        centre the root rotation turns about."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def posed_joints(self) -> np.ndarray:
        """(pose_dim / 3,) joint index of each axis-angle triple in ``poses`` (root first)."""
        return np.arange(self.num_joints)

    @property
    def full_pose_joints(self) -> np.ndarray:
        """(P,) joint index of each axis-angle triple of :meth:`full_poses` (``posed_joints``
        unless ``poses`` holds other coefficients, e.g. MANO's PCA)."""
        return self.posed_joints

    def full_poses(self, poses: torch.Tensor) -> torch.Tensor:
        """(B, pose_dim) -> (B, 3 P) axis-angle of the joints in ``full_pose_joints``."""
        return poses

    def zero_pose_joints(self) -> np.ndarray:
        """(J, 3) model-frame joints of the mean shape with every joint's rotation zero: the
        pose that joint axes are read in (float64)."""
        with torch.no_grad():
            zero = torch.zeros(1, self.pose_dim, dtype=torch.float64)
            return self(zero, vertices=False).joints[0].double().cpu().numpy()

    @property
    def pose_frame(self) -> np.ndarray:
        """(3, 3) ``M``: a joint's axis-angle ``r`` turns its descendants about the model-frame
        axis ``M r`` (by ``|r|``, seen in the zero pose); a model-frame axis ``w`` is ``M.T @ w``
        in ``poses``. The identity where joints are posed in model axes (SMPL family)."""
        return np.eye(3)

    @property
    def shape_bounds(self) -> tuple[float, float] | None:
        """Valid range of every shape coefficient, or None when unbounded."""
        return None

    @property
    def parameter_layout(self) -> dict[str, tuple[int, ...]]:
        """Per-frame parameter shapes."""
        return {"poses": (self.pose_dim,), "shapes": (self.num_shapes,), "Rh": (3,), "Th": (3,)}

    def cast(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """Buffer ``name`` in the dtype and device of ``like`` (cached per dtype/device)."""
        buf = getattr(self, name)
        if buf.dtype == like.dtype and buf.device == like.device or not buf.is_floating_point():
            return buf.to(like.device)
        key = (name, like.dtype, like.device)
        if key not in self._cast_cache:
            self._cast_cache[key] = buf.to(dtype=like.dtype, device=like.device)
        return self._cast_cache[key]

    def _apply(self, fn, recurse=True):  # .to() / .double(): drop casts of the old buffers
        self._cast_cache = {}
        return super()._apply(fn, recurse)

    def prepare(self, poses, shapes, Rh=None, Th=None) -> tuple[torch.Tensor, ...]:
        """Validate and broadcast parameters; dtype and device come from ``poses``."""
        poses = torch.as_tensor(poses)
        if not poses.is_floating_point():
            poses = poses.to(torch.get_default_dtype())
        if poses.dim() == 3:
            poses = poses.reshape(poses.shape[0], -1)
        if poses.dim() != 2 or poses.shape[1] != self.pose_dim:
            raise ValueError(f"{self.name}: poses must be (B, {self.pose_dim}), got {tuple(poses.shape)}")
        B = poses.shape[0]
        like = dict(dtype=poses.dtype, device=poses.device)
        shapes = torch.zeros(1, self.num_shapes, **like) if shapes is None else torch.as_tensor(shapes).to(**like)
        if shapes.dim() == 1:
            shapes = shapes[None]
        if shapes.shape[-1] != self.num_shapes or shapes.shape[0] not in (1, B):
            raise ValueError(f"{self.name}: shapes must be (B, {self.num_shapes}) or (1, {self.num_shapes}), "
                             f"got {tuple(shapes.shape)}")
        shapes = shapes.expand(B, -1)
        out = [poses, shapes]
        for name, value in (("Rh", Rh), ("Th", Th)):
            value = torch.zeros(B, 3, **like) if value is None else torch.as_tensor(value).to(**like)
            if value.dim() == 1:
                value = value[None]
            if value.shape[-1] != 3 or value.shape[0] not in (1, B):
                raise ValueError(f"{self.name}: {name} must be (B, 3), got {tuple(value.shape)}")
            out.append(value.expand(B, 3))
        return tuple(out)

    def forward(self, poses, shapes=None, Rh=None, Th=None, keypoints: str | None = None, vertices: bool = True,
                **extra) -> BodyOutput:
        """Pose the body: ``poses`` (B, pose_dim), ``shapes`` (B or 1, num_shapes), ``Rh``/``Th`` (B, 3).

        ``keypoints`` names a format from :attr:`keypoint_formats`; ``vertices=False`` skips the
        full mesh (only the vertices the keypoints need are skinned).
        """
        if keypoints is not None and keypoints not in self.keypoint_formats:
            raise ValueError(f"{self.name}: no {keypoints!r} keypoints; available: {self.keypoint_formats}")
        poses, shapes, Rh, Th = self.prepare(poses, shapes, Rh, Th)
        out = self.posed(poses, shapes, keypoints, vertices, **extra)
        R = axis_angle_to_matrix_t(Rh)

        def world(x):
            return None if x is None else x @ R.transpose(1, 2) + Th[:, None]

        return BodyOutput(world(out.joints), world(out.vertices), world(out.keypoints))

    def sequence(self, params: dict, output: str = "vertices", chunk: int = 200) -> np.ndarray:
        """Evaluate a whole sequence without gradients, in chunks of frames, as float64 NumPy.

        ``params``: ``poses`` (F, P), ``shapes`` (1 or F, S), ``Rh``, ``Th`` (F, 3) arrays;
        ``output``: ``"vertices"`` (F, V, 3), ``"joints"`` (F, J, 3) or a keypoint format (F, K, 3).
        """
        F = len(params["poses"])
        shapes = np.asarray(params["shapes"])
        pieces = []
        with torch.no_grad():
            for i in range(0, F, chunk):
                s = shapes if len(shapes) == 1 else shapes[i:i + chunk]
                args = [torch.as_tensor(np.asarray(x)) for x in (params["poses"][i:i + chunk], s,
                                                                 params["Rh"][i:i + chunk], params["Th"][i:i + chunk])]
                if output in ("vertices", "joints"):
                    out = getattr(self.forward(*args, vertices=output == "vertices"), output)
                else:
                    out = self.keypoints(*args, format=output)
                pieces.append(out.double().cpu().numpy())
        if not pieces:
            width = {"vertices": self.num_vertices, "joints": self.num_joints}.get(output, 0)
            return np.zeros((0, width, 3))
        return np.concatenate(pieces)

    def keypoints(self, poses, shapes=None, Rh=None, Th=None, format: str = "body25", **extra) -> torch.Tensor:
        """(B, K, 3) keypoints without skinning the full mesh."""
        return self.forward(poses, shapes, Rh, Th, keypoints=format, vertices=False, **extra).keypoints

    def keypoint_jacobian(self, poses: torch.Tensor, shapes: torch.Tensor, format: str = "body25"
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """Model-frame keypoints (B, K, 3) (no ``Rh``/``Th``) and their derivative w.r.t. ``poses``
        (B, K, 3, pose_dim), for ``shapes`` (1, S) held fixed.

        This generic version differentiates :meth:`keypoints` output by output (exact, slow);
        the models override it with their analytic kinematic Jacobian.
        """
        poses = poses.detach().requires_grad_(True)
        with torch.enable_grad():
            kp = self.keypoints(poses, shapes, format=format)
            rows = [torch.autograd.grad(kp[:, k, c].sum(), poses, retain_graph=True)[0]
                    for k in range(kp.shape[1]) for c in range(3)]
        return kp.detach(), torch.stack(rows, 1).reshape(kp.shape + (poses.shape[1],))

    def full_pose_matrix(self, like: torch.Tensor) -> torch.Tensor | None:
        """``d full_poses / d poses`` (3 P, pose_dim) in the dtype of ``like``, or None where
        :meth:`full_poses` is the identity. :meth:`full_poses` is affine in ``poses``."""
        key = ("full_pose_matrix", like.dtype, like.device)
        if key not in self._cast_cache:
            eye = torch.eye(self.pose_dim, dtype=like.dtype, device=like.device)
            matrix = (self.full_poses(eye) - self.full_poses(torch.zeros_like(eye[:1]))).T
            identity = matrix.shape == eye.shape and torch.equal(matrix, eye)
            self._cast_cache[key] = None if identity else matrix.contiguous()
        return self._cast_cache[key]


def to_standard(model: BodyModel, poses, shapes, Rh, Th) -> dict[str, torch.Tensor]:
    """EasyMocap ``poses, shapes, Rh, Th`` -> SMPL ``global_orient, body_pose, betas, transl``."""
    poses, shapes, Rh, Th = model.prepare(poses, shapes, Rh, Th)
    J0 = model.rest_root(shapes)
    R = axis_angle_to_matrix_t(Rh)
    root = axis_angle_to_matrix_t(poses[:, :3])
    global_orient = matrix_to_axis_angle_t(R @ root)
    transl = Th + (R @ J0[..., None])[..., 0] - J0
    return {"global_orient": global_orient, "body_pose": poses[:, 3:], "betas": shapes, "transl": transl}


def from_standard(model: BodyModel, global_orient, body_pose, betas, transl) -> dict[str, torch.Tensor]:
    """SMPL ``global_orient, body_pose, betas, transl`` -> EasyMocap ``poses`` (zero root), ``shapes, Rh, Th``."""
    body_pose = torch.as_tensor(body_pose)
    poses = torch.cat([torch.zeros_like(body_pose[:, :3]), body_pose], 1)
    poses, shapes, Rh, transl = model.prepare(poses, betas, global_orient, transl)
    J0 = model.rest_root(shapes)
    R = axis_angle_to_matrix_t(Rh)
    Th = transl + J0 - (R @ J0[..., None])[..., 0]
    return {"poses": poses, "shapes": shapes, "Rh": Rh, "Th": Th}
