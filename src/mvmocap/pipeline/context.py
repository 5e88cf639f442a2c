"""One run under way (:class:`RunContext`): what every experiment's stages read and write.

An experiment of ``mvmocap run`` is a short sequence of stages over one context: the set-up
(options, experiment, calibration), the cameras with input and their frames, the stage timer and
the report. The context does what the stages share, once and the same way for every kind:

- ``stage(name)`` times a stage into ``report.json``'s ``timings_seconds``;
- ``thresholds`` are the experiment's triangulation thresholds for this rig;
- ``fit(...)`` fits a body through the fit cache (an earlier run's fit of the same keypoints and
  settings is reused) and writes it atomically (:func:`mvmocap.pipeline.fitting.write_fit`);
- ``angles(...)`` writes a fitted body's joint angles (``angles.mot``) and returns their summary;
- ``render(...)`` writes the overlay and ground videos when the run asks for videos;
- ``finish(...)`` writes ``report.json`` with the entries every kind reports.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from mvmocap.angles import angle_summary, cycle_summary, gait_events, joint_angles, write_angles
from mvmocap.bodymodels import BodyModel
from mvmocap.camera import CameraRig
from mvmocap.fit import BodyFitter, FitResult
from mvmocap.io import FrameSource
from mvmocap.pipeline.experiment import Experiment
from mvmocap.pipeline.fitting import cached_fit, fit_key, write_fit
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.stages import RunSetup, StageTimer, video_cameras, write_report
from mvmocap.pipeline.videos import FittedMesh, Footage, render_run_videos

__all__ = ["RunContext"]

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """One run of an experiment, passed from stage to stage (module docstring).

    setup: the checked options, experiment and calibration.
    rig: the cameras with input, in order, matched to their frames' size.
    sources: each camera's frames (empty when the run reads a ``--keypoints`` folder).
    fps: the frame rate of the reference camera.
    """

    setup: RunSetup
    rig: CameraRig
    sources: dict[str, FrameSource]
    fps: float
    timer: StageTimer = field(default_factory=StageTimer)
    video_cameras: list[str] = field(init=False)

    def __post_init__(self) -> None:
        # the overlay video's cameras (--vis-cams or the first four; none without --videos), checked
        # as the run starts, before any detection
        self.video_cameras = video_cameras(self.setup, self.names) if self.options.videos else []

    @property
    def options(self) -> RunOptions:
        return self.setup.options

    @property
    def experiment(self) -> Experiment:
        return self.setup.experiment

    @property
    def out(self) -> Path:
        return self.setup.out

    @property
    def names(self) -> list[str]:
        return self.rig.names

    @cached_property
    def thresholds(self) -> np.ndarray | float:
        """The experiment's triangulation thresholds for this rig, in pixels."""
        return self.experiment.triangulate.thresholds(self.rig)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the stage ``name`` (a stage entered twice adds up)."""
        with self.timer.stage(name):
            yield

    @property
    def fits_to_detections(self) -> bool:
        """Whether the experiment's fit refines against the 2D detections (its reprojection stage)."""
        return self.experiment.fit.stages["reprojection"].enabled

    def fit_key(self, model: BodyModel, keypoints3d: np.ndarray, frames: list[int],
                keypoints2d: np.ndarray | None = None) -> str:
        """What a fit of ``model`` to these keypoints depends on, as one hash
        (:func:`mvmocap.pipeline.fitting.fit_key` with this run's settings, rate and cameras)."""
        use_2d = self.fits_to_detections and keypoints2d is not None
        return fit_key(self.experiment.fit, model, keypoints3d, frames, self.fps,
                       views=(keypoints2d, self.rig) if use_2d else None, spec=self.options.model, gmm=self.options.gmm)

    def fit(self, model: BodyModel, keypoints3d: np.ndarray, frames: list[int], *, folder: Path,
            keypoints2d: np.ndarray | None = None, keypoint_format: str = "body25",
            extra: dict[str, np.ndarray] | None = None) -> FitResult:
        """``model`` fitted to (F, J, 4) ``keypoints3d`` of ``frames`` (and to the (F, V, J, 3)
        ``keypoints2d`` when given and the experiment refines against the detections), written to
        ``folder`` with ``extra`` arrays; an earlier run's fit of the same inputs and settings in
        ``folder`` is reused instead."""
        options, config = self.options, self.experiment.fit
        use_2d = self.fits_to_detections and keypoints2d is not None
        key = self.fit_key(model, keypoints3d, frames, keypoints2d)
        result = cached_fit(folder, key)
        if result is not None:
            log.info("the fit of an earlier run from the same keypoints and settings is reused (%s)",
                     folder / "params.npz")
            return result
        fitter = BodyFitter(model, config, keypoint_format=keypoint_format,
                            gmm=str(options.gmm) if options.gmm else None, fps=self.fps)
        result = fitter.fit(keypoints3d, keypoints2d if use_2d else None, self.rig if use_2d else None,
                            threads=options.worker_count())
        write_fit(folder, model, result, frames, self.fps, extra=extra, key=key)
        return result

    def angles(self, model: BodyModel, result: FitResult, frames: list[int], *, folder: Path,
               wrists: bool = False) -> dict:
        """Stage ``angles``: the fitted body's joint angles (:mod:`mvmocap.angles`; ``wrists`` too
        for a fit to hand keypoints) written to ``folder/angles.mot``; returns the report's entry:
        each angle's range of motion and mean, and where the body walks, its gait events (frame
        numbers), spatio-temporal figures and each angle's range per gait cycle."""
        with self.stage("angles"):
            params = {"poses": result.poses, "shapes": result.shapes, "Rh": result.Rh, "Th": result.Th}
            angles = joint_angles(model, params, np.asarray(frames), self.fps, wrists=wrists)
            write_angles(folder / "angles.mot", angles, name=f"mvmocap joint angles of {model.name}")
            entry: dict = {"summary": angle_summary(angles)}
            gait = gait_events(result.keypoints, self.fps)
            if gait.found:
                entry["gait"] = {**gait.summary,
                                 "heel_strikes": {s: [frames[i] for i in v] for s, v in gait.heel_strikes.items()},
                                 "toe_offs": {s: [frames[i] for i in v] for s, v in gait.toe_offs.items()}}
                entry["per_cycle"] = cycle_summary(angles, gait)
        return entry

    def render(self, frames: list[int], meshes: list[FittedMesh],
               skeletons: list[tuple[np.ndarray, str] | tuple[np.ndarray, str, tuple]]) -> None:
        """``OUT/videos/overlay.mp4`` (and ``ground.mp4``) of ``frames`` when the run makes videos
        (:func:`mvmocap.pipeline.videos.render_run_videos`)."""
        if not self.options.videos or not meshes:
            return
        with self.stage("render"):
            render_run_videos(self.out, Footage(self.rig, self.sources, self.video_cameras, frames, self.fps), meshes,
                              skeletons, cameras=self.names, settings=self.experiment.render)

    def finish(self, frames: list[int], entries: dict) -> dict:
        """Write ``OUT/report.json``: the cameras, frames, rate and calibration of the run, then
        ``entries``, then the stage timings. Returns what was written."""
        return write_report(self.out, {
            "cameras": self.names, "frames": [frames[0], frames[-1]] if frames else [], "fps": self.fps,
            "calibration": str(self.setup.calib_path), "dataset": str(self.setup.root), **entries}, self.timer)
