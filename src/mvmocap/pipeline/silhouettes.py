"""Each fitted body's girth checked against the person's silhouette in the views.

Bone lengths fix a body's height and proportions but not its girth: a shape fitted to noisy real
keypoints can come out with a belly nobody in the footage has. The pixels say how wide the person
is. For a few frames spread over the run and every camera:

- the silhouette: each person's own, segmented by BlazePose's landmark model in a crop about
  where their fitted body is (the crop realigned once on the hip centre and body top the model
  finds; a pixel above :data:`_SILHOUETTE_LEVEL` is the person). No background is needed: a
  background from the frames' median took anyone who stays in one place for background, which
  on a real two-person take of 1.7 s left one person unmeasured in every view;
- the fitted bodies drawn together, each pixel knowing whose body it shows;
- across the torso at three heights (:data:`_HEIGHTS` of the way from the neck to the mid-hip
  of the fitted keypoints), perpendicular to it in the image, the width of the person's own mesh
  and of their silhouette through the same point. A measure is left out when the torso is seen
  end-on (shorter than :data:`_MIN_TORSO_PX`), another body lies on the line or the silhouette
  reaches it, the silhouette runs to the frame's edge, or it does not cover most of the torso's
  length (the person hidden by a thing, or the segmentation lost them).

The median ratio of mesh to silhouette width is each body's ``width_ratio``: about 1 for a body
of the person's build, above 1 for a body too heavy; a run warns outside :data:`_PLAUSIBLE`.
Frames are measured at most :data:`_WORK_SIZE` pixels on their long side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from mvmocap.camera import Camera, CameraRig
from mvmocap.io import FrameSource
from mvmocap.pipeline.videos import FittedMesh
from mvmocap.render import Scene

__all__ = ["BodyWidth", "body_widths", "check_bodies", "warn_implausible"]

log = logging.getLogger(__name__)

_WORK_SIZE = 640  # pixels on the long side of the frames measured
_ONE_PASS_FRAMES = 400  # frames this close together are read in one pass, further apart each with a seek
_SAMPLES = 8  # frames measured
_SILHOUETTE_LEVEL = 0.5  # the segmentation's probability above which a pixel is the person
_HEIGHTS = (0.35, 0.55, 0.75)  # where the torso is measured, from the neck (0) to the mid-hip (1)
_MIN_TORSO_PX = 24  # a torso shorter in the image (seen end-on, far away) is not measured
_MIN_TORSO_COVERED = 0.7  # the share of the torso's line the silhouette must cover
_MIN_SAMPLES = 6  # fewer measures give no ratio
_PLAUSIBLE = (0.7, 1.2)  # a width ratio outside warns (clothes widen a silhouette: the low end is wide)
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


def body_widths(rig: CameraRig, sources: dict[str, FrameSource], frames: list[int],
                meshes: list[FittedMesh]) -> list[BodyWidth]:
    """Each of ``meshes`` (fitted over the run's ``frames``, frame numbers) against the people's
    silhouettes in ``sources``'s cameras (module docstring)."""
    from mvmocap.detect.blazepose import BlazePoseMulti

    ratios: list[dict[str, list[float]]] = [{} for _ in meshes]
    covered = [k for k in range(len(frames)) if any(m.covers(k) for m in meshes)]
    if not covered:
        return [BodyWidth(None, 0, {}) for _ in meshes]
    picks = sorted({covered[int(round(i))] for i in np.linspace(0, len(covered) - 1, min(_SAMPLES, len(covered)))})
    faces = [m.model.faces.cpu().numpy() for m in meshes]
    bodies = {k: [(i, *_posed(m, k)) for i, m in enumerate(meshes) if m.covers(k)] for k in picks}
    segmenter = BlazePoseMulti(max_people=1)
    for name, source in sources.items():
        if name not in rig:
            continue
        camera = _work_camera(rig[name], source.size)
        images = {f: cv2.resize(rgb, camera.image_size, interpolation=cv2.INTER_AREA)
                  for f, rgb in source.read_frames([frames[k] for k in picks], one_pass=_ONE_PASS_FRAMES).items()}
        for k in picks:
            if frames[k] not in images:
                continue
            scene = Scene()
            for i, vertices, _ in bodies[k]:
                scene.add(vertices, faces[i], (0.5, 0.5, 0.5), lit=False)
            owner = scene.render(camera).owner
            for slot, (i, _, keypoints) in enumerate(bodies[k]):
                silhouette = _silhouette(segmenter, images[frames[k]], camera, keypoints)
                if silhouette is not None:
                    ratios[i].setdefault(name, []).extend(_torso_ratios(camera, keypoints, owner, slot, silhouette))
    segmenter.close()
    return [_summary(r) for r in ratios]


def check_bodies(rig: CameraRig, sources: dict[str, FrameSource], frames: list[int],
                 meshes: dict[str, FittedMesh]) -> dict[str, dict]:
    """Each fitted body of ``meshes`` (label -> mesh over the run's ``frames``) against the
    people's silhouettes in ``sources`` (none: no check, ``{}``); warns about implausible ones.
    Returns label -> the report's ``silhouette`` entry."""
    if not sources or not meshes:
        return {}
    widths = dict(zip(meshes, body_widths(rig, sources, frames, list(meshes.values())), strict=True))
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


def _silhouette(segmenter, image: np.ndarray, camera: Camera, keypoints: np.ndarray) -> np.ndarray | None:
    """(H, W) bool: the pixels of ``image`` that are the person whose fitted (J, 3) body25
    ``keypoints`` are given; None when they are behind the camera."""
    if (camera.world_to_camera(keypoints)[:, 2] <= 0).any():
        return None
    xy = camera.project(keypoints)
    hip = xy[_MID_HIP]
    reach = float(np.linalg.norm(xy - hip, axis=1).max())  # the body's circle about the hip centre
    up = xy[_NECK] - hip
    top = hip + reach * up / max(float(np.linalg.norm(up)), 1e-9)
    return segmenter.silhouette(image, hip, top) > _SILHOUETTE_LEVEL


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
                  silhouette: np.ndarray) -> list[float]:
    """Mesh / silhouette widths across the torso of the body drawn as ``slot`` in ``owner``,
    ``silhouette`` (H, W) bool that person's pixels."""
    if (camera.world_to_camera(keypoints[[_NECK, _MID_HIP]])[:, 2] <= 0).any():
        return []
    neck, hip = camera.project(keypoints[[_NECK, _MID_HIP]])
    axis = hip - neck
    length = float(np.linalg.norm(axis))
    if length < _MIN_TORSO_PX:
        return []
    along = [np.rint(neck + t * axis).astype(int) for t in np.linspace(0.1, 0.9, 17)]
    H, W = silhouette.shape
    inside = [(x, y) for x, y in along if 0 <= x < W and 0 <= y < H]
    if len(inside) < len(along) or np.mean([silhouette[y, x] for x, y in inside]) < _MIN_TORSO_COVERED:
        return []
    across = np.array([-axis[1], axis[0]]) / length
    own, reach = owner == slot, int(2 * length)
    found = []
    for t in _HEIGHTS:
        centre = neck + t * axis
        mesh = _run(own, centre, across, reach)
        person = _run(silhouette, centre, across, reach)
        if mesh is None or person is None:
            continue
        line = [np.rint(centre + s * across).astype(int) for s in range(-person[0] - 1, person[1] + 2)]
        if any(owner[y, x] not in (-1, slot) for x, y in line):  # someone else on the line
            continue
        found.append((sum(mesh) + 1) / (sum(person) + 1))
    return found


def _summary(per_camera: dict[str, list[float]]) -> BodyWidth:
    every = [r for found in per_camera.values() for r in found]
    ratio = float(np.median(every)) if len(every) >= _MIN_SAMPLES else None
    return BodyWidth(ratio, len(every), {c: float(np.median(r)) for c, r in per_camera.items() if r})
