"""Hands found around the body's wrists: MediaPipe Hands on a square crop about each wrist of the
body detection, enlarged so that a hand a few tens of pixels wide in a body-framed video fills
the detector's input (over the whole frame such hands are mostly missed).

Crop of one side: centred at ``wrist + 0.4 (wrist - elbow)`` (the palm lies beyond the wrist,
along the forearm), ``scale * max(|wrist - elbow|, 0.6 |elbow - shoulder|)`` pixels wide (the
upper arm stands in for a forearm pointing at the camera), resampled to ``size`` pixels. Each crop
keeps the detection whose wrist is nearest the body's wrist and labels it with the crop's side;
when both crops found the same hand (hands together), the one whose body wrist is farther from it
drops it. The keypoints' confidence is MediaPipe's score for that hand.
"""

from __future__ import annotations

import cv2
import numpy as np

from mvmocap.detect.mediapipe_hands import HandDetection, MediaPipeHands
from mvmocap.skeletons import BODY25

__all__ = ["BodyGuidedHands", "hand_crop"]

_ARM = {s: tuple(BODY25.index(f"{s}{j}") for j in ("Shoulder", "Elbow", "Wrist")) for s in "LR"}
_SAME_HAND = 0.15  # two detections closer than this fraction of the crop (mean keypoint distance) are one hand


def hand_crop(body: np.ndarray, side: str, scale: float = 1.6, min_confidence: float = 0.3
              ) -> tuple[np.ndarray, float] | None:
    """Centre (2,) and width (pixels) of the square around the ``side`` (``"L"``/``"R"``) hand of
    a (25, 3) body25 detection, or None when its elbow or wrist is not confidently seen."""
    shoulder, elbow, wrist = (body[j] for j in _ARM[side])
    if min(elbow[2], wrist[2]) < min_confidence:
        return None
    forearm = wrist[:2] - elbow[:2]
    upper = np.linalg.norm(elbow[:2] - shoulder[:2]) if shoulder[2] >= min_confidence else 0.0
    width = scale * max(np.linalg.norm(forearm), 0.6 * upper)
    if width < 4.0:
        return None
    return wrist[:2] + 0.4 * forearm, float(width)


class BodyGuidedHands:
    """``detector(frame_rgb, index) -> list[HandDetection]`` from crops about the wrists of
    ``body[index]`` ((25, 3) body25 pixels; frames without an entry give no hands)."""

    def __init__(self, body: dict[int, np.ndarray], size: int = 256, scale: float = 1.6, model_complexity: int = 1,
                 min_detection_confidence: float = 0.5, min_body_confidence: float = 0.3):
        self.body = body
        self.size = size
        self.scale = scale
        self.min_body_confidence = min_body_confidence
        self._hands = MediaPipeHands(max_hands=2, model_complexity=model_complexity,
                                     min_detection_confidence=min_detection_confidence, static_image_mode=True)

    def __call__(self, frame_rgb: np.ndarray, index: int | None = None) -> list[HandDetection]:
        body = self.body.get(index)
        if body is None:
            return []
        found: dict[str, tuple[HandDetection, float, float]] = {}  # side -> (hand, wrist miss / width, width)
        for side in "LR":
            crop = hand_crop(body, side, self.scale, self.min_body_confidence)
            if crop is None:
                continue
            centre, width = crop
            k = self.size / width
            half = (self.size - 1) / 2
            to_crop = np.array([[k, 0.0, half - k * centre[0]], [0.0, k, half - k * centre[1]]])
            patch = cv2.warpAffine(np.ascontiguousarray(frame_rgb), to_crop, (self.size, self.size),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            hands = self._hands(patch)
            if not hands:
                continue
            wrist = body[_ARM[side][2], :2]
            keypoints = [np.column_stack([(h.keypoints[:, :2] - half) / k + centre, h.keypoints[:, 2]])
                         for h in hands]
            miss = [np.linalg.norm(kp[0, :2] - wrist) for kp in keypoints]
            best = int(np.argmin(miss))
            found[side] = (HandDetection(keypoints[best], side, hands[best].score), miss[best] / width, width)
        if len(found) == 2:
            (left, miss_l, width_l), (right, miss_r, width_r) = found["L"], found["R"]
            apart = np.linalg.norm(left.keypoints[:, :2] - right.keypoints[:, :2], axis=1).mean()
            if apart < _SAME_HAND * min(width_l, width_r):
                del found["L" if miss_l > miss_r else "R"]
        return [hand for hand, _, _ in found.values()]

    def close(self) -> None:
        self._hands.close()
