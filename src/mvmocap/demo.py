"""``mvmocap demo`` (what ``make demo`` runs): the whole pipeline on a rendered synthetic capture.

Anny performs a human-like motion, rendered into ``videos/`` by four calibrated virtual cameras;
``mvmocap run`` then processes those videos unchanged (MediaPipe detection on the rendered
images, triangulation, fit, videos) and the result is scored against the ground truth.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from mvmocap.bodymodels import load_body_model
from mvmocap.console import summary_table
from mvmocap.pipeline import RunOptions, run_experiment
from mvmocap.pipeline.summary import run_summary
from mvmocap.synthetic import make_video_capture

__all__ = ["run_body_hands_demo", "run_demo", "run_hands_demo", "run_multi_demo"]

log = logging.getLogger(__name__)


def run_demo(out: Path, frames: int = 150, cameras: int = 4, seed: int = 0,
             image_size: tuple[int, int] = (960, 540), videos: bool = True, sync: str = "file",
             workers: int = 0) -> dict:
    """Make the capture under ``out/data``, run it into ``out/output`` (``sync``, ``workers``: as
    for ``mvmocap run``), print and return the scores and the capture's ``synth_seconds``."""
    start = time.perf_counter()
    model = load_body_model()
    root = make_video_capture(out / "data", model, frames=frames, cameras=cameras, image_size=image_size, seed=seed)
    synth_seconds = time.perf_counter() - start
    run = run_experiment(RunOptions(root=root, out=out / "output", videos=videos, sync=sync, workers=workers))
    rows = np.asarray(run.frames)  # the frames fitted: a frame too few cameras saw is left out
    truth = {k: v[rows] if k in ("poses", "Rh", "Th", "keypoints3d") else v
             for k, v in np.load(root / "gt" / "params.npz").items()}
    true_kp = truth["keypoints3d"]
    seen = run.keypoints3d[..., 3] > 0
    tri_err = np.linalg.norm(run.keypoints3d[..., :3] - true_kp, axis=-1)[seen]
    fit_err = np.linalg.norm(run.fit.keypoints - true_kp, axis=-1)
    fitted = {"poses": run.fit.poses, "shapes": run.fit.shapes, "Rh": run.fit.Rh, "Th": run.fit.Th}
    pve = np.linalg.norm(model.sequence(fitted) - model.sequence(truth), axis=-1).mean()
    print(run_summary(run.report, run.out))
    print(summary_table(f"mvmocap demo: {model.name} rendered by {cameras} cameras, scored against the truth", {
        "frames x cameras": f"{frames} x {cameras} ({image_size[0]}x{image_size[1]})",
        "triangulated keypoints MPJPE": f"{tri_err.mean() * 1000:.1f} mm ({seen.mean() * 100:.1f}% found)",
        "fitted body25 MPJPE": f"{fit_err.mean() * 1000:.1f} mm",
        "fitted vertices PVE": f"{pve * 1000:.1f} mm",
        "time: synthesise + render inputs": f"{synth_seconds:.1f} s",
        "inputs": str(root)}))
    return {"kp_mpjpe_mm": float(fit_err.mean() * 1000), "pve_mm": float(pve * 1000),
            "triangulated_mpjpe_mm": float(tri_err.mean() * 1000), "run": run, "synth_seconds": synth_seconds}


def run_hands_demo(out: Path, frames: int = 90, seed: int = 0) -> dict:
    """Anny's two hands over a desk, rendered by three cameras, run with ``--exp hands``."""
    from mvmocap.pipeline.hands import hand_models
    from mvmocap.synthetic import make_hand_capture

    start = time.perf_counter()
    root = make_hand_capture(out / "data", hand_models(None), frames=frames, seed=seed)
    synth_seconds = time.perf_counter() - start
    results = run_experiment(RunOptions(root=root, out=out / "output", exp="hands"))
    rows = {}
    scores = {}
    for side, name in (("l", "left"), ("r", "right")):
        truth = np.load(root / "gt" / f"hand{side}.npz")["keypoints3d"]
        run = results[side]
        if run is None:
            rows[f"{name} hand"] = "seen too little to fit"
            continue
        seen = run.keypoints3d[..., 3] > 0
        tri = np.linalg.norm(run.keypoints3d[..., :3] - truth, axis=-1)[seen].mean() * 1000
        fit = np.linalg.norm(run.fit.keypoints - truth, axis=-1).mean() * 1000
        scores[side] = {"triangulated_mpjpe_mm": tri, "kp_mpjpe_mm": fit, "found": float(seen.mean())}
        rows[f"{name} hand"] = f"triangulated {tri:.1f} mm ({100 * seen.mean():.0f}% found), fitted hand21 {fit:.1f} mm"
    rows.update({"time: synthesise + render inputs": f"{synth_seconds:.1f} s", "outputs": str(out / "output")})
    print(summary_table(f"mvmocap demo --hands: two Anny hands, {frames} frames from 3 cameras", rows))
    return scores


def run_body_hands_demo(out: Path, frames: int = 60, cameras: int = 4, seed: int = 0,
                        image_size: tuple[int, int] = (960, 540), videos: bool = True) -> dict:
    """Anny walking with moving fingers, rendered by ``cameras`` cameras, run with
    ``--exp body+hands``; scores per part (body25, left hand, right hand) against the truth."""
    from mvmocap.bodymodels.anny_model import anny_with_fingers

    start = time.perf_counter()
    model = anny_with_fingers()
    root = make_video_capture(out / "data", model, frames=frames, cameras=cameras, image_size=image_size, seed=seed,
                              fingers=True)
    synth_seconds = time.perf_counter() - start
    run = run_experiment(RunOptions(root=root, out=out / "output", exp="body+hands", videos=videos))
    truth = np.load(root / "gt" / "params.npz")["keypoints3d"]
    seen = run.keypoints3d[..., 3] > 0
    tri_err = np.linalg.norm(run.keypoints3d[..., :3] - truth, axis=-1)
    fit_err = np.linalg.norm(run.fit.keypoints - truth, axis=-1)
    rows = {}
    scores = {}
    for part, cols in (("body", slice(0, 25)), ("left_hand", slice(25, 46)), ("right_hand", slice(46, 67))):
        found = seen[:, cols]
        tri = float(tri_err[:, cols][found].mean() * 1000) if found.any() else float("nan")
        fit = float(fit_err[:, cols].mean() * 1000)
        scores[part] = {"triangulated_mpjpe_mm": tri, "kp_mpjpe_mm": fit, "found": float(found.mean())}
        rows[part] = f"triangulated {tri:.1f} mm ({100 * found.mean():.0f}% found), fitted {fit:.1f} mm"
    rows.update({"time: synthesise + render inputs": f"{synth_seconds:.1f} s", "outputs": str(out / "output")})
    print(summary_table(f"mvmocap demo --body-hands: Anny with moving fingers, {frames} frames x {cameras} cameras "
                        f"({image_size[0]}x{image_size[1]})", rows))
    return {**scores, "run": run}


def run_multi_demo(out: Path, frames: int = 150, cameras: int = 4, seed: int = 0, people: int = 3) -> dict:
    """Anny people walking across each other's paths, rendered, run with ``--exp multi`` and scored."""
    from mvmocap.metrics import score_people, visible_people
    from mvmocap.pipeline.summary import multi_summary
    from mvmocap.synthetic.multi import MultiSpec, make_multi_capture

    start = time.perf_counter()
    root = make_multi_capture(out / "data", load_body_model(), MultiSpec(people=people, frames=frames,
                                                                         cameras=max(cameras, 4), seed=seed))
    synth_seconds = time.perf_counter() - start
    run = run_experiment(RunOptions(root=root, out=out / "output", exp="multi"))
    truth = np.load(root / "gt" / "people.npz")["keypoints3d"]
    scores = score_people(truth, visible_people(run.rig, truth),
                          {p.id: (p.fit.keypoints, p.frames) for p in run.people}, run.frames)
    print(multi_summary(run.report, run.out))
    print(summary_table(f"mvmocap demo --multi: {people} Anny people, scored against the truth", {
        "people found": f"{len(run.people)} of {people}",
        "fitted body25 MPJPE per person": ", ".join(f"{v} mm" for v in scores["mpjpe_mm"].values()),
        "percentage of correct parts": f"{scores['pcp']:.1f}%",
        "identity switches": str(scores["id_switches"]),
        "time: synthesise + render inputs": f"{synth_seconds:.1f} s", "inputs": str(root)}))
    return {**scores, "run": run}
