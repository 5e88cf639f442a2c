"""RTMPose / RTMW / DWPose through ``rtmlib`` (ONNX Runtime): a stronger detector for several people.

The ONNX files are the user's (rtmlib's own cache keeps them in ``~/.cache/rtmlib/hub/checkpoints``
after a first online use; or download them from the OpenMMLab model zoo): a YOLOX person detector
(``detect.det``) and an RTMPose-family model (``detect.pose``). Nothing is ever downloaded here: a
missing file is an error that says where to put it. The pose model's keypoints are mapped to body25
by their count: 26 (Halpe26, feet included) or 133 (COCO-WholeBody: its 17 body and 6 foot points;
Neck and MidHip the means of the shoulders and hips). Scores are rtmlib's SimCC maxima, clipped to
[0, 1]. Person ids are the detection order of the frame (not tracks): association across views and
over time is :mod:`mvmocap.associate`'s.

Install: ``pip install onnxruntime`` and ``pip install --no-deps rtmlib`` (its declared dependencies
pull a second OpenCV); ``make install`` does both.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import cv2
import numpy as np

from mvmocap.skeletons import convert_keypoints
from mvmocap.utils import InputError

__all__ = ["RTMLibPose", "wholebody_to_halpe26"]

log = logging.getLogger(__name__)

# COCO-WholeBody 133 -> Halpe26 order: 17 COCO body points, then Head, Neck, MidHip (none in 133),
# LBigToe, RBigToe, LSmallToe, RSmallToe, LHeel, RHeel (133's feet are 17-22: L big, L small,
# L heel, R big, R small, R heel).
_WHOLEBODY_FEET = [17, 20, 18, 21, 19, 22]


def wholebody_to_halpe26(keypoints: np.ndarray) -> np.ndarray:
    """(..., 133, 3) COCO-WholeBody -> (..., 26, 3) Halpe26 (Head missing; Neck and MidHip the means
    of the shoulders and hips with the lower confidence)."""
    kp = np.asarray(keypoints, dtype=np.float64)
    out = np.zeros(kp.shape[:-2] + (26, 3))
    out[..., :17, :] = kp[..., :17, :]
    out[..., 20:, :] = kp[..., _WHOLEBODY_FEET, :]
    for target, (a, b) in ((18, (5, 6)), (19, (11, 12))):
        out[..., target, :2] = 0.5 * (kp[..., a, :2] + kp[..., b, :2])
        out[..., target, 2] = np.minimum(kp[..., a, 2], kp[..., b, 2])
    return out


class RTMLibPose:
    """``detector(frame_rgb, index) -> {person: (25, 3)}`` body25 keypoints (see module docstring)."""

    def __init__(self, *, det: str, pose: str, det_input_size: tuple[int, int] = (640, 640),
                 pose_input_size: tuple[int, int] = (192, 256), min_detection_confidence: float = 0.5):
        for key, path in (("det", det), ("pose", pose)):
            if not Path(path).is_file():
                raise FileNotFoundError(
                    f"{path}: detect.{key} ONNX file not found. mvmocap never downloads weights: put the "
                    "file there (rtmlib keeps the ones it fetched in ~/.cache/rtmlib/hub/checkpoints; the "
                    "OpenMMLab RTMPose model zoo has them) or point detect.det / detect.pose at it")
        try:
            from rtmlib import YOLOX, RTMPose
        except ImportError as err:
            raise ImportError("detect.backend 'rtmlib' needs rtmlib and ONNX Runtime: pip install onnxruntime && "
                              "pip install --no-deps rtmlib (make install does this)") from err
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # rtmlib prints what it loads; keep it in the log
            self._det = YOLOX(str(det), model_input_size=tuple(det_input_size), score_thr=min_detection_confidence,
                              backend="onnxruntime", device="cpu", det_mode="human")
            self._pose = RTMPose(str(pose), model_input_size=tuple(pose_input_size), to_openpose=False,
                                 backend="onnxruntime", device="cpu")
        for line in printed.getvalue().splitlines():
            log.debug("rtmlib: %s", line)

    def __call__(self, frame_rgb: np.ndarray, index: int | None = None) -> dict[int, np.ndarray]:
        bgr = cv2.cvtColor(np.ascontiguousarray(frame_rgb), cv2.COLOR_RGB2BGR)
        boxes = np.asarray(self._det(bgr), dtype=np.float64).reshape(-1, 4)
        if not len(boxes):  # rtmlib would otherwise take the whole frame as one person
            return {}
        points, scores = self._pose(bgr, bboxes=boxes.tolist())
        kp = np.concatenate([np.asarray(points, np.float64), np.clip(np.asarray(scores, np.float64), 0, 1)[..., None]],
                            -1)
        if kp.shape[1] == 133:
            kp = wholebody_to_halpe26(kp)
        elif kp.shape[1] != 26:
            raise InputError(f"detect.pose: the model gives {kp.shape[1]} keypoints; use a Halpe26 (26) or "
                             "COCO-WholeBody (133) RTMPose/RTMW/DWPose model")
        return {i: convert_keypoints(person, "halpe26", "body25") for i, person in enumerate(kp)}

    def close(self) -> None:
        pass
