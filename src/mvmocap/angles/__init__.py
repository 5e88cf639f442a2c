"""Biomechanics of a fitted body: joint angles after the ISB conventions (:mod:`.joints`) and
gait events and spatio-temporal figures from the feet (:mod:`.gait`); their files (OpenSim's
``.mot`` storage and CSV: :mod:`.storage`)."""

from mvmocap.angles.gait import GaitEvents, GaitSettings, cycle_summary, gait_events, normalised_cycles
from mvmocap.angles.joints import (
    ANGLE_NAMES,
    WRIST_NAMES,
    JointAngles,
    angle_summary,
    continuous_zxy,
    joint_angles,
    zxy_angles,
)
from mvmocap.angles.storage import ANGLE_FORMATS, read_mot, write_angles

__all__ = ["ANGLE_FORMATS", "ANGLE_NAMES", "WRIST_NAMES", "GaitEvents", "GaitSettings", "JointAngles", "angle_summary",
           "continuous_zxy", "cycle_summary", "gait_events", "joint_angles", "normalised_cycles", "read_mot",
           "write_angles", "zxy_angles"]
