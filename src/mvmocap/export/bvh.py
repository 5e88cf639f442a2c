"""BVH motion files of a fitted body's skeleton, and a reader for them.

Conventions of the files written here:

- the skeleton is the model's own (SMPL-family joint names, Anny's bone names), every joint of it;
  ``OFFSET`` of a joint = its rest position minus its parent's for the fitted shape (the rest
  pose is the model's zero pose, every joint's frame axis-aligned); a leaf gets an ``End Site``
  half its own offset further on (5 cm up when that is zero);
- the root has ``OFFSET 0 0 0`` and 6 channels ``Xposition Yposition Zposition Zrotation
  Xrotation Yrotation`` (its world position then rotation); every other joint 3 channels
  ``Zrotation Xrotation Yrotation``: the local rotation is ``Rz(a) Rx(b) Ry(c)``, degrees;
- axes and units from :class:`~mvmocap.export.axes.ExportFrame` (default y up, metres: what
  Blender's BVH importer expects); ``Frame Time`` is 1 / fps.

Forward kinematics of the file reproduces the fitted joints: ``p_j = p_parent + W_parent o_j``,
``W_j = W_parent L_j`` (:func:`bvh_joint_positions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvmocap.bodymodels.skinned import SkinnedSequence
from mvmocap.export.axes import ExportFrame
from mvmocap.geometry import matrix_to_euler_zxy, rotation_about_axis
from mvmocap.utils import atomic_write_text

__all__ = ["BVHMotion", "write_bvh", "read_bvh", "bvh_joint_positions"]

_ROTATION_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
_POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")


@dataclass(frozen=True)
class BVHMotion:
    """A BVH file's content: ``names`` (J,), ``parents`` (J,), ``offsets`` (J, 3), ``channels``
    (per joint, their names), ``motion`` (F, C) in file order, ``frame_time`` seconds."""

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    channels: list[tuple[str, ...]]
    motion: np.ndarray
    frame_time: float


def _fmt(values) -> str:
    return " ".join(f"{v:.6f}" for v in values)


def write_bvh(path: str | Path, seq: SkinnedSequence, fps: float, frame: ExportFrame | None = None) -> Path:
    """Write ``seq``'s skeleton and motion to ``path`` (atomically); see the module docstring.
    ``frame`` (default: y up, metres) sets axes and units."""
    frame = frame or ExportFrame()
    parents = seq.parents
    rest = frame.points(seq.rest_joints)
    offsets = rest.copy()
    offsets[0] = 0.0
    offsets[1:] = rest[1:] - rest[parents[1:]]
    children = {j: [c for c in range(len(parents)) if parents[c] == j] for j in range(len(parents))}
    names = [n.replace(" ", "_") for n in seq.joint_names]
    lines = ["HIERARCHY"]

    def joint(j: int, depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if j == 0 else 'JOINT'} {names[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {_fmt(offsets[j])}")
        channels = (_POSITION_CHANNELS if j == 0 else ()) + _ROTATION_CHANNELS
        lines.append(f"{pad}  CHANNELS {len(channels)} {' '.join(channels)}")
        for c in children[j]:
            joint(c, depth + 1)
        if not children[j]:
            tip = 0.5 * offsets[j] if np.linalg.norm(offsets[j]) > 1e-9 else frame.points([0.0, 0.0, 0.05])
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {_fmt(tip)}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    joint(0, 0)
    order = _depth_first(children)
    local = frame.rotations(seq.local_rotations())  # (F, J, 3, 3)
    angles = np.degrees(matrix_to_euler_zxy(local))  # (F, J, 3)
    root = frame.points(seq.joints[:, 0])
    motion = np.concatenate([root] + [angles[:, j] for j in order], 1)
    lines += ["MOTION", f"Frames: {len(motion)}", f"Frame Time: {1.0 / fps:.8f}"]
    lines += [_fmt(row) for row in motion]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)


def _depth_first(children: dict[int, list[int]]) -> list[int]:
    order, stack = [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(children[j]))
    return order


def read_bvh(path: str | Path) -> BVHMotion:
    """Parse a BVH file (any channel order; ``End Site`` blocks skipped)."""
    tokens = Path(path).read_text().split()
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    i = 0
    while tokens[i] != "MOTION":
        word = tokens[i]
        if word in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            i += 2
        elif word == "End":  # End Site { OFFSET x y z }: 8 tokens
            i += 8
        elif word == "{":
            stack.append(len(names) - 1)
            i += 1
        elif word == "}":
            stack.pop()
            i += 1
        elif word == "OFFSET":
            offsets.append([float(t) for t in tokens[i + 1:i + 4]])
            i += 4
        elif word == "CHANNELS":
            n = int(tokens[i + 1])
            channels.append(tuple(tokens[i + 2:i + 2 + n]))
            i += 2 + n
        else:
            i += 1
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    values = np.array(tokens[i + 6:], dtype=np.float64)
    width = sum(len(c) for c in channels)
    if values.size != frames * width:
        raise ValueError(f"{path}: {values.size} motion values, expected {frames} x {width}")
    return BVHMotion(names, np.array(parents), np.array(offsets), channels, values.reshape(frames, width), frame_time)


def bvh_joint_positions(bvh: BVHMotion) -> np.ndarray:
    """(F, J, 3) world positions of every joint by forward kinematics of the file (rotation
    channels compose in the order listed; position channels add to the joint's offset)."""
    F, J = len(bvh.motion), len(bvh.names)
    positions = np.zeros((F, J, 3))
    world = np.zeros((F, J, 3, 3))
    column = 0
    for j in range(J):  # joints are listed parents first
        local = np.broadcast_to(np.eye(3), (F, 3, 3)).copy()
        translation = np.zeros((F, 3))
        for name in bvh.channels[j]:
            axis = "XYZ".index(name[0])
            if name.endswith("position"):
                translation[:, axis] = bvh.motion[:, column]
            else:
                local = local @ rotation_about_axis(np.radians(bvh.motion[:, column]), "xyz"[axis])
            column += 1
        p = bvh.parents[j]
        if p < 0:
            world[:, j] = local
            positions[:, j] = bvh.offsets[j] + translation
        else:
            world[:, j] = world[:, p] @ local
            positions[:, j] = positions[:, p] + world[:, p] @ bvh.offsets[j] + translation
    return positions
