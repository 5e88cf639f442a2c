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

__all__ = ["read_smpl_jsons", "write_params_npz", "write_people_smpl_jsons", "write_smpl_jsons"]


def write_smpl_jsons(root: str | Path, params: dict[str, np.ndarray], frames: list[int], pid: int = 0) -> None:
    """Write ``poses`` (F, P), ``shapes`` (1 or F, S), ``Rh``, ``Th`` (F, 3) as ``root/%06d.json``;
    frame files of an earlier run that ``frames`` does not name are removed."""
    write_people_smpl_jsons(root, {pid: (params, list(frames))}, list(frames))


def write_people_smpl_jsons(root: str | Path, people: dict[int, tuple[dict[str, np.ndarray], list[int]]],
                            frames: list[int]) -> None:
    """Everyone's parameters, ``{id: (params as for write_smpl_jsons, the id's frame numbers)}``,
    as one ``root/%06d.json`` per frame of ``frames`` listing the people in it (EasyMocap's
    multi-person layout; an empty list where nobody is); stale frame files are removed."""
    rows: dict[int, list[dict]] = {int(f): [] for f in frames}
    for pid, (params, own) in sorted(people.items()):
        shapes = np.broadcast_to(params["shapes"], (len(own), params["shapes"].shape[-1]))
        for f, frame in enumerate(own):
            rows[int(frame)].append({"id": int(pid), "Rh": [params["Rh"][f].tolist()], "Th": [params["Th"][f].tolist()],
                                     "poses": [params["poses"][f].tolist()], "shapes": [shapes[f].tolist()]})
    root = Path(root)
    for frame, entries in rows.items():
        atomic_write_text(root / f"{frame:06d}.json", json.dumps(entries))
    remove_stale_frames(root, list(rows))


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
