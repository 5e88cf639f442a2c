"""Synthetic keypoint captures with ground truth, in memory and on disk (EasyMocap layout).

On disk::

    ROOT/intri.yml, ROOT/extri.yml      calibration
    ROOT/annots/<cam>/<frame>.json      2D detections (or openpose/<cam>/..._keypoints.json)
    ROOT/gt/keypoints3d/<frame>.json    true 3D keypoints
    ROOT/gt/meta.json                   how the capture was made (seed, noise, ...)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mvmocap.camera import CameraRig, save_calibration
from mvmocap.io import MultiViewKeypoints, write_annots, write_keypoints3d, write_openpose
from mvmocap.synthetic.motions import generate_motion
from mvmocap.synthetic.observations import observe
from mvmocap.synthetic.rigs import ring_rig
from mvmocap.utils import atomic_write_text

__all__ = ["CaptureSpec", "SyntheticCapture", "make_capture", "write_capture"]


@dataclass
class CaptureSpec:
    """Everything that defines a synthetic keypoint capture (defaults: the benchmark scenario)."""

    frames: int = 1000
    cameras: int = 4
    radius: float = 3.5
    fps: float = 30.0
    motion: str = "mixed"
    noise_px: float = 2.0
    outlier_ratio: float = 0.1
    dropout_ratio: float = 0.05
    distortion: float = 0.05
    image_size: tuple[int, int] = (1920, 1080)
    height: float = 1.72
    seed: int = 0


@dataclass
class SyntheticCapture:
    """A capture: rig, true 3D keypoints (F, J, 3), corrupted detections (F, V, J, 3)."""

    spec: CaptureSpec
    rig: CameraRig
    points3d: np.ndarray
    keypoints2d: np.ndarray
    outlier: np.ndarray
    visible: np.ndarray
    skeleton: str = field(default="body25")

    @property
    def frames(self) -> list[int]:
        return list(range(len(self.points3d)))

    def as_multiview(self) -> MultiViewKeypoints:
        return MultiViewKeypoints(self.rig.names, self.frames, {0: self.keypoints2d}, self.skeleton)


def make_capture(spec: CaptureSpec | None = None, **overrides) -> SyntheticCapture:
    """Build a capture from ``spec`` (or the defaults), with keyword ``overrides``."""
    spec = spec or CaptureSpec()
    spec = CaptureSpec(**{**asdict(spec), **overrides})
    rig = ring_rig(spec.cameras, spec.radius, image_size=tuple(spec.image_size), distortion=spec.distortion,
                   seed=spec.seed)
    points = generate_motion(spec.motion, spec.frames, spec.fps, spec.height, seed=spec.seed)
    obs = observe(rig, points, "body25", spec.noise_px, spec.outlier_ratio, spec.dropout_ratio, seed=spec.seed + 1)
    return SyntheticCapture(spec, rig, points, obs.keypoints2d, obs.outlier, obs.visible)


def write_capture(capture: SyntheticCapture, root: str | Path, keypoint_format: str = "annots") -> Path:
    """Write calibration, detections (``annots`` or ``openpose``) and ground truth under ``root``."""
    root = Path(root)
    save_calibration(capture.rig, root)
    seq = capture.as_multiview()
    if keypoint_format == "annots":
        write_annots(root / "annots", seq, {c.name: c.image_size for c in capture.rig})
    elif keypoint_format == "openpose":
        write_openpose(root / "openpose", seq)
    else:
        raise ValueError(f"keypoint_format must be 'annots' or 'openpose', got {keypoint_format!r}")
    gt = np.concatenate([capture.points3d, np.ones(capture.points3d.shape[:-1] + (1,))], -1)
    write_keypoints3d(root / "gt" / "keypoints3d", gt, capture.frames)
    atomic_write_text(root / "gt" / "meta.json", json.dumps(asdict(capture.spec), indent=2))
    return root
