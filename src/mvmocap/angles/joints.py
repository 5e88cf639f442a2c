"""Joint angles of a fitted body, per frame, for every body model (Anny, the SMPL family).

**Segment frames** (after the ISB recommendations, Wu et al. 2002 and 2005). Every segment has an
anatomical frame: X anterior, Y superior, Z to the subject's right. For a limb segment (thigh,
shank, upper arm, forearm) Y runs along the bone, from its distal joint to its proximal one; the
pelvis, the thorax and the feet take the body's own axes; the thorax leans with the line from
the pelvis to the neck (the spine as a whole) and turns with the top spine bone. In the model's zero pose a limb's X
is the body's anterior axis made normal to the bone, and Z = X x Y: the flexion axis, normal to
the bone and the anterior axis (the arms of a T- or A-pose are abducted, the neutral posture has
them hanging, and the angles say so). As the body moves, each frame turns with the model's rotation of the bone that
ends at the segment's distal joint (the thigh: the bone the knee hangs from), so a segment's axial
rotation is the model's, not guessed from joint positions.

**Angles.** A joint's angles decompose the distal frame in the proximal one as
``R = Rz(a) Rx(b) Ry(c)`` (Z-X-Y: ISB's joint coordinate system of the hip, knee, ankle and
spine; the same order at the shoulder, as OpenSim's models do, rather than ISB's Y-X-Y). The left
side is mirrored onto the right so that both read alike. In degrees:

========================  =====================================================================
``pelvis_tilt``           pelvis against the ground frame: anterior tilt positive (Z)
``pelvis_list``           tilted to the subject's right (its right side down) positive (X)
``pelvis_rotation``       the pelvis turned to its left positive (Y)
``pelvis_tx/ty/tz``       the pelvis's position in the ground frame, metres
``hip_flexion_s``         flexion positive; ``hip_adduction_s`` adduction positive;
                          ``hip_rotation_s`` internal rotation positive
``knee_flexion_s``        flexion positive
``ankle_flexion_s``       dorsiflexion positive; ``ankle_inversion_s`` inversion positive
``trunk_flexion``         thorax against pelvis: forward flexion positive; ``trunk_bending``
                          bending to the right positive; ``trunk_rotation`` turned left positive
``shoulder_flexion_s``    thorax to upper arm: flexion positive; ``shoulder_abduction_s``
                          abduction positive; ``shoulder_rotation_s`` internal rotation positive
``elbow_flexion_s``       flexion positive
``wrist_flexion_s``       models with hands: flexion (to the palm) positive;
                          ``wrist_deviation_s`` ulnar deviation positive
========================  =====================================================================

``s`` is ``l`` or ``r``. The ground frame: Y up (the world's +z, the floor of the calibration),
X the subject's mean heading on the floor over the run, Z = X x Y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.bodymodels.anatomy import SIDES, Anatomy, anatomy_of, hand_joints
from mvmocap.geometry import axis_angle_to_matrix

__all__ = ["ANGLE_NAMES", "WRIST_NAMES", "JointAngles", "angle_summary", "continuous_zxy", "joint_angles", "zxy_angles"]

_WORLD_UP = np.array([0.0, 0.0, 1.0])

# (proximal segment, distal segment, the three angles as (name, which of a/b/c, sign)); "{s}" is
# the side. The left side's b and c are negated before these signs (mirroring).
_JOINTS = (
    ("pelvis", "thigh_{s}", (("hip_flexion_{s}", 0, 1), ("hip_adduction_{s}", 1, 1), ("hip_rotation_{s}", 2, 1))),
    ("thigh_{s}", "shank_{s}", (("knee_flexion_{s}", 0, -1),)),
    ("shank_{s}", "foot_{s}", (("ankle_flexion_{s}", 0, 1), ("ankle_inversion_{s}", 1, 1))),
    ("thorax", "upperarm_{s}", (("shoulder_flexion_{s}", 0, 1), ("shoulder_abduction_{s}", 1, -1),
                                ("shoulder_rotation_{s}", 2, 1))),
    ("upperarm_{s}", "forearm_{s}", (("elbow_flexion_{s}", 0, 1),)),
)
_TRUNK = (("trunk_flexion", 0, -1), ("trunk_bending", 1, 1), ("trunk_rotation", 2, 1))
_PELVIS = (("pelvis_tilt", 0, -1), ("pelvis_list", 1, 1), ("pelvis_rotation", 2, 1))
_POSITION = ("pelvis_tx", "pelvis_ty", "pelvis_tz")


def _names() -> tuple[str, ...]:
    names = [n for n, _, _ in _PELVIS] + list(_POSITION)
    for side in ("r", "l"):
        names += [n.format(s=side) for _, _, angles in _JOINTS for n, _, _ in angles]
    names += [n for n, _, _ in _TRUNK]
    return tuple(names)


ANGLE_NAMES = _names()
"""Every angle's name, in the order :func:`joint_angles` lists them (``.mot`` columns)."""
_WRIST = (("wrist_flexion_{s}", 0, 1), ("wrist_deviation_{s}", 1, 1))
WRIST_NAMES = tuple(n.format(s=side) for side in ("r", "l") for n, _, _ in _WRIST)
"""The wrists' angles, after :data:`ANGLE_NAMES` when asked for (models with hands)."""


@dataclass(frozen=True)
class JointAngles:
    """Joint angles over a run.

    frames: (F,) frame numbers; fps: their rate.
    values: (F, A) degrees (metres for ``pelvis_t*``), columns in ``names`` order.
    """

    frames: np.ndarray
    fps: float
    names: tuple[str, ...]
    values: np.ndarray

    @property
    def times(self) -> np.ndarray:
        """(F,) seconds from the first frame of the video."""
        return np.asarray(self.frames, dtype=np.float64) / self.fps

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


def zxy_angles(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations -> (..., 3) radians (a, b, c) with ``R = Rz(a) Rx(b) Ry(c)``."""
    b = np.arcsin(np.clip(R[..., 2, 1], -1.0, 1.0))
    a = np.arctan2(-R[..., 0, 1], R[..., 1, 1])
    c = np.arctan2(-R[..., 2, 0], R[..., 2, 2])
    return np.stack([a, b, c], -1)


def _body_axes(anatomy: Anatomy) -> np.ndarray:
    """(3, 3) columns X anterior, Y up, Z right in the model frame."""
    return np.stack([anatomy.anterior, anatomy.up, -anatomy.left], -1)


def _limb_axes(bone: np.ndarray, anatomy: Anatomy) -> np.ndarray:
    """(3, 3) a limb segment's anatomical frame at rest: Y against the unit ``bone`` (distal to
    proximal joint), X the body's anterior axis made normal to it (the up axis for a bone pointing
    forward), Z = X x Y."""
    y = -bone
    for secondary in (anatomy.anterior, anatomy.up):
        x = secondary - (secondary @ y) * y
        if np.linalg.norm(x) > 0.3:
            break
    x = x / np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)], -1)


def _any_normal(v: np.ndarray) -> np.ndarray:
    other = np.eye(3)[int(np.argmin(np.abs(v)))]
    n = np.cross(v, other)
    return n / np.linalg.norm(n)


def _segments(model: BodyModel, anatomy: Anatomy, rest: np.ndarray) -> dict[str, tuple[int, np.ndarray]]:
    """Segment -> (the joint whose transform moves it, (3, 3) its anatomical frame at rest), from
    the (J, 3) model-frame joints of the body's zero pose ``rest``."""
    axes = _body_axes(anatomy)
    parents, joints = model.parents, anatomy.joints
    neck = joints["neck"]
    segments = {"pelvis": (0, axes), "thorax": (int(parents[neck]), axes)}
    limbs = {"thigh": ("hip", "knee"), "shank": ("knee", "ankle"), "upperarm": ("shoulder", "elbow"),
             "forearm": ("elbow", "wrist")}
    for side in SIDES:
        for segment, (top, bottom) in limbs.items():
            near, far = joints[f"{top}_{side}"], joints[f"{bottom}_{side}"]
            bone = rest[far] - rest[near]
            segments[f"{segment}_{side}"] = (int(parents[far]), _limb_axes(bone / np.linalg.norm(bone), anatomy))
        segments[f"foot_{side}"] = (joints[f"ankle_{side}"], axes)
    return segments


def _hands(model: BodyModel, rest: np.ndarray) -> dict[str, tuple[int, np.ndarray]]:
    """The hands' segments: ``hand_s`` moved by the wrist joint and ``wrist_forearm_s`` moved by
    the forearm, both with the hand's frame at rest (so the wrist reads zero there): Y from the
    middle finger's base to the wrist, X the palm's (volar) normal made normal to it, Z = X x Y."""
    segments = {}
    for side in SIDES:
        joint = hand_joints(model, side)
        wrist = rest[joint["wrist"]]
        palm = np.cross(rest[joint["index1"]] - wrist, rest[joint["pinky1"]] - wrist)
        volar = palm if side == "r" else -palm
        y = wrist - rest[joint["middle1"]]
        y = y / np.linalg.norm(y)
        x = volar - (volar @ y) * y
        x = x / np.linalg.norm(x)
        axes = np.stack([x, y, np.cross(x, y)], -1)
        segments[f"hand_{side}"] = (joint["wrist"], axes)
        segments[f"wrist_forearm_{side}"] = (int(model.parents[joint["wrist"]]), axes)
    return segments


def _turns_onto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(F, 3, 3) the smallest rotations taking each (F, 3) direction ``a`` onto ``b``."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    axis = np.cross(a, b)
    sine = np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = np.arctan2(sine, (a * b).sum(-1, keepdims=True))
    return axis_angle_to_matrix(np.where(sine > 1e-12, axis / np.maximum(sine, 1e-12) * angle, 0.0))


def _segment_rotations(model: BodyModel, poses: np.ndarray, shapes: np.ndarray, joints: list[int],
                       chunk: int = 500) -> np.ndarray:
    """(F, len(joints), 3, 3) each joint's rotation from the zero pose, in the model frame (a
    model's skinning may start from another rest pose: Anny's does)."""

    def turned(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            skin = model.skinning(torch.as_tensor(batch), torch.as_tensor(shapes[:1]))
        return np.asarray(skin["transforms"], dtype=np.float64)[:, joints, :, :3]

    zero = turned(np.zeros((1, poses.shape[1])))[0]
    out = [turned(poses[start:start + chunk]) for start in range(0, len(poses), chunk)]
    return np.concatenate(out) @ np.swapaxes(zero, -1, -2)


def _ground_frame(pelvis: np.ndarray) -> np.ndarray:
    """(3, 3) columns X heading, Y up, Z right in world axes, from (F, 3, 3) world pelvis frames:
    X is their mean anterior axis on the floor."""
    heading = pelvis[:, :, 0].mean(0)
    heading = heading - (heading @ _WORLD_UP) * _WORLD_UP
    if np.linalg.norm(heading) < 1e-6:
        heading = _any_normal(_WORLD_UP)
    x = heading / np.linalg.norm(heading)
    return np.stack([x, _WORLD_UP, np.cross(x, _WORLD_UP)], -1)


def joint_angles(model: BodyModel, params: dict[str, np.ndarray], frames: np.ndarray, fps: float, *,
                 wrists: bool = False) -> JointAngles:
    """The joint angles of the module docstring for a fitted body: ``params`` ``poses`` (F, P),
    ``shapes`` (1 or F, S), ``Rh`` (F, 3) and ``Th`` (F, 3), as a fit writes them; with
    ``wrists`` (a model with hands, fitted to hand keypoints) also :data:`WRIST_NAMES`. Cost: one
    skinning pass of the model, linear in frames."""
    anatomy = anatomy_of(model)
    poses = np.asarray(params["poses"], dtype=np.float64)
    shapes = np.asarray(params["shapes"], dtype=np.float64).reshape(-1, model.num_shapes)
    with torch.no_grad():  # this body's own bones in the zero pose
        rest = model(torch.zeros(1, model.pose_dim, dtype=torch.float64), torch.as_tensor(shapes[:1]),
                     vertices=False).joints[0].double().numpy()
    segments = _segments(model, anatomy, rest)
    if wrists:
        segments.update(_hands(model, rest))
    names = list(segments)
    turned = _segment_rotations(model, poses, shapes, [segments[n][0] for n in names])
    frame = {n: turned[:, i] @ segments[n][1] for i, n in enumerate(names)}  # (F, 3, 3) in the model frame
    columns: dict[str, np.ndarray] = {}
    Rh = axis_angle_to_matrix(np.asarray(params["Rh"], dtype=np.float64))
    world_pelvis = Rh @ frame["pelvis"]
    ground = _ground_frame(world_pelvis)
    _decompose(np.swapaxes(ground, -1, -2) @ world_pelvis, _PELVIS, "", columns)
    with torch.no_grad():
        tensors = (torch.as_tensor(np.asarray(params[k], dtype=np.float64)) for k in ("poses", "shapes", "Rh", "Th"))
        joints = model(*tensors, vertices=False).joints.double().numpy()
    root, neck = joints[:, 0], joints[:, anatomy.joints["neck"]]
    # the thorax leans and bends as the spine carries the neck, the whole chain (the top spine
    # bone alone may bend against the ones below where keypoints do not tell them apart); it
    # turns about itself as that bone does
    carried = np.einsum("fij,j->fi", frame["thorax"] @ segments["thorax"][1].T, rest[anatomy.joints["neck"]] - rest[0])
    posed = np.einsum("fji,fj->fi", Rh, neck - root)  # Rh.T @ (neck - root): back in the model frame
    frame["thorax"] = _turns_onto(carried, posed) @ frame["thorax"]
    for name, value in zip(_POSITION, (root @ ground).T, strict=True):
        columns[name] = value
    for side in SIDES:
        for proximal, distal, angles in _JOINTS:
            prox, dist = frame[proximal.format(s=side)], frame[distal.format(s=side)]
            _decompose(np.swapaxes(prox, -1, -2) @ dist, angles, side, columns)
    _decompose(np.swapaxes(frame["pelvis"], -1, -2) @ frame["thorax"], _TRUNK, "", columns)
    for side in SIDES if wrists else ():
        forearm, hand = frame[f"wrist_forearm_{side}"], frame[f"hand_{side}"]
        _decompose(np.swapaxes(forearm, -1, -2) @ hand, _WRIST, side, columns)
    listed = ANGLE_NAMES + (WRIST_NAMES if wrists else ())
    return JointAngles(np.asarray(frames), float(fps), listed, np.stack([columns[n] for n in listed], -1))


def continuous_zxy(R: np.ndarray) -> np.ndarray:
    """(F, 3, 3) rotations over time -> (F, 3) radians (a, b, c), ``R = Rz(a) Rx(b) Ry(c)``, kept
    continuous: each rotation has two such triples, (a, b, c) with |b| <= 90 degrees and
    (a + 180, 180 - b, c + 180); the first frame takes the one turning less about Z and Y, each
    later frame the one nearest the frame before, and no angle jumps by 360 degrees. An arm
    raised past 90 degrees of abduction reads so, not as 180 degrees of flexion and rotation."""
    first = zxy_angles(R)
    second = np.stack([first[:, 0] + np.pi, np.pi - first[:, 1], first[:, 2] + np.pi], -1)
    candidates = np.angle(np.exp(1j * np.stack([first, second], 1)))  # (F, 2, 3) wrapped to (-pi, pi]
    chosen = np.empty_like(first)
    if len(R):
        chosen[0] = candidates[0, int(np.argmin(np.abs(candidates[0][:, [0, 2]]).sum(-1)))]
    for f in range(1, len(R)):
        step = np.abs(np.angle(np.exp(1j * (candidates[f] - chosen[f - 1])))).sum(-1)
        chosen[f] = candidates[f, int(np.argmin(step))]
    return np.unwrap(chosen, axis=0)


def _decompose(R: np.ndarray, angles: tuple, side: str, columns: dict[str, np.ndarray]) -> None:
    """Write the Z-X-Y angles of (F, 3, 3) ``R`` into ``columns`` (degrees), the left side mirrored."""
    abc = np.degrees(continuous_zxy(R))
    if side == "l":
        abc[:, 1:] *= -1
    for name, which, sign in angles:
        columns[name.format(s=side)] = sign * abc[:, which]


def angle_summary(angles: JointAngles) -> dict[str, dict[str, float]]:
    """Per angle: ``min``, ``max``, ``range`` (of motion) and ``mean``, rounded (``report.json``'s
    ``angles``); an angle never finite is left out."""
    summary = {}
    for name, column in zip(angles.names, angles.values.T, strict=True):
        finite = column[np.isfinite(column)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            summary[name] = {"min": round(lo, 2), "max": round(hi, 2), "range": round(hi - lo, 2),
                             "mean": round(float(finite.mean()), 2)}
    return summary
