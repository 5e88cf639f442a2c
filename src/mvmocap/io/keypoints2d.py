"""Multi-view 2D keypoint files: OpenPose JSON and EasyMocap ``annots`` folders.

Layout on disk: ``DIR/<cam>/<frame>.json`` (EasyMocap ``annots``) or
``DIR/<cam>/<name>_<frame>_keypoints.json`` (OpenPose), one file per frame. In memory a
sequence is ``(F, V, J, 3)`` per person: x, y in pixels and confidence, 0 where missing.

- OpenPose: ``people[i].pose_keypoints_2d`` (flat x, y, c), ``hand_left_keypoints_2d``,
  ``hand_right_keypoints_2d``. The person id is ``person_id`` when set (>= 0), otherwise the
  position in the list (OpenPose does not track identities; pick the person you want).
- EasyMocap: ``annots[i].keypoints`` ([[x, y, c], ...]), ``bbox`` ([x1, y1, x2, y2, c]),
  ``personID``, hands in ``handl2d`` / ``handr2d``.

Frames are ordered by natural sort of the file names; cameras keep the order given (or the
natural order of the folder names), never plain string order.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mvmocap.io.errors import DataError
from mvmocap.skeletons import get_format, guess_format
from mvmocap.utils import atomic_write_text, natural_sorted

__all__ = [
    "MultiViewKeypoints",
    "keypoint_frame_rate",
    "list_camera_folders",
    "read_keypoints2d",
    "write_annots",
    "write_hand_annots",
    "write_openpose",
]

log = logging.getLogger(__name__)

_DIGITS = re.compile(r"\d+")

PARTS = {
    # part: (OpenPose field, EasyMocap field)
    "body": ("pose_keypoints_2d", "keypoints"),
    "handl": ("hand_left_keypoints_2d", "handl2d"),
    "handr": ("hand_right_keypoints_2d", "handr2d"),
}


@dataclass
class MultiViewKeypoints:
    """2D keypoints of one or more people seen by several cameras.

    Attributes:
        cameras: (V,) camera names, in the order of the view axis.
        frames: (F,) frame numbers (the last number in each file name of the first camera,
            e.g. 12 for ``000012.json`` or ``cam1_000000000012_keypoints.json``).
        people: person id -> (F, V, J, 3) array of x, y, confidence (0 = not seen).
        skeleton: keypoint format name, e.g. ``"body25"``.
        times: camera -> (F,) capture time of each frame in seconds on that camera's own clock
            (the video's timestamps; NaN where unknown); cameras without any are absent.
    """

    cameras: list[str]
    frames: list[int]
    people: dict[int, np.ndarray]
    skeleton: str
    times: dict[str, np.ndarray] = field(default_factory=dict)

    def person(self, pid: int | None = None) -> np.ndarray:
        """(F, V, J, 3) for ``pid``; by default the person with the largest total confidence."""
        if not self.people:
            return np.zeros((len(self.frames), len(self.cameras), get_format(self.skeleton).num_joints, 3))
        if pid is None:
            pid = max(self.people, key=lambda k: float(self.people[k][..., 2].sum()))
        if pid not in self.people:
            raise KeyError(f"no person {pid}; ids present: {sorted(self.people)}")
        return self.people[pid]

    def select_cameras(self, names: list[str]) -> MultiViewKeypoints:
        """The same sequence restricted to ``names``, in that order."""
        idx = [self.cameras.index(n) for n in names]
        people = {k: v[:, idx] for k, v in self.people.items()}
        times = {n: t for n, t in self.times.items() if n in names}
        return MultiViewKeypoints(list(names), self.frames, people, self.skeleton, times)

    def select_frames(self, keep: list[int]) -> MultiViewKeypoints:
        """The same sequence at positions ``keep`` of the frame axis."""
        return MultiViewKeypoints(self.cameras, [self.frames[i] for i in keep],
                                  {k: v[keep] for k, v in self.people.items()}, self.skeleton,
                                  {n: t[keep] for n, t in self.times.items()})

    def within(self, frames: range) -> MultiViewKeypoints:
        """The same sequence at the frame numbers in ``frames`` only."""
        return self.select_frames([i for i, f in enumerate(self.frames) if f in frames])

    def candidates(self) -> np.ndarray:
        """(F, V, P, J, 3): every person id's detections side by side (P ids in sorted order);
        for detectors whose ids are per view (tracks), not the same person across views."""
        if not self.people:
            return np.zeros((len(self.frames), len(self.cameras), 0, get_format(self.skeleton).num_joints, 3))
        return np.stack([self.people[k] for k in sorted(self.people)], axis=2)


def list_camera_folders(root: str | Path) -> list[str]:
    """Sub-folder names of ``root`` in natural order (``cam2`` before ``cam10``)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "keypoint folder not found; expected one sub-folder of JSON files per camera")
    names = natural_sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise DataError(root, "no camera sub-folders found; expected <cam>/<frame>.json files")
    return names


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(path, f"not valid JSON ({err}); delete or regenerate this file (a frame deleted from "
                              "mvmocap's detection cache is detected again by the next run)") from None


def keypoint_frame_rate(folder: str | Path, *, sample: int = 60) -> float | None:
    """The frame rate of a camera's keypoint files (``folder``: ``<frame>.json``) from their
    ``timestamp`` fields (mvmocap's detection cache writes the video's), the median over the first
    ``sample`` files, to a millionth of a frame per second; None without timestamps."""
    names = natural_sorted(p.name for p in Path(folder).glob("*.json") if not p.name.startswith("."))[:sample]
    stamps = []
    for name in names:
        data = _load_json(Path(folder) / name)
        if isinstance(data, dict) and isinstance(data.get("timestamp"), (int, float)):
            stamps.append((_frame_number(name, len(stamps)), float(data["timestamp"])))
    if len(stamps) < 2:
        return None
    frames, times = np.array(stamps).T
    steps = np.diff(times) / np.diff(frames)
    steps = steps[np.isfinite(steps) & (steps > 0)]
    return round(float(1.0 / np.median(steps)), 6) if steps.size else None  # 30, not 30.000000000000007


def _as_points(values, path: Path, field: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(path, f"field '{field}' is not a list of numbers") from None
    if arr.size == 0:
        return np.zeros((0, 3))
    if arr.ndim == 1:
        if arr.size % 3:
            raise DataError(path, f"field '{field}' has {arr.size} values, not a multiple of 3 (x, y, c)")
        arr = arr.reshape(-1, 3)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise DataError(path, f"field '{field}' must be J x 3 (x, y, confidence), got shape {arr.shape}")
    arr = arr[:, :3].copy()
    bad = ~np.all(np.isfinite(arr), axis=1)
    arr[bad] = 0.0  # NaN entries mean 'not detected'
    arr[arr[:, 2] <= 0] = 0.0
    return arr


def _parse_people(data, path: Path, part: str) -> dict[int, np.ndarray]:
    """One frame file -> {person id: (J, 3)}."""
    op_field, emc_field = PARTS[part]
    if isinstance(data, dict) and "people" in data:
        out = {}
        for i, person in enumerate(data["people"] or []):
            if not isinstance(person, dict):
                raise DataError(path, f"people[{i}] is {json.dumps(person)}, not an object with "
                                      f"'{op_field}'; remove it or regenerate the file")
            pid = person.get("person_id", -1)
            pid = pid[0] if isinstance(pid, list) and pid else pid
            pid = int(pid) if isinstance(pid, (int, float)) and pid >= 0 else i
            out[pid] = _as_points(person.get(op_field, []), path, op_field)
        return out
    annots = data.get("annots") if isinstance(data, dict) else data
    if not isinstance(annots, list):
        raise DataError(path, "neither OpenPose ('people') nor EasyMocap ('annots') keypoint JSON")
    out = {}
    for i, person in enumerate(annots):
        if not isinstance(person, dict):
            raise DataError(path, f"annots[{i}] is not an object")
        pid = person.get("personID", person.get("id", i))
        if isinstance(pid, bool) or not isinstance(pid, (int, float)) or not float(pid).is_integer() or pid < 0:
            raise DataError(path, f"annots[{i}].personID must be a whole number >= 0, got {pid!r}")
        pid = int(pid)
        out[pid] = _as_points(person.get(emc_field, []), path, emc_field)
    return out


def _numbered_files(folder: Path, cam: str) -> dict[int, Path]:
    """Camera ``cam``'s keypoint files in ``folder`` by their frame number."""
    if not folder.is_dir():
        raise DataError(folder, f"no keypoint folder for camera '{cam}'")
    names = natural_sorted(p.name for p in folder.glob("*.json") if not p.name.startswith("."))
    if not names:
        raise DataError(folder, f"camera '{cam}' has no .json keypoint files")
    numbered: dict[int, Path] = {}
    for position, name in enumerate(names):
        number = _frame_number(name, position)
        if number in numbered:
            raise DataError(folder / name, f"frame number {number} also in {numbered[number].name}; "
                                           "one file per frame and camera")
        numbered[number] = folder / name
    return numbered


def read_keypoints2d(
    root: str | Path,
    cameras: list[str] | None = None,
    part: str = "body",
    skeleton: str | None = None,
    common_frames: bool = False,
) -> MultiViewKeypoints:
    """Read ``root/<cam>/*.json`` for every camera into per-person ``(F, V, J, 3)`` arrays.

    Args:
        root: folder with one sub-folder per camera.
        cameras: camera names in view order (default: sub-folders in natural order).
        part: ``"body"``, ``"handl"`` or ``"handr"``.
        skeleton: keypoint format; guessed from the joint count when None.
        common_frames: keep only the frame numbers every camera has; by default every frame
            number any camera has is kept, and a camera without that frame has confidence 0
            there. Files are always paired across cameras by the frame number in their name.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    root = Path(root)
    cameras = list_camera_folders(root) if cameras is None else list(cameras)
    files = {cam: _numbered_files(root / cam, cam) for cam in cameras}
    all_frames = sorted(set().union(*(set(f) for f in files.values())))
    shared = sorted(set.intersection(*(set(f) for f in files.values())))
    frames = shared if common_frames else all_frames
    if len(shared) < len(all_frames):
        detail = ", ".join(f"{c}: {len(f)}" for c, f in files.items())
        if common_frames:
            log.warning("cameras have different frame counts (%s); using the %d frames every camera has",
                        detail, len(shared))
        else:
            log.warning("cameras have different frame counts (%s); frames are paired by number and a frame a "
                        "camera lacks counts as not seen there", detail)
    if not frames:
        raise DataError(root, "the cameras have no frame number in common")

    per_frame: list[list[dict[int, np.ndarray]]] = []
    times = {cam: np.full(len(frames), np.nan) for cam in cameras}
    for f, number in enumerate(frames):
        row = []
        for cam in cameras:
            path = files[cam].get(number)
            data = _load_json(path) if path is not None else {"annots": []}
            if isinstance(data, dict) and isinstance(data.get("timestamp"), (int, float)):
                times[cam][f] = float(data["timestamp"])
            row.append(_parse_people(data, path, part) if path is not None else {})
        per_frame.append(row)
    num_frames = len(frames)
    sizes = {len(p) for frame in per_frame for view in frame for p in view.values() if len(p)}
    if len(sizes) > 1:
        raise DataError(root, f"files disagree on the number of joints ({sorted(sizes)}); mixed keypoint formats?")
    if skeleton is None:
        fmt = guess_format(sizes.pop()) if sizes else get_format("hand21" if part != "body" else "body25")
    else:
        fmt = get_format(skeleton)
        if sizes and sizes != {fmt.num_joints}:
            raise DataError(root, f"files have {sizes.pop()} joints but format {fmt.name} has {fmt.num_joints}")
    ids = sorted({pid for frame in per_frame for view in frame for pid, p in view.items() if len(p)})
    people = {pid: np.zeros((num_frames, len(cameras), fmt.num_joints, 3)) for pid in ids}
    for f, frame in enumerate(per_frame):
        for v, view in enumerate(frame):
            for pid, points in view.items():
                if len(points):
                    people[pid][f, v] = points
    if all(not np.any(p[..., 2] > 0) for p in people.values()):
        log.warning("%s: no keypoint has a confidence above 0; nothing can be triangulated", root)
    known = {cam: t for cam, t in times.items() if np.isfinite(t).any()}
    return MultiViewKeypoints(cameras, list(frames), people, fmt.name, times=known)


def _frame_number(filename: str, position: int) -> int:
    numbers = _DIGITS.findall(filename)
    return int(numbers[-1]) if numbers else position


def _bbox(points: np.ndarray) -> list[float]:
    seen = points[points[:, 2] > 0]
    if not len(seen):
        return [0.0, 0.0, 0.0, 0.0, 0.0]
    lo, hi = seen[:, :2].min(0), seen[:, :2].max(0)
    return [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]), float(seen[:, 2].mean())]


def write_annots(
    root: str | Path, seq: MultiViewKeypoints, image_sizes: dict[str, tuple[int, int]] | None = None
) -> None:
    """Write EasyMocap ``annots/<cam>/<frame>.json`` files (atomically, one per frame)."""
    root = Path(root)
    image_sizes = image_sizes or {}
    num_frames = len(seq.frames)
    for v, cam in enumerate(seq.cameras):
        w, h = image_sizes.get(cam, (0, 0))
        for f in range(num_frames):
            name = f"{seq.frames[f]:06d}"
            annots = [
                {"personID": int(pid), "bbox": _bbox(kp[f, v]), "keypoints": kp[f, v].tolist(), "isKeyframe": False}
                for pid, kp in seq.people.items()
                if np.any(kp[f, v, :, 2] > 0)
            ]
            doc = {"filename": f"images/{cam}/{name}.jpg", "height": int(h), "width": int(w),
                   "annots": annots, "isKeyframe": False}
            if cam in seq.times and np.isfinite(seq.times[cam][f]):
                doc["timestamp"] = float(seq.times[cam][f])  # seconds on the camera's own clock
            atomic_write_text(root / cam / f"{name}.json", json.dumps(doc))


def write_openpose(root: str | Path, seq: MultiViewKeypoints) -> None:
    """Write OpenPose ``<cam>/<cam>_<frame>_keypoints.json`` files (atomically)."""
    root = Path(root)
    for v, cam in enumerate(seq.cameras):
        for f in range(len(seq.frames)):
            people = [
                {"person_id": [int(pid)], "pose_keypoints_2d": kp[f, v].reshape(-1).tolist(),
                 "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": []}
                for pid, kp in seq.people.items()
                if np.any(kp[f, v, :, 2] > 0)
            ]
            doc = {"version": 1.3, "people": people}
            atomic_write_text(root / cam / f"{cam}_{seq.frames[f]:012d}_keypoints.json", json.dumps(doc))


def write_hand_annots(root: str | Path, cameras: list[str], frames: list[int], left: np.ndarray, right: np.ndarray,
                      image_sizes: dict[str, tuple[int, int]] | None = None) -> None:
    """Write assigned hands (F, V, 21, 3 each) as EasyMocap ``annots`` with ``handl2d`` and
    ``handr2d`` (and an empty body), one file per camera and frame, atomically."""
    root = Path(root)
    image_sizes = image_sizes or {}
    for v, cam in enumerate(cameras):
        w, h = image_sizes.get(cam, (0, 0))
        for f, frame in enumerate(frames):
            person = {"personID": 0, "keypoints": [], "handl2d": left[f, v].tolist(), "handr2d": right[f, v].tolist(),
                      "bbox_handl2d": _bbox(left[f, v]), "bbox_handr2d": _bbox(right[f, v])}
            doc = {"filename": f"images/{cam}/{frame:06d}.jpg", "height": int(h), "width": int(w),
                   "annots": [person], "isKeyframe": False}
            atomic_write_text(root / cam / f"{frame:06d}.json", json.dumps(doc))
