"""MediaPipe Hands (legacy solution, models inside the mediapipe 0.10.21 wheel): up to two hands
per image, 21 keypoints each (OpenPose hand order, the same as hand21).

MediaPipe labels handedness as if the image were mirrored (a selfie); the label is flipped here
so that ``"R"`` means the subject's right hand in an ordinary camera image. The label is only a
hint: :mod:`mvmocap.detect.handedness` decides left and right across views and frames. Each
keypoint's confidence is the hand's detection score (MediaPipe gives no per-landmark score for
hands), so confidences vary by hand and frame rather than being all 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HandDetection", "MediaPipeHands"]


@dataclass
class HandDetection:
    """One detected hand: keypoints (21, 3) pixels and confidence, label ``"L"``/``"R"``, score."""

    keypoints: np.ndarray
    label: str
    score: float


class MediaPipeHands:
    """``detector(frame_rgb, index) -> list[HandDetection]`` (0, 1 or 2 hands); ``index`` (the
    frame number) is not needed. Video mode (tracking) unless ``static_image_mode``."""

    def __init__(self, max_hands: int = 2, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, static_image_mode: bool = False):
        try:
            from mediapipe.python.solutions import hands
        except ImportError as err:
            raise ImportError("hand detection needs mediapipe 0.10.21: pip install --no-deps mediapipe==0.10.21 "
                              "(make install does this)") from err
        self._hands = hands.Hands(static_image_mode=static_image_mode, max_num_hands=max_hands,
                                  model_complexity=model_complexity,
                                  min_detection_confidence=min_detection_confidence,
                                  min_tracking_confidence=min_tracking_confidence)

    def __call__(self, frame_rgb: np.ndarray, index: int | None = None) -> list[HandDetection]:
        h, w = frame_rgb.shape[:2]
        result = self._hands.process(np.ascontiguousarray(frame_rgb))
        if not result.multi_hand_landmarks:
            return []
        out = []
        for landmarks, handedness in zip(result.multi_hand_landmarks, result.multi_handedness, strict=True):
            best = handedness.classification[0]
            score = float(best.score)
            kp = np.array([[p.x * w - 0.5, p.y * h - 0.5, score] for p in landmarks.landmark])
            out.append(HandDetection(kp, "L" if best.label == "Right" else "R", score))  # un-mirror the label
        return out

    def close(self) -> None:
        self._hands.close()
