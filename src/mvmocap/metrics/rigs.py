"""A camera rig against another (the truth, or another tool's calibration), up to the world
frame each chose: rigid or similarity alignment of the camera centres, per camera pair."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from mvmocap.calib.poses import rotation_angle_deg, similarity
from mvmocap.camera import Camera, CameraRig

__all__ = ["pose_errors", "people_errors", "similarity_errors", "pair_errors"]


def pose_errors(truth: CameraRig, found: CameraRig) -> tuple[float, float]:
    """Largest camera-centre (mm) and orientation (deg) error after the rigid alignment of the
    found camera centres onto the true ones."""
    a = np.stack([c.center for c in truth])
    b = np.stack([found[c.name].center for c in truth])
    U, _, Vt = np.linalg.svd((b - b.mean(0)).T @ (a - a.mean(0)))
    R = (U @ np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))]) @ Vt).T
    centres = (b - b.mean(0)) @ R.T + a.mean(0)
    angles = [rotation_angle_deg(c.R @ (found[c.name].R @ R.T).T) for c in truth]
    return 1000 * float(np.linalg.norm(centres - a, axis=1).max()), float(max(angles))


def people_errors(truth: CameraRig, found: CameraRig) -> tuple[float, float, float]:
    """(centre mm, rotation deg, relative scale error) after a similarity alignment."""
    a = np.stack([c.center for c in truth])
    b = np.stack([found[c.name].center for c in truth])
    scale = np.linalg.norm(a - a.mean(0)) / np.linalg.norm(b - b.mean(0))
    scaled = CameraRig([Camera(c.name, c.K, c.dist, c.R, c.t * scale, c.image_size) for c in found])
    centre_mm, rot_deg = pose_errors(truth, scaled)
    return centre_mm, rot_deg, float(1 / scale - 1)


def similarity_errors(truth: CameraRig, found: CameraRig) -> dict:
    """Per camera centre (m) and orientation (deg) errors of ``found`` after the similarity
    transform (Umeyama) that best maps its camera centres onto ``truth``'s; ``scale_ratio``: the
    found layout's size over the truth's."""
    names = [c.name for c in truth if c.name in found]
    a = np.stack([truth[n].center for n in names])
    b = np.stack([found[n].center for n in names])
    s, R, shift = similarity(b, a)  # found -> truth
    mapped = s * b @ R.T + shift
    return {"centre_err_m": dict(zip(names, np.linalg.norm(mapped - a, axis=1).round(4).tolist(), strict=True)),
            "rot_err_deg": {n: round(rotation_angle_deg(truth[n].R @ (found[n].R @ R.T).T), 3) for n in names},
            "scale_ratio": round(1 / s, 4)}


def pair_errors(truth: CameraRig, found: CameraRig) -> dict:
    """Per camera pair: the baseline error (mm) and the angle (deg) between the relative rotations."""
    out = {}
    for a, b in combinations([c.name for c in truth if c.name in found], 2):
        base = np.linalg.norm(found[a].center - found[b].center) - np.linalg.norm(truth[a].center - truth[b].center)
        rel = (found[a].R @ found[b].R.T) @ (truth[a].R @ truth[b].R.T).T
        out[f"{a}-{b}"] = {"baseline_err_mm": round(1000 * abs(float(base)), 2),
                           "rel_rot_deg": round(rotation_angle_deg(rel), 3)}
    return out
