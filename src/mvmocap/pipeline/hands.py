"""``mvmocap run ROOT --exp hands``: both hands of one person, detected, assigned to left and
right across views, triangulated and fitted with a hand model each.

Outputs under ``OUT``: ``hands2d/`` (the raw detection cache, resumable), ``keypoints2d_hands/``
(assigned hands, EasyMocap annots ``handl2d``/``handr2d``), ``handl/`` and ``handr/`` (each:
``keypoints3d/``, ``smpl/%06d.json`` parameters, ``params.npz``, ``keypoints3d_fit/``,
``fit_log.json``), ``videos/overlay.mp4``, ``report.json``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from functools import partial

from mvmocap.associate import assign_hands
from mvmocap.bodymodels import BodyModel, load_smpl_family
from mvmocap.detect import MediaPipeHands, load_hands, save_hands
from mvmocap.fit import BodyFitter
from mvmocap.io import write_hand_annots, write_keypoints3d
from mvmocap.pipeline.experiment import Experiment
from mvmocap.pipeline.fitting import write_fit
from mvmocap.pipeline.run import RunOutput
from mvmocap.pipeline.stages import (
    RunOptions,
    StageTimer,
    detect_cameras,
    open_inputs,
    prepare_run,
    video_cameras,
    write_report,
)
from mvmocap.pipeline.videos import FittedMesh, Footage, render_run_videos
from mvmocap.skeletons import get_format
from mvmocap.triangulate import reprojection_report, triangulate
from mvmocap.utils import InputError

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


def run_hands(options: RunOptions, experiment: Experiment | None = None) -> dict[str, RunOutput | None]:
    """Run the hand pipeline (see the module docstring); returns a ``RunOutput`` per hand side
    (``"l"``, ``"r"``; None for a hand seen too little to fit)."""
    setup = prepare_run(options, experiment)
    experiment, out = setup.experiment, setup.out
    models = hand_models(options.model, experiment.hand_pca)  # a missing model file is found before detection
    sources, rig, frame_range, fps = open_inputs(setup)
    names = rig.names
    vis = video_cameras(setup, names) if options.videos else []
    timer = StageTimer()
    detect = experiment.detect

    with timer.stage("detect"):
        factories = {n: partial(MediaPipeHands, **asdict(detect)) for n in names}
        detected = detect_cameras(sources, out / "hands2d", factories, frame_range, asdict(detect),
                                  desc="detect hands", save=save_hands, processes=options.worker_count())
    detections = load_hands(out / "hands2d", names, frame_range)
    left, right = assign_hands(detections, rig)
    frame_ids = list(frame_range)
    write_hand_annots(out / "keypoints2d_hands", names, frame_ids, left, right,
                      {n: rig[n].image_size for n in names})

    tri_cfg = experiment.triangulate
    thresholds = tri_cfg.thresholds(rig)
    with timer.stage("triangulate"):
        tri = {s: triangulate(rig, kp, robust=tri_cfg.robust, threshold_px=thresholds, min_views=tri_cfg.min_views)
               for s, kp in (("l", left), ("r", right))}
    for s in tri:
        write_keypoints3d(out / f"hand{s}" / "keypoints3d", tri[s].keypoints3d, frame_ids)

    results: dict[str, RunOutput | None] = {}
    meshes, hand_report = [], {}
    hand21 = list(get_format("hand21").joints)
    with timer.stage("fit"):
        for s, model_s in models.items():
            kp3d = tri[s].keypoints3d
            seen = float((kp3d[..., 3] > 0).mean())
            hand_report[s] = {"keypoints_found_fraction": seen, **reprojection_report(tri[s], names, hand21)}
            if seen < MIN_SEEN:
                log.warning("only %.0f%% of the %s hand's keypoints are triangulated; it is not fitted", 100 * seen,
                            "left" if s == "l" else "right")
                results[s] = None
                continue
            fit = BodyFitter(model_s, experiment.fit, keypoint_format="hand21", fps=fps).fit(kp3d)
            write_fit(out / f"hand{s}", model_s, fit, frame_ids, fps)
            meshes.append(FittedMesh(model_s, fit))
            results[s] = RunOutput(out / f"hand{s}", rig, model_s, frame_ids, kp3d, fit, hand_report[s])

    if options.videos and meshes:
        with timer.stage("render"):
            render_run_videos(out, Footage(rig, sources, vis, frame_ids, fps), meshes,
                              [(left, "hand21"), (right, "hand21")], cameras=names, settings=experiment.render)
    write_report(out, {"cameras": names, "frames": [frame_ids[0], frame_ids[-1]], "fps": fps,
                       "detected_view_frames": detected, "hands": hand_report}, timer)
    for r in results.values():
        if r is not None:
            r.timings.update(timer.seconds)
    return results
