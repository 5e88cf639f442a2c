"""The detectors' settings: the ``detect`` (and ``detect_hands``) sections of an experiment file.

One frozen dataclass per detector; its defaults are the only ones (the packaged experiment files
hold only what an experiment changes, ``mvmocap settings --exp NAME`` prints every key). A body
``detect`` section names its ``backend`` (default ``blazepose``) and holds that backend's keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from mvmocap.settings import require_at_least_one, require_positive, settings_from
from mvmocap.utils import InputError

__all__ = ["BODY_BACKENDS", "BlazePoseSettings", "BodyDetectSettings", "HandCropSettings", "HandsSettings",
           "LegacyPoseSettings", "RtmlibSettings", "detect_settings_from"]


def _check_confidences(settings) -> None:
    for key in ("min_detection_confidence", "min_tracking_confidence"):
        value = getattr(settings, key, 0.5)
        if not 0 <= value <= 1:
            raise ValueError(f"{key}: must be a number in [0, 1], got {value!r}")


def _check_complexity(settings) -> None:
    if settings.model_complexity not in (0, 1):
        raise ValueError(f"model_complexity: must be 0 (lite) or 1 (full), the models inside the mediapipe "
                         f"0.10.21 wheel; got {settings.model_complexity!r}")


@dataclass(frozen=True)
class BlazePoseSettings:
    """``backend: blazepose``: several people per view, the mediapipe wheel's BlazePose models through LiteRT.

    max_people: people followed per view
    detect_every: a person detection round every N frames while fewer than max_people are followed
        (every frame while nobody is)
    search_squares: the small squares (half the frame's shorter side) a round searches besides one
        of the three whole-frame squares, each in turn from round to round (0: all small squares every
        round; a 1080 x 1920 frame has 15)
    threads: LiteRT threads per network (2: 18.6 -> 11.8 ms a frame on 2 cores)
    min_detection_confidence: person detections below this score are ignored
    min_tracking_confidence: a followed person whose presence score falls below this is dropped
    """

    BACKEND: ClassVar[str] = "blazepose"
    max_people: int = 4
    detect_every: int = 5
    search_squares: int = 3
    threads: int = 2
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        require_at_least_one(self, "max_people", "detect_every", "threads")
        if self.search_squares < 0:
            raise ValueError(f"search_squares: must be a whole number >= 0 (0: every square each round), "
                             f"got {self.search_squares!r}")
        _check_confidences(self)

    REVISION: ClassVar[int] = 4  # raised when mvmocap's own detection code changes its results

    def identity(self) -> dict:
        """What the detections depend on (the detection cache's key): the settings and the
        revision of the code, not ``threads`` (LiteRT gives the same bits with any number)."""
        return {"backend": self.BACKEND, "revision": self.REVISION,
                **{k: v for k, v in asdict(self).items() if k != "threads"}}


@dataclass(frozen=True)
class LegacyPoseSettings:
    """``backend: mediapipe-legacy``: MediaPipe's Pose solution, one person per view.

    model_complexity: 0 lite, 1 full (the models inside the mediapipe 0.10.21 wheel)
    min_detection_confidence: MediaPipe's person detection threshold
    min_tracking_confidence: below this MediaPipe detects the person again
    """

    BACKEND: ClassVar[str] = "mediapipe-legacy"
    model_complexity: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        _check_complexity(self)
        _check_confidences(self)

    def identity(self) -> dict:
        return {"backend": self.BACKEND, **asdict(self)}


@dataclass(frozen=True)
class RtmlibSettings:
    """``backend: rtmlib``: RTMPose / RTMW / DWPose through rtmlib and onnxruntime, your ONNX files.

    det: path of the YOLOX person detector ONNX file (mvmocap never downloads weights)
    pose: path of the RTMPose / RTMW / DWPose ONNX file (Halpe26 or COCO-WholeBody 133 keypoints)
    det_input_size: [width, height] of the person detector's input, pixels
    pose_input_size: [width, height] of the pose model's input, pixels
    min_detection_confidence: person detections below this score are ignored
    """

    BACKEND: ClassVar[str] = "rtmlib"
    det: str | None = None
    pose: str | None = None
    det_input_size: tuple[int, int] = (640, 640)
    pose_input_size: tuple[int, int] = (192, 256)
    min_detection_confidence: float = 0.5

    def __post_init__(self) -> None:
        for key in ("det_input_size", "pose_input_size"):
            value = tuple(getattr(self, key))
            if len(value) != 2 or min(value) < 1:
                raise ValueError(f"{key}: must be [width, height] in pixels, got {list(value)!r}")
            object.__setattr__(self, key, value)
        _check_confidences(self)

    def identity(self) -> dict:
        return {"backend": self.BACKEND, **asdict(self)}


BodyDetectSettings = BlazePoseSettings | LegacyPoseSettings | RtmlibSettings
BODY_BACKENDS: dict[str, type] = {cls.BACKEND: cls for cls in (BlazePoseSettings, LegacyPoseSettings, RtmlibSettings)}


def detect_settings_from(values: dict | None, where: str = "detect") -> BodyDetectSettings:
    """A body ``detect`` section (``backend`` plus that backend's keys) as its settings; an unknown
    backend, or a key the backend does not read, is an error naming ``where``."""
    if values is not None and not isinstance(values, dict):
        raise InputError(f"{where}: must hold 'key: value' lines, got {values!r}")
    values = dict(values or {})
    backend = values.pop("backend", BlazePoseSettings.BACKEND)
    if backend not in BODY_BACKENDS:
        raise InputError(f"{where}.backend: must be one of {sorted(BODY_BACKENDS)}, got {backend!r}")
    cls = BODY_BACKENDS[backend]
    reads = list(cls.__dataclass_fields__)
    unused = sorted(set(values) - set(reads))
    if unused:
        raise InputError(f"{where}: {unused} are not read by backend {backend!r} (it reads {reads}); remove them")
    return settings_from(cls, values, where)


@dataclass(frozen=True)
class HandsSettings:
    """MediaPipe Hands (legacy solution) over whole frames, video mode per camera.

    max_hands: hands followed per view
    model_complexity: 0 lite, 1 full
    min_detection_confidence: MediaPipe's palm detection threshold
    min_tracking_confidence: below this MediaPipe detects the hands again
    """

    max_hands: int = 2
    model_complexity: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        require_at_least_one(self, "max_hands")
        _check_complexity(self)
        _check_confidences(self)


@dataclass(frozen=True)
class HandCropSettings:
    """MediaPipe Hands beside a body detector; each hand goes to the nearest body wrist of its view.

    around_wrists: on square crops about each body wrist, enlarged (false: whole frames, video mode)
    crop_px: crop size given to MediaPipe, pixels
    crop_scale: crop width over the forearm's length in the image
    model_complexity: 0 lite, 1 full
    min_detection_confidence: MediaPipe's palm detection threshold
    max_hands: hands per view (whole frames only)
    min_tracking_confidence: below this MediaPipe detects the hands again (whole frames only)
    """

    around_wrists: bool = True
    crop_px: int = 256
    crop_scale: float = 1.6
    model_complexity: int = 1
    min_detection_confidence: float = 0.5
    max_hands: int = 2
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        require_at_least_one(self, "crop_px", "max_hands")
        require_positive(self, "crop_scale")
        _check_complexity(self)
        _check_confidences(self)
