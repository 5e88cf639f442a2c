"""MediaPipe Pose (the legacy BlazePose solution, models inside the mediapipe 0.10.21 wheel).

Runs in video mode (tracking between frames) and returns body25 keypoints in pixels: BlazePose's
33 landmarks converted by the ``skeletons`` rules (Neck and MidHip the means of shoulders and
hips with the lower confidence; big toes from the foot-index points; small toes missing). The
confidence of each landmark is MediaPipe's visibility score.
"""

from __future__ import annotations

import numpy as np

from mvmocap.skeletons import convert_keypoints

__all__ = ["MediaPipePose"]


class MediaPipePose:
    """``detector(frame_rgb, index) -> (25, 3)`` body25 keypoints (zeros when nobody is found);
    ``index`` (the frame number) is not needed."""

    def __init__(self, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5):
        try:
            from mediapipe.python.solutions import pose
        except ImportError as err:
            raise ImportError("detection needs mediapipe 0.10.21 (the last release shipping the Pose models): "
                              "pip install --no-deps mediapipe==0.10.21 (make install does this)") from err
        self._pose = pose.Pose(static_image_mode=False, model_complexity=model_complexity,
                               min_detection_confidence=min_detection_confidence,
                               min_tracking_confidence=min_tracking_confidence)

    def __call__(self, frame_rgb: np.ndarray, index: int | None = None) -> np.ndarray:
        h, w = frame_rgb.shape[:2]
        result = self._pose.process(np.ascontiguousarray(frame_rgb))
        if result.pose_landmarks is None:
            return np.zeros((25, 3))
        lm = np.array([[p.x * w - 0.5, p.y * h - 0.5, p.visibility] for p in result.pose_landmarks.landmark])
        return convert_keypoints(lm, "blazepose33", "body25")

    def close(self) -> None:
        self._pose.close()
