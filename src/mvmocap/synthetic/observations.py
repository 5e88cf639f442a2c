"""Noisy multi-view 2D detections of known 3D keypoints, with the corruptions real detectors make.

- Gaussian pixel noise on every coordinate;
- confidences drawn around 0.8 (never all 1), lower for noisier observations;
- dropouts: random observations set to confidence 0, plus everything outside the image or
  behind the camera;
- outliers: a fraction of the visible observations replaced by a left/right swap (the mirror
  joint's position, for joints that have one) or a false detection far from the truth, with
  confidences as high as real ones (detectors are confidently wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.skeletons import get_format

__all__ = ["Observations", "observe"]


@dataclass
class Observations:
    """Synthetic 2D detections and what was done to them.

    Attributes:
        keypoints2d: (F, V, J, 3) pixels and confidence.
        visible: (F, V, J) the true point projects inside the image, in front of the camera.
        outlier: (F, V, J) observation replaced by a swap or a false detection.
    """

    keypoints2d: np.ndarray
    visible: np.ndarray
    outlier: np.ndarray


def observe(
    rig: CameraRig,
    points3d: np.ndarray,
    skeleton: str = "body25",
    noise_px: float = 2.0,
    outlier_ratio: float = 0.1,
    dropout_ratio: float = 0.05,
    seed: int = 0,
) -> Observations:
    """Project ``(F, J, 3)`` points into every camera and corrupt them (see module docstring)."""
    rng = np.random.default_rng(seed)
    fmt = get_format(skeleton)
    pts = np.asarray(points3d, dtype=np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (fmt.num_joints, 3):
        raise ValueError(f"points3d must be (F, {fmt.num_joints}, 3) for {fmt.name}, got {pts.shape}")
    uv = np.moveaxis(rig.project(pts), 0, 1)  # (F, V, J, 2)
    depth = np.moveaxis(rig.depths(pts), 0, 1)
    inside = np.stack([cam.in_image(uv[:, v]) for v, cam in enumerate(rig)], 1)
    visible = inside & (depth > 0.1)
    shape = visible.shape

    noise = rng.normal(0.0, noise_px, uv.shape)
    observed = uv + noise
    # Confidence falls with the size of this observation's error.
    relative_error = np.linalg.norm(noise, axis=-1) / max(noise_px, 1e-9)
    conf = np.clip(rng.normal(0.85, 0.07, shape) - 0.04 * relative_error, 0.2, 0.99)

    candidates = visible & (rng.random(shape) >= dropout_ratio)
    outlier = candidates & (rng.random(shape) < outlier_ratio)
    flip = fmt.flip_index
    has_mirror = (flip != np.arange(fmt.num_joints))[None, None, :]
    swap = outlier & has_mirror & (rng.random(shape) < 0.5)
    far = outlier & ~swap
    mirrored = uv[:, :, flip] + noise
    observed = np.where(swap[..., None], mirrored, observed)
    direction = rng.normal(size=uv.shape)
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    distance = rng.uniform(60.0, 400.0, shape)[..., None]
    observed = np.where(far[..., None], uv + direction * distance, observed)
    conf = np.where(outlier, rng.uniform(0.4, 0.95, shape), conf)
    conf = np.where(candidates, conf, 0.0)
    kp = np.concatenate([np.where(candidates[..., None], observed, 0.0), conf[..., None]], -1)
    return Observations(kp, visible, outlier)
