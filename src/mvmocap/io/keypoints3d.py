"""3D keypoint files in the EasyMocap layout: ``DIR/<frame:06d>.json``.

Each file holds a list of people: ``[{"id": 0, "keypoints3d": [[x, y, z, c], ...]}, ...]`` in
metres; confidence 0 marks a joint that could not be reconstructed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mvmocap.io.errors import DataError
from mvmocap.utils import atomic_write_text, natural_sorted, remove_stale_frames

__all__ = ["read_keypoints3d", "write_keypoints3d", "write_people_keypoints3d"]


def write_keypoints3d(root: str | Path, keypoints3d: np.ndarray, frames: list[int] | None = None, pid: int = 0) -> None:
    """Write ``(F, J, 4)`` keypoints of one person as ``root/<frame:06d>.json`` (atomically).

    The folder is this stage's output as a whole: frame files of an earlier, longer run that
    ``frames`` does not name are removed afterwards, so the folder never mixes two runs."""
    kp = np.asarray(keypoints3d, dtype=np.float64)
    frames = list(range(len(kp))) if frames is None else list(frames)
    write_people_keypoints3d(root, {pid: (kp, frames)}, frames)


def write_people_keypoints3d(root: str | Path, people: dict[int, tuple[np.ndarray, list[int]]],
                             frames: list[int]) -> None:
    """Write everyone's keypoints, ``{id: ((F_id, J, 4), the id's frame numbers)}``, as one
    ``root/<frame:06d>.json`` per frame of ``frames`` listing the people in it (an empty list
    where nobody is); stale frame files are removed as by :func:`write_keypoints3d`."""
    rows: dict[int, list[dict]] = {int(f): [] for f in frames}
    for pid, (keypoints3d, own) in sorted(people.items()):
        kp = np.asarray(keypoints3d, dtype=np.float64)
        if kp.ndim != 3 or kp.shape[-1] != 4:
            raise ValueError(f"keypoints3d must be (F, J, 4), got {kp.shape}")
        if len(own) != len(kp):
            raise ValueError(f"{len(own)} frame numbers for {len(kp)} frames")
        for frame, points in zip(own, kp, strict=True):
            points = np.where(points[:, 3:] > 0, points, 0.0)
            rows[int(frame)].append({"id": int(pid), "keypoints3d": points.tolist()})
    root = Path(root)
    for frame, entries in rows.items():
        atomic_write_text(root / f"{frame:06d}.json", json.dumps(entries))
    remove_stale_frames(root, list(rows))


def read_keypoints3d(root: str | Path, pid: int | None = None) -> tuple[np.ndarray, list[int]]:
    """Read ``root/*.json`` -> ``((F, J, 4) array, frame numbers)`` for person ``pid``.

    ``pid`` None takes the first person of each file. A frame without that person is all zeros.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "keypoints3d folder not found")
    paths = [root / n for n in natural_sorted(p.name for p in root.glob("*.json") if not p.name.startswith("."))]
    if not paths:
        raise DataError(root, "no .json files; expected <frame>.json written by 'mvmocap triangulate'")
    rows, frames, num_joints = [], [], None
    for i, path in enumerate(paths):
        try:
            people = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataError(path, f"not valid JSON ({err})") from None
        if isinstance(people, dict):
            people = [people]
        match = [p for p in people if pid is None or int(p.get("id", -1)) == pid][:1]
        points = None
        if match:
            if "keypoints3d" not in match[0]:
                raise DataError(path, "entry lacks the 'keypoints3d' field")
            points = np.asarray(match[0]["keypoints3d"], dtype=np.float64)
            if points.ndim != 2 or points.shape[1] not in (3, 4):
                raise DataError(path, f"'keypoints3d' must be J x 4 (x, y, z, c), got shape {points.shape}")
            if points.shape[1] == 3:
                points = np.concatenate([points, np.ones((len(points), 1))], 1)
            if num_joints is not None and len(points) != num_joints:
                raise DataError(path, f"{len(points)} joints, but earlier files have {num_joints}")
            num_joints = len(points)
        rows.append(points)
        digits = "".join(ch for ch in path.stem if ch.isdigit())
        frames.append(int(digits) if digits else i)
    if num_joints is None:
        raise DataError(root, f"no file holds person {pid}")
    out = np.stack([np.zeros((num_joints, 4)) if r is None else r for r in rows])
    return out, frames
