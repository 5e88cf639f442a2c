"""The body detectors behind one ``detect`` section of an experiment file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mvmocap.utils import InputError

__all__ = ["BODY_BACKENDS", "body_detector_factory"]

BODY_BACKENDS = {
    # backend: the keys it reads (besides 'backend')
    "blazepose": ("max_people", "detect_every", "min_detection_confidence", "min_tracking_confidence", "threads"),
    "mediapipe-legacy": ("model_complexity", "min_detection_confidence", "min_tracking_confidence"),
    "rtmlib": ("det", "pose", "det_input_size", "pose_input_size", "min_detection_confidence"),
}


def body_detector_factory(settings: dict, where: str = "detect") -> Callable:
    """``settings`` (the experiment's ``detect`` mapping) -> a function making a fresh detector
    ``detector(rgb, frame_index)``. Checked now, before any frame is read: an unknown backend, or a
    key the backend does not read, is an error naming ``where``."""
    backend = settings.get("backend", "blazepose")
    if backend not in BODY_BACKENDS:
        raise InputError(f"{where}.backend: must be one of {sorted(BODY_BACKENDS)}, got {backend!r}")
    options = {k: v for k, v in settings.items() if k != "backend"}
    unused = sorted(set(options) - set(BODY_BACKENDS[backend]))
    if unused:
        raise InputError(f"{where}: {unused} are not read by backend {backend!r} (it reads "
                         f"{list(BODY_BACKENDS[backend])}); remove them")
    for key in ("min_detection_confidence", "min_tracking_confidence"):
        value = options.get(key, 0.5)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise InputError(f"{where}.{key}: must be a number in [0, 1], got {value!r}")
    if backend == "rtmlib":
        for key, what in (("det", "YOLOX person detector"), ("pose", "RTMPose / RTMW / DWPose")):
            if not isinstance(options.get(key), str) or not Path(options[key]).expanduser().is_file():
                raise InputError(f"{where}.{key}: needs the path of your {what} ONNX file, got "
                                 f"{options.get(key)!r} (not an existing file); mvmocap never downloads weights "
                                 "(rtmlib keeps the ones it fetched in ~/.cache/rtmlib/hub/checkpoints)")
            options[key] = str(Path(options[key]).expanduser())
        for key in ("det_input_size", "pose_input_size"):
            value = options.get(key, [640, 640])
            if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and v > 0
                                                                                for v in value)):
                raise InputError(f"{where}.{key}: must be [width, height] in pixels, got {value!r}")
        from mvmocap.detect.rtmlib_pose import RTMLibPose

        return lambda: RTMLibPose(**options)
    if backend == "mediapipe-legacy":
        if options.get("model_complexity", 1) not in (0, 1):
            raise InputError(f"{where}.model_complexity: must be 0 (lite) or 1 (full), the models inside the "
                             f"mediapipe 0.10.21 wheel; got {options['model_complexity']!r}")
        from mvmocap.detect.mediapipe_pose import MediaPipePose

        return lambda: MediaPipePose(**options)
    for key in ("max_people", "detect_every", "threads"):
        value = options.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{where}.{key}: must be a whole number >= 1, got {value!r}")
    from mvmocap.detect.blazepose import BlazePoseMulti, blazepose_model_paths

    blazepose_model_paths()  # the models are there (a clear error now rather than after other work)
    return lambda: BlazePoseMulti(**options)
