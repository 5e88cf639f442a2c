"""The videos of a run: the fitted meshes over the chosen camera views (tiled) and a ground view."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from mvmocap.bodymodels import BodyModel
from mvmocap.camera import Camera, CameraRig
from mvmocap.console import progress
from mvmocap.fit import FitResult
from mvmocap.io import FrameSource
from mvmocap.render import (
    PERSON_COLOURS,
    CheckerFloor,
    RenderSettings,
    Scene,
    VideoWriter,
    composite,
    draw_skeleton,
    follow_cameras,
    put_label,
    tile_layout,
    tile_views,
)

__all__ = ["FittedMesh", "Footage", "render_run_videos"]

_BACKGROUND = (70, 80, 95)
_FRAMES_IN_FLIGHT = 3  # frames being drawn while the oldest is encoded


@dataclass
class FittedMesh:
    """One fitted body to draw: its model and fit, the index in the video's frames of the fit's
    first frame (a person of a multi-person run is fitted over their own frames only), and its
    colour (None: the next person colour)."""

    model: BodyModel
    result: FitResult
    first: int = 0
    colour: tuple[float, float, float] | None = None

    def covers(self, f: int) -> bool:
        return self.first <= f < self.first + len(self.result.poses)


@dataclass(frozen=True)
class _Tiles:
    """The overlay's grid: ``views`` maps each view to its camera (a missing image size taken as
    1280 x 720) and the same camera at the size it is shown (fitted in a cell, aspect kept, never
    larger than its frames); ``cell`` (width, height) and ``columns`` as :func:`tile_views` takes them."""

    views: dict[str, tuple[Camera, Camera]]
    cell: tuple[int, int]
    columns: int


def _tile_cameras(rig: CameraRig, names: list[str], width: int) -> _Tiles:
    """The grid of :func:`tile_layout` for an overlay ``width`` pixels wide: views are drawn at the
    size they are shown, not drawn whole and shrunk."""
    sized = {n: rig[n] if rig[n].image_size else Camera(n, rig[n].K, rig[n].dist, rig[n].R, rig[n].t, (1280, 720))
             for n in names}
    (w, h), columns = tile_layout([sized[n].image_size for n in names])
    scale = min(1.0, width / (columns * w))
    cell_w, cell_h = max(2, int(round(w * scale))), max(2, int(round(h * scale)))
    views = {}
    for name, cam in sized.items():
        cw, ch = cam.image_size
        fit = min(cell_w / cw, cell_h / ch, 1.0)
        views[name] = (cam, cam.resized((max(2, min(cell_w, int(round(cw * fit)))),
                                         max(2, min(cell_h, int(round(ch * fit)))))))
    return _Tiles(views, (cell_w, cell_h), columns)


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` (width, height): halved by Gaussian pyramid steps while it
    is more than twice too large (a low-pass before sampling, 3x cheaper than area averaging on
    a 1080 x 1920 frame), then linear interpolation."""
    while image.shape[1] >= 2 * size[0] and image.shape[0] >= 2 * size[1]:
        image = cv2.pyrDown(image)
    return image if image.shape[1::-1] == tuple(size) else cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def _vertex_chunks(model: BodyModel, result: FitResult, chunk: int = 50):
    """Yield (V, 3) fitted vertices frame by frame (memory bounded by ``chunk`` frames)."""
    params = {"poses": result.poses, "shapes": result.shapes, "Rh": result.Rh, "Th": result.Th}
    for i in range(0, len(result.poses), chunk):
        yield from model.sequence({k: v if k == "shapes" else v[i:i + chunk] for k, v in params.items()})


def _ground_centres(meshes: list[FittedMesh], count: int) -> np.ndarray:
    """(F, 3) what the ground camera follows: the mean MidHip of the bodies in each frame (held
    where nobody is)."""
    total, seen = np.zeros((count, 3)), np.zeros(count)
    for mesh in meshes:
        span = slice(mesh.first, mesh.first + len(mesh.result.poses))
        total[span] += mesh.result.keypoints[:, 8]  # body25 MidHip
        seen[span] += 1
    centres = total / np.maximum(seen, 1)[:, None]
    known = np.flatnonzero(seen > 0)
    for axis in range(3):
        centres[:, axis] = np.interp(np.arange(count), known, centres[known, axis])
    return centres


@dataclass(frozen=True)
class Footage:
    """What a run's videos are drawn over: the cameras ``rig`` and their frame ``sources``, those
    tiled in the overlay (``vis_cams``), the run's ``frames`` and their rate ``fps``."""

    rig: CameraRig
    sources: dict[str, FrameSource]
    vis_cams: list[str]
    frames: list[int]
    fps: float


def render_run_videos(out: Path, footage: Footage, meshes: list[FittedMesh],
                      skeletons: list[tuple[np.ndarray, str] | tuple[np.ndarray, str, tuple]], *, cameras: list[str],
                      settings: RenderSettings) -> list[Path]:
    """``out/videos/overlay.mp4``: the fitted meshes and the 2D detections (``skeletons``: each
    (F, V, J, 3) in ``cameras`` order, with its format and optionally one colour) over
    ``footage.vis_cams``, tiled; and, if ``settings.ground``, ``out/videos/ground.mp4`` following
    the bodies' MidHip."""
    rig, sources, vis_cams, frames, fps = footage.rig, footage.sources, footage.vis_cams, footage.frames, footage.fps
    faces = [mesh.model.faces.cpu().numpy() for mesh in meshes]
    colours = [mesh.colour if mesh.colour is not None else tuple(PERSON_COLOURS[i % len(PERSON_COLOURS)])
               for i, mesh in enumerate(meshes)]
    streams = {c: sources[c].frames(frames[0], frames[-1] + 1) for c in vis_cams if c in sources}
    paths = [out / "videos" / "overlay.mp4"]
    with ExitStack() as stack:  # every video is renamed into place only if all went well
        overlay = stack.enter_context(VideoWriter(paths[0], fps))
        ground = None
        if settings.ground and meshes:
            centres = _ground_centres(meshes, len(frames))
            ground_cams = follow_cameras(centres, settings.ground_size)
            floor = CheckerFloor(tuple(np.median(centres[:, :2], 0)), half_size=4.0)
            paths.append(out / "videos" / "ground.mp4")
            ground = stack.enter_context(VideoWriter(paths[1], fps))
        chunks = [_vertex_chunks(mesh.model, mesh.result) for mesh in meshes]
        tiles = _tile_cameras(rig, vis_cams, settings.overlay_width)
        bar = stack.enter_context(progress(len(frames), desc="render", unit="frame"))
        # the views are drawn in threads; BLAS called from several threads at once must not thread
        # itself too (a threaded OpenBLAS ran 15x slower so, and once never returned)
        stack.enter_context(threadpool_limits(1, user_api="blas"))
        # one thread per view (and one for the ground view), so that each camera's frames are
        # decoded in order, and several frames in flight: the views of the next frames are drawn
        # while this one is encoded (decoding, resizing and rasterising release the GIL)
        lanes = {name: stack.enter_context(ThreadPoolExecutor(max_workers=1)) for name in vis_cams}
        ground_lane = stack.enter_context(ThreadPoolExecutor(max_workers=1)) if ground is not None else None

        def view(f: int, cam_name: str, scene: Scene) -> np.ndarray:
            """One tile: the view's frame at its tile size, the meshes, the detections, a label."""
            full, cam = tiles.views[cam_name]
            size = cam.image_size
            if cam_name in streams:
                image = next(streams[cam_name])[1]
                image = _shrink(image, size)
            else:
                image = np.full((size[1], size[0], 3), _BACKGROUND, np.uint8)
            image = composite(image, scene.render(cam, size), settings.alpha)
            sx, sy = size[0] / full.image_size[0], size[1] / full.image_size[1]
            for kp, fmt, *colour in skeletons:
                rgb = tuple(int(255 * c) for c in colour[0]) if colour else None
                points = kp[f, cameras.index(cam_name)].copy()  # to the tile's pixels, centres kept
                points[:, 0] = sx * points[:, 0] + 0.5 * sx - 0.5
                points[:, 1] = sy * points[:, 1] + 0.5 * sy - 0.5
                draw_skeleton(image, points, fmt, colour=rgb, thickness=2)
            return put_label(image, f"{cam_name}  frame {frames[f]}")

        def floor_view(f: int, scene: Scene) -> np.ndarray:
            image, floor_depth = floor.render(ground_cams[f])
            image = composite(image, scene.render(ground_cams[f], behind=floor_depth), alpha=1.0)
            return put_label(image, f"frame {frames[f]}")

        def write(views: list, floor_image) -> None:
            overlay.write(tile_views([v.result() for v in views], tiles.columns, settings.overlay_width // 2 * 2,
                                     cell=tiles.cell))
            if floor_image is not None:
                ground.write(floor_image.result())
            bar.update(1)

        in_flight: deque = deque()
        for f in range(len(frames)):
            scene = Scene()  # one scene for every view of the frame
            for mesh, chunk, fc, colour in zip(meshes, chunks, faces, colours, strict=True):
                if mesh.covers(f):
                    scene.add(next(chunk), fc, colour)
            in_flight.append(([lanes[name].submit(view, f, name, scene) for name in vis_cams],
                              ground_lane.submit(floor_view, f, scene) if ground_lane is not None else None))
            if len(in_flight) > _FRAMES_IN_FLIGHT:
                write(*in_flight.popleft())
        while in_flight:
            write(*in_flight.popleft())
    return paths
