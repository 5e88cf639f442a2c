"""Keypoint accuracy against a truth: position error and jitter."""

from __future__ import annotations

import numpy as np

__all__ = ["jitter_ratio", "mpjpe"]


def mpjpe(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Mean per-joint position error over the joints ``pred`` reconstructed.

    Args:
        pred: (..., J, 4) x, y, z, confidence (confidence 0 = missing, not counted).
        truth: (..., J, 3) true positions.
    Returns:
        (mean error in the units of the input, fraction of joints missing in ``pred``).
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape[:-1] != truth.shape[:-1]:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in (..., J)")
    found = pred[..., 3] > 0
    if not found.any():
        return float("nan"), 1.0
    err = np.linalg.norm(pred[..., :3] - truth[..., :3], axis=-1)
    return float(err[found].mean()), float(1.0 - found.mean())


def jitter_ratio(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean acceleration magnitude of ``pred`` over that of ``truth``, both (F, J, 3) sequences.

    Above 1: the prediction shakes more than the truth moves; below 1: it is over-smoothed.
    """

    def accel(x: np.ndarray) -> float:
        return float(np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1).mean())

    return accel(np.asarray(pred)) / accel(np.asarray(truth))
