"""Synthetic captures with ground truth: camera rigs, human-like motions, noisy 2D detections."""

from mvmocap.synthetic.capture import CaptureSpec, SyntheticCapture, make_capture, write_capture
from mvmocap.synthetic.motions import MOTIONS, generate_motion
from mvmocap.synthetic.observations import Observations, observe
from mvmocap.synthetic.rigs import ring_rig
from mvmocap.synthetic.video_capture import make_hand_capture, make_video_capture

__all__ = [
    "MOTIONS",
    "CaptureSpec",
    "Observations",
    "SyntheticCapture",
    "generate_motion",
    "make_capture",
    "make_hand_capture",
    "make_video_capture",
    "observe",
    "ring_rig",
    "write_capture",
]
