"""The 2D keypoints of a body or multi-person run: every calibrated camera detected now (through
the cache ``OUT/keypoints2d``) or the user's ``--keypoints`` folder (:func:`open_body_run`); one
camera of a run detected alone, for a cluster (:func:`detect_run_camera`); and ``mvmocap sync``
on the same detections (:func:`run_sync`)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from mvmocap.camera import CameraRig
from mvmocap.detect import body_detector_factory, detect_camera
from mvmocap.io import (
    DataError,
    FrameSource,
    MultiViewKeypoints,
    keypoint_frame_rate,
    list_camera_folders,
    read_keypoints2d,
)
from mvmocap.pipeline.context import RunContext
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.stages import (
    RunSetup,
    camera_frames,
    detect_cameras,
    detection_processes,
    open_inputs,
    prepare_run,
)
from mvmocap.pipeline.timing import Following, estimate_sync
from mvmocap.pipeline.triangulation import match_cameras
from mvmocap.sync import SmoothSettings, SyncResult, smooth_detections, write_sync_file

__all__ = ["Inputs", "open_body_run", "detect_run_camera", "run_cameras", "run_sync"]

log = logging.getLogger(__name__)


@dataclass
class Inputs:
    """The 2D keypoints of a run: detected now (or cached), or the user's ``--keypoints`` (the
    cameras' frames are the run context's)."""

    rig: CameraRig  # the cameras with input, in order, matched to their frames' size
    keypoints: Path
    frame_range: range | None
    fps: float
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


def open_body_run(setup: RunSetup) -> tuple[RunContext, Inputs]:
    """The context of a body or multi-person run and its 2D keypoints: every calibrated camera
    detected (stage ``detect``, cached in ``OUT/keypoints2d``), or the precomputed ``--keypoints``
    folder. At least two cameras, and ``--vis-cams`` among them: both checked before any detection."""
    options = setup.options
    sources: dict[str, FrameSource] = {}
    if options.keypoints is None:
        sources, rig, frame_range, fps = open_inputs(setup, longest=True)
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
    ctx = RunContext(setup, rig, sources, fps)
    detected = _detect_bodies(ctx, keypoints, frame_range) if sources else 0
    return ctx, Inputs(rig, keypoints, frame_range, fps, detected, setup.experiment.smooth)


def _detect_bodies(ctx: RunContext, folder: Path, frame_range: range) -> int:
    """Stage ``detect``: every camera's bodies into ``folder`` through the cache, the cameras in
    ``--workers`` processes; returns the view-frames detected now."""
    processes = detection_processes(ctx.sources, folder, frame_range, ctx.options.worker_count())
    detect = ctx.experiment.detect
    # the cores shared among the processes, each network given at most the experiment's threads
    cores = os.cpu_count() or 1
    threads = max(1, min(detect.threads, cores // processes)) if processes > 1 and hasattr(detect, "threads") else None
    make_detector = body_detector_factory(detect, f"{ctx.experiment.source}: detect", threads=threads)
    with ctx.stage("detect"):
        detected = detect_cameras(ctx.sources, folder, dict.fromkeys(ctx.sources, make_detector), frame_range,
                                  detect.identity(), desc="detect", processes=processes)
    log.info("detection: %d new view-frames in %.1f s (cached cameras skipped)", detected, ctx.timer.seconds["detect"])
    return detected


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


def run_sync(setup: RunSetup, *, max_offset: float | None = None,
             write_to: Path | None = None) -> tuple[Path, SyncResult, float]:
    """``mvmocap sync``: detect (or reuse the run's detection cache), follow everyone across the
    views, estimate every camera's offset and write ``write_to`` (default ``ROOT/sync.yml``).
    Returns the file written, the offsets and the frame rate of the reference camera."""
    experiment = setup.experiment
    if experiment.sync is None:
        raise DataError(Path(str(setup.options.exp)),
                        f"mvmocap sync reads body and multi experiments, not {experiment.kind}")
    sync_settings = experiment.sync if max_offset is None else replace(experiment.sync, max_offset=max_offset)
    _, inputs = open_body_run(setup)
    seq = inputs.read()
    following = Following(inputs.rig, seq, seq.candidates(), inputs.fps, association=experiment.associate,
                          people=experiment.people)
    result = estimate_sync(following, settings=sync_settings).result
    path = write_sync_file(Path(write_to) if write_to else setup.root / "sync.yml", result)
    return path, result, inputs.fps
