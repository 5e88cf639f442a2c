"""The videos of a run: the fitted meshes over the chosen camera views (tiled) and a ground view."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvmocap.bodymodels import BodyModel
from mvmocap.camera import CameraRig
from mvmocap.console import progress
from mvmocap.fit import FitResult
from mvmocap.io import FrameSource
from mvmocap.render import (
    Scene,
    VideoWriter,
    checkerboard,
    composite,
    draw_skeleton,
    follow_cameras,
    put_label,
    tile_views,
)

__all__ = ["RenderSettings", "render_run_videos"]

_BACKGROUND = (70, 80, 95)


@dataclass(frozen=True)
class RenderSettings:
    """The experiment's ``render`` section: the videos of a run.

    alpha: mesh opacity over the images
    overlay_width: width of the tiled multi-view overlay video, pixels
    ground: also render the body over a checkerboard floor, followed by a virtual camera
    ground_size: [width, height] of the ground video, pixels
    """

    alpha: float = 0.8
    overlay_width: int = 1920
    ground: bool = True
    ground_size: tuple[int, int] = (1280, 720)

    def __post_init__(self) -> None:
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"alpha: must be in [0, 1], got {self.alpha!r}")
        if self.overlay_width < 16:
            raise ValueError(f"overlay_width: must be at least 16 pixels, got {self.overlay_width!r}")
        size = tuple(self.ground_size)
        if len(size) != 2 or min(size) < 16:
            raise ValueError(f"ground_size: must be [width, height], each at least 16 pixels, got {list(size)!r}")
        object.__setattr__(self, "ground_size", size)


def _vertex_chunks(model: BodyModel, result: FitResult, chunk: int = 50):
    """Yield (V, 3) fitted vertices frame by frame (memory bounded by ``chunk`` frames)."""
    params = {"poses": result.poses, "shapes": result.shapes, "Rh": result.Rh, "Th": result.Th}
    for i in range(0, len(result.poses), chunk):
        yield from model.sequence({k: v if k == "shapes" else v[i:i + chunk] for k, v in params.items()})


def render_run_videos(out: Path, rig: CameraRig, sources: dict[str, FrameSource], vis_cams: list[str],
                      meshes: list[tuple[BodyModel, FitResult]], frames: list[int],
                      skeletons: list[tuple[np.ndarray, str]], cameras: list[str], fps: float,
                      settings: RenderSettings) -> list[Path]:
    """``out/videos/overlay.mp4``: the fitted meshes and the 2D detections (``skeletons``: each
    (F, V, J, 3) in ``cameras`` order, with its format) over ``vis_cams``, tiled; and, if
    ``settings.ground``, ``out/videos/ground.mp4`` following the first mesh's MidHip."""
    faces = [model.faces.cpu().numpy() for model, _ in meshes]
    streams = {c: sources[c].frames(frames[0], frames[-1] + 1) for c in vis_cams if c in sources}
    paths = [out / "videos" / "overlay.mp4"]
    with ExitStack() as stack:  # every video is renamed into place only if all went well
        overlay = stack.enter_context(VideoWriter(paths[0], fps))
        ground = None
        if settings.ground:
            centres = meshes[0][1].keypoints[:, 8]  # body25 MidHip
            ground_cams = follow_cameras(centres, settings.ground_size)
            floor = checkerboard(np.median(centres[:, :2], 0), half_size=4.0)
            paths.append(out / "videos" / "ground.mp4")
            ground = stack.enter_context(VideoWriter(paths[1], fps))
        chunks = [_vertex_chunks(model, result) for model, result in meshes]
        bar = stack.enter_context(progress(len(frames), desc="render", unit="frame"))
        for f in range(len(frames)):
            bar.update(1)
            verts = [next(c) for c in chunks]
            tiles = []
            for cam_name in vis_cams:
                cam = rig[cam_name]
                if cam_name in streams:
                    _, image = next(streams[cam_name])
                else:
                    w, h = cam.image_size or (1280, 720)
                    image = np.full((h, w, 3), _BACKGROUND, np.uint8)
                scene = Scene()
                for v, fc in zip(verts, faces, strict=True):
                    scene.add(v, fc)
                image = composite(image, scene.render(cam, (image.shape[1], image.shape[0])),
                                  settings.alpha)
                for kp, fmt in skeletons:
                    draw_skeleton(image, kp[f, cameras.index(cam_name)], fmt, thickness=2)
                tiles.append(put_label(image, f"{cam_name}  frame {frames[f]}"))
            overlay.write(tile_views(tiles, width=settings.overlay_width // 2 * 2))
            if ground is not None:
                scene = Scene().add(*floor[:2], vertex_colours=floor[2])
                for v, fc in zip(verts, faces, strict=True):
                    scene.add(v, fc)
                r = scene.render(ground_cams[f])
                img = np.where(r.mask[..., None], (r.rgb * 255).astype(np.uint8), np.uint8(40))
                ground.write(put_label(img, f"frame {frames[f]}"))
    return paths
