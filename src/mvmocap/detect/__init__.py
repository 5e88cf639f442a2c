"""2D detectors behind one call signature (``detector(rgb, frame_index)``) and the detection cache."""

from mvmocap.detect.cache import MARKER, detect_camera, load_hands, save_body, save_hands
from mvmocap.detect.hand_crops import BodyGuidedHands
from mvmocap.detect.handedness import assign_hands
from mvmocap.detect.mediapipe_hands import HandDetection, MediaPipeHands
from mvmocap.detect.mediapipe_pose import MediaPipePose

__all__ = [
    "BodyGuidedHands",
    "MARKER",
    "HandDetection",
    "MediaPipeHands",
    "MediaPipePose",
    "assign_hands",
    "detect_camera",
    "load_hands",
    "save_body",
    "save_hands",
]
