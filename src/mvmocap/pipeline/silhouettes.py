"""Each fitted body's girth checked against the person's silhouette in the views.

Bone lengths fix a body's height and proportions but not its girth: a shape fitted to noisy real
keypoints can come out with a belly nobody in the footage has. The pixels say how wide the person
is. For a few frames spread over the run and every camera:

- the silhouette: the frame against the camera's background, a pixel differing by more than
  :data:`_FOREGROUND_LEVEL` grey levels in a channel being foreground. The background is the
  per-pixel median of frames spread over the run, each leaving out the boxes of everyone detected
  in it (grown by :data:`_BOX_MARGIN`): a plain median takes someone who walks along the camera's
  line of sight, or stands still, for background. Pixels that someone covers in every one of
  those frames have no background and are not measured;
- the fitted bodies drawn together, each pixel knowing whose body it shows;
- across the torso at three heights (:data:`_HEIGHTS` of the way from the neck to the mid-hip
  of the fitted keypoints), perpendicular to it in the image, the width of the person's own mesh
  and of the foreground through the same point. A measure is left out when the torso is seen
  end-on (shorter than :data:`_MIN_TORSO_PX`), another body lies on the line or the foreground
  run reaches it, the run reaches the frame's edge, or the torso is not foreground along most
  of its length (the person stood still, or is hidden by a thing).

The median ratio of mesh to silhouette width is each body's ``width_ratio``: about 1 for a body
of the person's build, above 1 for a body too heavy; a run warns outside :data:`_PLAUSIBLE`.
Frames are measured at most :data:`_WORK_SIZE` pixels on their long side.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import cv2
import numpy as np

from mvmocap.camera import Camera, CameraRig
from mvmocap.io import FrameSource, MultiViewKeypoints
from mvmocap.pipeline.videos import FittedMesh
from mvmocap.render import Scene

__all__ = ["BodyWidth", "body_widths", "check_bodies", "warn_implausible"]

log = logging.getLogger(__name__)

_WORK_SIZE = 640  # pixels on the long side of the frames measured
_BACKGROUND_FRAMES = 15  # frames whose per-pixel median is a camera's background
_BOX_MARGIN = 0.25  # a detected person's box grows by this share of its height on every side
_SAMPLES = 8  # frames measured
_FOREGROUND_LEVEL = 30  # grey levels a pixel must differ from the background in some channel
_HEIGHTS = (0.35, 0.55, 0.75)  # where the torso is measured, from the neck (0) to the mid-hip (1)
_MIN_TORSO_PX = 24  # a torso shorter in the image (seen end-on, far away) is not measured
_MIN_TORSO_FOREGROUND = 0.7  # the share of the torso's line that must be foreground
_MIN_SAMPLES = 6  # fewer measures give no ratio
_PLAUSIBLE = (0.8, 1.25)  # a width ratio outside warns
_NECK, _MID_HIP = 1, 8  # body25


@dataclass(frozen=True)
class BodyWidth:
    """One fitted body against its silhouettes.

    width_ratio: the median of mesh width / silhouette width across the torso (None: fewer than
        :data:`_MIN_SAMPLES` measures).
    samples: the measures taken.
    per_camera: camera -> that camera's median ratio (cameras with a measure only).
    """

    width_ratio: float | None
    samples: int
    per_camera: dict[str, float]

    def as_report(self) -> dict:
        return {"width_ratio": None if self.width_ratio is None else round(self.width_ratio, 3),
                "samples": self.samples, "per_camera": {c: round(r, 3) for c, r in self.per_camera.items()}}


def body_widths(rig: CameraRig, sources: dict[str, FrameSource], frames: list[int], meshes: list[FittedMesh],
                detections: np.ndarray) -> list[BodyWidth]:
    """Each of ``meshes`` (fitted over the run's ``frames``, frame numbers) against the silhouettes
    in ``sources``'s cameras (module docstring); ``detections``: (F, V, P, J, 3) everyone detected
    in the run's frames, cameras in ``rig`` order."""
    ratios: list[dict[str, list[float]]] = [{} for _ in meshes]
    covered = [k for k in range(len(frames)) if any(m.covers(k) for m in meshes)]
    if not covered:
        return [BodyWidth(None, 0, {}) for _ in meshes]
    picks = sorted({covered[int(round(i))] for i in np.linspace(0, len(covered) - 1, min(_SAMPLES, len(covered)))})
    faces = [m.model.faces.cpu().numpy() for m in meshes]
    bodies = {k: [(i, *_posed(m, k)) for i, m in enumerate(meshes) if m.covers(k)] for k in picks}
    for name, source in sources.items():
        if name not in rig:
            continue
        camera = _work_camera(rig[name], source.size)
        scale = camera.image_size[0] / source.size[0]
        boxes = [_boxes(detections[k, rig.index(name)], scale) for k in range(len(frames))]
        background = _background(source, frames, camera.image_size, boxes)
        for k in picks:
            image = _read(source, frames[k], camera.image_size)
            if image is None:
                continue
            foreground = _foreground(image, background)
            scene = Scene()
            for i, vertices, _ in bodies[k]:
                scene.add(vertices, faces[i], (0.5, 0.5, 0.5), lit=False)
            owner = scene.render(camera).owner
            for slot, (i, _, keypoints) in enumerate(bodies[k]):
                found = _torso_ratios(camera, keypoints, owner, slot, foreground)
                ratios[i].setdefault(name, []).extend(found)
    return [_summary(r) for r in ratios]


def check_bodies(rig: CameraRig, sources: dict[str, FrameSource], frames: list[int], meshes: dict[str, FittedMesh],
                 seq: MultiViewKeypoints) -> dict[str, dict]:
    """Each fitted body of ``meshes`` (label -> mesh over the run's ``frames``) against the
    silhouettes in ``sources`` (none: no check, ``{}``), everyone detected in ``seq`` (cameras in
    ``rig`` order) kept out of the backgrounds; warns about implausible ones. Returns label ->
    the report's ``silhouette`` entry."""
    if not sources or not meshes:
        return {}
    rows = {f: i for i, f in enumerate(seq.frames)}
    candidates = seq.candidates()
    detections = np.zeros((len(frames),) + candidates.shape[1:])
    for k, f in enumerate(frames):
        if f in rows:
            detections[k] = candidates[rows[f]]
    widths = dict(zip(meshes, body_widths(rig, sources, frames, list(meshes.values()), detections), strict=True))
    warn_implausible(widths)
    return {label: width.as_report() for label, width in widths.items()}


def warn_implausible(widths: dict[str, BodyWidth]) -> None:
    """Log a warning for every body (label -> width) whose width ratio is outside :data:`_PLAUSIBLE`."""
    for label, width in widths.items():
        if width.width_ratio is not None and not _PLAUSIBLE[0] <= width.width_ratio <= _PLAUSIBLE[1]:
            how = "wider" if width.width_ratio > 1 else "narrower"
            log.warning("%s: the fitted body is %.2fx as wide as the person's silhouette across the torso (median of "
                        "%d measures in the views): %s than the person; its shape is not to be trusted (look at the "
                        "overlay video)", label, width.width_ratio, width.samples, how)


def _posed(mesh: FittedMesh, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) vertices and (J, 3) keypoints of ``mesh`` at the run's frame ``k``."""
    f = k - mesh.first
    r = mesh.result
    params = {"poses": r.poses[f:f + 1], "shapes": r.shapes, "Rh": r.Rh[f:f + 1], "Th": r.Th[f:f + 1]}
    return next(iter(mesh.model.sequence(params))), r.keypoints[f]


def _work_camera(camera: Camera, size: tuple[int, int]) -> Camera:
    """``camera`` for its frames (``size``) shrunk to at most :data:`_WORK_SIZE` on the long side."""
    scale = min(1.0, _WORK_SIZE / max(size))
    sized = camera if camera.image_size == tuple(size) else camera.resized(tuple(size))
    work = (max(1, int(round(size[0] * scale))), max(1, int(round(size[1] * scale))))
    return sized if work == tuple(size) else sized.resized(work)


def _read(source: FrameSource, frame: int, size: tuple[int, int]) -> np.ndarray | None:
    """Frame ``frame`` of ``source`` at ``size`` (int16 RGB), None when the camera lacks it."""
    for _, rgb in source.frames(frame, frame + 1):
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.int16)
    return None


def _boxes(people: np.ndarray, scale: float) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of each of the (P, J, 3) ``people`` detected in a view-frame, grown by
    :data:`_BOX_MARGIN`, in pixels of frames scaled by ``scale``."""
    boxes = []
    for kp in people:
        seen = kp[:, 2] > 0
        if seen.sum() < 2:
            continue
        (x0, y0), (x1, y1) = kp[seen, :2].min(0) * scale, kp[seen, :2].max(0) * scale
        grow = _BOX_MARGIN * max(y1 - y0, x1 - x0)
        boxes.append((int(x0 - grow), int(y0 - grow), int(np.ceil(x1 + grow)), int(np.ceil(y1 + grow))))
    return boxes


def _background(source: FrameSource, frames: list[int], size: tuple[int, int],
                boxes: list[list[tuple[int, int, int, int]]]) -> np.ndarray:
    """(H, W, 3) the per-pixel median of :data:`_BACKGROUND_FRAMES` frames spread over ``frames``
    outside the people's ``boxes`` (per frame of ``frames``); NaN where every frame had someone."""
    picks = sorted({int(round(i)) for i in np.linspace(0, len(frames) - 1, min(_BACKGROUND_FRAMES, len(frames)))})
    stack = []
    for k in picks:
        image = _read(source, frames[k], size)
        if image is None:
            continue
        image = image.astype(np.float32)
        for x0, y0, x1, y1 in boxes[k]:
            image[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = np.nan
        stack.append(image)
    if len(stack) < 3:
        return np.full((size[1], size[0], 3), np.nan, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: no background there
        return np.nanmedian(np.stack(stack), axis=0)


def _foreground(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(H, W) int8: 1 where ``image`` differs from the ``background``, 0 where it does not, -1
    where there is no background."""
    known = np.isfinite(background[..., 0])
    mask = (np.abs(image - np.nan_to_num(background)).max(-1) > _FOREGROUND_LEVEL).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(np.int8)
    mask[~known] = -1
    return mask


def _run(mask: np.ndarray, centre: np.ndarray, direction: np.ndarray, reach: int) -> tuple[int, int] | None:
    """(steps back, steps forward) that ``mask`` stays True from ``centre`` along +-``direction``
    (pixels); None when ``centre`` is not in it, or the run reaches ``reach`` or the image's edge."""
    H, W = mask.shape
    ends = []
    for sign in (-1, 1):
        steps = 0
        while True:
            x, y = np.rint(centre + sign * (steps + 1) * direction).astype(int)
            if not (0 <= x < W and 0 <= y < H) or steps + 1 > reach:
                return None
            if not mask[y, x]:
                break
            steps += 1
        ends.append(steps)
    x, y = np.rint(centre).astype(int)
    return (ends[0], ends[1]) if 0 <= x < W and 0 <= y < H and mask[y, x] else None


def _torso_ratios(camera: Camera, keypoints: np.ndarray, owner: np.ndarray, slot: int,
                  foreground: np.ndarray) -> list[float]:
    """Mesh / silhouette widths across the torso of the body drawn as ``slot`` in ``owner``
    (``foreground`` as :func:`_foreground` gives it)."""
    if (camera.world_to_camera(keypoints[[_NECK, _MID_HIP]])[:, 2] <= 0).any():
        return []
    neck, hip = camera.project(keypoints[[_NECK, _MID_HIP]])
    axis = hip - neck
    length = float(np.linalg.norm(axis))
    if length < _MIN_TORSO_PX:
        return []
    along = [np.rint(neck + t * axis).astype(int) for t in np.linspace(0.1, 0.9, 17)]
    H, W = foreground.shape
    inside = [(x, y) for x, y in along if 0 <= x < W and 0 <= y < H]
    if len(inside) < len(along) or np.mean([foreground[y, x] == 1 for x, y in inside]) < _MIN_TORSO_FOREGROUND:
        return []
    across = np.array([-axis[1], axis[0]]) / length
    own, person_pixels, reach = owner == slot, foreground == 1, int(2 * length)
    found = []
    for t in _HEIGHTS:
        centre = neck + t * axis
        mesh = _run(own, centre, across, reach)
        person = _run(person_pixels, centre, across, reach)
        if mesh is None or person is None:
            continue
        line = [np.rint(centre + s * across).astype(int) for s in range(-person[0] - 1, person[1] + 2)]
        if foreground[line[0][1], line[0][0]] != 0 or foreground[line[-1][1], line[-1][0]] != 0:
            continue  # the silhouette ends where the background is unknown
        if any(owner[y, x] not in (-1, slot) for x, y in line):  # someone else on the line
            continue
        found.append((sum(mesh) + 1) / (sum(person) + 1))
    return found


def _summary(per_camera: dict[str, list[float]]) -> BodyWidth:
    every = [r for found in per_camera.values() for r in found]
    ratio = float(np.median(every)) if len(every) >= _MIN_SAMPLES else None
    return BodyWidth(ratio, len(every), {c: float(np.median(r)) for c, r in per_camera.items() if r})
