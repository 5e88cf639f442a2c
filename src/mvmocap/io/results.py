"""Fit results on disk: EasyMocap ``smpl/<frame>.json`` and one standard ``.npz`` per sequence.

- ``smpl/%06d.json``: ``[{"id": 0, "Rh": [[3]], "Th": [[3]], "poses": [[P]], "shapes": [[S]]}]``,
  EasyMocap's convention (rotation about the template origin).
- ``<name>.npz``: standard SMPL naming, ``global_orient`` (F, 3), ``body_pose`` (F, P - 3),
  ``betas`` (S,), ``transl`` (F, 3), ``fps``, plus the EasyMocap arrays ``poses``, ``shapes``,
  ``Rh``, ``Th``, ``frames``, ``model`` and ``keypoints3d`` (F, K, 3), all float64; fits with
  PCA hands add ``full_poses`` (F, 3 J), every joint's axis-angle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mvmocap.io.errors import DataError
from mvmocap.utils import atomic_path, atomic_write_text, natural_sorted, remove_stale_frames

__all__ = ["write_smpl_jsons", "read_smpl_jsons", "write_params_npz"]


def write_smpl_jsons(root: str | Path, params: dict[str, np.ndarray], frames: list[int], pid: int = 0) -> None:
    """Write ``poses`` (F, P), ``shapes`` (1 or F, S), ``Rh``, ``Th`` (F, 3) as ``root/%06d.json``;
    frame files of an earlier run that ``frames`` does not name are removed."""
    root = Path(root)
    F = len(frames)
    shapes = np.broadcast_to(params["shapes"], (F, params["shapes"].shape[-1]))
    for f, frame in enumerate(frames):
        entry = {"id": int(pid), "Rh": [params["Rh"][f].tolist()], "Th": [params["Th"][f].tolist()],
                 "poses": [params["poses"][f].tolist()], "shapes": [shapes[f].tolist()]}
        atomic_write_text(root / f"{frame:06d}.json", json.dumps([entry]))
    remove_stale_frames(root, frames)


def read_smpl_jsons(root: str | Path, pid: int = 0) -> tuple[dict[str, np.ndarray], list[int]]:
    """Read ``root/*.json`` (EasyMocap smpl layout) for person ``pid``."""
    root = Path(root)
    paths = [root / n for n in natural_sorted(p.name for p in root.glob("*.json") if not p.name.startswith("."))]
    if not paths:
        raise DataError(root, "no .json parameter files")
    rows = {k: [] for k in ("poses", "shapes", "Rh", "Th")}
    frames = []
    for path in paths:
        people = json.loads(path.read_text(encoding="utf-8"))
        match = [p for p in people if int(p.get("id", 0)) == pid]
        if not match:
            raise DataError(path, f"no person {pid}")
        for key in rows:
            if key not in match[0]:
                raise DataError(path, f"field '{key}' is missing")
            rows[key].append(np.asarray(match[0][key], dtype=np.float64).reshape(-1))
        frames.append(int("".join(ch for ch in path.stem if ch.isdigit()) or len(frames)))
    return {k: np.stack(v) for k, v in rows.items()}, frames


def write_params_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays to ``path`` atomically (a partial file never replaces a good one)."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
