"""From every view's detections to the subject's 2D keypoints on one timeline, ready to triangulate.

Stages, in order (each reported in ``report.json``):

1. time offsets: ``ROOT/sync.yml`` when present (``sync: file``, the default), estimated now
   (``auto``, also written to ``OUT/sync.yml``) or ignored (``none``). ``auto`` first finds rough
   whole-frame offsets from everyone detected (:func:`mvmocap.sync.rough_offsets`), then the
   offsets to a tenth of a frame from the tracks of everyone followed across the views
   (:func:`synchronised_subject`). The
   estimate is kept only if it does not make the held-out error (each camera predicted by the
   others) worse than no offsets by more than ``_AUTO_SYNC_TOLERANCE``: when it would, the cameras
   are taken as synchronised and the report and log say so;
2. the subject among everyone detected (:func:`mvmocap.associate.choose_subject`), on frames
   paired by number, or on the synchronised timeline when cameras are more than
   ``_OUT_OF_STEP_SECONDS`` apart (started by hand) and then mapped back to each camera's own
   frames. The subject's tracks are then resampled onto the reference camera's timeline;
3. left/right swaps undone per view-frame and limb (:func:`mvmocap.associate.fix_left_right`).

Inlier thresholds are relative to each camera's image size: ``threshold_fraction`` of its
diagonal (30 px on 960 x 540, 59 px on 1080 x 1920), unless ``threshold_px`` fixes one value.
2.7% rather than 1.8%: on a real capture whose calibration leaves two cameras 40-70 px off, the
tighter threshold dropped good views from frame to frame (held-out error above plain DLT's,
42.1 against 41.3 px); on the rendered captures it is as good (held-out 6.59 against 6.61 px).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mvmocap.associate import (
    PeopleSettings,
    SubjectSettings,
    choose_subject,
    fix_left_right,
    mirror_distance,
    packed_candidates,
    track_people,
)
from mvmocap.camera import CameraRig
from mvmocap.io import MultiViewKeypoints
from mvmocap.skeletons import get_format
from mvmocap.sync import (
    SyncResult,
    SyncSettings,
    estimate_offsets,
    frame_times,
    read_sync_file,
    resample_sequence,
    rough_offsets,
    sample_track,
    write_sync_file,
)
from mvmocap.triangulate import heldout_errors, heldout_summary
from mvmocap.utils import InputError

__all__ = ["PreparedKeypoints", "SynchronisedSubject", "TriangulateSettings", "file_offsets", "heldout_own_timelines",
           "needs_resampling", "prepare_keypoints", "synchronised_subject", "threshold_per_camera"]

log = logging.getLogger(__name__)

# Cameras further apart than this (seconds) get the subject chosen on the synchronised timeline (the
# choice on frames paired by number holds up to the benchmark's +-0.1 s; hand-started phones are
# seconds apart).
_OUT_OF_STEP_SECONDS = 0.25
# A camera's own detection is the subject chosen on the timeline when within this fraction of its image diagonal.
_BACK_MATCH_FRACTION = 0.03

SYNC_MODES = ("file", "auto", "none")


@dataclass(frozen=True)
class TriangulateSettings:
    """The experiment's ``triangulate`` section: the subject's 3D keypoints from every view.

    robust: reject outlier views (false detections, what swaps remain)
    fix_left_right: swap back left/right labels that disagree with the other views
    threshold_px: outlier threshold on the reprojection error in pixels; null: relative (threshold_fraction)
    threshold_fraction: the outlier threshold as this fraction of each camera's image diagonal (30 px at 960x540)
    min_views: fewer consistent views leave a joint missing
    """

    robust: bool = True
    fix_left_right: bool = True
    threshold_px: float | None = None
    threshold_fraction: float = 0.027
    min_views: int = 2

    def __post_init__(self) -> None:
        if self.threshold_px is not None and not self.threshold_px > 0:
            raise ValueError(f"threshold_px must be above 0 pixels (or null), got {self.threshold_px}")
        if not 0 < self.threshold_fraction < 1:
            raise ValueError(f"threshold_fraction must be in (0, 1) (of the image diagonal), got "
                             f"{self.threshold_fraction}")
        if self.min_views < 2:
            raise ValueError(f"min_views must be at least 2, got {self.min_views}")


def threshold_per_camera(rig: CameraRig, threshold_px: float | None, threshold_fraction: float) -> np.ndarray:
    """(V,) inlier thresholds in pixels: ``threshold_px`` for all, else a fraction of each diagonal."""
    if threshold_px is not None:
        return np.full(len(rig), float(threshold_px))
    return threshold_fraction * np.array([c.image_diagonal for c in rig])


@dataclass
class PreparedKeypoints:
    """The subject's detections, synchronised and with swaps undone.

    Attributes:
        keypoints: the subject as person 0, on the reference camera's timeline.
        raw: (F, V, J, 3) the subject's detections before synchronisation and swap fixing.
        offsets: camera -> seconds (0 for every camera when not synchronised).
        report: JSON-ready account of each stage.
        detections: the subject on each camera's own clock (before resampling).
        resampled: whether ``keypoints`` were resampled from ``detections`` (offsets or irregular times).
    """

    keypoints: MultiViewKeypoints
    raw: np.ndarray
    offsets: dict[str, float]
    report: dict
    detections: MultiViewKeypoints
    resampled: bool


def file_offsets(sync_file: Path, cameras: list[str]) -> tuple[dict[str, float], str]:
    """The offsets of ``sync_file`` for ``cameras`` (0 for a camera it lacks; a camera not used
    here is ignored with a warning) and the reference camera (the first of ``cameras`` when the
    file's is not used)."""
    given, reference = read_sync_file(sync_file)
    unknown = sorted(set(given) - set(cameras))
    if unknown:
        log.warning("%s: cameras %s are not used in this run; ignored", sync_file, unknown)
    offsets = {cam: float(given.get(cam, 0.0)) for cam in cameras}
    return offsets, reference if reference in cameras else cameras[0]


def needs_resampling(seq: MultiViewKeypoints, offsets: dict[str, float], fps: float) -> bool:
    """Whether ``seq`` must be resampled onto one timeline: a camera is offset, or a frame's
    timestamp is more than 1 ms from frame number / fps (a variable frame rate)."""
    nominal = np.asarray(seq.frames, dtype=np.float64) / fps
    irregular = any(np.nanmax(np.abs(t - nominal), initial=0.0) > 1e-3 for t in seq.times.values())
    return irregular or any(o != 0 for o in offsets.values())


def prepare_keypoints(rig: CameraRig, seq: MultiViewKeypoints, *, fps: float, root: Path, out: Path,
                      sync: str = "file", sync_settings: SyncSettings | None = None,
                      subject_settings: SubjectSettings | None = None, thresholds: np.ndarray,
                      fix_swaps: bool = True, triangulate_options: dict | None = None,
                      sync_file: Path | None = None) -> PreparedKeypoints:
    """Run the stages of the module docstring on ``seq`` (cameras in ``rig`` order); ``sync="file"``
    reads ``sync_file`` (default ``root/sync.yml``) when it exists."""
    if sync not in SYNC_MODES:
        raise InputError(f"--sync must be one of {SYNC_MODES}, got {sync!r}")
    tri_options = dict(triangulate_options or {})
    report: dict = {}
    offsets = {cam: 0.0 for cam in seq.cameras}
    reference = seq.cameras[0]
    sync_file = Path(sync_file) if sync_file is not None else root / "sync.yml"
    if sync == "auto":
        synced = synchronised_subject(rig, seq, fps=fps, sync_settings=sync_settings,
                                      subject_settings=subject_settings)
        raw, report["subject"] = synced.keypoints2d, synced.subject_report
        offsets, reference = synced.result.offsets, synced.result.reference
        written = write_sync_file(out / "sync.yml", synced.result)
        report["sync"] = {"source": str(written), "reference": reference, "rough_offsets_frames": synced.rough_frames,
                          "people_timed": synced.people,
                          "cameras": {n: asdict(c) for n, c in synced.result.cameras.items()},
                          "pairs": [asdict(p) for p in synced.result.pairs],
                          "largest_closure_frames": (round(synced.result.largest_closure * fps, 3)
                                                     if synced.result.closures else None)}
        log.info("sync: offsets %s (frames at %.2f fps), written to %s",
                 ", ".join(f"{n} {o * fps:+.2f}" for n, o in offsets.items()), fps, written)
    else:
        if sync == "file" and sync_file.is_file():
            offsets, reference = file_offsets(sync_file, seq.cameras)
            report["sync"] = {"source": str(sync_file), "reference": reference, "offsets": offsets}
        else:
            report["sync"] = {"source": None}
        raw, report["subject"] = _Following(rig, seq, seq.candidates(), fps, subject_settings,
                                            None).subject(offsets, reference)
    subject = MultiViewKeypoints(seq.cameras, seq.frames, {0: raw}, seq.skeleton, seq.times)
    if sync == "auto" and not _offsets_help(rig, subject, offsets, fps, reference, thresholds, report["sync"]):
        offsets = {cam: 0.0 for cam in seq.cameras}
    timeline, resampled = _on_one_timeline(subject, offsets, fps, reference)

    kp = timeline.person(0)
    if fix_swaps:
        kp, flips = fix_left_right(rig, kp, skeleton=seq.skeleton, threshold_px=thresholds, **tri_options)
        report["left_right"] = {"view_frames_fixed": int(flips.any(-1).sum()),
                                "per_camera": {cam: int(flips[:, v].any(-1).sum()) for v, cam in enumerate(rig.names)}}
        if flips.any():
            log.info("left/right: labels swapped back in %d view-frames", int(flips.any(-1).sum()))
    prepared = MultiViewKeypoints(timeline.cameras, timeline.frames, {0: kp}, timeline.skeleton, timeline.times)
    return PreparedKeypoints(prepared, raw, offsets, report, subject, resampled)


def _on_one_timeline(seq: MultiViewKeypoints, offsets: dict[str, float], fps: float,
                     reference: str) -> tuple[MultiViewKeypoints, bool]:
    """``seq`` on the reference camera's timeline with ``offsets``, and whether it was resampled."""
    resampled = needs_resampling(seq, offsets, fps)
    return (resample_sequence(seq, offsets, fps, reference) if resampled else seq), resampled


_AUTO_SYNC_TOLERANCE = 0.02  # estimated offsets may not raise the held-out error by more than this fraction


def _offsets_help(rig: CameraRig, subject: MultiViewKeypoints, offsets: dict[str, float], fps: float,
                  reference: str, thresholds: np.ndarray, report: dict) -> bool:
    """Whether the estimated ``offsets`` keep the subject's held-out error (median over every
    camera's joints, each camera predicted by the others) within ``_AUTO_SYNC_TOLERANCE`` of the
    error without offsets; both figures go into the sync ``report``."""
    if len(rig) < 3 or not any(offsets.values()):
        return True
    flip = get_format(subject.skeleton).flip_index
    zero = {cam: 0.0 for cam in offsets}
    figures = {}
    for name, trial in (("with_offsets", offsets), ("without", zero)):
        errors = heldout_errors(rig, _on_one_timeline(subject, trial, fps, reference)[0].person(0), flip,
                                threshold_px=thresholds)
        figures[name] = float(np.nanmedian(errors)) if np.isfinite(errors).any() else float("inf")
    report["heldout_px"] = {k: round(v, 3) for k, v in figures.items()}
    if figures["with_offsets"] <= (1 + _AUTO_SYNC_TOLERANCE) * figures["without"]:
        return True
    report["applied"] = False
    log.warning("sync: the estimated offsets would make the held-out error worse (%.2f px against %.2f px without "
                "them); the cameras are taken as synchronised", figures["with_offsets"], figures["without"])
    return False


@dataclass(frozen=True)
class SynchronisedSubject:
    """The subject and the offsets (:func:`synchronised_subject`).

    Attributes:
        keypoints2d: (F, V, J, 3) the subject's detections on each camera's own frames.
        subject_report: the subject choice's account (``report.json``'s ``subject``).
        result: the offsets estimated from everyone followed across the views.
        rough_frames: camera -> whole frames, the offsets found first from everyone detected.
        people: how many people's tracks timed the cameras (0: the subject's alone, nobody was followed).
    """

    keypoints2d: np.ndarray
    subject_report: dict
    result: SyncResult
    rough_frames: dict[str, float]
    people: int


def synchronised_subject(rig: CameraRig, seq: MultiViewKeypoints, *, fps: float,
                         sync_settings: SyncSettings | None = None,
                         subject_settings: SubjectSettings | None = None,
                         people_settings: PeopleSettings | None = None) -> SynchronisedSubject:
    """Offsets from everyone, then the subject chosen in step with them: rough whole-frame offsets
    from everyone detected (:func:`mvmocap.sync.rough_offsets`, no identities needed), everyone
    followed across the views in step with them (:func:`mvmocap.associate.track_people`), the
    offsets estimated from all their tracks (on a two-person capture the subject's alone left the
    pairs 0.3-0.8 frames uncertain and their closure 0.8-1.6 frames; everyone's, 0.05-0.4 and
    0.3); followed again when that estimate moves cameras that are out of step by more than a
    frame. With nobody followed (a take shorter than a track), the subject's tracks time them."""
    times = [frame_times(seq.frames, fps, seq.times.get(cam)) for cam in seq.cameras]
    candidates = seq.candidates()
    packed = packed_candidates(candidates)[0]  # each view-frame's people in its first slots
    rough = rough_offsets(rig, [packed[:, v] for v in range(len(rig))], times, settings=sync_settings,
                          skeleton=seq.skeleton)
    rough_offsets_s = dict(zip(seq.cameras, rough.tolist(), strict=True))
    follow = _Following(rig, seq, candidates, fps, subject_settings, people_settings)
    people = follow.everyone(rough_offsets_s, seq.cameras[0])
    result = estimate_offsets(rig, _people_tracks(people or [follow.subject(rough_offsets_s, seq.cameras[0])[0]]),
                              times, settings=sync_settings, skeleton=seq.skeleton)
    moved = max(abs(result.offsets[cam] - rough_offsets_s[cam]) for cam in seq.cameras)
    if _out_of_step(result.offsets) and moved > 1 / fps:
        people = follow.everyone(result.offsets, result.reference)
        result = estimate_offsets(rig, _people_tracks(people or [follow.subject(result.offsets, result.reference)[0]]),
                                  times, settings=sync_settings, skeleton=seq.skeleton)
    log.info("sync: timed on %s", f"{len(people)} people's tracks" if people else "the subject's tracks")
    raw, subject_report = follow.subject(result.offsets, result.reference)
    return SynchronisedSubject(raw, subject_report, result,
                               {cam: round(o * fps, 3) for cam, o in rough_offsets_s.items()}, len(people))


def _people_tracks(people: list[np.ndarray]) -> list[np.ndarray]:
    """Per camera (F, P, J, 3) from P people's (F, V, J, 3) detections."""
    stacked = np.stack(people, axis=2)  # (F, V, P, J, 3)
    return [stacked[:, v] for v in range(stacked.shape[1])]


class _Following:
    """The subject, or everyone, followed across ``seq``'s views in step with trial offsets: on
    frames paired by number, or, with cameras out of step (:func:`_out_of_step`), on the
    synchronised timeline and mapped back to each camera's own frames. ``candidates``: ``seq``'s
    (F, V, P, J, 3) people (:meth:`MultiViewKeypoints.candidates`, a copy made once)."""

    def __init__(self, rig: CameraRig, seq: MultiViewKeypoints, candidates: np.ndarray, fps: float,
                 association: SubjectSettings | None, people: PeopleSettings | None):
        self.rig, self.seq, self.candidates, self.fps = rig, seq, candidates, fps
        self.association, self.people = association, people

    def subject(self, offsets: dict[str, float], reference: str) -> tuple[np.ndarray, dict]:
        """The subject's (F, V, J, 3) detections on each camera's own frames and the choice's report."""
        def choose(candidates: np.ndarray) -> tuple[list[np.ndarray], dict]:
            choice = _choose(self.rig, candidates, self.seq.skeleton, self.fps, self.association)
            return [choice.keypoints2d], choice.report

        found, report = self._in_step(choose, offsets, reference)
        return found[0], report

    def everyone(self, offsets: dict[str, float], reference: str) -> list[np.ndarray]:
        """Everyone followed long enough to keep (:class:`PeopleSettings`), each (F, V, J, 3)."""
        def track(candidates: np.ndarray) -> tuple[list[np.ndarray], dict]:
            people = track_people(self.rig, candidates, skeleton=self.seq.skeleton, fps=self.fps,
                                  association=self.association, settings=self.people)
            return [people.keypoints2d[pid] for pid in people.ids], people.report

        return self._in_step(track, offsets, reference)[0]

    def _in_step(self, find, offsets: dict[str, float], reference: str) -> tuple[list[np.ndarray], dict]:
        """``find(candidates)`` -> (people (F, V, J, 3), report), run on frames in step with ``offsets``."""
        if not _out_of_step(offsets):
            return find(self.candidates)
        timeline = resample_sequence(self.seq, offsets, self.fps, reference)
        log.info("followed on the synchronised timeline (cameras up to %.1f frames apart)",
                 (max(offsets.values()) - min(offsets.values())) * self.fps)
        found, report = find(timeline.candidates())
        own = [_on_own_clocks(self.rig, self.seq, self.candidates, person, timeline, offsets, self.fps, reference)
               for person in found]
        return own, report | {"chosen_on_synchronised_timeline": True}


def _choose(rig: CameraRig, candidates: np.ndarray, skeleton: str, fps: float, settings: SubjectSettings | None):
    """The subject among (F, V, P, J, 3) ``candidates`` (frames paired by number), logged."""
    choice = choose_subject(rig, candidates, skeleton=skeleton, fps=fps, settings=settings)
    log.info("subject: %d of %d view-frames with detections assigned (%d detections dropped, up to %d people "
             "per view)", choice.report["view_frames_assigned"], choice.report["view_frames_with_detections"],
             choice.report["detections_dropped"], choice.report["max_people_per_view"])
    return choice


def _out_of_step(offsets: dict[str, float]) -> bool:
    """Whether cameras are so far apart that choosing the subject on frames paired by number
    compared other moments: some two cameras more than :data:`_OUT_OF_STEP_SECONDS` apart."""
    values = list(offsets.values())
    return bool(values) and max(values) - min(values) > _OUT_OF_STEP_SECONDS


def _on_own_clocks(rig: CameraRig, seq: MultiViewKeypoints, candidates: np.ndarray, chosen: np.ndarray,
                   timeline: MultiViewKeypoints, offsets: dict[str, float], fps: float, reference: str) -> np.ndarray:
    """(F, V, J, 3) on each camera's own frames: the detection (of ``candidates``, ``seq``'s (F, V, P,
    J, 3) people) nearest the subject ``chosen`` (F_t, V, J, 3) on the reference ``timeline``, read
    at that frame's reference time; none where no detection lies within :data:`_BACK_MATCH_FRACTION`
    of the image diagonal (mirror-aware median distance) or the chosen subject is missing there."""
    flip = get_format(seq.skeleton).flip_index
    out = np.zeros(candidates.shape[:2] + candidates.shape[3:])
    if candidates.shape[2] == 0:
        return out
    line = frame_times(timeline.frames, fps, timeline.times.get(reference)) + offsets.get(reference, 0.0)
    for v, cam in enumerate(seq.cameras):
        own = frame_times(seq.frames, fps, seq.times.get(cam)) + offsets.get(cam, 0.0)  # reference times
        expected = sample_track(chosen[:, v], line, own)  # (F, J, 3)
        limit = _BACK_MATCH_FRACTION * rig[cam].image_diagonal
        distance = mirror_distance(candidates[:, v], expected[:, None, :, :2], flip, 0.0)  # (F, P)
        distance[expected[..., 2].max(-1) <= 0] = np.inf
        best = np.argmin(distance, axis=1)
        near = distance[np.arange(len(best)), best] < limit
        out[near, v] = candidates[np.flatnonzero(near), v, best[near]]
    return out


def heldout_own_timelines(rig: CameraRig, prepared: PreparedKeypoints, *, fps: float, thresholds: np.ndarray,
                          fix_swaps: bool = True, **triangulate_options) -> dict:
    """The held-out error of each camera against its *own* detections at its own frame times: the
    other cameras are resampled onto that camera's clock (with their offsets), swaps undone there
    the same way, triangulated without it and projected into it; a swapped detection is compared
    swapped back. (Measured on the reference timeline instead, the compared detections would be
    interpolations of two frames, with less noise than a camera's real detections.)"""
    skeleton = prepared.keypoints.skeleton
    flip = get_format(skeleton).flip_index
    errors = []
    for v, cam in enumerate(rig.names):
        if prepared.resampled:
            kp = resample_sequence(prepared.detections, prepared.offsets, fps, cam).person(0)
            if fix_swaps:
                kp, _ = fix_left_right(rig, kp, skeleton=skeleton, threshold_px=thresholds,
                                       min_views=triangulate_options.get("min_views", 2))
        else:
            kp = prepared.keypoints.person(0)
        errors.append(heldout_errors(rig, kp, flip, views=[v], threshold_px=thresholds,
                                     **triangulate_options)[:, v])
    table = np.full((max(len(e) for e in errors), len(rig), errors[0].shape[-1]), np.nan)  # (F, V, J)
    for v, e in enumerate(errors):
        table[:len(e), v] = e
    return heldout_summary(table, rig.names)
