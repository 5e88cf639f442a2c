"""Camera time offsets from 2D tracks and the calibration; tracks resampled onto one timeline and
smoothed over time."""

from mvmocap.sync.crowd import rough_offsets
from mvmocap.sync.estimate import (
    TIMING_JOINTS,
    CameraOffset,
    PairEstimate,
    SyncError,
    SyncResult,
    SyncSettings,
    estimate_offsets,
)
from mvmocap.sync.resample import frame_times, nearest_frames, sample_track, smooth_track
from mvmocap.sync.smoothing import SmoothSettings, smooth_detections
from mvmocap.sync.timeline import read_sync_file, resample_sequence, sync_file_offsets, write_sync_file

__all__ = [
    "TIMING_JOINTS",
    "CameraOffset",
    "PairEstimate",
    "SmoothSettings",
    "SyncError",
    "SyncResult",
    "SyncSettings",
    "estimate_offsets",
    "frame_times",
    "nearest_frames",
    "read_sync_file",
    "resample_sequence",
    "rough_offsets",
    "sample_track",
    "smooth_detections",
    "smooth_track",
    "sync_file_offsets",
    "write_sync_file",
]
