"""2D detectors behind one call signature (``detector(rgb, frame_index)``) and the detection cache."""

from mvmocap.detect.backends import BODY_BACKENDS, body_detector_factory
from mvmocap.detect.blazepose import BlazePoseMulti
from mvmocap.detect.cache import (
    MARKER,
    TRACKER,
    detect_camera,
    detect_camera_in_worker,
    load_hands,
    save_body,
    save_hands,
    undecodable_frames,
)
from mvmocap.detect.hand_crops import BodyGuidedHands
from mvmocap.detect.mediapipe_hands import HandDetection, MediaPipeHands
from mvmocap.detect.mediapipe_pose import MediaPipePose
from mvmocap.detect.settings import (
    BlazePoseSettings,
    BodyDetectSettings,
    HandCropSettings,
    HandsSettings,
    LegacyPoseSettings,
    RtmlibSettings,
    detect_settings_from,
)

__all__ = [
    "undecodable_frames",
    "BODY_BACKENDS",
    "BlazePoseMulti",
    "BlazePoseSettings",
    "BodyDetectSettings",
    "HandCropSettings",
    "HandsSettings",
    "LegacyPoseSettings",
    "RtmlibSettings",
    "detect_settings_from",
    "BodyGuidedHands",
    "MARKER",
    "TRACKER",
    "HandDetection",
    "MediaPipeHands",
    "MediaPipePose",
    "body_detector_factory",
    "detect_camera",
    "detect_camera_in_worker",
    "load_hands",
    "save_body",
    "save_hands",
]
