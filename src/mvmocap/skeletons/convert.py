"""Conversions between keypoint formats, vectorised over any batch dims.

A target joint is, in order of preference: the same-named source joint; or the mean of the
source joints of a derivation rule (``Neck`` = mean of the shoulders, ...), whose confidence is
the lowest of its sources, so a derived joint is only as trusted as its weakest input; or
missing (confidence 0).
"""

from __future__ import annotations

import numpy as np

from mvmocap.skeletons.formats import KeypointFormat, get_format

__all__ = ["convert_keypoints", "conversion_plan", "DERIVED"]

DERIVED: dict[str, tuple[str, ...]] = {
    "Neck": ("LShoulder", "RShoulder"),
    "MidHip": ("LHip", "RHip"),
    "LBigToe": ("LFootIndex",),
    "RBigToe": ("RFootIndex",),
}


def conversion_plan(src: str | KeypointFormat, dst: str | KeypointFormat) -> list[tuple[int, ...]]:
    """For each target joint, the source indices it averages (empty: missing)."""
    src, dst = get_format(src), get_format(dst)
    plan = []
    for name in dst.joints:
        if name in src:
            plan.append((src.index(name),))
        elif name in DERIVED and all(n in src for n in DERIVED[name]):
            plan.append(tuple(src.index(n) for n in DERIVED[name]))
        else:
            plan.append(())
    return plan


def convert_keypoints(keypoints: np.ndarray, src: str | KeypointFormat, dst: str | KeypointFormat) -> np.ndarray:
    """``(..., J_src, C)`` -> ``(..., J_dst, C)``; the last channel is the confidence.

    Works for 2D (C=3) and 3D (C=4) keypoints. Missing targets get zeros.
    """
    src, dst = get_format(src), get_format(dst)
    kp = np.asarray(keypoints)
    if kp.ndim < 2 or kp.shape[-2] != src.num_joints:
        raise ValueError(f"expected (..., {src.num_joints}, C) keypoints in {src.name} order, got {kp.shape}")
    plan = conversion_plan(src, dst)
    width = max(len(p) for p in plan)
    # (J_dst, width) gather table padded by repeating the first index; (J_dst, width) validity.
    gather = np.zeros((dst.num_joints, max(width, 1)), dtype=np.intp)
    valid = np.zeros_like(gather, dtype=bool)
    for j, p in enumerate(plan):
        if p:
            gather[j, : len(p)] = p
            gather[j, len(p):] = p[0]
            valid[j, : len(p)] = True
    picked = kp[..., gather, :]  # (..., J_dst, width, C)
    counts = np.maximum(valid.sum(-1), 1)[..., None]
    coords = (picked[..., :-1] * valid[..., None]).sum(-2) / counts
    conf = np.where(valid, picked[..., -1], np.inf).min(-1)
    conf = np.where(valid.any(-1), conf, 0.0)
    out = np.concatenate([coords, conf[..., None]], -1)
    return np.where(conf[..., None] > 0, out, 0.0).astype(kp.dtype, copy=False)
