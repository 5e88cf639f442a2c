"""Pose and shape priors.

- joint limits: :mod:`mvmocap.fit.joint_limits`;
- :func:`pose_regulariser`: a pull towards a reference pose (the fit's analytic IK start) or zero,
  fingers held more lightly than limbs (:func:`pose_pull_scale`);
- :class:`GMMPosePrior`: the 8-component Gaussian mixture over SMPL body poses (the usual
  ``gmm_08.pkl`` with ``means``, ``covars``, ``weights``), scored as SMPLify does, by its best
  component: ``min_k 0.5 (x - mu_k)^T S_k^-1 (x - mu_k) - log(w_k / sqrt(det S_k))``;
- :func:`shape_regulariser`, :func:`girth_regulariser` (the components bones hardly tell).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.bodymodels.anatomy import hand_joints, hand_sides
from mvmocap.bodymodels.model_files import ModelFileError, load_restricted_pickle
from mvmocap.utils import InputError

__all__ = ["GMMPosePrior", "FINGER_PULL", "pose_pull_scale", "girth_regulariser", "pose_regulariser",
           "shape_regulariser"]


def pose_regulariser(poses: torch.Tensor, reference: torch.Tensor | None = None,
                     scale: torch.Tensor | None = None, *, per_frame: bool = False) -> torch.Tensor:
    """Mean over frames and non-root pose values of ``scale * (poses - reference)^2``.

    ``poses``, ``reference`` (F, pose_dim) (reference None: zero); ``scale`` (pose_dim,) per value
    (None: 1), e.g. :func:`pose_pull_scale`. ``per_frame``: each frame's share (F,) instead.
    """
    body = poses[:, 3:] if reference is None else poses[:, 3:] - reference[:, 3:]
    if scale is not None:
        body = body * scale[3:].sqrt()
    if not body.numel():
        return poses.new_zeros(len(poses)) if per_frame else poses.sum() * 0.0
    shares = body.square().sum(1) / body.numel()
    return shares if per_frame else shares.sum()


FINGER_PULL = 0.01  # a finger moves keypoints about ten times closer to its joint than a limb does


def pose_pull_scale(model: BodyModel) -> torch.Tensor:
    """(pose_dim,) float64 factor of :func:`pose_regulariser` per pose value: 1 for the body's
    joints, :data:`FINGER_PULL` for the finger joints (hand models and bodies with fingers; hand
    PCA coefficients included), so that a finger, whose keypoints lie a tenth as far from its
    joints, is held a hundredth as hard and a hand fit weighs its pose as a body fit does."""
    slots = model.full_pose_joints
    full = np.ones((len(slots), 3))
    for side in hand_sides(model):
        fingers = [j for role, j in hand_joints(model, side).items() if role != "wrist"]
        full[np.isin(slots, fingers)] = FINGER_PULL
    full = torch.as_tensor(full.reshape(-1))
    to_full = model.full_pose_matrix(full)
    return full if to_full is None else (to_full.square() * full[:, None]).sum(0)


def shape_regulariser(shapes: torch.Tensor) -> torch.Tensor:
    """Mean squared shape coefficient."""
    return shapes.square().mean()


def girth_regulariser(shapes: torch.Tensor, girth: tuple[int, ...]) -> torch.Tensor:
    """Mean squared coefficient of the girth components ``girth`` of (B, S) ``shapes``
    (:attr:`mvmocap.bodymodels.BodyModel.girth_shapes`; 0 without any)."""
    return shapes[:, list(girth)].square().mean() if girth else shapes.new_zeros(())


class GMMPosePrior(torch.nn.Module):
    """Gaussian-mixture prior over the body joints of the SMPL family (see module docstring).

    A 69-dimensional mixture (SMPL's 23 body joints) applies to SMPL-H and SMPL-X through its
    first 63 dimensions (their 21 shared body joints): the exact marginal of each Gaussian.
    """

    def __init__(self, means: np.ndarray, covars: np.ndarray, weights: np.ndarray, dims: int):
        super().__init__()
        means, covars, weights = (np.asarray(x, dtype=np.float64) for x in (means, covars, weights))
        if means.ndim != 2 or covars.shape != means.shape + (means.shape[1],) or weights.shape != means.shape[:1]:
            raise InputError(f"GMM: expected means (K, D), covars (K, D, D), weights (K,); got "
                             f"{means.shape}, {covars.shape}, {weights.shape}")
        if dims > means.shape[1]:
            raise InputError(f"GMM has {means.shape[1]} dimensions, the model's body pose has {dims}")
        means, covars = means[:, :dims], covars[:, :dims, :dims]
        precision = np.linalg.inv(covars)
        _, logdet = np.linalg.slogdet(covars)
        self.dims = dims
        self.register_buffer("means", torch.tensor(means))
        self.register_buffer("precision", torch.tensor(precision))
        self.register_buffer("constant", torch.tensor(-np.log(weights) + 0.5 * logdet))

    @classmethod
    def from_file(cls, path: str | Path, model: BodyModel) -> GMMPosePrior:
        """Read ``gmm_08.pkl`` (plain or Python-2 pickle) for ``model`` (SMPL family only)."""
        if getattr(model, "kind", None) not in ("smpl", "smplh", "smplx"):
            raise InputError(f"{path}: the GMM pose prior is defined for SMPL-family bodies, not {model.name}")
        data = load_restricted_pickle(Path(path))
        missing = [k for k in ("means", "covars", "weights") if k not in data]
        if missing:
            raise ModelFileError(f"{path}: GMM prior lacks {missing}")
        dims = 69 if model.kind == "smpl" else 63
        return cls(data["means"], data["covars"], data["weights"], dims)

    def best_component(self, poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per frame of (F, pose_dim) ``poses``, the best component's negative log-likelihood (F,),
        the body pose's deviation from its mean (F, D) and its precision (F, D, D)."""
        x = poses[:, 3:3 + self.dims]
        d = x[:, None, :] - self.means.to(x)
        precision = self.precision.to(x)
        score = 0.5 * torch.einsum("fki,kij,fkj->fk", d, precision, d) + self.constant.to(x)
        best = score.argmin(1)
        frames = torch.arange(len(x))
        return score[frames, best], d[frames, best], precision[best]

    def forward(self, poses: torch.Tensor, *, per_frame: bool = False) -> torch.Tensor:
        """Mean over frames of the best component's negative log-likelihood. (F, pose_dim) ->
        scalar, or each frame's share (F,) with ``per_frame``."""
        shares = self.best_component(poses)[0] / max(len(poses), 1)
        return shares if per_frame else shares.sum()
