"""The cameras' time offsets estimated from everyone filmed (``--sync auto``, ``mvmocap sync``).

1. rough whole-frame offsets from everyone detected (:func:`mvmocap.sync.rough_offsets`: no
   identities needed, each frame's people paired one to one across two views);
2. everyone followed across the views in step with them (:func:`mvmocap.associate.track_people`),
   on frames paired by number, or, with cameras more than ``_OUT_OF_STEP_SECONDS`` apart (started
   by hand), on the synchronised timeline and mapped back to each camera's own frames;
3. the offsets to a fraction of a frame from all their tracks (:func:`mvmocap.sync.estimate_offsets`);
   everyone followed again, and timed again, when that moves cameras that are out of step by more
   than a frame. On a real two-person capture, the subject's tracks alone left the camera pairs
   0.3-0.8 frames uncertain and their closure 0.8-1.6 frames; everyone's, 0.05-0.4 and 0.3. With
   nobody followed long enough (a take shorter than a track), the subject's tracks time them;
4. the estimate is applied only if it does not make the held-out error (each camera predicted by
   the others, over everyone followed) worse than no offsets by more than ``_AUTO_SYNC_TOLERANCE``
   (:func:`offsets_help`): when it would, the cameras are taken as synchronised and the report and
   log say so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mvmocap.associate import (
    PeopleSettings,
    SubjectSettings,
    choose_subject,
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
    resample_sequence,
    rough_offsets,
    sample_track,
)
from mvmocap.triangulate import heldout_errors
from mvmocap.utils import thinning_stride

__all__ = ["Following", "Synchronisation", "estimate_sync", "needs_resampling", "offsets_help", "on_one_timeline",
           "sync_report"]

log = logging.getLogger(__name__)

# Cameras further apart than this (seconds) get people followed on the synchronised timeline (the
# choice on frames paired by number holds up to the benchmark's +-0.1 s; hand-started phones are
# seconds apart).
_OUT_OF_STEP_SECONDS = 0.25
# A camera's own detection is the person followed on the timeline when within this fraction of its image diagonal.
_BACK_MATCH_FRACTION = 0.03
_AUTO_SYNC_TOLERANCE = 0.02  # estimated offsets may not raise the held-out error by more than this fraction
_CHECK_FRAMES = 1200  # frames the held-out check of estimated offsets measures at most (offsets_help)


@dataclass(frozen=True)
class Synchronisation:
    """The offsets estimated now (:func:`estimate_sync`).

    Attributes:
        result: the offsets, their uncertainties and the camera pairs' estimates.
        rough_frames: camera -> whole frames, the offsets found first from everyone detected.
        people: everyone followed, each (F, V, J, 3) on the cameras' own frames (empty: nobody was
            followed long enough and the subject's tracks timed the cameras).
    """

    result: SyncResult
    rough_frames: dict[str, float]
    people: list[np.ndarray]


class Following:
    """The subject, or everyone, followed across ``seq``'s views in step with trial offsets
    (module docstring, step 2). ``candidates``: ``seq``'s (F, V, P, J, 3) people
    (:meth:`MultiViewKeypoints.candidates`, a copy made once by the caller); ``threads``: chunks of
    frames the subject's choice clusters at once (:func:`mvmocap.associate.cluster_frame_people`)."""

    def __init__(self, rig: CameraRig, seq: MultiViewKeypoints, candidates: np.ndarray, fps: float, *,
                 association: SubjectSettings | None = None, people: PeopleSettings | None = None, threads: int = 1):
        self.rig, self.seq, self.candidates, self.fps = rig, seq, candidates, fps
        self.association, self.people, self.threads = association, people, threads

    def subject(self, offsets: dict[str, float], reference: str) -> tuple[np.ndarray, dict]:
        """The subject's (F, V, J, 3) detections on each camera's own frames and the choice's report."""
        def choose(candidates: np.ndarray) -> tuple[list[np.ndarray], dict]:
            choice = choose_subject(self.rig, candidates, skeleton=self.seq.skeleton, fps=self.fps,
                                    settings=self.association, threads=self.threads)
            r = choice.report
            log.info("subject: %d of %d view-frames with detections assigned (%d detections dropped, up to %d "
                     "people per view)", r["view_frames_assigned"], r["view_frames_with_detections"],
                     r["detections_dropped"], r["max_people_per_view"])
            return [choice.keypoints2d], r

        found, report = self._in_step(choose, offsets, reference)
        return found[0], report

    def everyone(self, offsets: dict[str, float], reference: str) -> list[np.ndarray]:
        """Everyone followed long enough to keep (:class:`PeopleSettings`), each (F, V, J, 3)."""
        def track(candidates: np.ndarray) -> tuple[list[np.ndarray], dict]:
            people = track_people(self.rig, candidates, skeleton=self.seq.skeleton, fps=self.fps,
                                  association=self.association, settings=self.people)
            return [people.keypoints2d[pid] for pid in people.ids], people.report

        return self._in_step(track, offsets, reference)[0]

    def _in_step(self, find: Callable[[np.ndarray], tuple[list[np.ndarray], dict]], offsets: dict[str, float],
                 reference: str) -> tuple[list[np.ndarray], dict]:
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


def estimate_sync(following: Following, *, settings: SyncSettings | None = None) -> Synchronisation:
    """Every camera's offset from everyone ``following`` follows (module docstring, steps 1-3)."""
    rig, seq, fps = following.rig, following.seq, following.fps
    times = [frame_times(seq.frames, fps, seq.times.get(cam)) for cam in seq.cameras]
    packed = packed_candidates(following.candidates)[0]  # each view-frame's people in its first slots
    rough = rough_offsets(rig, [packed[:, v] for v in range(len(rig))], times, settings=settings,
                          skeleton=seq.skeleton)
    rough_s = dict(zip(seq.cameras, rough.tolist(), strict=True))

    def timed(offsets: dict[str, float], reference: str) -> tuple[SyncResult, list[np.ndarray]]:
        people = following.everyone(offsets, reference)
        tracks = people or [following.subject(offsets, reference)[0]]
        stacked = np.stack(tracks, axis=2)  # (F, V, P, J, 3)
        return estimate_offsets(rig, [stacked[:, v] for v in range(len(rig))], times, settings=settings,
                                skeleton=seq.skeleton), people

    result, people = timed(rough_s, seq.cameras[0])
    if _out_of_step(result.offsets) and max(abs(result.offsets[c] - rough_s[c]) for c in seq.cameras) > 1 / fps:
        result, people = timed(result.offsets, result.reference)
    log.info("sync: timed on %s", f"{len(people)} people's tracks" if people else "the subject's tracks")
    return Synchronisation(result, {cam: round(o * fps, 3) for cam, o in rough_s.items()}, people)


def sync_report(sync: Synchronisation, written: Path, fps: float) -> dict:
    """``report.json``'s ``sync`` of offsets estimated now and written to ``written``."""
    result = sync.result
    return {"source": str(written), "reference": result.reference, "rough_offsets_frames": sync.rough_frames,
            "people_timed": len(sync.people),
            "cameras": {n: asdict(c) for n, c in result.cameras.items()},
            "pairs": [asdict(p) for p in result.pairs],
            "largest_closure_frames": round(result.largest_closure * fps, 3) if result.closures else None}


def offsets_help(rig: CameraRig, people: MultiViewKeypoints, offsets: dict[str, float], *, fps: float,
                 reference: str, thresholds: np.ndarray, report: dict) -> bool:
    """Whether the estimated ``offsets`` keep the held-out error of ``people`` (on each camera's own
    frames; the median over every person's, camera's and joint's, each camera predicted by the
    others) within ``_AUTO_SYNC_TOLERANCE`` of the error without offsets; both figures go into
    the sync ``report``, and ``report["applied"]`` is False when they would not. Both are measured
    on every k-th frame, ``_CHECK_FRAMES`` at most (a median: a long capture needs no more)."""
    if len(rig) < 3 or not any(offsets.values()):
        return True
    flip = get_format(people.skeleton).flip_index
    stride = thinning_stride(len(people.frames), _CHECK_FRAMES)
    figures = {}
    for name, trial in (("with_offsets", offsets), ("without", {cam: 0.0 for cam in offsets})):
        line = on_one_timeline(people, trial, fps, reference)[0]
        errors = np.concatenate([heldout_errors(rig, line.person(pid)[::stride], flip, threshold_px=thresholds).ravel()
                                 for pid in line.people])
        figures[name] = float(np.nanmedian(errors)) if np.isfinite(errors).any() else float("inf")
    report["heldout_px"] = {k: round(v, 3) for k, v in figures.items()}
    if figures["with_offsets"] <= (1 + _AUTO_SYNC_TOLERANCE) * figures["without"]:
        return True
    report["applied"] = False
    log.warning("sync: the estimated offsets would make the held-out error worse (%.2f px against %.2f px without "
                "them); the cameras are taken as synchronised", figures["with_offsets"], figures["without"])
    return False


def needs_resampling(seq: MultiViewKeypoints, offsets: dict[str, float], fps: float) -> bool:
    """Whether ``seq`` must be resampled onto one timeline: a camera is offset, or a frame's
    timestamp is more than 1 ms from frame number / fps (a variable frame rate)."""
    nominal = np.asarray(seq.frames, dtype=np.float64) / fps
    irregular = any(np.nanmax(np.abs(t - nominal), initial=0.0) > 1e-3 for t in seq.times.values())
    return irregular or any(o != 0 for o in offsets.values())


def on_one_timeline(seq: MultiViewKeypoints, offsets: dict[str, float], fps: float,
                    reference: str) -> tuple[MultiViewKeypoints, bool]:
    """``seq`` on the reference camera's timeline with ``offsets``, and whether it was resampled."""
    resampled = needs_resampling(seq, offsets, fps)
    return (resample_sequence(seq, offsets, fps, reference) if resampled else seq), resampled


def _out_of_step(offsets: dict[str, float]) -> bool:
    """Whether cameras are so far apart that following people on frames paired by number compared
    other moments: some two cameras more than :data:`_OUT_OF_STEP_SECONDS` apart."""
    values = list(offsets.values())
    return bool(values) and max(values) - min(values) > _OUT_OF_STEP_SECONDS


def _on_own_clocks(rig: CameraRig, seq: MultiViewKeypoints, candidates: np.ndarray, chosen: np.ndarray,
                   timeline: MultiViewKeypoints, offsets: dict[str, float], fps: float, reference: str) -> np.ndarray:
    """(F, V, J, 3) on each camera's own frames: the detection (of ``candidates``, ``seq``'s (F, V, P,
    J, 3) people) nearest the person ``chosen`` (F_t, V, J, 3) on the reference ``timeline``, read
    at that frame's reference time; none where no detection lies within :data:`_BACK_MATCH_FRACTION`
    of the image diagonal (mirror-aware median distance) or the chosen person is missing there."""
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
