"""The body detectors behind one ``detect`` section of an experiment file."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from mvmocap.detect.settings import (
    BODY_BACKENDS,
    BlazePoseSettings,
    BodyDetectSettings,
    LegacyPoseSettings,
    RtmlibSettings,
    detect_settings_from,
)
from mvmocap.utils import InputError

__all__ = ["BODY_BACKENDS", "body_detector_factory"]


def body_detector_factory(settings: BodyDetectSettings | dict, where: str = "detect", *,
                          threads: int | None = None) -> Callable:
    """``settings`` (typed, or the experiment's ``detect`` mapping) -> a function making a fresh
    detector ``detector(rgb, frame_index)`` (a picklable ``functools.partial``: worker processes
    can make their own). Checked now, before any frame is read: an unknown backend, a key the
    backend does not read, a value out of range or a missing model file is an error naming
    ``where``. ``threads`` overrides BlazePose's LiteRT threads (its results do not depend on them)."""
    if isinstance(settings, dict):
        settings = detect_settings_from(settings, where)
    if isinstance(settings, RtmlibSettings):
        paths = {}
        for key, what in (("det", "YOLOX person detector"), ("pose", "RTMPose / RTMW / DWPose")):
            given = getattr(settings, key)
            if given is None or not Path(given).expanduser().is_file():
                raise InputError(f"{where}.{key}: needs the path of your {what} ONNX file, got {given!r} (not an "
                                 "existing file); mvmocap never downloads weights (rtmlib keeps the ones it "
                                 "fetched in ~/.cache/rtmlib/hub/checkpoints)")
            paths[key] = str(Path(given).expanduser())
        from mvmocap.detect.rtmlib_pose import RTMLibPose

        return partial(RTMLibPose, **paths, det_input_size=settings.det_input_size,
                       pose_input_size=settings.pose_input_size,
                       min_detection_confidence=settings.min_detection_confidence)
    if isinstance(settings, LegacyPoseSettings):
        from mvmocap.detect.mediapipe_pose import MediaPipePose

        return partial(MediaPipePose, model_complexity=settings.model_complexity,
                       min_detection_confidence=settings.min_detection_confidence,
                       min_tracking_confidence=settings.min_tracking_confidence)
    if not isinstance(settings, BlazePoseSettings):
        raise TypeError(f"not body detector settings: {settings!r}")
    from mvmocap.detect.blazepose import BlazePoseMulti, blazepose_model_paths

    blazepose_model_paths()  # the models are there (a clear error now rather than after other work)
    return partial(BlazePoseMulti, max_people=settings.max_people, detect_every=settings.detect_every,
                   search_squares=settings.search_squares, threads=threads or settings.threads,
                   min_detection_confidence=settings.min_detection_confidence,
                   min_tracking_confidence=settings.min_tracking_confidence)
