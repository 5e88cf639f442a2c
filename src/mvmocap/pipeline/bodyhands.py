"""``mvmocap run ROOT --exp body+hands``: body and both hands in one whole-body fit.

Body (MediaPipe Pose) and hands are detected per camera and cached; hands by MediaPipe Hands on
enlarged crops about the body's wrists (``mvmocap.detect.hand_crops``; whole frames miss the
small hands of body-framed videos), each detection then going to the nearest body wrist of its
view; body25 and both hand21 sets are triangulated together (the ``bodyhands`` format, 67
keypoints) and fitted with a model that has hands: Anny with its finger bones posed (default),
SMPL-H or SMPL-X. Outputs as for ``body``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from mvmocap.associate import assign_hands
from mvmocap.bodymodels import BodyModel, load_body_model
from mvmocap.console import progress
from mvmocap.detect import (
    BodyGuidedHands,
    MediaPipeHands,
    MediaPipePose,
    detect_camera,
    load_hands,
    save_hands,
)
from mvmocap.fit import BodyFitter
from mvmocap.io import read_keypoints2d, write_keypoints3d
from mvmocap.pipeline.fitting import write_fit
from mvmocap.pipeline.run import RunOutput, open_inputs, prepare_run
from mvmocap.pipeline.videos import render_run_videos
from mvmocap.skeletons import BODY25, BODYHANDS
from mvmocap.triangulate import reprojection_report, triangulate
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["run_body_hands", "body_hands_model", "hand_detector"]

log = logging.getLogger(__name__)


def body_hands_model(spec: str | None, hand_pca: int | None = None) -> BodyModel:
    """Anny with its fingers posed (default), or a SMPL-H / SMPL-X spec for ``load_body_model``
    (``hand_pca``: their fingers posed by this many PCA coefficients per hand)."""
    if spec in (None, "anny") and hand_pca is None:
        from mvmocap.bodymodels.anny_model import ANNY_BODY_BONES, ANNY_FINGER_BONES, AnnyModel

        return AnnyModel(posed_bones=ANNY_BODY_BONES + ANNY_FINGER_BONES)
    model = load_body_model(spec, hand_pca=hand_pca)
    if "bodyhands" not in model.keypoint_formats:
        raise InputError(f"{model.name} has no hands; for --exp body+hands use anny, smplh or smplx")
    return model


def hand_detector(settings: dict, frame_ids: list[int], body2d: np.ndarray):
    """MediaPipe Hands about the body's wrists (``around_wrists``, default) or over whole frames.
    ``body2d`` (F, 25, 3): one camera's body detections of ``frame_ids``."""
    s = settings
    if not s["around_wrists"]:
        return MediaPipeHands(max_hands=s["max_hands"], model_complexity=s["model_complexity"],
                              min_detection_confidence=s["min_detection_confidence"],
                              min_tracking_confidence=s["min_tracking_confidence"])
    return BodyGuidedHands(dict(zip(frame_ids, body2d, strict=True)), size=s["crop_px"], scale=s["crop_scale"],
                           model_complexity=s["model_complexity"],
                           min_detection_confidence=s["min_detection_confidence"])


def run_body_hands(root: str | Path, out: str | Path | None = None, exp: str | Path | None = "body+hands",
                   model: str | None = None, calib: str | Path | None = None, cams: list[str] | None = None,
                   vis_cams: list[str] | None = None, frames: str | None = None, fps: float | None = None,
                   videos: bool = True) -> RunOutput:
    setup = prepare_run(root, out, exp, calib)
    out, settings, fit_config, rig = setup.out, setup.settings, setup.fit_config, setup.rig
    sources, rig, frame_range, fps = open_inputs(setup.root, rig, setup.calib_path, cams, frames, fps)
    names = rig.names
    timings: dict[str, float] = {}

    t = time.perf_counter()
    with progress(len(names) * len(frame_range), desc="detect bodies", unit="view-frame") as bar:
        for n in names:
            detect_camera(sources[n], n, out / "keypoints2d", lambda: MediaPipePose(**settings["detect"]),
                          frame_range, settings["detect"], bar=bar)
    frame_ids = list(frame_range)
    body = read_keypoints2d(out / "keypoints2d", names, common_frames=True)
    keep = [i for i, f in enumerate(body.frames) if f in frame_range]
    body2d = body.person()[keep]  # (F, V, 25, 3)
    hand_settings = {**settings["detect_hands"], "body": settings["detect"]}  # crops follow the body
    with progress(len(names) * len(frame_range), desc="detect hands", unit="view-frame") as bar:
        for v, n in enumerate(names):
            detect_camera(sources[n], n, out / "hands2d",
                          lambda v=v: hand_detector(settings["detect_hands"], frame_ids, body2d[:, v]),
                          frame_range, hand_settings, save=save_hands, bar=bar)
    timings["detect"] = time.perf_counter() - t
    wrists = body2d[:, :, [BODY25.index("LWrist"), BODY25.index("RWrist")]]
    left, right = assign_hands(load_hands(out / "hands2d", names, frame_range), rig, body_wrists=wrists)
    kp2d = np.concatenate([body2d, left, right], axis=2)  # (F, V, 67, 3) in bodyhands order

    t = time.perf_counter()
    tri = triangulate(rig, kp2d, **settings["triangulate"])  # robust, threshold_px, min_views
    write_keypoints3d(out / "keypoints3d", tri.keypoints3d, frame_ids)
    timings["triangulate"] = time.perf_counter() - t

    t = time.perf_counter()
    body_model = body_hands_model(model, settings["hand_pca"])
    fit = BodyFitter(body_model, fit_config, keypoint_format="bodyhands", fps=fps).fit(tri.keypoints3d)
    write_fit(out, body_model, fit, frame_ids, fps)
    timings["fit"] = time.perf_counter() - t
    if videos:
        t = time.perf_counter()
        render_run_videos(out, rig, sources, vis_cams or names[:4], [(body_model, fit)], frame_ids,
                          [(kp2d, "bodyhands")], names, fps, settings["render"])
        timings["render"] = time.perf_counter() - t
    report = {"cameras": names, "frames": [frame_ids[0], frame_ids[-1]], "fps": fps, "model": body_model.name,
              "triangulation": reprojection_report(tri, names, list(BODYHANDS.joints)),
              "timings_seconds": {k: round(v, 3) for k, v in timings.items()}}
    atomic_write_text(out / "report.json", json.dumps(report, indent=1))
    return RunOutput(out, rig, body_model, frame_ids, tri.keypoints3d, fit, report, timings)
