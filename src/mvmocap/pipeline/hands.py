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

import numpy as np

from mvmocap.associate import assign_hands
from mvmocap.bodymodels import BodyModel, load_smpl_family
from mvmocap.detect import MediaPipeHands, load_hands, save_hands
from mvmocap.io import write_hand_annots, write_keypoints3d
from mvmocap.pipeline.context import RunContext
from mvmocap.pipeline.run import RunOutput
from mvmocap.pipeline.stages import RunSetup, detect_cameras, detection_processes, open_inputs
from mvmocap.pipeline.videos import FittedMesh
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


def run_hands(setup: RunSetup) -> dict[str, RunOutput | None]:
    """Run the hand pipeline (see the module docstring); returns a ``RunOutput`` per hand side
    (``"l"``, ``"r"``; None for a hand seen too little to fit)."""
    models = hand_models(setup.options.model, setup.experiment.hand_pca)  # a missing model file: before detection
    sources, rig, frame_range, fps = open_inputs(setup)
    ctx = RunContext(setup, rig, sources, fps)
    frame_ids, names = list(frame_range), rig.names
    left, right, detected = _detect_hands(ctx, frame_range)
    settings = ctx.experiment.triangulate
    with ctx.stage("triangulate"):
        tri = {s: triangulate(rig, kp, robust=settings.robust, threshold_px=ctx.thresholds,
                              min_views=settings.min_views) for s, kp in (("l", left), ("r", right))}
    for s in tri:
        write_keypoints3d(ctx.out / f"hand{s}" / "keypoints3d", tri[s].keypoints3d, frame_ids)

    results: dict[str, RunOutput | None] = {}
    meshes, hand_report = [], {}
    hand21 = list(get_format("hand21").joints)
    with ctx.stage("fit"):
        for s, model_s in models.items():
            kp3d = tri[s].keypoints3d
            seen = float((kp3d[..., 3] > 0).mean())
            hand_report[s] = {"keypoints_found_fraction": seen, **reprojection_report(tri[s], names, hand21)}
            if seen < MIN_SEEN:
                log.warning("only %.0f%% of the %s hand's keypoints are triangulated; it is not fitted", 100 * seen,
                            "left" if s == "l" else "right")
                results[s] = None
                continue
            fit = ctx.fit(model_s, kp3d, frame_ids, folder=ctx.out / f"hand{s}", keypoint_format="hand21")
            meshes.append(FittedMesh(model_s, fit))
            results[s] = RunOutput(ctx.out / f"hand{s}", rig, model_s, frame_ids, kp3d, fit, hand_report[s])
    ctx.render(frame_ids, meshes, [(left, "hand21"), (right, "hand21")])
    ctx.finish(frame_ids, {"detected_view_frames": detected, "hands": hand_report})
    for r in results.values():
        if r is not None:
            r.timings.update(ctx.timer.seconds)
    return results


def _detect_hands(ctx: RunContext, frame_range: range) -> tuple[np.ndarray, np.ndarray, int]:
    """Stage ``detect``: every camera's hands (cached in ``OUT/hands2d``), assigned to the left and
    right hand across the views (each (F, V, 21, 3), written to ``OUT/keypoints2d_hands``); also
    the view-frames detected now."""
    detect, names = ctx.experiment.detect, ctx.names
    with ctx.stage("detect"):
        factories = {n: partial(MediaPipeHands, **asdict(detect)) for n in names}
        detected = detect_cameras(ctx.sources, ctx.out / "hands2d", factories, frame_range, asdict(detect),
                                  desc="detect hands", save=save_hands,
                                  processes=detection_processes(ctx.sources, ctx.out / "hands2d", frame_range,
                                                                ctx.options.worker_count()))
    left, right = assign_hands(load_hands(ctx.out / "hands2d", names, frame_range), ctx.rig)
    write_hand_annots(ctx.out / "keypoints2d_hands", names, list(frame_range), left, right,
                      {n: ctx.rig[n].image_size for n in names})
    return left, right, detected
