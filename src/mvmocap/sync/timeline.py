"""Put every camera's 2D keypoints on the reference camera's timeline (see
:mod:`mvmocap.sync.resample` for the offset convention), and read and write ``sync.yml``.

``ROOT/sync.yml``::

    # written by mvmocap sync; a hand-written file needs only the offsets
    method: epipolar pairs, joint timeline
    reference: cam1
    cameras:   # uncertainty: the offset's standard deviation, seconds
      cam1: {offset: 0.0, status: reference}
      cam2: {offset: 0.0412, status: estimated, uncertainty: 0.0021, residual_px: 2.1, residual_px_at_zero: 7.9}
      cam3: {offset: -0.0150, status: estimated, uncertainty: 0.0018, residual_px: 2.4, residual_px_at_zero: 5.2}
    pairs:     # each pair's own estimate of offset(first) - offset(second), its sigma and its weight
      cam2-cam1: {offset: 0.0409, sigma: 0.0024, weight: 0.99}
      ...
    closure_seconds:   # (cam2 - cam1) + (cam3 - cam2) - (cam3 - cam1): 0 when the pairs agree
      cam1-cam2-cam3: 0.0006

A hand-written file may give plain numbers: ``cameras: {cam2: 0.0412}``; cameras it leaves out
have offset 0, and the reference is the first camera unless ``reference`` says otherwise.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import yaml

from mvmocap.io import DataError, MultiViewKeypoints
from mvmocap.sync.estimate import SyncResult
from mvmocap.sync.resample import frame_times, sample_track
from mvmocap.utils import atomic_write_text

__all__ = ["read_sync_file", "resample_sequence", "sync_file_offsets", "write_sync_file"]

log = logging.getLogger(__name__)


def write_sync_file(path: str | Path, result: SyncResult) -> Path:
    """Write ``result`` as ``sync.yml`` (atomically); returns the path."""
    path = Path(path)
    cameras = {}
    for name, c in result.cameras.items():
        entry = {"offset": round(c.offset, 6), "status": c.status}
        if c.status != "reference" and math.isfinite(c.uncertainty):
            entry["uncertainty"] = round(c.uncertainty, 6)
        for key in ("residual_px", "residual_px_at_zero"):
            value = getattr(c, key)
            if math.isfinite(value):
                entry[key] = round(value, 3)
        cameras[name] = entry
    doc = {"method": result.method, "reference": result.reference, "cameras": cameras}
    if result.pairs:
        doc["pairs"] = {f"{p.cameras[1]}-{p.cameras[0]}": {"offset": round(p.delta, 6), "sigma": round(p.sigma, 6),
                                                          "weight": round(p.weight, 3)} for p in result.pairs}
    if result.closures:
        doc["closure_seconds"] = {"-".join(names): round(value, 6) for names, value in result.closures}
    text = ("# mvmocap sync: each camera's time offset in seconds (its own clock + offset = the reference's)\n"
            + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None))
    atomic_write_text(path, text)
    return path


def read_sync_file(path: str | Path) -> tuple[dict[str, float], str | None]:
    """``sync.yml`` -> ({camera: offset seconds}, reference camera or None)."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise DataError(path, f"not a readable YAML file ({err}); fix it or delete it and run mvmocap sync") from None
    cameras = doc.get("cameras") if isinstance(doc, dict) else None
    if not isinstance(cameras, dict):
        raise DataError(path, "expected a 'cameras' mapping of camera name -> offset in seconds")
    offsets = {}
    for name, entry in cameras.items():
        value = entry.get("offset") if isinstance(entry, dict) else entry
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DataError(path, f"cameras.{name}: offset must be a number of seconds, got {value!r}")
        offsets[str(name)] = float(value)
    reference = doc.get("reference")
    return offsets, (str(reference) if reference is not None else None)


def sync_file_offsets(sync_file: str | Path, cameras: list[str]) -> tuple[dict[str, float], str]:
    """The offsets of ``sync_file`` for ``cameras`` (0 for a camera it lacks; a camera not used
    here is ignored with a warning) and the reference camera (the first of ``cameras`` when the
    file's is not among them)."""
    given, reference = read_sync_file(sync_file)
    unknown = sorted(set(given) - set(cameras))
    if unknown:
        log.warning("%s: cameras %s are not used in this run; ignored", sync_file, unknown)
    offsets = {cam: float(given.get(cam, 0.0)) for cam in cameras}
    return offsets, reference if reference in cameras else cameras[0]


def resample_sequence(seq: MultiViewKeypoints, offsets: dict[str, float], fps: float,
                      reference: str | None = None) -> MultiViewKeypoints:
    """Every camera of ``seq`` read at the reference camera's frame times.

    Each camera's times are its timestamps (``seq.times``) where known, else frame number / fps
    (image folders: give them the reference's frame rate). The result has the reference camera's
    frames only (those with a timestamp, when it has timestamps) and its times; cameras with
    other or variable frame rates resample the same way.
    """
    reference = reference or seq.cameras[0]
    if reference not in seq.cameras:
        raise DataError(Path("sync.yml"), f"reference camera {reference!r} is not among the cameras {seq.cameras}")
    times = {cam: frame_times(seq.frames, fps, seq.times.get(cam)) for cam in seq.cameras}
    # the reference's frames: those with a timestamp when it has them (frame numbers that only a
    # faster or longer camera has are not on the timeline)
    on_timeline = np.isfinite(seq.times[reference]) if reference in seq.times else np.ones(len(seq.frames), bool)
    query = times[reference][on_timeline] + offsets.get(reference, 0.0)
    people = {}
    for pid, kp in seq.people.items():
        out = np.zeros((len(query),) + kp.shape[1:])
        for v, cam in enumerate(seq.cameras):
            mine = kp[:, v, :, 2].max(-1) > 0  # the frames this camera has
            if mine.sum() >= 2:
                out[:, v] = sample_track(kp[mine, v], times[cam][mine], query - offsets.get(cam, 0.0))
        people[pid] = out
    frames = [f for f, keep in zip(seq.frames, on_timeline, strict=True) if keep]
    return MultiViewKeypoints(seq.cameras, frames, people, seq.skeleton, {reference: times[reference][on_timeline]})
