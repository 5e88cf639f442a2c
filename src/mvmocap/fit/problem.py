"""The losses of one pass of the global, poses or reprojection stage, three ways.

:class:`PoseProblem` holds a pass's fixed data (targets, weights, robust scales, priors) and gives

- :meth:`PoseProblem.frame_terms`: each term as its frames' shares, from :mod:`mvmocap.fit.losses`
  and the priors (the one definition of every loss); :meth:`PoseProblem.terms` their sums (what
  L-BFGS minimises), :meth:`PoseProblem.weighted` each frame's weighted total (the per-frame
  damping of :func:`~mvmocap.fit.gauss_newton.levenberg_marquardt` compares it) and
  :meth:`PoseProblem.weighted_totals` the weighted terms the fit logs;
- :meth:`PoseProblem.linearise`: the Gauss-Newton normal equations.

Every loss is a sum of squares, robust ones reweighted (IRLS: a Geman-McClure residual of squared
size ``s`` weighs ``sigma^4 / (sigma^2 + s)^2``, which gives the exact gradient). Per frame the
parameters are ``[poses, Rh, Th]`` (n values, the pass's free ones); the model's analytic Jacobian
(:meth:`~mvmocap.bodymodels.BodyModel.keypoint_jacobian`) is turned into the world frame and every
term contributes to the gradient and the Gauss-Newton matrix in one of three ways:

- in keypoint space (3D keypoints, torso, 2D reprojection through the projection's own 2x3
  Jacobian): a gradient (F, K, 3) and a curvature per keypoint (a scalar for the 3D terms, a
  3x3 metric for the 2D one), mapped through the keypoint Jacobian once for all of them;
- in parameter space (joint limits, pose regulariser, GMM prior): per-frame blocks;
- temporal terms (keypoint, ``Th`` and rotation velocity/acceleration): their own-frame part in the
  blocks, the rest a :class:`~mvmocap.fit.banded.Coupling` for the banded solve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.camera import CameraRig
from mvmocap.fit.banded import Coupling, difference_gram
from mvmocap.fit.joint_limits import JointLimitPrior
from mvmocap.fit.losses import (
    keypoints3d_loss,
    position_smoothness,
    reprojection_loss,
    rotation_smoothness,
)
from mvmocap.fit.priors import GMMPosePrior, pose_regulariser
from mvmocap.fit.projection import project_rig, project_rig_jacobian
from mvmocap.geometry.torch_rotations import axis_angle_to_matrix_t, left_jacobian_t, skew_t

__all__ = ["Linearisation", "PARAMETERS", "PoseProblem"]

PARAMETERS = ("poses", "Rh", "Th")
_ORDERS = {"velocity": 1, "acceleration": 2}
LIMIT_MARGIN = 0.05  # radians: a joint this close to a limit gets the limit's curvature in the step
REFERENCE_FOCAL = 1000.0  # pixels: 2D errors are measured as on a camera of this focal length


@dataclass
class Linearisation:
    """The normal equations at one point: gradient (F, n), per-frame blocks (F, n, n) with each
    coupling's own-frame part, and the couplings."""

    gradient: torch.Tensor
    blocks: torch.Tensor
    couplings: list[Coupling] = field(default_factory=list)


def _robust_weight(squared: torch.Tensor, sigma: float | None) -> torch.Tensor:
    """d/ds of the Geman-McClure cost ``sigma^2 s / (sigma^2 + s)`` (1 for squared error)."""
    if sigma is None:
        return torch.ones_like(squared)
    s2 = sigma * sigma
    return (s2 / (s2 + squared)).square()


@dataclass(frozen=True)
class PoseProblem:
    """The fixed data of one pass's losses.

    Attributes:
        model, shapes (1, S), format: the body and keypoints.
        target: (F, K, 4) 3D keypoints and confidence; torso: keypoint indices of the torso term.
        weights: the pass's loss weights; sigma: 3D robust scale (m) or None.
        limits, gmm: the priors (gmm None when absent: its term is then skipped).
        rig, target2d (F, V, K, 3), sigma2d: the reprojection term's cameras, detections (pixels) and
            robust scale, in reference pixels (a view's pixels times ``REFERENCE_FOCAL / fx``: the
            same angle costs the same in a phone's 1920-pixel view and a webcam's 640).
        reference: (F, pose_dim) the poses ``pose_reg`` pulls towards (None: the zero pose);
        pose_scale: (pose_dim,) its weight per pose value (None: 1), see :func:`~mvmocap.fit.priors.pose_pull_scale`.
    """

    model: BodyModel
    shapes: torch.Tensor
    format: str
    target: torch.Tensor
    torso: list[int]
    weights: dict[str, float]
    sigma: float | None
    limits: JointLimitPrior
    gmm: GMMPosePrior | None = None
    rig: CameraRig | None = None
    target2d: torch.Tensor | None = None
    sigma2d: float | None = None
    reference: torch.Tensor | None = None
    pose_scale: torch.Tensor | None = None

    def weight(self, name: str) -> float:
        return float(self.weights.get(name, 0.0))

    def frame_terms(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each loss term with a non-zero weight, unweighted, as its frames' shares (F,) (a temporal
        difference counts for the frame at its centre), differentiable in ``params``."""
        poses, Rh, Th = (params[k] for k in PARAMETERS)
        kp = self.model.keypoints(poses, self.shapes, Rh, Th, format=self.format)
        rots = None
        out = {}
        for name in (k for k, w in self.weights.items() if w):
            if name.startswith("rot_") and rots is None:
                joints = self.model.full_poses(poses).reshape(len(poses), -1, 3)  # PCA coefficients expanded
                rots = axis_angle_to_matrix_t(torch.cat([Rh[:, None], joints], 1))
            if name == "keypoints3d":
                out[name] = keypoints3d_loss(kp, self.target, self.sigma, per_frame=True)
            elif name == "torso":
                out[name] = keypoints3d_loss(kp[:, self.torso], self.target[:, self.torso], self.sigma,
                                             per_frame=True)
            elif name == "reprojection":
                out[name] = reprojection_loss(self._pixels(kp), self._target_pixels, self.sigma2d, per_frame=True)
            elif name in ("rot_velocity", "rot_acceleration"):
                out[name] = rotation_smoothness(rots, _ORDERS[name[4:]], per_frame=True)
            elif name == "Th_acceleration":
                out[name] = position_smoothness(Th, 2, per_frame=True)
            elif name in ("kp_velocity", "kp_acceleration"):
                out[name] = position_smoothness(kp, _ORDERS[name[3:]], per_frame=True)
            elif name == "joint_limits":
                out[name] = self.limits(poses, per_frame=True)
            elif name == "pose_reg":
                out[name] = pose_regulariser(poses, self.reference, self.pose_scale, per_frame=True)
            elif name == "gmm":
                out[name] = self.gmm(poses, per_frame=True) if self.gmm is not None else poses.new_zeros(len(poses))
        return out

    def terms(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each loss term with a non-zero weight, unweighted: the scalars L-BFGS minimises."""
        return {name: shares.sum() for name, shares in self.frame_terms(params).items()}

    def weighted(self, shares: dict[str, torch.Tensor]) -> torch.Tensor:
        """(F,) each frame's share of the weighted loss, ``sum_k weight_k shares[k]``, from
        :meth:`frame_terms`' output."""
        return sum((self.weight(name) * value for name, value in shares.items()),
                   self.target.new_zeros(len(self.target)))

    def weighted_totals(self, shares: dict[str, torch.Tensor]) -> dict[str, float]:
        """Each weighted term's total, as the fit logs them, from :meth:`frame_terms`' output."""
        return {name: self.weight(name) * float(value.sum()) for name, value in shares.items()}

    def linearise(self, params: dict[str, torch.Tensor], free: tuple[str, ...]) -> Linearisation:
        """Gradient and Gauss-Newton blocks at ``params`` (poses (F, P), Rh, Th (F, 3)) in the
        parameters ``free`` (in :data:`PARAMETERS` order)."""
        poses, Rh, Th = (params[k] for k in PARAMETERS)
        F, K = self.target.shape[:2]
        sizes = {"poses": poses.shape[1], "Rh": 3, "Th": 3}
        start, offsets = 0, {}
        for name in free:
            offsets[name] = slice(start, start + sizes[name])
            start += sizes[name]
        n = start
        R = axis_angle_to_matrix_t(Rh)
        if "poses" in free:
            local, pose_jac = self.model.keypoint_jacobian(poses, self.shapes, self.format)
        else:
            local = self.model.keypoints(poses, self.shapes, format=self.format)
        kp = local @ R.transpose(1, 2) + Th[:, None]
        jac = kp.new_zeros(F, K, 3, n)  # d world keypoint / d free parameters
        if "poses" in free:
            jac[..., offsets["poses"]] = R[:, None] @ pose_jac
        if "Rh" in free:
            jac[..., offsets["Rh"]] = -skew_t(kp - Th[:, None]) @ left_jacobian_t(Rh)[:, None]
        if "Th" in free:
            jac[..., offsets["Th"]] = torch.eye(3, dtype=kp.dtype)
        grad_kp = torch.zeros_like(kp)  # d loss / d keypoint
        isotropic = kp.new_zeros(F, K)  # the 3D terms' curvature per keypoint (times the identity)
        for name, index in (("keypoints3d", slice(None)), ("torso", self.torso)):
            w = self.weight(name)
            if not w:
                continue
            conf = torch.zeros_like(self.target[..., 3])
            conf[:, index] = self.target[:, index, 3]
            error = kp - self.target[..., :3]
            scale = w * conf * _robust_weight(error.square().sum(-1), self.sigma) / conf.sum().clamp_min(1e-9)
            grad_kp += 2 * scale[..., None] * error
            isotropic += 2 * scale
        couplings = []
        orders = tuple((order, 2 * self.weight(f"kp_{word}") / ((F - order) * K))
                       for word, order in _ORDERS.items() if self.weight(f"kp_{word}") and F > order)
        for order, scale in orders:
            grad_kp += scale * difference_gram(kp, order)
        flat_jac = jac.reshape(F, 3 * K, n)
        if orders:
            coupling = Coupling(flat_jac, orders)
            isotropic += coupling.own_frame_weights()[:, None]
            couplings.append(coupling)
        weighted = isotropic[..., None, None] * jac
        if self.weight("reprojection"):  # a 3x3 metric per keypoint: the views see depth less well
            metric = self._reprojection(kp, grad_kp)
            weighted = weighted + metric @ jac
        gradient = (grad_kp.reshape(F, 1, 3 * K) @ flat_jac)[:, 0]
        blocks = flat_jac.transpose(1, 2) @ weighted.reshape(F, 3 * K, n)
        self._parameter_terms(params, offsets, gradient, blocks, couplings)
        return Linearisation(gradient, blocks, couplings)

    def _reprojection(self, kp: torch.Tensor, grad_kp: torch.Tensor) -> torch.Tensor:
        """The 2D term in keypoint space: each view's error pulled back through its projection's
        2x3 Jacobian (:func:`~mvmocap.fit.projection.project_rig_jacobian`), added to ``grad_kp``;
        returns the (F, K, 3, 3) metric."""
        uv, proj = project_rig_jacobian(kp, self.rig)  # (F, V, K, 2), (F, V, K, 2, 3)
        uv = uv * self._view_scale[:, None, None]
        proj = proj * self._view_scale[:, None, None, None]
        conf = self.target2d[..., 2]
        error = uv - self._target_pixels[..., :2]
        scale = self.weight("reprojection") * conf * _robust_weight(error.square().sum(-1), self.sigma2d)
        scale = scale / conf.sum().clamp_min(1e-9)
        grad_kp += 2 * torch.einsum("fvk,fvkc,fvkca->fka", scale, error, proj)
        return 2 * torch.einsum("fvk,fvkca,fvkcb->fkab", scale, proj, proj)

    def _pixels(self, kp: torch.Tensor) -> torch.Tensor:
        """(F, K, 3) world points -> (F, V, K, 2) image points in reference pixels: each view's
        pixels times ``REFERENCE_FOCAL / fx``, so that an error is an angle whatever the resolution."""
        return project_rig(kp, self.rig) * self._view_scale[:, None, None]

    @cached_property
    def _view_scale(self) -> torch.Tensor:
        """(V,) reference pixels per pixel of each view."""
        focal = torch.tensor([cam.K[0, 0] for cam in self.rig], dtype=self.target2d.dtype)
        return REFERENCE_FOCAL / focal

    @cached_property
    def _target_pixels(self) -> torch.Tensor:
        """(F, V, K, 3) the detections in reference pixels, confidence unchanged."""
        scaled = self.target2d.clone()
        scaled[..., :2] = scaled[..., :2] * self._view_scale[:, None, None]
        return scaled

    def _parameter_terms(self, params, offsets, gradient, blocks, couplings) -> None:
        """Priors and the Th / rotation temporal terms, added in place."""
        poses, Rh, Th = (params[k] for k in PARAMETERS)
        F = len(poses)
        if "Th" in offsets:
            cols = offsets["Th"]
            orders = ((2, 2 * self.weight("Th_acceleration") / (F - 2)),) if self.weight("Th_acceleration") and F > 2 \
                else ()
            if orders:
                select = poses.new_zeros(F, 3, gradient.shape[1])
                select[:, :, cols] = torch.eye(3, dtype=poses.dtype)
                self._temporal(Th, select, orders, gradient, blocks, couplings)
        self._rotation_terms(params, offsets, gradient, blocks, couplings)
        if "poses" not in offsets:
            return
        cols = offsets["poses"]
        to_full = self.model.full_pose_matrix(poses)
        full_grad = torch.zeros_like(self.model.full_poses(poses))
        full_blocks = poses.new_zeros(F, full_grad.shape[1] // 3, 3, 3)
        if self.weight("joint_limits") and len(self.limits.slots):
            self._joint_limits(poses, full_grad, full_blocks)
        if full_blocks.any():
            dense = torch.block_diag(*[torch.ones(3, 3, dtype=torch.bool)] * full_blocks.shape[1])
            full_dense = poses.new_zeros(F, full_grad.shape[1], full_grad.shape[1])
            full_dense[:, dense] = full_blocks.flatten(1)
            if to_full is None:
                gradient[:, cols] += full_grad
                blocks[:, cols, cols] += full_dense
            else:
                gradient[:, cols] += full_grad @ to_full
                blocks[:, cols, cols] += to_full.T @ full_dense @ to_full
        w = self.weight("pose_reg")
        if w and poses.shape[1] > 3:
            scale = 2 * w / (F * (poses.shape[1] - 3)) * self._pose_scale(poses)
            gradient[:, cols.start + 3:cols.stop] += scale * self._pose_offset(poses)
            idx = torch.arange(cols.start + 3, cols.stop)
            blocks[:, idx, idx] += scale
        w = self.weight("gmm")
        if w and self.gmm is not None:
            _, deviation, precision = self.gmm.best_component(poses)
            body = slice(cols.start + 3, cols.start + 3 + self.gmm.dims)
            gradient[:, body] += (w / F) * (precision @ deviation[..., None])[..., 0]
            blocks[:, body, body] += (w / F) * precision

    def _pose_offset(self, poses: torch.Tensor) -> torch.Tensor:
        """(F, pose_dim - 3) the non-root poses less the reference."""
        return poses[:, 3:] if self.reference is None else poses[:, 3:] - self.reference[:, 3:]

    def _pose_scale(self, poses: torch.Tensor) -> torch.Tensor | float:
        return 1.0 if self.pose_scale is None else self.pose_scale[3:].to(poses)

    def _joint_limits(self, poses, full_grad, full_blocks) -> None:
        """Squared hinges outside the joints' ranges, in full-pose axis-angle slots."""
        limits = self.limits
        F = len(poses)
        c = limits.components(poses)
        axes, low, high = (x.to(c) for x in (limits.axes, limits.low, limits.high))
        excess = torch.where(c < low, c - low, torch.where(c > high, c - high, torch.zeros_like(c)))
        scale = 2 * self.weight("joint_limits") / F
        grad = scale * torch.einsum("jak,fja->fjk", axes, excess)
        # curvature wherever a step could cross a bound (within LIMIT_MARGIN of it, or on it: a range
        # of one value is a quadratic), else the step would walk into a limit the model cannot see
        near = (c <= low + LIMIT_MARGIN) | (c >= high - LIMIT_MARGIN)
        curvature = scale * torch.einsum("jak,fja,jal->fjkl", axes, near.to(c), axes)
        full_grad.view(F, -1, 3).index_add_(1, limits.slots, grad)
        full_blocks.index_add_(1, limits.slots, curvature)

    def _rotation_terms(self, params, offsets, gradient, blocks, couplings) -> None:
        """Velocity / acceleration of the rotation matrices of Rh and every joint (full poses)."""
        orders = [(order, self.weight(f"rot_{word}")) for word, order in _ORDERS.items() if self.weight(f"rot_{word}")]
        poses, Rh = params["poses"], params["Rh"]
        F = len(poses)
        orders = [(order, w) for order, w in orders if F > order]
        if not orders or not ({"Rh", "poses"} & set(offsets)):
            return
        joints = self.model.full_poses(poses).reshape(F, -1, 3)
        count = 1 + joints.shape[1]  # the loss is a mean over Rh and every joint
        # with the poses held, only Rh's rotation varies: the joints' differences are constants
        vectors = torch.cat([Rh[:, None], joints], 1) if "poses" in offsets else Rh[:, None]  # (F, Q1, 3)
        rots = axis_angle_to_matrix_t(vectors)
        Q1 = rots.shape[1]
        # d R / d r_a = [J(r) e_a]_x R: (F, Q + 1, 3 a, 3, 3)
        turns = skew_t(left_jacobian_t(vectors).transpose(-1, -2)) @ rots[:, :, None]
        per_slot = turns.permute(0, 1, 3, 4, 2).reshape(F, Q1, 9, 3)
        G = poses.new_zeros(F, Q1, 9, gradient.shape[1])
        if "Rh" in offsets:
            G[:, 0, :, offsets["Rh"]] = per_slot[:, 0]
        if "poses" in offsets:
            full = poses.new_zeros(F, Q1 - 1, 9, Q1 - 1, 3)
            idx = torch.arange(Q1 - 1)
            full[:, idx, :, idx] = per_slot[:, 1:].transpose(0, 1)
            full = full.reshape(F, (Q1 - 1) * 9, (Q1 - 1) * 3)
            to_full = self.model.full_pose_matrix(poses)
            G[:, 1:, :, offsets["poses"]] = (full if to_full is None else full @ to_full).reshape(F, Q1 - 1, 9, -1)
        scaled = tuple((order, 2 * w / ((F - order) * count)) for order, w in orders)
        self._temporal(rots.reshape(F, Q1 * 9), G.reshape(F, Q1 * 9, -1), scaled, gradient, blocks, couplings)

    @staticmethod
    def _temporal(feature, G, orders, gradient, blocks, couplings) -> None:
        """A temporal term on ``feature`` (F, m) with Jacobian ``G`` (F, m, n), in place."""
        coupling = Coupling(G, orders)
        gradient += torch.einsum("fmn,fm->fn", G, sum(scale * difference_gram(feature, order)
                                                      for order, scale in orders))
        blocks += coupling.own_frame_weights()[:, None, None] * (G.transpose(1, 2) @ G)
        couplings.append(coupling)
