"""Running one stage: L-BFGS over the stage's parameters on its weighted loss terms."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

__all__ = ["minimise", "weighted_sum"]


def weighted_sum(values: dict[str, torch.Tensor], weights: dict[str, float]) -> tuple[torch.Tensor, dict[str, float]]:
    """``sum_k weights[k] * values[k]`` over the non-zero weights, and each weighted term as a float."""
    parts = {k: w * values[k] for k, w in weights.items() if w != 0.0}
    total = sum(parts.values(), torch.zeros((), dtype=next(iter(values.values())).dtype) if values else 0.0)
    return total, {k: float(v.detach()) for k, v in parts.items()}


def minimise(
    params: list[torch.Tensor],
    terms: Callable[[], dict[str, torch.Tensor]],
    weights: dict[str, float],
    iterations: int,
    tolerance: float,
) -> dict:
    """Minimise ``sum_k weights[k] * terms()[k]`` with L-BFGS (strong Wolfe line search).

    Stops after ``iterations`` iterations or when the loss changes by less than ``tolerance`` of
    its starting value: L-BFGS sees the loss divided by that value, so that hands (millimetre
    errors, losses near 1e-6 m^2) and bodies stop by the same rule.
    Returns a log: loss and every weighted term at the start and the end, iterations, seconds.
    """
    start = time.perf_counter()

    def evaluate() -> tuple[torch.Tensor, dict[str, float]]:
        return weighted_sum(terms(), weights)

    with torch.no_grad():
        first, first_parts = evaluate()
    optimizer = torch.optim.LBFGS(params, lr=1.0, max_iter=iterations, max_eval=int(iterations * 1.5),
                                  tolerance_grad=1e-12, tolerance_change=tolerance, history_size=100,
                                  line_search_fn="strong_wolfe")

    scale = float(first) if float(first) > 0 else 1.0

    def closure():
        optimizer.zero_grad(set_to_none=True)
        total, _ = evaluate()
        total = total / scale
        total.backward()
        return total

    if iterations > 0 and params:
        optimizer.step(closure)
    with torch.no_grad():
        last, last_parts = evaluate()
    state = optimizer.state[optimizer._params[0]] if params else {}
    return {
        "loss_start": float(first), "loss_end": float(last), "terms_start": first_parts, "terms_end": last_parts,
        "iterations": int(state.get("n_iter", 0)), "evaluations": int(state.get("func_evals", 0)),
        "seconds": round(time.perf_counter() - start, 3),
    }
