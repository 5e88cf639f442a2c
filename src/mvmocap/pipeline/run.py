"""``mvmocap run --exp body``: detect -> the subject -> sync -> triangulate -> fit -> write -> render.

Dataset: ``ROOT/videos/<cam>.mp4`` or ``ROOT/images/<cam>/``, calibration ``ROOT/intri.yml`` +
``extri.yml`` (or ``--calib`` with any supported file). Outputs under ``OUT``:
``keypoints2d/`` (the detection cache), ``keypoints3d/``, ``smpl/``, ``params.npz``,
``keypoints3d_fit/``, ``videos/overlay.mp4``, ``videos/ground.mp4``, ``report.json``, ``log.txt``.
What the three experiments share (options, set-up, inputs, timing, report) is in
:mod:`mvmocap.pipeline.stages`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mvmocap.bodymodels import BodyModel, load_body_model
from mvmocap.camera import CameraRig
from mvmocap.detect import body_detector_factory, detect_camera, undecodable_frames
from mvmocap.fit import BodyFitter, FitResult
from mvmocap.io import (
    DataError,
    FrameSource,
    MultiViewKeypoints,
    frame_ranges,
    keypoint_frame_rate,
    list_camera_folders,
    read_keypoints2d,
)
from mvmocap.pipeline.experiment import Experiment
from mvmocap.pipeline.fitting import cached_fit, fit_key, remove_other_fits, write_fit
from mvmocap.pipeline.observations import (
    PreparedKeypoints,
    SyncPlan,
    heldout_own_timelines,
    prepare_keypoints,
)
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.silhouettes import check_bodies
from mvmocap.pipeline.stages import (
    RunSetup,
    StageTimer,
    camera_frames,
    detect_cameras,
    open_inputs,
    prepare_run,
    video_cameras,
    write_report,
)
from mvmocap.pipeline.timing import Following, estimate_sync
from mvmocap.pipeline.triangulation import match_cameras, triangulate_sequence
from mvmocap.pipeline.videos import FittedMesh, Footage, render_run_videos
from mvmocap.sync import SmoothSettings, SyncResult, smooth_detections, write_sync_file

__all__ = ["Inputs", "RunOutput", "detect_inputs", "detect_run_camera", "run_cameras", "run_capture", "run_sync"]

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


@dataclass
class Inputs:
    """The 2D keypoints of a run: detected now (or cached), or the user's ``--keypoints``."""

    rig: CameraRig  # the cameras with input, in order, matched to their frames' size
    keypoints: Path
    frame_range: range | None
    fps: float
    sources: dict[str, FrameSource]
    detected: int  # view-frames detected now (not from the cache)
    smooth: SmoothSettings | None = None  # the experiment's smoothing of the detections over time

    @property
    def names(self) -> list[str]:
        return self.rig.names

    def read(self) -> MultiViewKeypoints:
        """Every camera's detections (paired by frame number), within the frame range, smoothed
        over time along each detector track when the experiment says so."""
        seq = read_keypoints2d(self.keypoints, self.names)
        if self.frame_range is not None:
            seq = seq.within(self.frame_range)
        return smooth_detections(seq, fps=self.fps, settings=self.smooth) if self.smooth is not None else seq


def detect_inputs(setup: RunSetup, timer: StageTimer) -> Inputs:
    """Detect bodies in every calibrated camera (cached in ``OUT/keypoints2d``), or take the
    precomputed ``--keypoints`` folder; at least two cameras (and ``--vis-cams`` among them: both
    checked before any detection)."""
    options = setup.options
    sources: dict[str, FrameSource] = {}
    if options.keypoints is None:
        sources, rig, frame_range, fps = open_inputs(setup, longest=True)
        processes = min(options.worker_count(), len(sources))
        detect = setup.experiment.detect
        threads = max(1, detect.threads // processes) if processes > 1 and hasattr(detect, "threads") else None
        make_detector = body_detector_factory(detect, f"{setup.experiment.source}: detect", threads=threads)
        keypoints = setup.out / "keypoints2d"
    else:
        keypoints = options.keypoints
        rig = match_cameras(setup.rig, list_camera_folders(keypoints), setup.calib_path,
                            list(options.cams) if options.cams else None)
        start, stop = options.frame_bounds
        frame_range = None if (start, stop) == (0, None) else range(start, stop or 10**9)
        # a detection cache's files carry the video's timestamps: its rate, not a guess of 30
        fps = options.fps or keypoint_frame_rate(keypoints / rig.names[0]) or 30.0
    if len(rig) < 2:
        raise DataError(setup.calib_path, f"need at least 2 calibrated cameras with input, found {rig.names}")
    if options.videos:
        video_cameras(setup, rig.names)
    detected = 0
    if sources:
        with timer.stage("detect"):
            detected = detect_cameras(sources, keypoints, dict.fromkeys(sources, make_detector), frame_range,
                                      setup.experiment.detect.identity(), desc="detect", processes=processes)
        log.info("detection: %d new view-frames in %.1f s (cached cameras skipped)", detected,
                 timer.seconds["detect"])
    return Inputs(rig, keypoints, frame_range, fps, sources, detected, setup.experiment.smooth)


def run_cameras(options: RunOptions) -> list[str]:
    """The cameras ``mvmocap run ROOT`` detects (calibrated ones with videos or images)."""
    return open_inputs(prepare_run(options))[1].names


def detect_run_camera(options: RunOptions, camera: str) -> int:
    """Detect one camera of ``mvmocap run ROOT`` into ``OUT/keypoints2d`` exactly as the run would
    (the same frame range, settings and cache), so that the run then finds it done: one trial's
    cameras can be detected on several machines. Returns the frames detected now."""
    setup = prepare_run(options)
    sources, rig, frame_range, _ = open_inputs(setup, longest=True)
    if camera not in sources:
        raise DataError(setup.root, f"camera {camera!r} is not one of this run's cameras {rig.names}")
    detect = setup.experiment.detect
    make_detector = body_detector_factory(detect, f"{setup.experiment.source}: detect")
    return detect_camera(sources[camera], camera, setup.out / "keypoints2d", make_detector,
                         camera_frames(frame_range, sources[camera]), detect.identity())


def run_sync(options: RunOptions, *, max_offset: float | None = None,
             write_to: Path | None = None) -> tuple[Path, SyncResult, float]:
    """``mvmocap sync``: detect (or reuse the run's detection cache), follow everyone across the
    views, estimate every camera's offset and write ``write_to`` (default ``ROOT/sync.yml``).
    Returns the file written, the offsets and the frame rate of the reference camera."""
    setup = prepare_run(options)
    experiment = setup.experiment
    if experiment.sync is None:
        raise DataError(Path(str(options.exp)), f"mvmocap sync reads body and multi experiments, not {experiment.kind}")
    sync_settings = experiment.sync if max_offset is None else replace(experiment.sync, max_offset=max_offset)
    inputs = detect_inputs(setup, StageTimer())
    seq = inputs.read()
    following = Following(inputs.rig, seq, seq.candidates(), inputs.fps, association=experiment.associate,
                          people=experiment.people)
    result = estimate_sync(following, settings=sync_settings).result
    path = write_sync_file(Path(write_to) if write_to else setup.root / "sync.yml", result)
    return path, result, inputs.fps


def _triangulated_span(keypoints3d: np.ndarray) -> range:
    """The frames of (F, J, 4) ``keypoints3d`` from the first to the last with a triangulated joint
    (all of them when none has one: the fit's own checks then speak)."""
    found = np.flatnonzero((keypoints3d[..., 3] > 0).any(-1))
    return range(int(found[0]), int(found[-1]) + 1) if found.size else range(len(keypoints3d))


def _fit_subject(setup: RunSetup, body: BodyModel, kp3d: np.ndarray, kp2d: np.ndarray, frame_ids: list[int], *,
                 rig: CameraRig, fps: float) -> FitResult:
    """The subject's fit to (F, J, 4) ``kp3d`` (and (F, V, J, 3) ``kp2d`` when the experiment refines
    against the detections), written to ``OUT``; an earlier run's fit of the same keypoints and
    settings is reused."""
    options, config, out = setup.options, setup.experiment.fit, setup.out
    use_2d = config.stages["reprojection"].enabled
    key = fit_key(config, body, kp3d, frame_ids, fps, views=(kp2d, rig) if use_2d else None, spec=options.model,
                  gmm=options.gmm)
    result = cached_fit(out, key)
    if result is not None:
        log.info("the fit of an earlier run from the same keypoints and settings is reused (%s)", out / "params.npz")
        return result
    fitter = BodyFitter(body, config, gmm=str(options.gmm) if options.gmm else None, fps=fps)
    result = fitter.fit(kp3d, kp2d if use_2d else None, rig if use_2d else None)
    remove_other_fits(out)
    write_fit(out, body, result, frame_ids, fps, key=key)
    return result


def run_capture(options: RunOptions, experiment: Experiment | None = None) -> RunOutput:
    """Run every stage of a body experiment; see the module docstring. Returns the results and the
    report. ``options.sync``: ``file`` uses ``options.sync_file`` (default ``ROOT/sync.yml``) when
    present, ``auto`` estimates the offsets now (and writes ``OUT/sync.yml``), ``none`` treats the
    cameras as synchronised."""
    setup = prepare_run(options, experiment)
    experiment, out = setup.experiment, setup.out
    if experiment.kind != "body":
        raise DataError(Path(str(options.exp)), f"a {experiment.kind} experiment: use run_experiment")
    body = load_body_model(options.model)  # a missing model file is found before any detection
    tri_cfg = experiment.triangulate
    tri_settings = {"robust": tri_cfg.robust, "min_views": tri_cfg.min_views}  # the triangulator's own options
    timer = StageTimer()

    inputs = detect_inputs(setup, timer)
    names, sources, fps, rig = inputs.names, inputs.sources, inputs.fps, inputs.rig
    vis = video_cameras(setup, names) if options.videos else []

    with timer.stage("associate_sync"):
        seq = inputs.read()
        nobody = [n for v, n in enumerate(seq.cameras)
                  if not any((person[:, v, :, 2] > 0).any() for person in seq.people.values())]
        if nobody:
            log.warning("cameras %s never saw anyone (no detection in any frame); the others go on without them",
                        nobody)
        thresholds = tri_cfg.thresholds(rig)
        plan = SyncPlan(options.sync, options.sync_file or setup.root / "sync.yml", experiment.sync)
        prepared = prepare_keypoints(rig, seq, fps=fps, out=out, sync=plan, triangulation=tri_cfg,
                                     subject_settings=experiment.associate)
    with timer.stage("triangulate"):
        tri = triangulate_sequence(rig, prepared.keypoints, out, threshold_px=thresholds, **tri_settings)
        heldout = heldout_own_timelines(rig, prepared, fps=fps, thresholds=thresholds,
                                        fix_swaps=tri_cfg.fix_left_right, **tri_settings)
    kp3d = tri.result.keypoints3d
    kp2d = tri.keypoints.person()
    frame_ids = tri.keypoints.frames
    span = _triangulated_span(kp3d)
    left_out = {"before": span.start, "after": len(frame_ids) - span.stop}
    if span != range(len(frame_ids)):
        log.warning("%d frames before the subject's first triangulated frame and %d after the last are left out "
                    "of the fit (the subject seen by fewer than 2 cameras there: cameras started or stopped at other "
                    "times, or the subject not yet in view)",
                    left_out["before"], left_out["after"])
        kp3d, kp2d, frame_ids = kp3d[span.start:span.stop], kp2d[span.start:span.stop], frame_ids[span.start:span.stop]
    unseen = [int(f) for f, row in zip(frame_ids, kp2d, strict=True) if not (row[..., 2] > 0).any()]
    if unseen:
        log.warning("%d frames have no detection of the subject in any camera; the fit interpolates them: %s",
                    len(unseen), unseen[:20])
    never = [n for v, n in enumerate(names) if not (kp2d[:, v, :, 2] > 0).any()]
    if set(never) - set(nobody):
        log.warning("cameras %s never see the subject; they add nothing", sorted(set(never) - set(nobody)))

    with timer.stage("fit"):
        result = _fit_subject(setup, body, kp3d, kp2d, frame_ids, rig=tri.rig, fps=fps)

    with timer.stage("silhouettes"):
        silhouette = check_bodies(tri.rig, sources, list(frame_ids), {"the subject": FittedMesh(body, result)})
    if options.videos:
        with timer.stage("render"):
            render_run_videos(out, Footage(tri.rig, sources, vis, frame_ids, fps), [FittedMesh(body, result)],
                              [(kp2d, "body25")], cameras=names, settings=experiment.render)

    report = write_report(out, {
        "cameras": names, "frames": [frame_ids[0], frame_ids[-1]] if frame_ids else [], "fps": fps,
        "model": body.name, "calibration": str(setup.calib_path), "frames_without_detection": unseen,
        "cameras_never_seeing_subject": never, "cameras_never_seeing_anyone": nobody,
        "frames_undecodable": {c: frame_ranges(f) for c, f in undecodable_frames(inputs.keypoints, names).items()},
        "frames_too_few_views": tri.report["frames_mostly_missing"],
        "frames_left_out_untriangulated": left_out,
        **prepared.report,
        "heldout": heldout,
        "triangulation": {k: v for k, v in tri.report.items() if k not in ("frames_mostly_missing",)},
        "fit": {"seconds": result.seconds, "final": result.log[-1] if result.log else {}},
        "silhouette": silhouette.get("the subject"),
        "detect_view_frames": inputs.detected,
    }, timer)
    return RunOutput(out, tri.rig, body, frame_ids, kp3d, result, report, dict(timer.seconds), prepared)
