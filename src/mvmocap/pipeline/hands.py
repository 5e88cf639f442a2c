"""``mvmocap run ROOT --exp hands``: both hands of one person, detected, assigned to left and
right across views, triangulated and fitted with a hand model each.

Outputs under ``OUT``: ``hands2d/`` (the raw detection cache, resumable), ``keypoints2d_hands/``
(assigned hands, EasyMocap annots ``handl2d``/``handr2d``), ``handl/`` and ``handr/`` (each:
``keypoints3d/``, ``smpl/%06d.json`` parameters, ``params.npz``, ``keypoints3d_fit/``,
``fit_log.json``), ``videos/overlay.mp4``, ``report.json``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from mvmocap.associate import assign_hands
from mvmocap.bodymodels import BodyModel, load_smpl_family
from mvmocap.console import progress
from mvmocap.detect import MediaPipeHands, detect_camera, load_hands, save_hands
from mvmocap.fit import BodyFitter
from mvmocap.io import write_hand_annots, write_keypoints3d
from mvmocap.pipeline.fitting import write_fit
from mvmocap.pipeline.run import RunOutput, open_inputs, prepare_run
from mvmocap.pipeline.videos import render_run_videos
from mvmocap.skeletons import get_format
from mvmocap.triangulate import reprojection_report, triangulate
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["run_hands", "hand_models"]

log = logging.getLogger(__name__)
MIN_SEEN = 0.3  # a hand with fewer of its keypoints triangulated (over all frames) is not fitted


def hand_models(spec: str | None, hand_pca: int | None = None) -> dict[str, BodyModel]:
    """Left and right hand models: ``anny-hand`` (default, free) or ``mano[:FOLDER]`` (the user's
    ``MANO_LEFT.pkl`` / ``MANO_RIGHT.pkl``; ``hand_pca`` poses their fingers by PCA coefficients)."""
    kind, _, rest = (spec or "anny-hand").partition(":")
    if kind in ("anny", "anny-hand"):
        from mvmocap.bodymodels.anny_model import AnnyModel

        return {"l": AnnyModel(hand="L"), "r": AnnyModel(hand="R")}
    if kind == "mano":
        return {s: load_smpl_family("mano", side, rest or None, hand_pca=hand_pca)
                for s, side in (("l", "left"), ("r", "right"))}
    raise InputError(f"hand model must be anny-hand or mano[:FOLDER], got {spec!r}")


def run_hands(root: str | Path, out: str | Path | None = None, exp: str | Path | None = "hands",
              model: str | None = None, calib: str | Path | None = None, cams: list[str] | None = None,
              vis_cams: list[str] | None = None, frames: str | None = None, fps: float | None = None,
              videos: bool = True) -> dict[str, RunOutput | None]:
    """Run the hand pipeline (see the module docstring); returns a ``RunOutput`` per hand side
    (``"l"``, ``"r"``; None for a hand seen too little to fit)."""
    setup = prepare_run(root, out, exp, calib)
    out, settings, fit_config, rig = setup.out, setup.settings, setup.fit_config, setup.rig
    sources, rig, frame_range, fps = open_inputs(setup.root, rig, setup.calib_path, cams, frames, fps)
    names = rig.names
    timings: dict[str, float] = {}

    t = time.perf_counter()
    with progress(len(names) * len(frame_range), desc="detect hands", unit="view-frame") as bar:
        detected = sum(detect_camera(sources[n], n, out / "hands2d", lambda: MediaPipeHands(**settings["detect"]),
                                     frame_range, settings["detect"], save=save_hands, bar=bar) for n in names)
    timings["detect"] = time.perf_counter() - t
    detections = load_hands(out / "hands2d", names, frame_range)
    left, right = assign_hands(detections, rig)
    frame_ids = list(frame_range)
    write_hand_annots(out / "keypoints2d_hands", names, frame_ids, left, right,
                      {n: rig[n].image_size for n in names})

    t = time.perf_counter()
    tri = {s: triangulate(rig, kp, **settings["triangulate"]) for s, kp in (("l", left), ("r", right))}
    timings["triangulate"] = time.perf_counter() - t
    for s in tri:
        write_keypoints3d(out / f"hand{s}" / "keypoints3d", tri[s].keypoints3d, frame_ids)

    t = time.perf_counter()
    models = hand_models(model, settings.get("hand_pca"))
    results: dict[str, RunOutput | None] = {}
    meshes, hand_report = [], {}
    hand21 = list(get_format("hand21").joints)
    for s, model_s in models.items():
        kp3d = tri[s].keypoints3d
        seen = float((kp3d[..., 3] > 0).mean())
        hand_report[s] = {"keypoints_found_fraction": seen, **reprojection_report(tri[s], names, hand21)}
        if seen < MIN_SEEN:
            log.warning("only %.0f%% of the %s hand's keypoints are triangulated; it is not fitted", 100 * seen,
                        "left" if s == "l" else "right")
            results[s] = None
            continue
        fit = BodyFitter(model_s, fit_config, keypoint_format="hand21", fps=fps).fit(kp3d)
        write_fit(out / f"hand{s}", model_s, fit, frame_ids, fps)
        meshes.append((model_s, fit))
        results[s] = RunOutput(out / f"hand{s}", rig, model_s, frame_ids, kp3d, fit, hand_report[s])
    timings["fit"] = time.perf_counter() - t

    if videos and meshes:
        t = time.perf_counter()
        render_run_videos(out, rig, sources, vis_cams or names[:4], meshes, frame_ids,
                          [(left, "hand21"), (right, "hand21")], names, fps, settings["render"])
        timings["render"] = time.perf_counter() - t
    report = {"cameras": names, "frames": [frame_ids[0], frame_ids[-1]], "fps": fps,
              "detected_view_frames": detected, "hands": hand_report,
              "timings_seconds": {k: round(v, 3) for k, v in timings.items()}}
    atomic_write_text(out / "report.json", json.dumps(report, indent=1, default=float))
    for r in results.values():
        if r is not None:
            r.timings.update(timings)
    return results
