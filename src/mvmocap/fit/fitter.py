"""Whole-sequence body fit to 3D keypoints (optionally refined against 2D detections).

Stages (weights, budgets and stopping rules in the configuration, see ``default_fit.yml``):

1. init: the observations are smoothed in time with outliers down-weighted (a robust Whittaker
   smoother, the keypoint-acceleration penalty solved exactly); one ``shapes`` for the sequence;
2. shape: the model's limb lengths match the weighted-median limb lengths of the sequence;
3. global: per-frame ``Rh``/``Th`` from a weighted Kabsch alignment of the torso (any facing,
   upside-down included, never mirrored) and analytic IK for trunk and limbs (so no limb starts
   in the wrong basin), then ``Rh``/``Th`` smoothed against the torso;
4. poses: ``poses``, ``Rh``, ``Th`` together against the keypoints (robust Geman-McClure) with
   temporal smoothness and pose priors (joint limits, a pull towards the IK start), in passes
   (per frame first, then with the temporal terms);
5. reprojection (optional): the same plus the 2D reprojection loss with lens distortion.

Stages 2-5 are solved by Levenberg-Marquardt (``solver`` in the configuration): the losses of a
pass (:class:`~mvmocap.fit.problem.PoseProblem`) are sums of squares, the body model gives their
analytic Jacobian, each frame has its own damping and the temporal terms tie the frames in a
banded system (:mod:`mvmocap.fit.banded`). ``solver.method: lbfgs`` runs L-BFGS instead, with
each stage's own iteration budget.

By default (``init.fit_smoothed``) stages 3-4 fit the smoothed keypoints, whose confidence is
the local density of trusted observations; set it false to fit the raw ones. All frames of a
window are optimised jointly; windows overlap and are cross-faded (rotations averaged on SO(3)).
Windows are fitted in two rounds: the even-numbered ones from their own start, then the odd ones
with both overlaps starting from their neighbours' results, so every seam joins two solutions
that began alike and there is no seam to see; the windows of a round are independent and run
``threads`` at a time (PyTorch and NumPy release the GIL in their kernels), the result the same
for any number. Frames without any detection are bridged by the smoother and the smoothness terms.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.bodymodels.anatomy import anatomy_of
from mvmocap.camera import CameraRig
from mvmocap.console import progress
from mvmocap.fit.align import fill_missing_frames, kabsch
from mvmocap.fit.config import FitConfig, StageConfig, load_fit_config
from mvmocap.fit.gauss_newton import levenberg_marquardt, small_least_squares
from mvmocap.fit.ik import initial_poses
from mvmocap.fit.joint_limits import JointLimitPrior
from mvmocap.fit.losses import limb_length_loss
from mvmocap.fit.optim import minimise, weighted_sum
from mvmocap.fit.priors import GMMPosePrior, girth_regulariser, pose_pull_scale, shape_regulariser
from mvmocap.fit.problem import PoseProblem
from mvmocap.fit.smoothing import lambda_for_cutoff, robust_smooth
from mvmocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.skeletons import get_format
from mvmocap.utils import InputError

__all__ = ["BodyFitter", "FitResult", "plan_windows", "weighted_median"]

log = logging.getLogger(__name__)

# The rigid core each format is aligned by in the global stage (the "torso" loss term).
ANCHORS = {
    "body25": ("LShoulder", "RShoulder", "LHip", "RHip", "Neck", "MidHip"),
    "hand21": ("Wrist", "Thumb1", "Index1", "Middle1", "Ring1", "Pinky1"),
    "bodyhands": ("LShoulder", "RShoulder", "LHip", "RHip", "Neck", "MidHip"),
}


@dataclass
class FitResult:
    """Fitted parameters (EasyMocap convention, float64): poses (F, P), shapes (1, S),
    Rh (F, 3), Th (F, 3); fitted keypoints (F, K, 3); per-stage loss logs."""

    poses: np.ndarray
    shapes: np.ndarray
    Rh: np.ndarray
    Th: np.ndarray
    keypoints: np.ndarray
    log: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted median along axis 0 of (F, L) arrays; 0 where a column has no weight."""
    order = np.argsort(values, axis=0)
    v = np.take_along_axis(values, order, 0)
    w = np.take_along_axis(weights, order, 0)
    cum = np.cumsum(w, 0)
    total = cum[-1]
    idx = np.argmax(cum >= total / 2, axis=0)
    return np.where(total > 0, v[idx, np.arange(v.shape[1])], 0.0)


def plan_windows(num_frames: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) windows of at most ``size`` frames sharing ``overlap`` frames."""
    if num_frames <= size:
        return [(0, num_frames)]
    step = size - overlap
    starts = list(range(0, num_frames - overlap, step))
    windows = [(s, min(s + size, num_frames)) for s in starts]
    if windows[-1][1] - windows[-1][0] <= overlap and len(windows) > 1:  # fold a tiny tail in
        windows[-2] = (windows[-2][0], num_frames)
        windows.pop()
    return windows


def _so3_blend(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Blend axis-angle arrays (n, ..., 3) by weight w (n,) of ``b`` on SO(3) (projected mean)."""
    Ra, Rb = axis_angle_to_matrix(a), axis_angle_to_matrix(b)
    shape = (-1,) + (1,) * (Ra.ndim - 1)
    M = (1 - w).reshape(shape) * Ra + w.reshape(shape) * Rb
    U, _, Vt = np.linalg.svd(M)
    D = np.ones(M.shape[:-1])
    D[..., 2] = np.sign(np.linalg.det(U @ Vt))
    return matrix_to_axis_angle(U @ (D[..., None] * Vt))


class BodyFitter:
    """Fits a :class:`BodyModel` to a keypoint sequence.

    Args:
        model: the body model (its keypoint ``format`` must be in ``model.keypoint_formats``).
        config: stages and weights (default: the packaged ``default_fit.yml``).
        gmm: optional path to a ``gmm_08.pkl`` pose prior (SMPL family).
        keypoint_format: the format of the observations (``body25`` for bodies).
        dtype: optimisation precision.
        fps: frame rate of the sequence (for the smoothing cut-off in Hz).
    """

    def __init__(self, model: BodyModel, config: FitConfig | None = None, gmm: str | None = None,
                 keypoint_format: str = "body25", dtype: torch.dtype = torch.float32, fps: float = 30.0):
        self.model = model
        self.fps = fps
        self.config = config or load_fit_config()
        self.format = get_format(keypoint_format)
        if self.format.name not in model.keypoint_formats:
            raise InputError(f"{model.name} has no {self.format.name} keypoints ({model.keypoint_formats})")
        self.dtype = dtype
        try:
            self.anatomy = anatomy_of(model)
        except ValueError:  # hand models have no body anatomy
            self.anatomy = None
        self.limits = JointLimitPrior.for_model(model)
        self.pose_scale = self._t(pose_pull_scale(model))
        self.gmm = GMMPosePrior.from_file(gmm, model) if gmm else None
        if self.config.stages["poses"].weights.get("gmm", 0.0) and self.gmm is None:
            log.warning("the GMM prior has a weight but no gmm_08.pkl was given; it is skipped")
        if self.format.name not in ANCHORS:
            raise InputError(f"no alignment keypoints defined for {self.format.name}; known: {sorted(ANCHORS)}")
        self.torso = [self.format.index(n) for n in ANCHORS[self.format.name]]

    # ---------------------------------------------------------------- helpers
    def _t(self, x) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), dtype=self.dtype)

    def _shapes(self, free: torch.Tensor) -> torch.Tensor:
        bounds = self.model.shape_bounds
        if bounds is None:
            return free
        lo, hi = bounds
        return lo + (hi - lo) * torch.sigmoid(free)

    def _keypoints(self, poses, shapes, Rh, Th) -> torch.Tensor:
        return self.model.keypoints(poses, shapes, Rh, Th, format=self.format.name)

    # ---------------------------------------------------------------- stages
    def fit_shape(self, keypoints3d: np.ndarray, stage: StageConfig) -> tuple[np.ndarray, dict]:
        """(1, S) shapes matching the sequence's weighted-median limb lengths."""
        a = np.array([i for i, _ in self.format.limbs])
        b = np.array([j for _, j in self.format.limbs])
        lengths = np.linalg.norm(keypoints3d[:, a, :3] - keypoints3d[:, b, :3], axis=-1)
        weights = np.minimum(keypoints3d[:, a, 3], keypoints3d[:, b, 3])
        target = self._t(weighted_median(lengths, weights))
        limb_weight = self._t(weights.sum(0) / max(len(keypoints3d), 1))
        free = torch.zeros(1, self.model.num_shapes, dtype=self.dtype, requires_grad=True)
        zero_pose = torch.zeros(1, self.model.pose_dim, dtype=self.dtype)
        girth = tuple(self.model.girth_shapes)

        def terms(free_values: torch.Tensor) -> dict[str, torch.Tensor]:
            shapes = self._shapes(free_values)
            kp = self._keypoints(zero_pose, shapes, None, None)[0]
            model_lengths = (kp[a] - kp[b]).norm(dim=-1)
            return {"limb_length": limb_length_loss(model_lengths, target, limb_weight),
                    "shape": shape_regulariser(shapes), "girth": girth_regulariser(shapes, girth)}

        if self.config.solver.method == "lbfgs":
            entry = minimise([free], lambda: terms(free), stage.weights, stage.iterations, stage.tolerance)
        else:  # the same two terms as residuals: weighted limb-length differences and shape values
            share = (stage.weights.get("limb_length", 0.0) * limb_weight / limb_weight.sum().clamp_min(1e-9)).sqrt()
            spread = (stage.weights.get("shape", 0.0) / self.model.num_shapes) ** 0.5
            girth_spread = (stage.weights.get("girth", 0.0) / max(len(girth), 1)) ** 0.5

            def residuals(values: torch.Tensor) -> torch.Tensor:
                shapes = self._shapes(values[None])
                kp = self._keypoints(zero_pose, shapes, None, None)[0]
                return torch.cat([share * ((kp[a] - kp[b]).norm(dim=-1) - target), spread * shapes[0],
                                  girth_spread * shapes[0, list(girth)]])

            with torch.no_grad():
                terms_start = weighted_sum(terms(free), stage.weights)[1]
            solution, entry = small_least_squares(residuals, free[0], iterations=stage.iterations,
                                                  tolerance=stage.tolerance)
            with torch.no_grad():
                free.copy_(solution[None])
                entry = {**entry, "terms_start": terms_start, "terms_end": weighted_sum(terms(free), stage.weights)[1]}
        return self._shapes(free).detach().double().numpy(), {"stage": "shape", "params": ["shapes"], **entry}

    def _align(self, kp: np.ndarray, shapes: torch.Tensor, poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame Rh, Th from the torso (weighted Kabsch), missing frames filled."""
        with torch.no_grad():
            model_kp = self._keypoints(self._t(poses), shapes, None, None).double().numpy()
        torso = self.torso
        R, t, ok = kabsch(model_kp[:, torso], kp[:, torso, :3], kp[:, torso, 3])
        if not ok.any():
            log.warning("no frame has 3 torso keypoints; the fit starts from the origin")
            return np.zeros((len(kp), 3)), np.zeros((len(kp), 3))
        return fill_missing_frames(matrix_to_axis_angle(R), ok), fill_missing_frames(t, ok)

    def _optimise(self, state: dict[str, torch.Tensor], free: tuple[str, ...], stage: StageConfig,
                  problem: PoseProblem) -> dict:
        """One pass over the ``free`` entries of ``state`` (poses, Rh, Th; updated in place), by the
        configured solver."""

        def terms(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            fixed = {k: v if k in free else v.detach() for k, v in values.items()}
            return problem.terms(fixed)

        if self.config.solver.method == "lbfgs":
            return minimise([state[k] for k in free], lambda: terms(state), problem.weights, stage.iterations,
                            stage.tolerance)
        return levenberg_marquardt(state, free, problem, self.config.solver)

    def fit_window(self, kp: np.ndarray, shapes: np.ndarray, warm: dict[str, np.ndarray] | None = None,
                   kp2d: np.ndarray | None = None, rig: CameraRig | None = None,
                   advance: Callable[[float], None] | None = None, *,
                   warm_end: dict[str, np.ndarray] | None = None) -> tuple[dict, list[dict]]:
        """Fit one window. ``warm`` holds poses/Rh/Th to start its first frames from (the overlap),
        ``warm_end`` its last frames'; ``advance(fraction)`` is called after each stage with the
        fraction of the window it did."""
        n = len(kp)
        stages = self.config.stages
        shapes_t = self._t(shapes)
        lam = lambda_for_cutoff(self.config.init_cutoff_hz, self.fps)
        clean = robust_smooth(kp, lam, sigma=self.config.init_outlier_sigma)
        poses0 = np.zeros((n, self.model.pose_dim))
        Rh0, Th0 = self._align(clean, shapes_t, poses0)
        if self.anatomy is not None:
            with torch.no_grad():
                rest_kp = self._keypoints(self._t(poses0[:1]), shapes_t, None, None)[0].double().numpy()
            ik = initial_poses(clean[..., :3], Rh0, rest_kp, self.anatomy, self.format, self.model.posed_joints,
                               self.model.num_joints)
            poses0[:, :ik.shape[1]] = ik  # hand PCA coefficients, if any, follow the joints' axis-angle
        for part, at_end in ((warm, False), (warm_end, True)):
            if part is not None:
                rows = slice(n - len(part["poses"]), n) if at_end else slice(0, len(part["poses"]))
                poses0[rows], Rh0[rows], Th0[rows] = part["poses"], part["Rh"], part["Th"]
        target = self._t(clean if self.config.fit_smoothed else kp)
        reference = self._t(poses0)
        state = {"poses": self._t(poses0).requires_grad_(True), "Rh": self._t(Rh0).requires_grad_(True),
                 "Th": self._t(Th0).requires_grad_(True)}

        def problem(weights: dict[str, float], sigma: float | None, **reprojection) -> PoseProblem:
            return PoseProblem(self.model, shapes_t, self.format.name, target, self.torso, weights, sigma, self.limits,
                               self.gmm, reference=reference, pose_scale=self.pose_scale, **reprojection)

        logs = []
        g, p, r = stages["global"], stages["poses"], stages["reprojection"]
        use_2d = r.enabled and kp2d is not None and rig is not None
        steps = int(g.enabled) + (len(p.passes) if p.enabled else 0) + int(use_2d)
        done = advance if advance is not None else (lambda fraction: None)
        if g.enabled:
            logs.append({"stage": "global", "params": ["Rh", "Th"], **self._optimise(
                state, ("Rh", "Th"), g, problem(g.weights, g.passes[0].robust_sigma))})
            done(1 / steps)
        for i, fit_pass in enumerate(p.passes if p.enabled else []):
            weights = p.pass_weights(fit_pass)
            logs.append({"stage": "poses", "params": ["poses", "Rh", "Th"], "pass": i,
                         "robust_sigma": fit_pass.robust_sigma, **self._optimise(
                             state, ("poses", "Rh", "Th"), p, problem(weights, fit_pass.robust_sigma))})
            done(1 / steps)
        if use_2d:
            logs.append({"stage": "reprojection", "params": ["poses", "Rh", "Th"], **self._optimise(
                state, ("poses", "Rh", "Th"), r, problem(r.weights, p.passes[-1].robust_sigma, rig=rig,
                                                         target2d=self._t(kp2d), sigma2d=r.passes[0].robust_sigma))})
            done(1 / steps)
        poses, Rh, Th = state["poses"], state["Rh"], state["Th"]
        result = {k: v.detach().double().numpy() for k, v in (("poses", poses), ("Rh", Rh), ("Th", Th))}
        return result, logs

    # ---------------------------------------------------------------- whole sequence
    def fit(self, keypoints3d: np.ndarray, keypoints2d: np.ndarray | None = None,
            rig: CameraRig | None = None, *, threads: int = 1) -> FitResult:
        """Fit ``(F, K, 4)`` keypoints (and optionally ``(F, V, K, 3)`` detections seen by ``rig``),
        ``threads`` windows at a time (module docstring: the result does not depend on it)."""
        start = time.perf_counter()
        kp = np.asarray(keypoints3d, dtype=np.float64)
        if kp.ndim != 3 or kp.shape[1:] != (self.format.num_joints, 4):
            raise ValueError(f"keypoints3d must be (F, {self.format.num_joints}, 4) in {self.format.name} order, "
                             f"got {kp.shape}")
        kp = np.where(np.isfinite(kp).all(-1, keepdims=True) & (kp[..., 3:] > 0), kp, 0.0)
        F = len(kp)
        if F == 0:  # an empty sequence fits to empty parameters
            empty = np.zeros((0, 3))
            return FitResult(np.zeros((0, self.model.pose_dim)), np.zeros((1, self.model.num_shapes)), empty, empty,
                             np.zeros((0, self.format.num_joints, 3)), [], time.perf_counter() - start)
        logs = []
        shape_stage = self.config.stages["shape"]
        if shape_stage.enabled:
            shapes, entry = self.fit_shape(kp, shape_stage)
            logs.append(entry)
        else:
            shapes = np.zeros((1, self.model.num_shapes))
        windows = plan_windows(F, self.config.window_size, self.config.window_overlap)
        fitted: dict[int, tuple[dict, list[dict]]] = {}

        def fit_one(w: int) -> tuple[dict, list[dict]]:
            """Window w, its overlaps starting from the neighbours fitted already (the odd windows)."""
            s, e = windows[w]
            before, after = fitted.get(w - 1), fitted.get(w + 1)
            warm = None if before is None else {k: v[s - windows[w - 1][0]:] for k, v in before[0].items()}
            warm_end = None if after is None else {k: v[:e - windows[w + 1][0]] for k, v in after[0].items()}
            return self.fit_window(kp[s:e], shapes, warm, None if keypoints2d is None else keypoints2d[s:e], rig,
                                   advance=lambda fraction: bar.update((e - s) * fraction), warm_end=warm_end)

        with progress(sum(e - s for s, e in windows), desc="fit", unit="frame") as bar, \
                ThreadPoolExecutor(max(1, min(threads, (len(windows) + 1) // 2))) as pool:
            for first in (0, 1):  # the even windows, then the odd ones between them
                rounds = list(range(first, len(windows), 2))
                for w, result in zip(rounds, pool.map(fit_one, rounds), strict=True):
                    fitted[w] = result
                    log.debug("fitted window %d/%d (frames %d-%d)", w + 1, len(windows), *windows[w])
        out = {"poses": np.zeros((F, self.model.pose_dim)), "Rh": np.zeros((F, 3)), "Th": np.zeros((F, 3))}
        prev_end = 0
        for w, (s, e) in enumerate(windows):
            result, window_logs = fitted[w]
            overlap = prev_end - s
            if overlap > 0:
                self._cross_fade(out, result, s, prev_end)
            for key in out:
                out[key][s + max(overlap, 0):e] = result[key][max(overlap, 0):]
            logs += [{"window": w, "frames": [s, e], **entry} for entry in window_logs]
            prev_end = e
        fitted_kp = self.evaluate(out["poses"], shapes, out["Rh"], out["Th"])
        return FitResult(out["poses"], shapes, out["Rh"], out["Th"], fitted_kp, logs, time.perf_counter() - start)

    def _cross_fade(self, out: dict[str, np.ndarray], result: dict[str, np.ndarray], start: int, stop: int) -> None:
        """Blend ``out``'s frames ``start:stop`` (the previous window's end) into the new window's
        first ``stop - start`` frames in ``result``: rotations along the sphere, the rest linearly."""
        overlap = stop - start
        ramp = (np.arange(overlap) + 0.5) / overlap
        rotations = 3 * len(self.model.posed_joints)  # then PCA coefficients, blended linearly
        for key, width in (("poses", rotations), ("Rh", 3)):
            old, new = out[key][start:stop], result[key][:overlap]
            out[key][start:stop, :width] = _so3_blend(old[:, :width].reshape(overlap, -1, 3),
                                                      new[:, :width].reshape(overlap, -1, 3), ramp).reshape(overlap, -1)
            out[key][start:stop, width:] = (1 - ramp[:, None]) * old[:, width:] + ramp[:, None] * new[:, width:]
        out["Th"][start:stop] = (1 - ramp[:, None]) * out["Th"][start:stop] + ramp[:, None] * result["Th"][:overlap]

    def evaluate(self, poses, shapes, Rh, Th) -> np.ndarray:
        """(F, K, 3) keypoints of the given parameters (float64)."""
        params = {"poses": poses, "shapes": shapes, "Rh": Rh, "Th": Th}
        return self.model.sequence(params, self.format.name, chunk=2000)
