"""``mvmocap demo``: a synthetic capture written to disk, triangulated from the files, scored.

Until the full pipeline exists this exercises calibration and keypoint files, robust
triangulation and the reports end to end, and prints the accuracy against the ground truth.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mvmocap.io import read_keypoints3d
from mvmocap.metrics import mpjpe
from mvmocap.pipeline import run_triangulation
from mvmocap.synthetic import CaptureSpec, make_capture, write_capture
from mvmocap.triangulate import triangulate_dlt

__all__ = ["run_demo"]

log = logging.getLogger(__name__)


def run_demo(out: Path, frames: int = 600, cameras: int = 4, seed: int = 0) -> dict:
    """Build, write, triangulate and score a capture under ``out``; print a summary table."""
    timings = {}
    start = time.perf_counter()
    capture = make_capture(CaptureSpec(frames=frames, cameras=cameras, seed=seed))
    root = write_capture(capture, out / "data")
    timings["synthesise + write"] = time.perf_counter() - start

    start = time.perf_counter()
    run = run_triangulation(root, root / "annots", out / "output")
    timings["read + triangulate + write"] = time.perf_counter() - start

    truth, _ = read_keypoints3d(root / "gt" / "keypoints3d")
    err, missing = mpjpe(run.result.keypoints3d, truth[..., :3])
    plain_err, _ = mpjpe(triangulate_dlt(run.rig, run.keypoints.person()).keypoints3d, truth[..., :3])
    summary = {
        "frames": frames,
        "cameras": cameras,
        "outlier observations": f"{capture.outlier.sum() / max((capture.keypoints2d[..., 2] > 0).sum(), 1) * 100:.1f}%",
        "robust MPJPE": f"{err * 1000:.1f} mm",
        "plain DLT MPJPE": f"{plain_err * 1000:.1f} mm",
        "joints missing": f"{missing * 100:.2f}%",
        "mean reprojection error": f"{run.report['mean_reprojection_error_px']:.2f} px",
        **{f"time: {k}": f"{v:.2f} s" for k, v in timings.items()},
        "outputs": str(out / "output"),
    }
    width = max(map(len, summary))
    print("\nmvmocap demo: robust triangulation of a synthetic capture")
    for key, value in summary.items():
        print(f"  {key:<{width}}  {value}")
    return summary
