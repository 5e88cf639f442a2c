"""Left/right swaps of a detector, undone per view-frame and per limb before triangulation.

A detector that takes a person's back for their front labels the left arm as the right one; often
only one limb is swapped (a one-legged pose). Robust triangulation then rejects the view, and its
information is lost. Here each view-frame's limb groups (arms, legs, eyes and ears) are compared
with the same joints reconstructed from the *other* views: when the mirrored labels agree with
them clearly better than the labels as given (summed distance at most ``ratio`` of it, and within
the inlier threshold), the group's labels are swapped back. Two rounds: the reference improves
once the other views are fixed. Where the other views cannot reconstruct a group (fewer than
two of them see it), the view's own previous frame decides, with the same margin.
"""

from __future__ import annotations

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.skeletons import get_format
from mvmocap.triangulate.heldout import leave_one_out

__all__ = ["fix_left_right", "limb_groups", "mirror_groups"]

_GROUPS = {
    "arms": ("Shoulder", "Elbow", "Wrist"),
    "legs": ("Hip", "Knee", "Ankle", "BigToe", "SmallToe", "Heel"),
    "head": ("Eye", "Ear"),
}


def limb_groups(skeleton: str) -> dict[str, np.ndarray]:
    """Group name -> joint indices (both sides) of the format's mirrored limbs."""
    fmt = get_format(skeleton)
    groups = {}
    for name, parts in _GROUPS.items():
        idx = [fmt.index(side + part) for part in parts for side in "LR" if side + part in fmt]
        if idx:
            groups[name] = np.array(idx)
    return groups


def _group_costs(kp: np.ndarray, target: np.ndarray, target_ok: np.ndarray, idx: np.ndarray, flip: np.ndarray,
                 cap: np.ndarray):
    """Summed capped distances of a group as labelled and mirrored: (F,) each, and the count."""
    seen = kp[:, idx, 2] > 0
    seen_flip = kp[:, flip[idx], 2] > 0
    ok = target_ok[:, idx] & seen & seen_flip
    d_keep = np.minimum(np.linalg.norm(kp[:, idx, :2] - target[:, idx], axis=-1), cap)
    d_flip = np.minimum(np.linalg.norm(kp[:, flip[idx], :2] - target[:, idx], axis=-1), cap)
    return np.where(ok, d_keep, 0).sum(-1), np.where(ok, d_flip, 0).sum(-1), ok.sum(-1)


def fix_left_right(rig: CameraRig, keypoints2d: np.ndarray, *, skeleton: str = "body25",
                   threshold_px: float | np.ndarray = 20.0, ratio: float = 0.5, rounds: int = 2,
                   **triangulate_options) -> tuple[np.ndarray, np.ndarray]:
    """Swap back left/right labels that disagree with the other views.

    Args:
        keypoints2d: (F, V, J, 3) one person's detections, views in rig order.
        threshold_px: inlier threshold in pixels, one value or (V,) per camera.
    Returns:
        (F, V, J, 3) detections with swapped groups mirrored back, and (F, V, G) bool: which
        groups (in :func:`limb_groups` order) were swapped.
    """
    kp = np.array(keypoints2d, dtype=np.float64)
    F, V, J = kp.shape[:3]
    groups = limb_groups(skeleton)
    flips = np.zeros((F, V, len(groups)), dtype=bool)
    if not groups or V < 3:
        return kp, flips
    flip = get_format(skeleton).flip_index
    thr = np.broadcast_to(np.asarray(threshold_px, dtype=np.float64), (V,))
    for _ in range(rounds):
        ref = leave_one_out(rig, kp, threshold_px=thr, **triangulate_options)
        changed = False
        for v, cam in enumerate(rig):
            target = cam.project(ref[v, ..., :3])
            target_ok = (ref[v, ..., 3] > 0) & (cam.world_to_camera(ref[v, ..., :3])[..., 2] > 0)
            for g, idx in enumerate(groups.values()):
                keep, mirrored, count = _group_costs(kp[:, v], target, target_ok, idx, flip, 3 * thr[v])
                swap = (count >= 2) & (mirrored < ratio * keep) & (mirrored < thr[v] * count)
                _mirror(kp, np.flatnonzero(swap), v, idx, flip)
                late = _temporal_swaps(kp[:, v], idx, flip, ratio, count < 2)
                _mirror(kp, np.flatnonzero(late), v, idx, flip)
                flips[:, v, g] ^= swap | late
                changed |= bool(swap.any() or late.any())
        if not changed:
            break
    return kp, flips


def mirror_groups(keypoints2d: np.ndarray, flips: np.ndarray, *, skeleton: str = "body25") -> np.ndarray:
    """(F, V, J, 3) detections with the limb groups that ``flips`` (F, V, G, as
    :func:`fix_left_right` returns) marks mirrored: the swaps it found, applied again."""
    kp = np.array(keypoints2d, dtype=np.float64)
    flip = get_format(skeleton).flip_index
    for g, idx in enumerate(limb_groups(skeleton).values()):
        for v in range(kp.shape[1]):
            _mirror(kp, np.flatnonzero(flips[:, v, g]), v, idx, flip)
    return kp


def _mirror(kp: np.ndarray, frames: np.ndarray, v: int, idx: np.ndarray, flip: np.ndarray) -> None:
    """Swap the labels of joints ``idx`` in view ``v`` at ``frames``, in place."""
    if len(frames):
        kp[frames[:, None], v, idx[None, :]] = kp[frames[:, None], v, flip[idx][None, :]]


def _temporal_swaps(kp: np.ndarray, idx: np.ndarray, flip: np.ndarray, ratio: float, undecided: np.ndarray
                    ) -> np.ndarray:
    """(F, J, 3) one view: frames (among ``undecided``) whose group matches the previous frame
    clearly better mirrored. Decided in frame order, so a run of swapped frames is followed."""
    F = len(kp)
    swap = np.zeros(F, dtype=bool)
    prev = None
    for f in range(F):
        current = kp[f].copy()
        if undecided[f] and prev is not None:
            seen = (current[idx, 2] > 0) & (current[flip[idx], 2] > 0) & (prev[idx, 2] > 0)
            if seen.sum() >= 2:
                keep = np.linalg.norm(current[idx, :2] - prev[idx, :2], axis=-1)[seen].sum()
                mirrored = np.linalg.norm(current[flip[idx], :2] - prev[idx, :2], axis=-1)[seen].sum()
                if mirrored < ratio * keep:
                    swap[f] = True
                    current[idx] = kp[f, flip[idx]]
        if (current[idx, 2] > 0).any():
            prev = current
    return swap
