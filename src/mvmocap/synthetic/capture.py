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
    max_time_offset: float = 0.0  # seconds; > 0: the cameras are out of step (see make_capture)


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
    time_offsets: np.ndarray | None = None  # (V,) seconds: frame k of camera v shows time k / fps + offset

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
    if spec.max_time_offset <= 0:
        points = generate_motion(spec.motion, spec.frames, spec.fps, spec.height, seed=spec.seed)
        obs = observe(rig, points, "body25", spec.noise_px, spec.outlier_ratio, spec.dropout_ratio,
                      seed=spec.seed + 1)
        return SyntheticCapture(spec, rig, points, obs.keypoints2d, obs.outlier, obs.visible)
    return _desynchronised(spec, rig)


def _desynchronised(spec: CaptureSpec, rig: CameraRig, upsample: int = 10) -> SyntheticCapture:
    """Cameras out of step: the first camera's offset is 0, the others' drawn in
    ``[-max_time_offset, max_time_offset]`` to a tenth of a frame; the truth ``points3d`` is at the
    first camera's frame times."""
    rng = np.random.default_rng(spec.seed + 99)
    margin = int(np.ceil(spec.max_time_offset * spec.fps)) + 2
    fine = generate_motion(spec.motion, (spec.frames + 2 * margin) * upsample, spec.fps * upsample, spec.height,
                           seed=spec.seed)
    steps = np.round(rng.uniform(-spec.max_time_offset, spec.max_time_offset, spec.cameras) * spec.fps * upsample)
    steps[0] = 0
    base = (margin + np.arange(spec.frames)) * upsample
    views = [observe(rig.subset([cam.name]), fine[base + int(k)], "body25", spec.noise_px, spec.outlier_ratio,
                     spec.dropout_ratio, seed=spec.seed + 1 + v)
             for v, (cam, k) in enumerate(zip(rig, steps, strict=True))]
    kp, outlier, visible = (np.concatenate([getattr(o, name) for o in views], axis=1)
                            for name in ("keypoints2d", "outlier", "visible"))
    return SyntheticCapture(spec, rig, fine[base], kp, outlier, visible, time_offsets=steps / (spec.fps * upsample))


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
    meta = asdict(capture.spec)
    if capture.time_offsets is not None:
        meta["time_offsets"] = dict(zip(capture.rig.names, capture.time_offsets.tolist(), strict=True))
    atomic_write_text(root / "gt" / "meta.json", json.dumps(meta, indent=2))
    return root
