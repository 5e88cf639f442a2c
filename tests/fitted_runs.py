"""Run folders as ``mvmocap run`` leaves them (params.npz, smpl/, keypoints3d/), for the export and
replay tests: a smooth random motion of any body model, without running the pipeline."""

from pathlib import Path

import numpy as np

from mvmocap.fit import FitResult
from mvmocap.io import write_keypoints3d
from mvmocap.pipeline.fitting import write_fit

FRAMES, FPS = 12, 30.0


def make_run(root: Path, model, seed: int, frames: int = FRAMES) -> Path:
    """A run folder as ``mvmocap run`` leaves it: params.npz and keypoints3d/ (some joints missing)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, frames)[:, None]
    poses = 0.4 * np.sin(2 * np.pi * t + rng.uniform(0, 6, model.pose_dim)) * rng.uniform(0.3, 1, model.pose_dim)
    params = {"poses": poses, "shapes": np.clip(0.3 * rng.standard_normal((1, model.num_shapes)), -0.4, 0.4),
              "Rh": np.c_[0.2 * t, 0.5 + 0.3 * t, 0.1 * t], "Th": np.c_[t, 0.5 * t, 0.9 + 0 * t]}
    keypoints = model.sequence(params, "body25")
    out = root / "output"
    write_fit(out, model, FitResult(**params, keypoints=keypoints), list(range(10, 10 + frames)), FPS)
    conf = (rng.uniform(size=keypoints.shape[:2] + (1,)) > 0.1).astype(float)
    write_keypoints3d(out / "keypoints3d", np.concatenate([keypoints + 0.01, conf], -1), list(range(10, 10 + frames)))
    return out
