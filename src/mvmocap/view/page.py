"""``mvmocap view OUT``: one self-contained HTML file replaying a run in 3D, offline.

The page holds three.js (r160, MIT, vendored in ``vendor/``: nothing is fetched when it opens),
the player (``replay.js``) and the data as JSON with base64 little-endian arrays:

- per person (every person of a multi-person run, each in its colour): the fitted shape's rest
  mesh, its faces, every skinning influence (indices and weights, ``influences`` per vertex), per
  frame of its own each joint's world rotation (quaternion x y z w) and position, and
  ``frame_index``: for each frame of the page, the person's own frame or -1 (not there: hidden);
  the page skins on the CPU, ``v = sum_j w_j (R_j (x - rest_j) + p_j)``: the model's linear blend
  skinning exactly (SMPL's pose correctives are left out: a few mm);
- the triangulated 3D keypoints (body25, confidence 0 = missing) with their limbs, every person's
  side by side (``count`` = people x 25 points a frame);
- the cameras as frusta (centre and the image corners 0.3 m in front) with their names;
- the floor grid (z = 0) and the first view (looking at the subject's path from its side).

World axes as everywhere in mvmocap: z up, metres. A 1000-frame SMPL run is about 3 MB.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvmocap.bodymodels.skinned import SkinnedSequence, skinned_sequence
from mvmocap.camera import CameraRig, load_calibration
from mvmocap.export.source import FittedRun, load_fitted_run
from mvmocap.geometry import matrix_to_quaternion
from mvmocap.skeletons import get_format
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["ReplayData", "replay_data", "write_replay_page", "view_run"]

_HERE = Path(__file__).parent
PERSON_COLOURS = ["#e08a3c", "#4f9de0", "#6cc070", "#d45fa8", "#e0c84f"]
FRUSTUM_DEPTH = 0.3  # metres in front of each camera


def _b64(array: np.ndarray, dtype) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode()


def _person(seq: SkinnedSequence, pid: int, frame_index: np.ndarray) -> dict:
    index, weights = seq.influences()
    count = index.shape[1]
    return {"id": pid, "name": seq.name, "colour": PERSON_COLOURS[pid % len(PERSON_COLOURS)],
            "frame_index": _b64(frame_index, np.int32),
            "vertices": len(seq.rest_vertices), "joints": len(seq.joint_names), "influences": count,
            "rest_vertices": _b64(seq.rest_vertices, np.float32), "faces": _b64(seq.faces, np.uint32),
            "skin_index": _b64(index, np.uint16), "skin_weight": _b64(weights, np.float32),
            "rest_joints": _b64(seq.rest_joints, np.float32),
            "rotations": _b64(matrix_to_quaternion(seq.rotations), np.float32),
            "positions": _b64(seq.joints, np.float32)}


def _cameras(rig: CameraRig | None) -> list[dict]:
    cameras = []
    for cam in rig or []:
        w, h = cam.image_size or (2 * cam.K[0, 2], 2 * cam.K[1, 2])
        corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], dtype=np.float64)
        rays = corners @ np.linalg.inv(cam.K).T  # camera frame, z = 1
        points = (FRUSTUM_DEPTH * rays - cam.t.reshape(1, 3)) @ cam.R  # world: R^T (x - t)
        cameras.append({"name": cam.name, "centre": cam.center.tolist(), "corners": points.tolist()})
    return cameras


def _first_view(centres: np.ndarray) -> dict:
    """Look at the middle of the subject's path ``centres`` (F, 3) across its longer side (turned
    a little, so the floor grid's lines do not run straight at the viewer), from
    far enough to see all of it. The page places its camera at ``target + distance *
    (cos e cos a, cos e sin a, sin e)`` (a: azimuth, e: elevation, radians)."""
    target = np.median(centres, 0) if len(centres) else np.array([0.0, 0.0, 1.0])
    span = np.ptp(centres[:, :2], 0) if len(centres) else np.zeros(2)
    azimuth = float(np.pi / 2 if span[0] >= span[1] else 0.0) - 0.6  # a three-quarter view
    distance = float(max(3.5, 1.6 * np.linalg.norm(span) + 2.5))
    return {"target": [float(target[0]), float(target[1]), 0.9], "distance": distance, "azimuth": azimuth,
            "elevation": 0.35, "fov": 45.0}


@dataclass(frozen=True)
class ReplayData:
    """What the page shows, as the JSON-ready ``doc``."""

    doc: dict

    def json(self) -> str:
        return json.dumps(self.doc, separators=(",", ":"))


def replay_data(runs: list[FittedRun], rig: CameraRig | None) -> ReplayData:
    """The page's data for the people ``runs`` of one output folder (module docstring)."""
    frames = np.unique(np.concatenate([np.asarray(r.frames, dtype=np.int64) for r in runs]))
    fmt = get_format("body25")
    people, keypoints, paths = [], [], []
    for run in runs:
        seq = skinned_sequence(run.model, run.params)
        own = {int(f): i for i, f in enumerate(run.frames)}
        people.append(_person(seq, run.person, np.array([own.get(int(f), -1) for f in frames])))
        kp, _ = run.keypoints("triangulated") if (run.out / "keypoints3d").is_dir() else run.keypoints("fit")
        placed = np.zeros((len(frames),) + kp.shape[1:])
        at = [i for i, f in enumerate(frames) if int(f) in own]
        placed[at] = kp[[own[int(frames[i])] for i in at]]
        keypoints.append(placed)
        paths.append(seq.joints[:, 0])
    count = keypoints[0].shape[1]
    limbs = [[a + k * count, b + k * count] for k in range(len(runs)) for a, b in fmt.limbs]
    doc = {"fps": runs[0].fps, "frames": [int(f) for f in frames], "people": people,
           "keypoints": {"names": list(fmt.joints)[:count] * len(runs), "limbs": limbs, "count": count * len(runs),
                         "data": _b64(np.concatenate(keypoints, 1), np.float32)},
           "cameras": _cameras(rig), "view": _first_view(np.concatenate(paths)),
           "title": f"mvmocap replay: {runs[0].out}"}
    return ReplayData(doc)


def write_replay_page(path: str | Path, data: ReplayData) -> Path:
    """Write the self-contained page (atomically)."""
    template = (_HERE / "replay.html").read_text()
    three = (_HERE / "vendor" / "three.module.min.js").read_text()
    player = (_HERE / "replay.js").read_text()

    def inline(text: str) -> str:  # nothing inside may close the <script> element early
        return text.replace("</script", "<\\/script").replace("<!--", "<\\!--")

    page = (template.replace("%TITLE%", data.doc["title"].replace("<", "&lt;"))
            .replace("%THREE%", inline(three)).replace("%PLAYER%", inline(player))
            .replace("%DATA%", inline(data.json())))
    atomic_write_text(path, page)
    return Path(path)


def view_run(out: str | Path, html: str | Path | None = None, *, calib: str | Path | None = None,
             model: str | None = None) -> Path:
    """Write the replay page of the run in ``out`` (default ``out/replay.html``): its person, or
    every person of a multi-person run (``out/people/<id>/``). The cameras
    come from ``calib``, else the calibration the run recorded in its report, else the dataset
    folder above ``out``; without any, the page shows no frusta."""
    out = Path(out)
    ids = [] if (out / "params.npz").is_file() else sorted(
        int(p.name) for p in (out / "people").glob("*") if p.name.isdigit() and (p / "params.npz").is_file())
    runs = [load_fitted_run(out, person=i, model=model) for i in ids] or [load_fitted_run(out, model=model)]
    rig = None
    candidates = [calib] if calib else []
    report = out / "report.json"
    if report.is_file():
        candidates.append(json.loads(report.read_text()).get("calibration"))
    candidates.append(out.parent)
    for candidate in [c for c in candidates if c]:
        try:
            rig = load_calibration(candidate)
            break
        except (OSError, ValueError) as err:
            if calib and candidate == calib:
                raise InputError(f"--calib {calib}: {err}") from err
    return write_replay_page(html or out / "replay.html", replay_data(runs, rig))
