"""From every view's detections to the subject's 2D keypoints on one timeline, ready to triangulate.

Stages, in order (each reported in ``report.json``):

1. time offsets: ``ROOT/sync.yml`` when present (``sync: file``, the default), estimated now
   from everyone filmed (``auto``, :mod:`mvmocap.pipeline.timing`; also written to
   ``OUT/sync.yml``, and applied only if they do not make the subject's held-out error worse) or
   ignored (``none``);
2. the subject among everyone detected (:func:`mvmocap.associate.choose_subject`), on frames
   paired by number, or on the synchronised timeline when cameras are far out of step (started
   by hand) and then mapped back to each camera's own frames
   (:class:`mvmocap.pipeline.timing.Following`). The subject's tracks are then resampled onto
   the reference camera's timeline;
3. left/right swaps undone per view-frame and limb (:func:`mvmocap.associate.fix_left_right`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvmocap.associate import PeopleSettings, SubjectSettings, fix_left_right, mirror_groups
from mvmocap.camera import CameraRig
from mvmocap.io import MultiViewKeypoints
from mvmocap.pipeline.options import SyncMode
from mvmocap.pipeline.timing import (
    Following,
    Synchronisation,
    estimate_sync,
    offsets_help,
    on_one_timeline,
    sync_report,
)
from mvmocap.skeletons import get_format
from mvmocap.sync import (
    SyncResult,
    SyncSettings,
    frame_times,
    nearest_frames,
    resample_sequence,
    sync_file_offsets,
    write_sync_file,
)
from mvmocap.triangulate import TriangulateSettings, heldout_errors
from mvmocap.utils import InputError

__all__ = ["PreparedKeypoints", "SyncPlan", "SynchronisedSubject", "heldout_own_timelines", "prepare_keypoints",
           "synchronised_subject"]

log = logging.getLogger(__name__)

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
        flips: (F, V, G) bool, the limb groups (:func:`mvmocap.associate.limb_groups`) of ``keypoints``
            whose left/right labels were swapped back.
    """

    keypoints: MultiViewKeypoints
    raw: np.ndarray
    offsets: dict[str, float]
    report: dict
    detections: MultiViewKeypoints
    resampled: bool
    flips: np.ndarray | None = None

    @property
    def swapped(self) -> np.ndarray | None:
        """(F, V) bool: the view-frames of ``keypoints`` with any group swapped back."""
        return None if self.flips is None else self.flips.any(-1)

    def flips_at(self, clock: MultiViewKeypoints, camera: str, fps: float) -> np.ndarray | None:
        """(F, V, G) ``flips`` carried to ``clock`` (the detections resampled onto ``camera``'s own
        frame times): each of its frames takes the swaps of the timeline's frame nearest it in time
        (None without flips)."""
        if self.flips is None:
            return None
        reference = next(iter(self.keypoints.times), self.keypoints.cameras[0])
        timeline = frame_times(self.keypoints.frames, fps, self.keypoints.times.get(reference))
        timeline = timeline + self.offsets.get(reference, 0.0)
        own = frame_times(clock.frames, fps, clock.times.get(camera)) + self.offsets.get(camera, 0.0)
        if not len(self.flips):
            return np.zeros((len(own),) + self.flips.shape[1:], bool)
        return self.flips[nearest_frames(timeline, own)]


@dataclass(frozen=True)
class SynchronisedSubject:
    """The subject and the offsets (:func:`synchronised_subject`).

    Attributes:
        keypoints2d: (F, V, J, 3) the subject's detections on each camera's own frames.
        subject_report: the subject choice's account (``report.json``'s ``subject``).
        sync: the offsets estimated from everyone followed across the views.
    """

    keypoints2d: np.ndarray
    subject_report: dict
    sync: Synchronisation

    @property
    def result(self) -> SyncResult:
        return self.sync.result


def synchronised_subject(rig: CameraRig, seq: MultiViewKeypoints, *, fps: float,
                         sync_settings: SyncSettings | None = None,
                         subject_settings: SubjectSettings | None = None,
                         people_settings: PeopleSettings | None = None, threads: int = 1) -> SynchronisedSubject:
    """The offsets from everyone (:func:`mvmocap.pipeline.timing.estimate_sync`), then the subject
    chosen in step with them (``threads`` as :class:`~mvmocap.pipeline.timing.Following`'s)."""
    following = Following(rig, seq, seq.candidates(), fps, association=subject_settings, people=people_settings,
                          threads=threads)
    sync = estimate_sync(following, settings=sync_settings)
    raw, subject_report = following.subject(sync.result.offsets, sync.result.reference)
    return SynchronisedSubject(raw, subject_report, sync)


@dataclass(frozen=True)
class SyncPlan:
    """How a run times its cameras: ``mode`` (:class:`SyncMode`), the ``sync.yml`` that ``file``
    reads (None: none is read) and the experiment's sync ``settings`` for ``auto``."""

    mode: SyncMode = SyncMode.FILE
    file: Path | None = None
    settings: SyncSettings | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mode", SyncMode(self.mode))
        except ValueError:
            raise InputError(f"--sync must be one of {[m.value for m in SyncMode]}, got {self.mode!r}") from None


_NO_FILE, _TRIANGULATE = SyncPlan(), TriangulateSettings()  # the defaults: no sync.yml, the usual thresholds


def prepare_keypoints(rig: CameraRig, seq: MultiViewKeypoints, *, fps: float, out: Path, sync: SyncPlan = _NO_FILE,
                      triangulation: TriangulateSettings = _TRIANGULATE,
                      subject_settings: SubjectSettings | None = None, threads: int = 1) -> PreparedKeypoints:
    """Run the stages of the module docstring on ``seq`` (cameras in ``rig`` order), timed as
    ``sync`` says (``auto`` writes ``out/sync.yml``), left/right fixed and inliers judged as
    ``triangulation`` says; the subject chosen ``threads`` chunks of frames at a time (the same
    choice with any number)."""
    thresholds, fix_swaps = triangulation.thresholds(rig), triangulation.fix_left_right
    sync_settings, sync_file = sync.settings, sync.file
    report: dict = {}
    offsets = {cam: 0.0 for cam in seq.cameras}
    reference = seq.cameras[0]
    if sync.mode == SyncMode.AUTO:
        synced = synchronised_subject(rig, seq, fps=fps, sync_settings=sync_settings,
                                      subject_settings=subject_settings, threads=threads)
        raw, report["subject"] = synced.keypoints2d, synced.subject_report
        offsets, reference = synced.result.offsets, synced.result.reference
        written = write_sync_file(out / "sync.yml", synced.result)
        report["sync"] = sync_report(synced.sync, written, fps)
        log.info("sync: offsets %s (frames at %.2f fps), written to %s",
                 ", ".join(f"{n} {o * fps:+.2f}" for n, o in offsets.items()), fps, written)
    else:
        if sync.mode == SyncMode.FILE and sync_file is not None and sync_file.is_file():
            offsets, reference = sync_file_offsets(sync_file, seq.cameras)
            report["sync"] = {"source": str(sync_file), "reference": reference, "offsets": offsets}
        else:
            report["sync"] = {"source": None}
        raw, report["subject"] = Following(rig, seq, seq.candidates(), fps, association=subject_settings,
                                           threads=threads).subject(offsets, reference)
    subject = MultiViewKeypoints(seq.cameras, seq.frames, {0: raw}, seq.skeleton, seq.times)
    if sync.mode == SyncMode.AUTO and not offsets_help(rig, subject, offsets, fps=fps, reference=reference,
                                                       thresholds=thresholds, report=report["sync"]):
        offsets = {cam: 0.0 for cam in seq.cameras}
    timeline, resampled = on_one_timeline(subject, offsets, fps, reference)

    kp = timeline.person(0)
    flips = np.zeros(kp.shape[:2] + (0,), bool)
    if fix_swaps:
        kp, flips = fix_left_right(rig, kp, skeleton=seq.skeleton, threshold_px=thresholds,
                                   min_views=triangulation.min_views)
        report["left_right"] = {"view_frames_fixed": int(flips.any(-1).sum()),
                                "per_camera": {cam: int(flips[:, v].any(-1).sum()) for v, cam in enumerate(rig.names)}}
        if flips.any():
            log.info("left/right: labels swapped back in %d view-frames", int(flips.any(-1).sum()))
    prepared = MultiViewKeypoints(timeline.cameras, timeline.frames, {0: kp}, timeline.skeleton, timeline.times)
    return PreparedKeypoints(prepared, raw, offsets, report, subject, resampled, flips)


def heldout_own_timelines(rig: CameraRig, prepared: PreparedKeypoints, *, fps: float, thresholds: np.ndarray,
                          fix_swaps: bool = True, **triangulate_options) -> np.ndarray:
    """The held-out error of each camera against its *own* detections at its own frame times: the
    other cameras are resampled onto that camera's clock (with their offsets), the swaps found on the
    timeline undone there (each frame those of the timeline's frame nearest it: finding them again
    on every camera's clock cost every camera a left/right search over all the others, cubic in the
    cameras), triangulated without it and projected into it; a swapped detection is compared
    swapped back. (Measured on the reference timeline instead, the compared detections would be
    interpolations of two frames, with less noise than a camera's real detections.) Returns the
    (F, V, J) errors in pixels, NaN where either is missing; row ``k`` of camera ``v``: its own
    ``k``-th frame; :func:`mvmocap.triangulate.heldout_summary` sums them up. Cost: one
    triangulation of the other cameras per camera, linear in the frames."""
    skeleton = prepared.keypoints.skeleton
    flip = get_format(skeleton).flip_index
    errors = []
    for v, cam in enumerate(rig.names):
        if prepared.resampled:
            own = resample_sequence(prepared.detections, prepared.offsets, fps, cam)
            kp = own.person(0)
            flips = prepared.flips_at(own, cam, fps) if fix_swaps else None
            if flips is not None:
                kp = mirror_groups(kp, flips, skeleton=skeleton)
        else:
            kp = prepared.keypoints.person(0)
        errors.append(heldout_errors(rig, kp, flip, views=[v], threshold_px=thresholds,
                                     **triangulate_options)[:, v])
    table = np.full((max(len(e) for e in errors), len(rig), errors[0].shape[-1]), np.nan)  # (F, V, J)
    for v, e in enumerate(errors):
        table[:len(e), v] = e
    return table
