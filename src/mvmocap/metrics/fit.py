"""A body fit against the truth it was made from: keypoint and vertex errors, shape, jitter,
limbs pointing the wrong way."""

from __future__ import annotations

import numpy as np

from mvmocap.bodymodels import BodyModel
from mvmocap.metrics.keypoints import jitter_ratio
from mvmocap.skeletons import BODY25

__all__ = ["fit_metrics"]

_LIMBS = [(BODY25.index(a), BODY25.index(b)) for a, b in (
    ("LShoulder", "LElbow"), ("LElbow", "LWrist"), ("RShoulder", "RElbow"), ("RElbow", "RWrist"),
    ("LHip", "LKnee"), ("LKnee", "LAnkle"), ("RHip", "RKnee"), ("RKnee", "RAnkle"))]


def fit_metrics(model: BodyModel, truth: dict, true_kp: np.ndarray, result) -> dict:
    """Keypoint and vertex errors (mm), shape error, jitter ratio and flipped-limb frames."""
    kp_err = np.linalg.norm(result.keypoints - true_kp, axis=-1)
    fitted = {"poses": result.poses, "shapes": result.shapes, "Rh": result.Rh, "Th": result.Th}
    pve = np.linalg.norm(model.sequence(fitted) - model.sequence(truth), axis=-1).mean()

    def limb_dirs(x):
        d = np.stack([x[:, b] - x[:, a] for a, b in _LIMBS], 1)
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    flipped = (np.sum(limb_dirs(result.keypoints) * limb_dirs(true_kp), -1) < 0).any(1)
    return {
        "kp_mpjpe_mm": round(float(kp_err.mean() * 1000), 2),
        "kp_p99_mm": round(float(np.percentile(kp_err, 99) * 1000), 1),
        "pve_mm": round(float(pve * 1000), 2),
        "shape_err": round(float(np.abs(result.shapes - truth["shapes"]).mean()), 4),
        "jitter_ratio": round(jitter_ratio(result.keypoints, true_kp), 3),
        "flipped_frames": int(flipped.sum()),
    }
