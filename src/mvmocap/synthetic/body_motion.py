"""Human-like motions of a body model: the procedural motion curves retargeted to its joints.

The curves of :mod:`mvmocap.synthetic.motions` (hip, knee, shoulder and elbow angles, trunk
lean, head yaw, a ground path) become axis-angle ``poses`` through the model's
:class:`~mvmocap.bodymodels.anatomy.Anatomy`; ``Rh`` turns the model frame to the world (z up,
facing the heading) and ``Th`` puts the root on the path with the lowest foot keypoint on z = 0.
Ground truth for fitting tests and benchmarks: every keypoint is exactly what the model produces.
"""

from __future__ import annotations

import numpy as np
import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.bodymodels.anatomy import SIDES, anatomy_of
from mvmocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle, rotation_about_axis
from mvmocap.skeletons import BODY25
from mvmocap.synthetic.motions import MotionCurves

__all__ = ["corrupt_keypoints3d", "model_motion"]

_FEET = [BODY25.index(n) for n in ("LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")]


def _rot(axis: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """(F,) angles about a fixed unit axis -> (F, 3, 3)."""
    return axis_angle_to_matrix(np.deg2rad(degrees)[:, None] * axis)


def model_motion(model: BodyModel, motion: MotionCurves, shapes: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Parameters ``poses`` (F, pose_dim), ``shapes`` (1, S), ``Rh``, ``Th`` (F, 3) of ``model``
    performing ``motion`` (float64 NumPy arrays)."""
    a = anatomy_of(model)
    c = motion.angles
    F = len(motion.yaw)
    rot = np.broadcast_to(np.eye(3), (F, model.num_joints, 3, 3)).copy()
    lean_axis = np.cross(a.up, a.anterior)
    for j in a.spine:
        rot[:, j] = _rot(lean_axis, c["lean"] / len(a.spine))
    rot[:, a.joints["head"]] = _rot(a.up, c["head_yaw"])
    down = -a.up
    for s in SIDES:
        out = a.lateral_out(s)
        thigh = a.bone_dir[f"hip_{s}"]
        rot[:, a.joints[f"hip_{s}"]] = (_rot(np.cross(thigh, a.anterior), c[f"{s}_hip_flex"])
                                        @ _rot(np.cross(thigh, out), c[f"{s}_hip_abd"]))
        knee = a.knee_axis(s)
        rot[:, a.joints[f"knee_{s}"]] = _rot(knee, c[f"{s}_knee"])
        rot[:, a.joints[f"ankle_{s}"]] = _rot(knee, c[f"{s}_hip_flex"] - c[f"{s}_knee"])  # foot level
        base = axis_angle_to_matrix(a.arm_down[s])
        rot[:, a.joints[f"shoulder_{s}"]] = (_rot(np.cross(down, a.anterior), c[f"{s}_shoulder_flex"])
                                             @ _rot(np.cross(down, out), c[f"{s}_shoulder_abd"]) @ base)
        rot[:, a.joints[f"elbow_{s}"]] = _rot(a.elbow_axis(s), c[f"{s}_elbow"])
    poses = matrix_to_axis_angle(rot)[:, model.posed_joints].reshape(F, -1)
    align = np.stack([a.anterior, a.left, a.up])  # model frame -> world (facing +x at yaw 0)
    Rh = matrix_to_axis_angle(rotation_about_axis(motion.yaw, "z") @ align)
    shapes = np.zeros((1, model.num_shapes)) if shapes is None else np.asarray(shapes, dtype=np.float64)[None]
    shapes = shapes.reshape(1, model.num_shapes)
    with torch.no_grad():
        kp = model.keypoints(torch.tensor(poses), torch.tensor(shapes), torch.tensor(Rh)).numpy()
    Th = np.zeros((F, 3))
    Th[:, :2] = motion.xy - kp[:, BODY25.index("MidHip"), :2]
    Th[:, 2] = -kp[:, _FEET, 2].min(1)
    return {"poses": poses, "shapes": shapes, "Rh": Rh, "Th": Th}


def corrupt_keypoints3d(true: np.ndarray, noise_m: float = 0.015, outlier_ratio: float = 0.05,
                        missing_ratio: float = 0.10, outlier_range: tuple[float, float] = (0.2, 0.5),
                        seed: int = 0) -> np.ndarray:
    """Observed (F, K, 4) keypoints from true (F, K, 3): Gaussian noise of ``noise_m`` per axis,
    outliers displaced ``outlier_range`` metres in a random direction, missing joints (confidence
    0); the other confidences are uniform in [0.6, 1]."""
    rng = np.random.default_rng(seed)
    obs = true + rng.normal(0.0, noise_m, true.shape)
    outlier = rng.random(true.shape[:2]) < outlier_ratio
    direction = rng.normal(size=true.shape)
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    distance = rng.uniform(*outlier_range, true.shape[:2])[..., None]
    obs = np.where(outlier[..., None], true + direction * distance, obs)
    conf = rng.uniform(0.6, 1.0, true.shape[:2])
    conf[rng.random(conf.shape) < missing_ratio] = 0.0
    return np.concatenate([np.where(conf[..., None] > 0, obs, 0.0), conf[..., None]], -1)
