"""``mvmocap run ROOT --exp multi``: everyone in the scene, each with their own id, track and fit.

Stages: detection (every person in every view, cached in ``OUT/keypoints2d``), the cameras put on
one timeline with the offsets of ``ROOT/sync.yml`` (``--sync file``) or estimated from everyone
(``--sync auto``: :mod:`mvmocap.pipeline.timing`), everyone found across views and followed over
time (:func:`mvmocap.associate.track_people`), per person: left/right swaps undone, robust
triangulation, and a fit with their own shape over the frames from their first appearance to
their last (frames in between where they are hidden are interpolated by the fit); the people are
fitted in parallel processes when there are cores; each fitted body measured against the
person's silhouettes (:mod:`mvmocap.pipeline.silhouettes`).

Outputs under ``OUT`` (EasyMocap's multi-person layout): ``keypoints3d/%06d.json`` and
``smpl/%06d.json`` list every person in the frame with their ``id`` (an empty list where nobody
is); ``people/<id>/`` holds each person's ``params.npz`` (the single-person layout, its
``frames`` the person's own, first to last appearance, and ``observed`` (F_id,) bool: False
where too few views saw them and the fit interpolated), ``smpl/``, ``keypoints3d_fit/``,
``fit_log.json`` and ``angles.mot`` (joint angles); the overlay
and ground videos draw each id in its own colour; ``report.json`` has a ``people`` entry per id.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from mvmocap.associate import People, PeopleSettings, fix_left_right, track_people
from mvmocap.bodymodels import BodyModel, load_body_model
from mvmocap.camera import CameraRig
from mvmocap.fit import BodyFitter, FitConfig, FitResult
from mvmocap.io import MultiViewKeypoints, write_people_keypoints3d, write_people_smpl_jsons
from mvmocap.pipeline.context import RunContext
from mvmocap.pipeline.experiment import Experiment
from mvmocap.pipeline.fitting import cached_fit, remove_other_fits, write_fit
from mvmocap.pipeline.inputs import open_body_run
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.quality import people_detected, per_frame, write_quality
from mvmocap.pipeline.silhouettes import check_bodies
from mvmocap.pipeline.stages import RunSetup
from mvmocap.pipeline.timing import Following, estimate_sync, needs_resampling, offsets_help, sync_report
from mvmocap.pipeline.videos import FittedMesh
from mvmocap.render import PERSON_COLOURS
from mvmocap.report import write_thumbnails
from mvmocap.skeletons import get_format
from mvmocap.sync import resample_sequence, sync_file_offsets, write_sync_file
from mvmocap.threads import single_threaded
from mvmocap.triangulate import heldout_errors, heldout_summary, nan_median, triangulate

__all__ = ["MultiOutput", "PersonOutput", "TriangulatedPerson", "run_multi", "triangulate_everyone"]

log = logging.getLogger(__name__)


@dataclass
class PersonOutput:
    """One person of a multi-person run: their frames (first to last appearance), (F_p, J, 4)
    triangulated keypoints, (F_p, V, J, 3) detections (swaps undone) and fit."""

    id: int
    frames: list[int]
    keypoints3d: np.ndarray
    keypoints2d: np.ndarray
    fit: FitResult
    out: Path


@dataclass
class MultiOutput:
    out: Path
    rig: CameraRig
    model: BodyModel
    frames: list[int]
    people: list[PersonOutput]
    report: dict
    timings: dict[str, float] = field(default_factory=dict)


def _synchronised(ctx: RunContext, seq: MultiViewKeypoints,
                  people: PeopleSettings) -> tuple[MultiViewKeypoints, dict]:
    """Every detector track on the reference camera's timeline: with the offsets of ``sync.yml``
    (``--sync file``, when it exists) or estimated now from everyone (``--sync auto``, written to
    ``OUT/sync.yml`` and applied only if they do not make everyone's held-out error worse), or
    where frames have irregular times; the sequence unchanged otherwise."""
    options, experiment, rig, fps = ctx.options, ctx.experiment, ctx.rig, ctx.fps
    sync_file = options.sync_file or ctx.setup.root / "sync.yml"
    offsets, reference = {cam: 0.0 for cam in seq.cameras}, seq.cameras[0]
    report: dict = {"source": None}
    if options.sync == "auto":
        following = Following(rig, seq, seq.candidates(), fps, association=experiment.associate, people=people)
        sync = estimate_sync(following, settings=experiment.sync)
        offsets, reference = sync.result.offsets, sync.result.reference
        report = sync_report(sync, write_sync_file(ctx.out / "sync.yml", sync.result), fps)
        if sync.people:
            everyone = MultiViewKeypoints(seq.cameras, seq.frames, dict(enumerate(sync.people)), seq.skeleton,
                                          seq.times)
            if not offsets_help(rig, everyone, offsets, fps=fps, reference=reference, thresholds=ctx.thresholds,
                                report=report):
                offsets = {cam: 0.0 for cam in seq.cameras}
    elif options.sync == "file" and sync_file.is_file():
        (offsets, reference), report = sync_file_offsets(sync_file, seq.cameras), {"source": str(sync_file)}
    if not needs_resampling(seq, offsets, fps):
        return seq, report
    return resample_sequence(seq, offsets, fps, reference), report | {"reference": reference, "offsets": offsets}


@lru_cache(maxsize=2)
def _model(spec: str | None) -> BodyModel:
    return load_body_model(spec)


def _fit_person(spec: str | None, config: FitConfig, gmm: str | None, fps: float, kp3d: np.ndarray,
                kp2d: np.ndarray | None, rig: CameraRig | None) -> FitResult:
    """One person's fit (run in a worker process: the model is loaded there once)."""
    with single_threaded():
        return BodyFitter(_model(spec), config, gmm=gmm, fps=fps).fit(kp3d, kp2d, rig)


def _fit_everyone(options: RunOptions, experiment: Experiment, fps: float, tasks: list[tuple]) -> list[FitResult]:
    """Fit each (kp3d, kp2d, rig) task, in parallel worker processes when there are cores."""
    processes = experiment.people.fit_processes or (os.cpu_count() or 1)
    processes = min(processes, len(tasks))
    gmm = str(options.gmm) if options.gmm else None
    args = [(options.model, experiment.fit, gmm, fps, *task) for task in tasks]
    if processes <= 1:
        return [_fit_person(*a) for a in args]
    log.info("fitting %d people in %d processes", len(tasks), processes)
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_fit_person, *zip(*args, strict=True)))


@dataclass(frozen=True)
class TriangulatedPerson:
    """One person followed across views and over time, triangulated.

    span: the person's frames of the run, first to last appearance.
    keypoints3d: (F_p, J, 4) triangulated keypoints over ``span``.
    keypoints2d: (F_p, V, J, 3) their detections, left/right swaps undone.
    report: JSON-ready: frames, frames seen, view-frames fixed, held-out error per camera.
    quality: (F_p, V) per view-frame: ``heldout_px`` and ``reprojection_px`` (median over joints,
    NaN: not seen) and ``left_right_fixed`` (bool).
    """

    id: int
    span: slice
    keypoints3d: np.ndarray
    keypoints2d: np.ndarray
    report: dict
    quality: dict[str, np.ndarray]


def triangulate_everyone(rig: CameraRig, seq: MultiViewKeypoints, *, fps: float, experiment: Experiment,
                         people: PeopleSettings) -> tuple[People, list[TriangulatedPerson]]:
    """Everyone in ``seq`` (cameras on one timeline) found across views and followed over time
    (:func:`mvmocap.associate.track_people`), then per person: left/right swaps undone, robust
    triangulation, and the held-out error of each camera predicted from the others."""
    everyone = track_people(rig, seq.candidates(), skeleton=seq.skeleton, fps=fps,
                            association=experiment.associate, settings=people)
    log.info("people: %d followed (%d tracks, %d re-identified after an occlusion)", len(everyone.ids),
             everyone.report["tracks"], everyone.report["reidentified"])
    tri_cfg = experiment.triangulate
    frames = list(seq.frames)
    thresholds = tri_cfg.thresholds(rig)
    flip = get_format(seq.skeleton).flip_index
    found = []
    for pid in everyone.ids:
        seen = np.flatnonzero(everyone.seen[pid])
        span = slice(int(seen[0]), int(seen[-1]) + 1)
        kp = everyone.keypoints2d[pid][span]
        flips = np.zeros(kp.shape[:2] + (0,), bool)
        if tri_cfg.fix_left_right:
            kp, flips = fix_left_right(rig, kp, skeleton=seq.skeleton, threshold_px=thresholds,
                                       min_views=tri_cfg.min_views)
        tri = triangulate(rig, kp, robust=tri_cfg.robust, threshold_px=thresholds, min_views=tri_cfg.min_views)
        errors = heldout_errors(rig, kp, flip, threshold_px=thresholds, robust=tri_cfg.robust,
                                min_views=tri_cfg.min_views)
        report = {"frames": [frames[span.start], frames[span.stop - 1]], "frames_seen": int(seen.size),
                  "left_right_fixed": int(flips.any(-1).sum()), "heldout": heldout_summary(errors, rig.names),
                  "keypoints_found_fraction": float((tri.keypoints3d[..., 3] > 0).mean())}
        quality = {"heldout_px": per_frame(errors), "reprojection_px": per_frame(tri.reprojection_error),
                   "left_right_fixed": flips.any(-1)}
        found.append(TriangulatedPerson(pid, span, tri.keypoints3d, kp, report, quality))
    return everyone, found


def _fit_people(ctx: RunContext, body: BodyModel, everyone: People, found: list[TriangulatedPerson],
                frames: list[int]) -> list[PersonOutput]:
    """Stage ``fit``: each person fitted over their own frames (in parallel processes; an earlier
    run's fit of the same keypoints and settings reused), written to ``OUT/people/<id>`` and
    ``OUT/smpl``; each person's report gains ``frames_interpolated`` and ``fit``."""
    experiment, options, out = ctx.experiment, ctx.options, ctx.out
    use_2d = ctx.fits_to_detections
    with ctx.stage("fit"):
        keys = {p.id: ctx.fit_key(body, p.keypoints3d, frames[p.span], p.keypoints2d) for p in found}
        done = {p.id: cached_fit(out / "people" / str(p.id), keys[p.id]) for p in found}  # a rerun's
        todo = [p for p in found if done[p.id] is None]
        if len(todo) < len(found):
            log.info("the fits of people %s from an earlier run of the same keypoints and settings are reused",
                     [pid for pid, result in done.items() if result is not None])
        fitted = _fit_everyone(options, experiment, ctx.fps, [
            (p.keypoints3d, p.keypoints2d if use_2d else None, ctx.rig if use_2d else None) for p in todo])
        refitted = [p.id for p in todo]
        done.update(zip(refitted, fitted, strict=True))
        remove_other_fits(out, list(everyone.ids))
        people = []
        for p in found:
            result, own = done[p.id], frames[p.span]
            observed = everyone.seen[p.id][p.span]  # the frames between were interpolated by the fit
            if p.id in refitted:
                write_fit(out / "people" / str(p.id), body, result, own, ctx.fps, extra={"observed": observed},
                          key=keys[p.id])
            p.report["frames_interpolated"] = int((~observed).sum())
            p.report["fit"] = {"seconds": result.seconds, "final": result.log[-1] if result.log else {}}
            people.append(PersonOutput(p.id, own, p.keypoints3d, p.keypoints2d, result, out / "people" / str(p.id)))
        write_people_smpl_jsons(out / "smpl", {p.id: ({"poses": p.fit.poses, "shapes": p.fit.shapes, "Rh": p.fit.Rh,
                                                       "Th": p.fit.Th}, p.frames) for p in people}, frames)
    return people


def _write_everyones_quality(ctx: RunContext, seq: MultiViewKeypoints,
                             found: list[TriangulatedPerson]) -> np.ndarray:
    """``OUT/quality.npz`` (:mod:`mvmocap.pipeline.quality`): per view-frame, the median over the
    people there of their held-out and reprojection errors, a left/right fix of anyone. Returns
    the (F, V) held-out error."""
    shape = (len(seq.frames), len(ctx.names))
    stacked = {k: np.full((len(found),) + shape, np.nan) for k in ("heldout_px", "reprojection_px")}
    fixed = np.zeros(shape, bool)
    for k, person in enumerate(found):
        for name in stacked:
            stacked[name][k, person.span] = person.quality[name]
        fixed[person.span] |= person.quality["left_right_fixed"]
    medians = {name: nan_median(v, 0) for name, v in stacked.items()}
    write_quality(ctx.out, frames=list(seq.frames), cameras=ctx.names, detections=people_detected(seq),
                  left_right_fixed=fixed, **medians)
    return medians["heldout_px"]


def run_multi(setup: RunSetup) -> MultiOutput:
    """Run every stage of a multi-person experiment (module docstring)."""
    body = load_body_model(setup.options.model)  # a missing model file is found before any detection
    people_settings = setup.experiment.people
    if setup.options.max_people is not None:
        people_settings = replace(people_settings, max_people=setup.options.max_people)
    ctx, inputs = open_body_run(setup)
    with ctx.stage("associate"):
        seq, synchronisation = _synchronised(ctx, inputs.read(), people_settings)
    with ctx.stage("triangulate"):
        everyone, found = triangulate_everyone(ctx.rig, seq, fps=ctx.fps, experiment=ctx.experiment,
                                               people=people_settings)
    frames = list(seq.frames)
    write_people_keypoints3d(ctx.out / "keypoints3d", {p.id: (p.keypoints3d, frames[p.span]) for p in found}, frames)
    heldout = _write_everyones_quality(ctx, seq, found)
    people = _fit_people(ctx, body, everyone, found, frames)
    person_report = {p.id: p.report for p in found}
    for p in people:
        person_report[p.id]["angles"] = ctx.angles(body, p.fit, p.frames, folder=p.out)
    first = {p.id: p.span.start for p in found}
    colours = {p.id: tuple(PERSON_COLOURS[p.id % len(PERSON_COLOURS)]) for p in people}
    meshes = [FittedMesh(body, p.fit, first[p.id], colours[p.id]) for p in people]
    with ctx.stage("silhouettes"):
        silhouettes = check_bodies(ctx.rig, ctx.sources, frames, {f"person {p.id}": mesh
                                                                  for p, mesh in zip(people, meshes, strict=True)})
    for p in people:
        person_report[p.id]["silhouette"] = silhouettes.get(f"person {p.id}")
    skeletons = []
    for p in people:
        full = np.zeros((len(frames),) + p.keypoints2d.shape[1:])
        full[first[p.id]:first[p.id] + len(p.frames)] = p.keypoints2d
        skeletons.append((full, seq.skeleton, colours[p.id]))
    ctx.render(frames, meshes, skeletons)
    with ctx.stage("thumbnails"):
        everyone_drawn = []
        for p in people:
            drawn = np.full((len(frames), 25, 3), np.nan)
            drawn[first[p.id]:first[p.id] + len(p.frames)] = p.fit.keypoints
            everyone_drawn.append(drawn)
        write_thumbnails(ctx.out, ctx.rig, ctx.sources, frames, heldout, everyone_drawn)
    report = ctx.finish(frames, {
        "model": body.name, "sync": synchronisation, "association": everyone.report,
        "people": {str(pid): person_report[pid] for pid in everyone.ids}, "detect_view_frames": inputs.detected})
    return MultiOutput(ctx.out, ctx.rig, body, frames, people, report, dict(ctx.timer.seconds))
