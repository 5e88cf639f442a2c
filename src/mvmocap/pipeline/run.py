"""``mvmocap run --exp body``: detect -> the subject -> sync -> triangulate -> fit -> write -> render.

Dataset: ``ROOT/videos/<cam>.mp4`` or ``ROOT/images/<cam>/``, calibration ``ROOT/intri.yml`` +
``extri.yml`` (or ``--calib`` with any supported file). Outputs under ``OUT``:
``keypoints2d/`` (the detection cache), ``keypoints3d/``, ``smpl/``, ``params.npz``,
``keypoints3d_fit/``, ``angles.mot`` (joint angles), ``videos/overlay.mp4``, ``videos/ground.mp4``,
``report.json``, ``log.txt``.
The run is its stages over one :class:`mvmocap.pipeline.context.RunContext` (:func:`run_body`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mvmocap.bodymodels import BodyModel, load_body_model
from mvmocap.camera import CameraRig
from mvmocap.detect import undecodable_frames
from mvmocap.fit import FitResult
from mvmocap.io import frame_ranges
from mvmocap.pipeline.context import RunContext
from mvmocap.pipeline.fitting import remove_other_fits
from mvmocap.pipeline.inputs import Inputs, open_body_run
from mvmocap.pipeline.observations import PreparedKeypoints, SyncPlan, heldout_own_timelines, prepare_keypoints
from mvmocap.pipeline.quality import people_detected, per_frame, write_quality
from mvmocap.pipeline.silhouettes import check_bodies
from mvmocap.pipeline.stages import RunSetup
from mvmocap.pipeline.triangulation import TriangulationRun, triangulate_sequence
from mvmocap.pipeline.videos import FittedMesh
from mvmocap.report import write_thumbnails
from mvmocap.triangulate import heldout_summary

__all__ = ["RunOutput", "run_body"]

log = logging.getLogger(__name__)


@dataclass
class RunOutput:
    """What a run produced (arrays for callers that evaluate it, e.g. the demo)."""

    out: Path
    rig: CameraRig
    model: BodyModel
    frames: list[int]
    keypoints3d: np.ndarray
    fit: FitResult
    report: dict
    timings: dict[str, float] = field(default_factory=dict)
    prepared: PreparedKeypoints | None = None


def _triangulated_span(keypoints3d: np.ndarray) -> range:
    """The frames of (F, J, 4) ``keypoints3d`` from the first to the last with a triangulated joint
    (all of them when none has one: the fit's own checks then speak)."""
    found = np.flatnonzero((keypoints3d[..., 3] > 0).any(-1))
    return range(int(found[0]), int(found[-1]) + 1) if found.size else range(len(keypoints3d))


@dataclass(frozen=True)
class FittedSpan:
    """The subject's frames the fit covers: from the first frame with a triangulated joint to the
    last (cameras started at other times, or the subject not yet in view, leave the rest out).

    keypoints3d: (F, J, 4) triangulated keypoints; keypoints2d: (F, V, J, 3) their detections.
    report: JSON-ready: frames left out before and after, frames without any detection of the
    subject, cameras never seeing the subject.
    """

    keypoints3d: np.ndarray
    keypoints2d: np.ndarray
    frames: list[int]
    report: dict


@dataclass(frozen=True)
class Detected:
    """What the detector saw: ``people`` (F, V) how many people in each view-frame of ``frames``,
    and the cameras that never saw anyone."""

    frames: list[int]
    people: np.ndarray
    nobody: list[str]


def _follow_subject(ctx: RunContext, inputs: Inputs) -> tuple[PreparedKeypoints, Detected]:
    """Stage ``associate_sync``: the subject among everyone detected, the cameras put on one
    timeline (``--sync``) and left/right swaps undone; also what the detector saw."""
    with ctx.stage("associate_sync"):
        seq = inputs.read()
        seen = people_detected(seq)
        nobody = [n for v, n in enumerate(seq.cameras) if not seen[:, v].any()]
        if nobody:
            log.warning("cameras %s never saw anyone (no detection in any frame); the others go on without them",
                        nobody)
        experiment, options = ctx.experiment, ctx.options
        plan = SyncPlan(options.sync, options.sync_file or ctx.setup.root / "sync.yml", experiment.sync)
        prepared = prepare_keypoints(ctx.rig, seq, fps=ctx.fps, out=ctx.out, sync=plan,
                                     triangulation=experiment.triangulate, subject_settings=experiment.associate,
                                     threads=options.worker_count())
    return prepared, Detected(list(seq.frames), seen, nobody)


def _triangulate_subject(ctx: RunContext, prepared: PreparedKeypoints) -> tuple[TriangulationRun, np.ndarray]:
    """Stage ``triangulate``: the subject's 3D keypoints (``OUT/keypoints3d``) and each camera's
    (F, V, J) held-out error, predicted from the others on each camera's own clock."""
    settings = ctx.experiment.triangulate
    with ctx.stage("triangulate"):
        tri = triangulate_sequence(ctx.rig, prepared.keypoints, ctx.out, threshold_px=ctx.thresholds,
                                   robust=settings.robust, min_views=settings.min_views)
        heldout = heldout_own_timelines(ctx.rig, prepared, fps=ctx.fps, thresholds=ctx.thresholds,
                                        fix_swaps=settings.fix_left_right, robust=settings.robust,
                                        min_views=settings.min_views)
    return tri, heldout


def _write_quality(ctx: RunContext, detected: Detected, tri: TriangulationRun, heldout: np.ndarray,
                   prepared: PreparedKeypoints) -> np.ndarray:
    """``OUT/quality.npz`` (:mod:`mvmocap.pipeline.quality`) of the subject, its held-out error at
    each camera's own frame numbers; returns that (F, V) held-out error."""
    frames = list(tri.keypoints.frames)
    at = {f: i for i, f in enumerate(detected.frames)}
    detections = np.zeros((len(frames), len(ctx.names)), np.int32)
    for row, f in enumerate(frames):
        if f in at:
            detections[row] = detected.people[at[f]]
    held = np.full((len(frames), len(ctx.names)), np.nan)
    rows = min(len(frames), len(heldout))
    held[:rows] = per_frame(heldout[:rows])
    swapped = prepared.swapped if prepared.swapped is not None else np.zeros(detections.shape, bool)
    write_quality(ctx.out, frames=frames, cameras=ctx.names, detections=detections, heldout_px=held,
                  reprojection_px=per_frame(tri.result.reprojection_error), left_right_fixed=swapped)
    return held


def _fitted_span(tri: TriangulationRun, nobody: list[str]) -> FittedSpan:
    """The frames of ``tri`` to fit (:class:`FittedSpan`), with a warning for what is left out or
    never seen (``nobody``: the cameras that saw no one at all, already warned of)."""
    kp3d, kp2d, frames = tri.result.keypoints3d, tri.keypoints.person(), list(tri.keypoints.frames)
    span = _triangulated_span(kp3d)
    left_out = {"before": span.start, "after": len(frames) - span.stop}
    if span != range(len(frames)):
        log.warning("%d frames before the subject's first triangulated frame and %d after the last are left out "
                    "of the fit (the subject seen by fewer than 2 cameras there: cameras started or stopped at other "
                    "times, or the subject not yet in view)", left_out["before"], left_out["after"])
        kp3d, kp2d, frames = kp3d[span.start:span.stop], kp2d[span.start:span.stop], frames[span.start:span.stop]
    unseen = [int(f) for f, row in zip(frames, kp2d, strict=True) if not (row[..., 2] > 0).any()]
    if unseen:
        log.warning("%d frames have no detection of the subject in any camera; the fit interpolates them: %s",
                    len(unseen), unseen[:20])
    never = [n for v, n in enumerate(tri.rig.names) if not (kp2d[:, v, :, 2] > 0).any()]
    if set(never) - set(nobody):
        log.warning("cameras %s never see the subject; they add nothing", sorted(set(never) - set(nobody)))
    return FittedSpan(kp3d, kp2d, frames, {"frames_without_detection": unseen, "cameras_never_seeing_subject": never,
                                           "frames_left_out_untriangulated": left_out})


def run_body(setup: RunSetup) -> RunOutput:
    """Every stage of a body experiment (module docstring); returns the results and the report.
    ``options.sync``: ``file`` uses ``options.sync_file`` (default ``ROOT/sync.yml``) when present,
    ``auto`` estimates the offsets now (and writes ``OUT/sync.yml``), ``none`` treats the cameras
    as synchronised."""
    body = load_body_model(setup.options.model)  # a missing model file is found before any detection
    ctx, inputs = open_body_run(setup)
    prepared, detected = _follow_subject(ctx, inputs)
    tri, heldout = _triangulate_subject(ctx, prepared)
    held = _write_quality(ctx, detected, tri, heldout, prepared)
    subject = _fitted_span(tri, detected.nobody)
    with ctx.stage("fit"):
        remove_other_fits(ctx.out)
        result = ctx.fit(body, subject.keypoints3d, subject.frames, folder=ctx.out, keypoints2d=subject.keypoints2d)
    angles = ctx.angles(body, result, subject.frames, folder=ctx.out)
    mesh = FittedMesh(body, result)
    with ctx.stage("silhouettes"):
        silhouette = check_bodies(ctx.rig, ctx.sources, subject.frames, {"the subject": mesh})
    ctx.render(subject.frames, [mesh], [(subject.keypoints2d, "body25")])
    with ctx.stage("thumbnails"):
        rows = {f: k for k, f in enumerate(tri.keypoints.frames)}
        write_thumbnails(ctx.out, ctx.rig, ctx.sources, subject.frames, held[[rows[f] for f in subject.frames]],
                         [result.keypoints])
    report = ctx.finish(subject.frames, {
        "model": body.name, **subject.report, "cameras_never_seeing_anyone": detected.nobody,
        "frames_undecodable": {c: frame_ranges(f) for c, f in undecodable_frames(inputs.keypoints, ctx.names).items()},
        "frames_too_few_views": tri.report["frames_mostly_missing"],
        **prepared.report,
        "heldout": heldout_summary(heldout, ctx.names),
        "triangulation": {k: v for k, v in tri.report.items() if k not in ("frames_mostly_missing",)},
        "fit": {"seconds": result.seconds, "final": result.log[-1] if result.log else {}},
        "silhouette": silhouette.get("the subject"),
        "angles": angles,
        "detect_view_frames": inputs.detected,
    })
    return RunOutput(ctx.out, ctx.rig, body, subject.frames, subject.keypoints3d, result, report,
                     dict(ctx.timer.seconds), prepared)
