"""``mvmocap bench real --data DIR``: mvmocap on a real capture, measured without ground truth.

``DIR`` holds ``videos/<cam>.*`` and a calibration (any layout :func:`mvmocap.camera.find_calibration`
reads: Pose2Sim's ``calibration/Calib.qca.txt``, EasyMocap's ``intri.yml`` + ``extri.yml``...).
The cameras are detected once (with the multi-person experiment's detector settings, so that both
runs below read one cache) into ``--work`` (default: a temporary folder), then:

- **single person** (``run --exp body --sync auto``, no videos): ``heldout_px`` (overall and per
  camera: each camera's own detections predicted from the others) next to ``heldout_px_dlt``
  (plain DLT of the same raw detections, no outlier rejection, no swap fixing, no sync);
  ``sync_closure_frames`` (the largest closure of three cameras' pair offsets) and
  ``sync_subset_spread_frames`` (the largest spread of a pair's offset difference over the
  subsets leaving one camera out, on the run's smoothed detections: offsets must not depend on
  the cameras used); ``sync_applied``
  and the held-out figures with and without the offsets; ``accel_mm_per_frame2`` (median
  acceleration of the limb joints) of mvmocap's triangulation, of plain DLT on the same
  detections, of the fit, and of plain DLT on MediaPipe's legacy pose solution (``dlt_legacy``:
  one person per view, its own temporal filter; views where it follows someone other than the
  subject are left out: ``legacy_views_on_subject`` says how many view-frames were kept).
- **everyone** (the multi-person association and triangulation of ``run --exp multi``), with
  each camera held out in turn: ``coverage`` is the fraction of the held-out camera's clearly
  visible people (at least :data:`CLEAR_HEIGHT` of the image tall, :data:`CLEAR_JOINTS` limb joints
  confident) matched by a person reconstructed from the other cameras within :data:`MATCH_PX`
  (pixels at a 1920-pixel image side, scaled with the image); ``matched_px`` the matched joints'
  median distance. With all cameras: ``people_per_frame`` (people reconstructed with at least
  half their joints) against ``people_seen_per_frame`` (people at least two views see clearly:
  the second-largest count of clear detections of a view), ``person_heldout_px`` per person,
  the single-person subject's held-out error in both runs, and ``id_jumps`` (a person's centre
  moving over :data:`JUMP_M` between two frames it is found in: an identity handed to someone else).
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np

from mvmocap.associate import mirror_distance
from mvmocap.camera import CameraRig
from mvmocap.detect import LegacyPoseSettings
from mvmocap.io import MultiViewKeypoints
from mvmocap.pipeline.experiment import load_experiment
from mvmocap.pipeline.inputs import open_body_run
from mvmocap.pipeline.launch import run_experiment
from mvmocap.pipeline.multi import triangulate_everyone
from mvmocap.pipeline.observations import synchronised_subject
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.stages import prepare_run
from mvmocap.skeletons import get_format
from mvmocap.sync import TIMING_JOINTS, SmoothSettings, resample_sequence, smooth_detections
from mvmocap.triangulate import heldout_errors, heldout_summary, triangulate

__all__ = ["CLEAR_HEIGHT", "CLEAR_JOINTS", "JUMP_M", "MATCH_PX", "bench_real", "clear_people", "coverage"]

CLEAR_HEIGHT = 0.25  # a clearly visible person is at least this fraction of the image tall
CLEAR_JOINTS = 8  # ... with at least this many limb joints confident
CLEAR_CONFIDENCE = 0.5
MATCH_PX = 60.0  # a reconstructed person matches a detection within this median distance at a 1920-px side
JUMP_M = 0.5  # a person's centre moving more than this between two frames: an identity jump
_LIMBS = tuple(side + part for part in ("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle") for side in "LR")


def clear_people(candidates: np.ndarray, skeleton: str, image_height: float) -> np.ndarray:
    """(F, P) whether each of one view's (F, P, J, 3) detections is a clearly visible person."""
    fmt = get_format(skeleton)
    limbs = [fmt.index(n) for n in _LIMBS if n in fmt]
    confident = candidates[..., 2] >= CLEAR_CONFIDENCE
    top = np.where(confident, candidates[..., 1], np.inf).min(-1)
    bottom = np.where(confident, candidates[..., 1], -np.inf).max(-1)
    tall = confident.any(-1) & (bottom - top >= CLEAR_HEIGHT * image_height)
    return tall & (confident[..., limbs].sum(-1) >= CLEAR_JOINTS)


def coverage(rig: CameraRig, seq: MultiViewKeypoints, held_out: str, *, fps: float, experiment) -> dict:
    """The held-out camera's clear people matched by everyone reconstructed from the other cameras
    (module docstring): ``{"clear": n, "matched": m, "coverage": m / n, "matched_px": median}``."""
    others = [n for n in rig.names if n != held_out]
    cam = rig[held_out]
    _, people = triangulate_everyone(rig.subset(others), seq.select_cameras(others), fps=fps, experiment=experiment,
                                     people=experiment.people)
    detections = seq.candidates()[:, rig.names.index(held_out)]  # (F, P, J, 3)
    clear = clear_people(detections, seq.skeleton, cam.image_size[1] if cam.image_size else 1080)
    limit = MATCH_PX * max(cam.image_size or (1080, 1920)) / 1920
    flip = get_format(seq.skeleton).flip_index
    F, J = detections.shape[0], detections.shape[2]
    projected = np.zeros((F, len(people), J, 3))
    for k, person in enumerate(people):
        X = person.keypoints3d
        found = (X[..., 3] > 0) & (cam.world_to_camera(X[..., :3])[..., 2] > 0)
        projected[person.span, k, :, :2] = cam.project(X[..., :3])
        projected[person.span, k, :, 2] = found
    matched, distances = 0, []
    for f in range(F):
        wanted = np.flatnonzero(clear[f])
        if not wanted.size or not people:
            continue
        d = np.stack([mirror_distance(detections[f, wanted], projected[f, k, None, :, :2].repeat(len(wanted), 0),
                                      flip, 0.0) if projected[f, k, :, 2].any() else np.full(len(wanted), np.inf)
                      for k in range(len(people))], 1)  # (wanted, people)
        for _ in range(min(d.shape)):
            i, k = np.unravel_index(np.argmin(d), d.shape)
            if not d[i, k] < limit:
                break
            matched += 1
            distances.append(float(d[i, k]))
            d[i, :], d[:, k] = np.inf, np.inf
    total = int(clear.sum())
    return {"clear": total, "matched": matched, "coverage": round(matched / total, 4) if total else None,
            "matched_px": round(float(np.median(distances)), 2) if distances else None}


def _acceleration(keypoints: np.ndarray, joints: list[int]) -> float:
    """Median |second difference| in mm/frame^2 of (F, J, 3 or 4) keypoints' ``joints`` over frames
    where three in a row are found (a 4th column: found where > 0)."""
    X = keypoints[:, joints]
    found = X[..., 3] > 0 if X.shape[-1] == 4 else np.ones(X.shape[:2], bool)
    accel = np.linalg.norm(X[2:, :, :3] - 2 * X[1:-1, :, :3] + X[:-2, :, :3], axis=-1)
    ok = found[2:] & found[1:-1] & found[:-2]
    return round(float(np.median(accel[ok]) * 1000), 2) if ok.any() else float("nan")


def _subset_spread(rig: CameraRig, seq: MultiViewKeypoints, fps: float, experiment) -> float | None:
    """The largest spread, in frames, of one pair's offset difference over the subsets of the
    cameras that leave one out (None with fewer than 4 cameras)."""
    if len(rig) < 4:
        return None
    found = []
    for left_out in rig.names:
        names = [n for n in rig.names if n != left_out]
        synced = synchronised_subject(rig.subset(names), seq.select_cameras(names), fps=fps,
                                      sync_settings=experiment.sync, subject_settings=experiment.associate)
        found.append(synced.result.offsets)
    spread = 0.0
    for a, b in itertools.combinations(rig.names, 2):
        differences = [(o[b] - o[a]) * fps for o in found if a in o and b in o]
        spread = max(spread, max(differences) - min(differences))
    return round(spread, 3)


def _id_jumps(people, skeleton: str) -> int:
    """Frames where a person's centre (mean of the found hips and shoulders) moves over
    :data:`JUMP_M` from the previous frame it was found in."""
    fmt = get_format(skeleton)
    trunk = [fmt.index(n) for n in ("LHip", "RHip", "LShoulder", "RShoulder") if n in fmt]
    jumps = 0
    for person in people:
        X = person.keypoints3d[:, trunk]
        found = (X[..., 3] > 0).all(-1)
        centres = X[found, :, :3].mean(1)
        jumps += int((np.linalg.norm(np.diff(centres, axis=0), axis=-1) > JUMP_M).sum())
    return jumps


def _people_per_frame(rig: CameraRig, seq: MultiViewKeypoints, people) -> tuple[float, float]:
    """Mean people reconstructed per frame (at least half their joints found) and mean people at
    least two views see clearly (the second-largest count of a view's clear detections)."""
    F = len(seq.frames)
    found = np.zeros(F)
    for person in people:
        found[person.span] += (person.keypoints3d[..., 3] > 0).mean(-1) >= 0.5
    candidates = seq.candidates()
    counts = np.stack([clear_people(candidates[:, v], seq.skeleton, cam.image_size[1] if cam.image_size else 1080
                                    ).sum(-1) for v, cam in enumerate(rig)], 1)  # (F, V)
    seen = np.sort(counts, axis=1)[:, -2] if len(rig) >= 2 else counts[:, 0]
    return round(float(found.mean()), 3), round(float(seen.mean()), 3)


def _legacy_on_subject(legacy: np.ndarray, subject: np.ndarray, rig: CameraRig, flip: np.ndarray) -> np.ndarray:
    """(F, V, J, 3) the legacy detector's one person per view-frame, kept where it is the subject
    (mirror-tolerant median joint distance to the subject's (F, V, J, 3) detections within 5% of
    the image diagonal), zero elsewhere."""
    kept = np.zeros_like(legacy)
    for v, cam in enumerate(rig):
        d = mirror_distance(legacy[:, v, None], subject[:, v, None, :, :2], flip, 0.0)[:, 0]  # (F,)
        on = d < 0.05 * cam.image_diagonal
        kept[on, v] = legacy[on, v]
    return kept


def _nearest_person(subject: np.ndarray, people):
    """The person whose keypoints lie nearest the (F, J, 4) ``subject`` (median over shared frames
    and joints), or None when nobody shares ten joint-frames with it."""
    best, nearest = np.inf, None
    for person in people:
        part = subject[person.span]
        both = (part[..., 3] > 0) & (person.keypoints3d[..., 3] > 0)
        if both.sum() < 10:
            continue
        d = float(np.median(np.linalg.norm(part[..., :3] - person.keypoints3d[..., :3], axis=-1)[both]))
        if d < best:
            best, nearest = d, person
    return nearest


def bench_real(data: str | Path, *, work: str | Path | None = None, model: str | None = None,
               frames: str | None = None, calib: str | Path | None = None) -> dict:
    """Run and measure the capture in ``data`` (module docstring) with its calibration (or
    ``calib``); returns one JSON-ready dict."""
    start = time.perf_counter()
    multi = load_experiment("multi")
    body = dataclasses.replace(load_experiment("body"), detect=multi.detect)  # one detection cache for both
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(work) if work else Path(tmp) / "run"
        run = run_experiment(RunOptions(root=Path(data), out=out, exp="body", model=model, videos=False, sync="auto",
                                     frames=frames, calib=calib), body)
        rig, prepared, fps = run.rig, run.prepared, run.report["fps"]
        flip = get_format(prepared.keypoints.skeleton).flip_index
        dlt = heldout_summary(heldout_errors(rig, prepared.raw, flip, robust=False, refine_iterations=0), rig.names)
        setup = prepare_run(RunOptions(root=Path(data), out=out, exp="multi", model=model, videos=False,
                                       frames=frames, calib=calib), multi)
        seq = open_body_run(setup)[1].read()
        spread = _subset_spread(rig, smooth_detections(seq, fps=fps, settings=body.smooth), fps, body)  # as the run
        if any(prepared.offsets.values()):
            seq = resample_sequence(seq, prepared.offsets, fps, run.report["sync"]["reference"])
        per_camera = {cam: coverage(rig, seq, cam, fps=fps, experiment=multi) for cam in rig.names}
        _, everyone = triangulate_everyone(rig, seq, fps=fps, experiment=multi, people=multi.people)
        legacy_body = dataclasses.replace(body, detect=LegacyPoseSettings(), smooth=SmoothSettings(enabled=False))
        legacy_setup = prepare_run(RunOptions(root=Path(data), out=out.parent / f"{out.name}_legacy", exp="body",
                                              model=model, videos=False, frames=frames, calib=calib), legacy_body)
        legacy_seq = open_body_run(legacy_setup)[1].read()
    fmt = get_format(prepared.keypoints.skeleton)
    limbs = [fmt.index(n) for n in TIMING_JOINTS if n in fmt]
    plain = triangulate(rig, prepared.keypoints.person(0), robust=False, refine_iterations=0).keypoints3d
    position = {f: k for k, f in enumerate(legacy_seq.frames)}
    raw_rows = [position[f] for f in prepared.detections.frames]
    legacy = _legacy_on_subject(legacy_seq.person(0)[raw_rows], prepared.raw, rig, flip)
    legacy_dlt = triangulate(rig, legacy, robust=False, refine_iterations=0).keypoints3d
    clear = sum(c["clear"] for c in per_camera.values())
    matched = sum(c["matched"] for c in per_camera.values())
    found, seen = _people_per_frame(rig, seq, everyone)
    subject = np.zeros((len(seq.frames),) + run.keypoints3d.shape[1:])  # on the run's frames
    position = {f: k for k, f in enumerate(seq.frames)}
    for k, f in enumerate(run.frames):
        if f in position:
            subject[position[f]] = run.keypoints3d[k]
    same = _nearest_person(subject, everyone)  # the single-person run's subject among everyone
    sync = run.report["sync"]
    heldout = run.report["heldout"]
    return {
        "coverage": round(matched / clear, 4) if clear else None,
        "coverage_per_camera": {cam: c["coverage"] for cam, c in per_camera.items()},
        "matched_px": {cam: c["matched_px"] for cam, c in per_camera.items()},
        "clear_people": {cam: c["clear"] for cam, c in per_camera.items()},
        "people_per_frame": found, "people_seen_per_frame": seen,
        "id_jumps": _id_jumps(everyone, seq.skeleton),
        "person_heldout_px": {str(p.id): _rounded(p.report["heldout"]["heldout_px"]) for p in everyone},
        "subject_heldout_px": {"single_person": _rounded(heldout["heldout_px"]),
                               "multi_person": _rounded(same.report["heldout"]["heldout_px"]) if same else None},
        "heldout_px": _rounded(heldout["heldout_px"]), "heldout_px_dlt": _rounded(dlt["heldout_px"]),
        "heldout_per_camera": {c: _rounded(v) for c, v in heldout["per_camera"].items()},
        "heldout_dlt_per_camera": {c: _rounded(v) for c, v in dlt["per_camera"].items()},
        "sync_closure_frames": sync.get("largest_closure_frames"), "sync_subset_spread_frames": spread,
        "sync_applied": any(prepared.offsets.values()),
        "sync_offsets_frames": {c: round(o * fps, 3) for c, o in prepared.offsets.items()},
        "sync_heldout_px": sync.get("heldout_px"),
        "accel_mm_per_frame2": {"mvmocap": _acceleration(run.keypoints3d, limbs),
                                "dlt": _acceleration(plain, limbs),
                                "fit": _acceleration(run.fit.keypoints, limbs),
                                "dlt_legacy": _acceleration(legacy_dlt, limbs)},
        "legacy_views_on_subject": round(float((legacy[..., 2].max(-1) > 0).mean()), 3),
        "frames": len(seq.frames), "cameras": len(rig), "seconds": round(time.perf_counter() - start, 1),
    }


def _rounded(value: float | None) -> float | None:
    return round(float(value), 2) if value is not None and np.isfinite(value) else None
