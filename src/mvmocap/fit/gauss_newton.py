"""Levenberg-Marquardt for the pose stages of the body fit (see :mod:`mvmocap.fit.problem`).

A step solves ``(H + mu_f diag(H)) d = -g`` (``mu_f`` per frame) with the banded solver of
:mod:`mvmocap.fit.banded`; a frame keeps the step when its share of the exact loss falls.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from mvmocap.fit.banded import solve_banded
from mvmocap.fit.config import SolverSettings
from mvmocap.fit.problem import PoseProblem

__all__ = ["levenberg_marquardt", "small_least_squares"]

_LEAST_DAMPING = 1e-3  # Marquardt factor floor: steps split between redundant joints by least change
_CURVATURE_FLOOR = 1e-6  # of each frame's largest curvature, added so every block stays positive definite
_GIVE_UP_DAMPING = 1e4  # a step damped this much changes next to nothing: converged


def levenberg_marquardt(params: dict[str, torch.Tensor], free: tuple[str, ...], problem: PoseProblem,
                        settings: SolverSettings) -> dict:
    """Minimise ``problem``'s loss over the ``free`` entries of ``params`` (updated in place).

    Each frame has its own damping: a frame whose share of the loss rose keeps its old values
    and a ten times larger damping, the others take the step and a fifth of theirs (with
    temporal terms, whose residuals see the neighbours, the mixed result is kept only when its
    total is below the whole step's; a step whose total does not fall is refused). Stops after
    ``settings.iterations`` steps, or when a step lowered the loss by less than
    ``settings.tolerance`` of it and the quadratic model promises no more. Returns
    ``loss_start``, ``loss_end``, ``terms_start``, ``terms_end`` (each weighted term), ``iterations``,
    ``evaluations``, ``cg_steps``, ``seconds``.
    """
    start = time.perf_counter()
    x = {k: v.detach().clone() for k, v in params.items()}

    def evaluate(values: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        shares = problem.frame_terms(values)
        return shares, problem.weighted(shares)

    with torch.no_grad():
        shares, frame_loss = evaluate(x)
    first = current = float(frame_loss.sum())
    terms_start = problem.weighted_totals(shares)
    damping = torch.full((len(frame_loss),), _LEAST_DAMPING, dtype=torch.float64)
    steps = evaluations = cg_steps = 0
    small_before = False  # the last step taken gained less than the tolerance
    for _ in range(settings.iterations):
        with torch.no_grad():
            lin = problem.linearise(x, free)
        blocks = lin.blocks.double()
        gradient = lin.gradient.double()
        diagonal = blocks.diagonal(dim1=-2, dim2=-1)
        # float32 Jacobians leave rounding of ~1e-7 of each block's scale: keep the damping above it
        floor = _CURVATURE_FLOOR * diagonal.amax(-1, keepdim=True).clamp_min(1e-30)
        diagonal.mul_(1.0 + damping[:, None]).add_(floor)  # in place: blocks now hold the damped matrix
        step, used = solve_banded(blocks, -gradient, lin.couplings, iterations=settings.cg_iterations,
                                  tolerance=settings.cg_tolerance)
        cg_steps += used
        trial, col = dict(x), 0
        for name in free:
            width = x[name].shape[1]
            trial[name] = x[name] + step[:, col:col + width].to(x[name])
            col += width
        predicted = float(-0.5 * (gradient * step).sum())  # the quadratic model's gain
        with torch.no_grad():
            trial_shares, trial_loss = evaluate(trial)
            evaluations += 1
            better = trial_loss < frame_loss
            if not better.all():  # keep the frames that improved
                mixed = {k: torch.where(better[:, None], trial[k], x[k]) if k in free else x[k] for k in x}
                if lin.couplings:  # their temporal terms see the neighbours: keep whichever total is lower
                    mixed_shares, mixed_loss = evaluate(mixed)
                    evaluations += 1
                    if mixed_loss.sum() < trial_loss.sum():
                        trial, trial_shares, trial_loss = mixed, mixed_shares, mixed_loss
                else:  # frames are independent: each keeps its own shares
                    trial = mixed
                    trial_shares = {k: torch.where(better, v, shares[k]) for k, v in trial_shares.items()}
                    trial_loss = torch.where(better, trial_loss, frame_loss)
            value = float(trial_loss.sum())
        damping = torch.where(better, damping / 5.0, damping * 10.0).clamp(_LEAST_DAMPING, _GIVE_UP_DAMPING)
        if value >= current:
            if bool((damping >= _GIVE_UP_DAMPING).all()):
                break
            continue
        steps += 1
        gain = (current - value) / max(current, 1e-30)
        x, shares, frame_loss, current = trial, trial_shares, trial_loss, value
        small = gain < settings.tolerance
        if small and (predicted < settings.tolerance * current or small_before):
            break
        small_before = small
    with torch.no_grad():
        for name in free:
            params[name].copy_(x[name])
    return {"loss_start": first, "loss_end": current, "terms_start": terms_start,
            "terms_end": problem.weighted_totals(shares), "iterations": steps, "evaluations": evaluations,
            "cg_steps": cg_steps, "solver": "gauss-newton", "seconds": round(time.perf_counter() - start, 3)}


# forward mode only where residuals outnumber parameters this many times: a forward-mode pass costs
# 4 to 5.5 reverse-mode rows (measured below), and the first one in a process loads torch.func (0.2 s)
_FORWARD_MODE_RATIO = 6


def _jacobian(residuals: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, count: int) -> torch.Tensor:
    """(count, n) Jacobian of the ``count`` residuals at ``x`` (n,): by reverse mode, one backward
    pass per residual, unless forward mode's one pass per parameter is cheaper. Measured on shape
    fits: SMPL (10 parameters, 34 residuals) 37 ms reverse, 55 forward; Anny (6, 32) 162 / 161 ms;
    Anny with fingers (6, 74) 584 / 195 ms."""
    if count <= _FORWARD_MODE_RATIO * len(x):
        return torch.autograd.functional.jacobian(residuals, x)
    basis = torch.eye(len(x), dtype=x.dtype)
    return torch.stack([torch.func.jvp(residuals, (x,), (direction,))[1] for direction in basis], 1)


def small_least_squares(residuals: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, iterations: int,
                        tolerance: float) -> tuple[torch.Tensor, dict]:
    """Levenberg-Marquardt on a few parameters: minimise ``|residuals(x)|^2`` from ``x`` (n,),
    the Jacobian by automatic differentiation. Stops after ``iterations`` steps or when a step
    lowers the loss by less than ``tolerance`` of it. Returns the solution and a log like
    :func:`levenberg_marquardt`'s."""
    start = time.perf_counter()
    x = x.detach().clone()
    with torch.no_grad():
        current = first = float(residuals(x).square().sum())
    damping, steps, evaluations = _LEAST_DAMPING, 0, 0
    while steps < iterations:
        r = residuals(x).detach().double()
        J = _jacobian(residuals, x, len(r)).double()
        H, g = J.T @ J, J.T @ r
        diagonal = H.diagonal()
        while damping < _GIVE_UP_DAMPING:  # the same linearisation, damped more until a step helps
            step = torch.linalg.solve(H + torch.diag(damping * diagonal + _CURVATURE_FLOOR * diagonal.max()), -g)
            trial = x + step.to(x)
            with torch.no_grad():
                value = float(residuals(trial).square().sum())
            evaluations += 1
            if value < current:
                break
            damping *= 10.0
        if value >= current:
            break
        steps += 1
        gain = (current - value) / max(current, 1e-300)
        x, current, damping = trial, value, max(damping / 5.0, _LEAST_DAMPING)
        if gain < tolerance:
            break
    return x, {"loss_start": first, "loss_end": current, "iterations": steps, "evaluations": evaluations,
               "solver": "gauss-newton", "seconds": round(time.perf_counter() - start, 3)}
