"""``mvmocap run ROOT --exp body+hands``: body and both hands in one whole-body fit.

Body (MediaPipe Pose) and hands are detected per camera and cached; hands by MediaPipe Hands on
enlarged crops about the body's wrists (``mvmocap.detect.hand_crops``; whole frames miss the
small hands of body-framed videos), each detection then going to the nearest body wrist of its
view; body25 and both hand21 sets are triangulated together (the ``bodyhands`` format, 67
keypoints) and fitted with a model that has hands: Anny with its finger bones posed (default),
SMPL-H or SMPL-X. Outputs as for ``body``; ``angles.mot`` has the wrists too.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from functools import partial

import numpy as np

from mvmocap.associate import assign_hands
from mvmocap.bodymodels import BodyModel, load_body_model
from mvmocap.detect import (
    BodyGuidedHands,
    HandCropSettings,
    MediaPipeHands,
    MediaPipePose,
    load_hands,
    save_hands,
)
from mvmocap.io import read_keypoints2d, write_keypoints3d
from mvmocap.pipeline.context import RunContext
from mvmocap.pipeline.run import RunOutput
from mvmocap.pipeline.stages import RunSetup, detect_cameras, detection_processes, open_inputs
from mvmocap.pipeline.videos import FittedMesh
from mvmocap.skeletons import BODY25, BODYHANDS
from mvmocap.triangulate import reprojection_report, triangulate
from mvmocap.utils import InputError

__all__ = ["run_body_hands", "body_hands_model", "hand_detector"]

log = logging.getLogger(__name__)


def body_hands_model(spec: str | None, hand_pca: int | None = None) -> BodyModel:
    """Anny with its fingers posed (default), or a SMPL-H / SMPL-X spec for ``load_body_model``
    (``hand_pca``: their fingers posed by this many PCA coefficients per hand)."""
    if spec in (None, "anny") and hand_pca is None:
        from mvmocap.bodymodels.anny_model import anny_with_fingers

        return anny_with_fingers()
    model = load_body_model(spec, hand_pca=hand_pca)
    if "bodyhands" not in model.keypoint_formats:
        raise InputError(f"{model.name} has no hands; for --exp body+hands use anny, smplh or smplx")
    return model


def hand_detector(settings: HandCropSettings, frame_ids: list[int], body2d: np.ndarray):
    """MediaPipe Hands about the body's wrists (``around_wrists``, default) or over whole frames.
    ``body2d`` (F, 25, 3): one camera's body detections of ``frame_ids``."""
    s = settings
    if not s.around_wrists:
        return MediaPipeHands(max_hands=s.max_hands, model_complexity=s.model_complexity,
                              min_detection_confidence=s.min_detection_confidence,
                              min_tracking_confidence=s.min_tracking_confidence)
    return BodyGuidedHands(dict(zip(frame_ids, body2d, strict=True)), size=s.crop_px, scale=s.crop_scale,
                           model_complexity=s.model_complexity, min_detection_confidence=s.min_detection_confidence)


def run_body_hands(setup: RunSetup) -> RunOutput:
    """Run the body+hands pipeline (see the module docstring)."""
    body_model = body_hands_model(setup.options.model, setup.experiment.hand_pca)  # a bad spec: before detection
    sources, rig, frame_range, fps = open_inputs(setup)
    ctx = RunContext(setup, rig, sources, fps)
    frame_ids = list(frame_range)
    kp2d = _detect_body_and_hands(ctx, frame_range)
    settings = ctx.experiment.triangulate
    with ctx.stage("triangulate"):
        tri = triangulate(rig, kp2d, robust=settings.robust, min_views=settings.min_views,
                          threshold_px=ctx.thresholds)
        write_keypoints3d(ctx.out / "keypoints3d", tri.keypoints3d, frame_ids)
    with ctx.stage("fit"):
        fit = ctx.fit(body_model, tri.keypoints3d, frame_ids, folder=ctx.out, keypoint_format="bodyhands")
    angles = ctx.angles(body_model, fit, frame_ids, folder=ctx.out, wrists=True)
    ctx.render(frame_ids, [FittedMesh(body_model, fit)], [(kp2d, "bodyhands")])
    report = ctx.finish(frame_ids, {"model": body_model.name, "angles": angles,
                                    "triangulation": reprojection_report(tri, rig.names, list(BODYHANDS.joints))})
    return RunOutput(ctx.out, rig, body_model, frame_ids, tri.keypoints3d, fit, report, dict(ctx.timer.seconds))


def _detect_body_and_hands(ctx: RunContext, frame_range: range) -> np.ndarray:
    """Stage ``detect``: every camera's body (MediaPipe Pose, cached in ``OUT/keypoints2d``) and
    hands about its wrists (``OUT/hands2d``), the hands assigned to the body's left and right
    wrists across the views. Returns (F, V, 67, 3) detections in ``bodyhands`` order."""
    experiment, names, out, wanted = ctx.experiment, ctx.names, ctx.out, ctx.options.worker_count()
    detect, detect_hands = experiment.detect, experiment.detect_hands
    with ctx.stage("detect"):
        pose = asdict(detect)
        detect_cameras(ctx.sources, out / "keypoints2d", {n: partial(MediaPipePose, **pose) for n in names},
                       frame_range, detect.identity(), desc="detect bodies",
                       processes=detection_processes(ctx.sources, out / "keypoints2d", frame_range, wanted))
        body = read_keypoints2d(out / "keypoints2d", names)
        keep = [i for i, f in enumerate(body.frames) if f in frame_range]
        body2d = body.person()[keep]  # (F, V, 25, 3): the person most seen over all frames cached
        # the crops follow the body: its detector's settings key the hands' cache too
        hands = {n: partial(hand_detector, detect_hands, list(frame_range), body2d[:, v]) for v, n in enumerate(names)}
        detect_cameras(ctx.sources, out / "hands2d", hands, frame_range,
                       {**asdict(detect_hands), "body": detect.identity()}, desc="detect hands", save=save_hands,
                       processes=detection_processes(ctx.sources, out / "hands2d", frame_range, wanted))
    wrists = body2d[:, :, [BODY25.index("LWrist"), BODY25.index("RWrist")]]
    left, right = assign_hands(load_hands(out / "hands2d", names, frame_range), ctx.rig, body_wrists=wrists)
    return np.concatenate([body2d, left, right], axis=2)
