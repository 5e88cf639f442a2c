"""Levenberg-Marquardt for the pose stages of the body fit (see :mod:`mvmocap.fit.problem`).

A step solves ``(H + mu_f diag(H)) d = -g`` (``mu_f`` per frame) with the banded solver of
:mod:`mvmocap.fit.banded`; a frame keeps the step when its share of the exact loss falls.
"""

from __future__ import annotations

import time

import torch

from mvmocap.fit.banded import Coupling, solve_banded
from mvmocap.fit.config import SolverSettings
from mvmocap.fit.problem import PoseProblem

__all__ = ["levenberg_marquardt"]

_LEAST_DAMPING = 1e-3  # Marquardt factor floor: steps split between redundant joints by least change
_CURVATURE_FLOOR = 1e-6  # of each frame's largest curvature, added so every block stays positive definite


def levenberg_marquardt(params: dict[str, torch.Tensor], free: tuple[str, ...], problem: PoseProblem,
                        settings: SolverSettings) -> dict:
    """Minimise ``problem``'s loss over the ``free`` entries of ``params`` (updated in place).

    Each frame has its own damping: a frame whose share of the loss rose keeps its old values
    and a ten times larger damping, the others take the step and a fifth of theirs (with
    temporal terms the mixed result is kept only when the total falls, else every frame's
    damping grows). Stops after ``settings.iterations`` steps or when a step lowers the loss by
    less than ``settings.tolerance`` of it. Returns ``loss_start``, ``loss_end``,
    ``iterations``, ``evaluations``, ``cg_steps``, ``seconds``.
    """
    start = time.perf_counter()
    x = {k: v.detach().clone() for k, v in params.items()}
    with torch.no_grad():
        frame_loss = problem.frame_losses(x)
    first = current = float(frame_loss.sum())
    damping = torch.full((len(frame_loss),), _LEAST_DAMPING, dtype=torch.float64)
    steps = evaluations = cg_steps = 0
    for _ in range(settings.iterations):
        with torch.no_grad():
            lin = problem.linearise(x, free)
        blocks = lin.blocks.double()
        blocks = 0.5 * (blocks + blocks.transpose(1, 2))
        diagonal = blocks.diagonal(dim1=-2, dim2=-1)
        # float32 Jacobians leave rounding of ~1e-7 of each block's scale: keep the damping above it
        floor = _CURVATURE_FLOOR * diagonal.amax(-1, keepdim=True).clamp_min(1e-30)
        couplings = [Coupling(c.jacobian.double(), c.orders) for c in lin.couplings]
        step, used = solve_banded(blocks + torch.diag_embed(damping[:, None] * diagonal + floor),
                                  -lin.gradient.double(), couplings, iterations=settings.cg_iterations,
                                  tolerance=settings.cg_tolerance)
        cg_steps += used
        trial, col = dict(x), 0
        for name in free:
            width = x[name].shape[1]
            trial[name] = x[name] + step[:, col:col + width].to(x[name])
            col += width
        with torch.no_grad():
            trial_loss = problem.frame_losses(trial)
            evaluations += 1
            better = trial_loss < frame_loss
            value = float(trial_loss.sum())
            if not better.all() and not (couplings and value < current):
                # keep the frames that improved (with temporal terms: only if the whole fell short)
                trial = {k: torch.where(better[:, None], trial[k], x[k]) if k in free else x[k] for k in x}
                trial_loss = problem.frame_losses(trial) if couplings else torch.minimum(trial_loss, frame_loss)
                evaluations += int(bool(couplings))
                value = float(trial_loss.sum())
        damping = torch.where(better, damping / 5.0, damping * 10.0).clamp(_LEAST_DAMPING, 1e8)
        if value >= current:
            if bool((damping >= 1e8).all()):
                break
            continue
        steps += 1
        gain = (current - value) / max(current, 1e-30)
        x, frame_loss, current = trial, trial_loss, value
        if gain < settings.tolerance:
            break
    with torch.no_grad():
        for name in free:
            params[name].copy_(x[name])
    return {"loss_start": first, "loss_end": current, "iterations": steps, "evaluations": evaluations,
            "cg_steps": cg_steps, "solver": "gauss-newton", "seconds": round(time.perf_counter() - start, 3)}
