"""Joint names of the SMPL family, in model order (facts of the published models)."""

from __future__ import annotations

__all__ = ["SMPL_JOINTS", "SMPLH_JOINTS", "SMPLX_JOINTS", "MANO_JOINTS", "HAND_JOINTS", "joint_names_for"]

SMPL_JOINTS = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hand", "right_hand",
]
# MANO's finger order: index, middle, pinky, ring, thumb; three joints each, base to tip.
HAND_JOINTS = [f"{finger}{k}" for finger in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)]
SMPLH_JOINTS = SMPL_JOINTS[:22] + [f"left_{n}" for n in HAND_JOINTS] + [f"right_{n}" for n in HAND_JOINTS]
SMPLX_JOINTS = (
    SMPL_JOINTS[:22] + ["jaw", "left_eye_smplhf", "right_eye_smplhf"]
    + [f"left_{n}" for n in HAND_JOINTS] + [f"right_{n}" for n in HAND_JOINTS]
)
MANO_JOINTS = ["wrist"] + HAND_JOINTS

_BY_COUNT = {24: ("smpl", SMPL_JOINTS), 52: ("smplh", SMPLH_JOINTS), 55: ("smplx", SMPLX_JOINTS),
             16: ("mano", MANO_JOINTS)}


def joint_names_for(num_joints: int) -> tuple[str, list[str]]:
    """(model kind, joint names) for a SMPL-family model with ``num_joints`` joints."""
    if num_joints not in _BY_COUNT:
        raise ValueError(f"not a SMPL-family joint count: {num_joints} (SMPL 24, SMPL-H 52, SMPL-X 55, MANO 16)")
    return _BY_COUNT[num_joints]
