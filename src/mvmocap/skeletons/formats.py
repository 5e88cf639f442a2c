"""Keypoint formats: joint names (in detector order), limbs and left/right mirror pairs.

Joint names follow one vocabulary across formats (OpenPose style: ``LShoulder``, ``RBigToe``),
so conversions copy same-named joints and derive the rest (see ``skeletons.convert``). Left/right
pairs are read off the names: ``L<Name>`` mirrors ``R<Name>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mvmocap.utils import InputError

__all__ = ["KeypointFormat", "get_format", "register_format", "FORMATS", "guess_format"]


@dataclass(frozen=True)
class KeypointFormat:
    """A keypoint layout.

    Attributes:
        name: registry name, e.g. ``"body25"``.
        joints: (J,) joint names in the order the detector writes them.
        limbs: bones as pairs of joint indices (parent-ish first), for drawing and bone lengths.
    """

    name: str
    joints: tuple[str, ...]
    limbs: tuple[tuple[int, int], ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.joints)})
        if len(self._index) != len(self.joints):
            raise ValueError(f"format {self.name}: joint names must be unique")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, name: str) -> int:
        """Index of joint ``name``; KeyError lists the valid names."""
        if name not in self._index:
            raise KeyError(f"format {self.name} has no joint {name!r}; joints: {list(self.joints)}")
        return self._index[name]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @property
    def flip_index(self) -> np.ndarray:
        """(J,) index of each joint's mirror image (itself for joints on the midline)."""
        out = np.arange(self.num_joints)
        for i, name in enumerate(self.joints):
            if len(name) > 1 and name[0] in "LR" and name[1].isupper():
                mirror = ("R" if name[0] == "L" else "L") + name[1:]
                out[i] = self._index.get(mirror, i)
        return out

    @property
    def left_right_pairs(self) -> list[tuple[int, int]]:
        """Pairs ``(left, right)`` of mirrored joint indices."""
        flip = self.flip_index
        return [(i, int(flip[i])) for i, n in enumerate(self.joints) if n.startswith("L") and flip[i] != i]


FORMATS: dict[str, KeypointFormat] = {}


def register_format(name: str, joints: list[str], limbs: list[tuple[str, str]]) -> KeypointFormat:
    """Add a format to the registry; limbs are given by joint names."""
    index = {n: i for i, n in enumerate(joints)}
    fmt = KeypointFormat(name, tuple(joints), tuple((index[a], index[b]) for a, b in limbs))
    FORMATS[name] = fmt
    return fmt


def get_format(name: str | KeypointFormat) -> KeypointFormat:
    """Look a format up by name; the error lists the known ones."""
    if isinstance(name, KeypointFormat):
        return name
    if name not in FORMATS:
        raise KeyError(f"unknown keypoint format {name!r}; known: {sorted(FORMATS)}")
    return FORMATS[name]


def guess_format(num_joints: int) -> KeypointFormat:
    """The registered format with ``num_joints`` joints (body formats first)."""
    for fmt in FORMATS.values():
        if fmt.num_joints == num_joints:
            return fmt
    raise InputError(
        f"no keypoint format has {num_joints} joints; known: "
        + ", ".join(f"{f.name} ({f.num_joints})" for f in FORMATS.values())
    )


def _sided(*names: str) -> list[str]:
    return [s + n for n in names for s in "RL"]


_ARM_LEG = [("Shoulder", "Elbow"), ("Elbow", "Wrist"), ("Hip", "Knee"), ("Knee", "Ankle")]
_FACE = [("Nose", "REye"), ("Nose", "LEye"), ("REye", "REar"), ("LEye", "LEar")]
_LIMBS_SIDED = [(s + a, s + b) for a, b in _ARM_LEG for s in "RL"]

# OpenPose BODY_25.
BODY25 = register_format(
    "body25",
    ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
     "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
     "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"],
    [("Neck", "MidHip"), ("Neck", "RShoulder"), ("Neck", "LShoulder"), ("MidHip", "RHip"), ("MidHip", "LHip"),
     ("Neck", "Nose"), *_FACE, *_LIMBS_SIDED,
     ("LAnkle", "LBigToe"), ("LBigToe", "LSmallToe"), ("LAnkle", "LHeel"),
     ("RAnkle", "RBigToe"), ("RBigToe", "RSmallToe"), ("RAnkle", "RHeel")],
)

# COCO 17 (also the first 17 joints of the Halpe 26 / COCO-with-feet layout).
_COCO17 = ["Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow",
           "LWrist", "RWrist", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle"]
_COCO_LIMBS = [*_FACE, ("LEar", "LShoulder"), ("REar", "RShoulder"), ("LShoulder", "RShoulder"), ("LHip", "RHip"),
               ("LShoulder", "LHip"), ("RShoulder", "RHip"), *_LIMBS_SIDED]
COCO17 = register_format("coco17", _COCO17, _COCO_LIMBS)

HALPE26 = register_format(
    "halpe26",
    [*_COCO17, "Head", "Neck", "MidHip", "LBigToe", "RBigToe", "LSmallToe", "RSmallToe", "LHeel", "RHeel"],
    [*_COCO_LIMBS, ("Neck", "Head"), ("Neck", "MidHip"), ("Neck", "LShoulder"), ("Neck", "RShoulder"),
     ("MidHip", "LHip"), ("MidHip", "RHip"),
     ("LAnkle", "LBigToe"), ("LBigToe", "LSmallToe"), ("LAnkle", "LHeel"),
     ("RAnkle", "RBigToe"), ("RBigToe", "RSmallToe"), ("RAnkle", "RHeel")],
)

# MediaPipe Pose (BlazePose) 33 landmarks.
BLAZEPOSE33 = register_format(
    "blazepose33",
    ["Nose", "LEyeInner", "LEye", "LEyeOuter", "REyeInner", "REye", "REyeOuter", "LEar", "REar",
     "LMouth", "RMouth", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist",
     "LPinky", "RPinky", "LIndex", "RIndex", "LThumb", "RThumb", "LHip", "RHip", "LKnee", "RKnee",
     "LAnkle", "RAnkle", "LHeel", "RHeel", "LFootIndex", "RFootIndex"],
    [*_COCO_LIMBS, ("Nose", "LEyeInner"), ("LEyeInner", "LEye"), ("LEye", "LEyeOuter"), ("LEyeOuter", "LEar"),
     ("Nose", "REyeInner"), ("REyeInner", "REye"), ("REye", "REyeOuter"), ("REyeOuter", "REar"),
     ("LWrist", "LPinky"), ("LWrist", "LIndex"), ("LWrist", "LThumb"),
     ("RWrist", "RPinky"), ("RWrist", "RIndex"), ("RWrist", "RThumb"),
     ("LAnkle", "LHeel"), ("LHeel", "LFootIndex"), ("LAnkle", "LFootIndex"),
     ("RAnkle", "RHeel"), ("RHeel", "RFootIndex"), ("RAnkle", "RFootIndex"), ("LMouth", "RMouth")],
)

# OpenPose / MediaPipe hand: wrist, then thumb, index, middle, ring, pinky from base to tip.
_FINGERS = ["Thumb", "Index", "Middle", "Ring", "Pinky"]
_HAND = ["Wrist"] + [f"{f}{k}" for f in _FINGERS for k in range(1, 5)]
HAND21 = register_format(
    "hand21",
    _HAND,
    [(("Wrist" if k == 1 else f"{f}{k - 1}"), f"{f}{k}") for f in _FINGERS for k in range(1, 5)],
)

# body25 followed by both hands (hand21 names prefixed LHand / RHand): whole-body fits.
BODYHANDS = register_format(
    "bodyhands",
    [*BODY25.joints, *(f"LHand{n}" for n in _HAND), *(f"RHand{n}" for n in _HAND)],
    [*((BODY25.joints[a], BODY25.joints[b]) for a, b in BODY25.limbs),
     *((f"{side}Hand{_HAND[a]}", f"{side}Hand{_HAND[b]}") for side in "LR" for a, b in HAND21.limbs),
     ("LWrist", "LHandWrist"), ("RWrist", "RHandWrist")],
)

del _sided
