"""Biomechanics of a fitted body: joint angles after the ISB conventions (:mod:`.joints`) and
their files (OpenSim's ``.mot`` storage and CSV: :mod:`.storage`)."""

from mvmocap.angles.joints import (
    ANGLE_NAMES,
    JointAngles,
    angle_summary,
    continuous_zxy,
    joint_angles,
    zxy_angles,
)
from mvmocap.angles.storage import ANGLE_FORMATS, read_mot, write_angles

__all__ = ["ANGLE_FORMATS", "ANGLE_NAMES", "JointAngles", "angle_summary", "continuous_zxy", "joint_angles",
           "read_mot", "write_angles", "zxy_angles"]
