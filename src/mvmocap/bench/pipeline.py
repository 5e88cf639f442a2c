"""``mvmocap bench pipeline``: the demo capture end to end, timed stage by stage."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mvmocap.demo import run_body_hands_demo, run_demo
from mvmocap.utils import InputError

__all__ = ["bench_pipeline"]


def bench_pipeline(*, frames: int = 150, cameras: int = 4, videos: bool = True, real_size: bool = False,
                   workers: int = 0, exp: str = "body") -> dict:
    """Render the demo capture (``real_size``: 4 cameras x 300 frames of 1080x1920 portrait video,
    cameras timed with ``--sync auto``), run it (``exp`` body or body+hands) and return the
    detection rate, each stage's seconds and the accuracy against the truth."""
    if real_size and exp != "body":
        raise InputError("--real-size times the body pipeline; drop --exp body+hands")
    frames, cameras = (300, 4) if real_size else (frames, cameras)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if exp == "body+hands":
            result = run_body_hands_demo(Path(tmp), frames=frames, cameras=cameras, videos=videos)
        else:
            result = run_demo(Path(tmp), frames=frames, cameras=cameras, videos=videos, workers=workers,
                              **({"image_size": (1080, 1920), "sync": "auto"} if real_size else {}))
        seconds = time.perf_counter() - start
    run = result["run"]
    timings = run.timings
    stages = {k: round(v, 2) for k, v in timings.items()}
    if exp == "body+hands":
        return {"detect_fps": round(frames * cameras / max(timings["detect"], 1e-9), 2),
                "seconds_total": round(seconds, 2),
                **{f"{part}_{key}": round(value, 3 if key == "found" else 2)
                   for part in ("body", "left_hand", "right_hand") for key, value in result[part].items()},
                "stage_seconds": stages, "frames": frames, "cameras": cameras}
    pipeline = sum(timings.values())
    return {"detect_fps": round(run.report["detect_view_frames"] / max(timings["detect"], 1e-9), 2),
            "pipeline_seconds": round(pipeline, 2),
            "pipeline_over_detect": round(pipeline / max(timings["detect"], 1e-9), 2),
            "seconds_total": round(seconds, 2), "synth_seconds": round(result["synth_seconds"], 2),
            "kp_mpjpe_mm": round(result["kp_mpjpe_mm"], 2), "pve_mm": round(result["pve_mm"], 2),
            "triangulated_mpjpe_mm": round(result["triangulated_mpjpe_mm"], 2),
            "stage_seconds": stages, "frames": frames, "cameras": cameras,
            "image_size": list(run.rig[0].image_size), "workers": workers}
