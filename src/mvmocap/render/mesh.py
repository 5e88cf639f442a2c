"""Shaded meshes seen by a calibrated camera (lens distortion included), composited over images.

``Scene`` collects meshes (a body per person, a ground plane) and renders them into one
z-buffer: vertices are projected with the camera's full model (so the mesh lands on the person
in the distorted image), shaded per vertex with an ambient term and two directional lights
fixed to the camera, and interpolated across each triangle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mvmocap.camera import Camera
from mvmocap.render.raster import RasterBuffers, drawable_bounds, rasterize

__all__ = ["Scene", "Rendering", "vertex_normals", "shade", "PERSON_COLOURS", "composite"]

# Distinct, soft colours (RGB in [0, 1]) for person ids 0, 1, 2, ...
PERSON_COLOURS = np.array([
    [0.62, 0.75, 0.95], [0.95, 0.65, 0.55], [0.60, 0.88, 0.62], [0.95, 0.85, 0.50],
    [0.78, 0.62, 0.92], [0.55, 0.90, 0.90], [0.92, 0.60, 0.80], [0.75, 0.75, 0.75],
])
NEAR = 0.05  # metres: triangles with a corner closer than this to the camera plane are dropped

# Light directions in camera coordinates (x right, y down, z forward), pointing towards the light.
_LIGHTS = np.array([[-0.4, -0.6, -1.0], [0.7, -0.2, -0.6]])
_LIGHTS = _LIGHTS / np.linalg.norm(_LIGHTS, axis=1, keepdims=True)
_LIGHT_STRENGTH = np.array([0.65, 0.3])
_AMBIENT = 0.3


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit normals: the area-weighted mean of the adjacent face normals."""
    v = vertices[faces]
    face_n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    corners = faces.reshape(-1)  # each face's normal added to its three vertices (bincount: fast)
    normals = np.stack([np.bincount(corners, weights=np.repeat(face_n[:, c], 3), minlength=len(vertices))
                        for c in range(3)], 1)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def shade(normals_cam: np.ndarray, colour: np.ndarray, lit: bool = True) -> np.ndarray:
    """(V, 3) RGB: two-sided Lambert shading of ``colour`` under the camera-fixed lights."""
    if not lit:
        return np.broadcast_to(colour, normals_cam.shape).astype(np.float32)
    lambert = np.abs(normals_cam @ _LIGHTS.T) @ _LIGHT_STRENGTH  # two-sided: inside faces lit too
    return np.clip(colour * (_AMBIENT + lambert)[:, None], 0.0, 1.0).astype(np.float32)


class Rendering:
    """Rendered buffers of an image of ``size`` (W, H), drawn in the window ``box`` (x0, y0, x1,
    y1; pixels x0 <= x < x1, y0 <= y < y1) that bounds the meshes: nothing outside it. Whole-image
    views on first use: rgb (H, W, 3) float32 in [0, 1], mask (H, W) bool, depth (H, W) metres
    (inf where empty) and owner (H, W) the index of the mesh drawn at each pixel (-1 empty); an
    overlay needs only the window (:func:`composite`)."""

    def __init__(self, size: tuple[int, int], box: tuple[int, int, int, int], rgb: np.ndarray,
                 inv_depth: np.ndarray, triangles: np.ndarray, starts: list[int]):
        self.size, self.box = size, box
        self.window_rgb, self.window_mask = rgb, triangles >= 0
        self._inv_depth, self._triangles, self._starts = inv_depth, triangles, np.asarray(starts, dtype=np.int64)

    def _whole(self, window: np.ndarray, empty) -> np.ndarray:
        W, H = self.size
        x0, y0, x1, y1 = self.box
        out = np.full((H, W, *window.shape[2:]), empty, dtype=window.dtype)
        out[y0:y1, x0:x1] = window
        return out

    @cached_property
    def rgb(self) -> np.ndarray:
        return self._whole(self.window_rgb, 0)

    @cached_property
    def mask(self) -> np.ndarray:
        return self._whole(self.window_mask, False)

    @cached_property
    def depth(self) -> np.ndarray:
        return self._whole(np.where(self.window_mask, 1.0 / np.maximum(self._inv_depth, 1e-300), np.inf), np.inf)

    @cached_property
    def owner(self) -> np.ndarray:
        owner = np.full(self.window_mask.shape, -1, dtype=np.int32)
        if len(self._starts):
            owner[self.window_mask] = np.searchsorted(self._starts, self._triangles[self.window_mask], side="right") - 1
        return self._whole(owner, -1)


@dataclass
class Scene:
    """Meshes to render together. Add with :meth:`add`; render with :meth:`render` (one scene can
    be rendered for several cameras, in threads too: the shading normals are computed once, when a
    mesh is added)."""

    meshes: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, bool]] = field(default_factory=list)
    _normals: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def add(self, vertices: np.ndarray, faces: np.ndarray, colour=None, vertex_colours: np.ndarray | None = None,
            lit: bool = True) -> Scene:
        """Add a mesh: vertices (V, 3) world metres, faces (F, 3), one RGB ``colour`` (default the
        next person colour) or per-vertex colours (V, 3); ``lit`` False draws flat colours."""
        if colour is None:  # the next person colour, counting the meshes that use one
            people = sum(1 for m in self.meshes if m[2] is None)
            colour = PERSON_COLOURS[people % len(PERSON_COLOURS)]
        self.meshes.append((np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64),
                            None if vertex_colours is None else np.asarray(vertex_colours, dtype=np.float32),
                            np.asarray(colour, dtype=np.float64), lit))
        if vertex_colours is None:  # here, not on first render: a frame's views render in threads at once
            self._normals[len(self.meshes) - 1] = vertex_normals(*self.meshes[-1][:2])
        return self

    def render(self, camera: Camera, size: tuple[int, int] | None = None, *,
               behind: np.ndarray | None = None) -> Rendering:
        """Render for ``camera`` into an image of ``size`` (width, height; default the camera's).
        ``behind``: (H, W) depths in metres of what is already drawn there (inf where nothing, as
        :meth:`CheckerFloor.render <mvmocap.render.CheckerFloor.render>` gives): the meshes are
        drawn only where they are nearer."""
        size = size or camera.image_size
        if size is None:
            raise ValueError(f"camera '{camera.name}' has no image size; pass size=(width, height)")
        W, H = size
        if behind is not None and behind.shape != (H, W):
            raise ValueError(f"behind is {behind.shape}, the image {(H, W)}")
        projected = [(camera.world_to_camera(vertices)[:, 2], camera.project(vertices)) for vertices, *_ in self.meshes]
        x0, y0, x1, y1 = _drawn_window(projected, W, H)
        if behind is None:
            inv_depth = np.zeros((y1 - y0, x1 - x0))
        else:
            inv_depth = 1.0 / np.asarray(behind[y0:y1, x0:x1], dtype=np.float64)  # inf -> 0: nothing there
        image = np.zeros((y1 - y0, x1 - x0, 3), dtype=np.float32)
        triangles = np.full((y1 - y0, x1 - x0), -1, dtype=np.int32)  # the triangle drawn at each pixel
        starts = []
        base = 0
        for index, ((_, faces, vcolours, colour, lit), (z, uv)) in enumerate(zip(self.meshes, projected, strict=True)):
            if vcolours is None:
                vcolours = shade(self._normals[index] @ camera.R.T, colour, lit)
            starts.append(base)
            rasterize(uv, z, faces, vcolours, RasterBuffers(inv_depth, image, triangles, (x0, y0)), base_id=base,
                      near=NEAR)
            base += len(faces)
        return Rendering((W, H), (x0, y0, x1, y1), image, inv_depth, triangles, starts)


def _drawn_window(projected: list[tuple[np.ndarray, np.ndarray]], width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the pixels of a ``width`` x ``height`` image that the meshes' triangles can
    cover, from their vertices' (z (V,), pixels (V, 2)) (:func:`drawable_bounds`); empty (0, 0, 0,
    0) when none can."""
    bounds = np.array([drawable_bounds(uv, z, NEAR) for z, uv in projected]).reshape(-1, 4)
    lo, hi = bounds[:, :2].min(0, initial=np.inf), bounds[:, 2:].max(0, initial=-np.inf)
    if not np.all(lo <= hi):
        return 0, 0, 0, 0
    x0, y0 = (int(np.clip(np.ceil(v), 0, n)) for v, n in zip(lo, (width, height), strict=True))
    x1, y1 = (int(np.clip(np.floor(v) + 1, 0, n)) for v, n in zip(hi, (width, height), strict=True))
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else (0, 0, 0, 0)


def composite(background: np.ndarray, rendering: Rendering, alpha: float = 0.8) -> np.ndarray:
    """Blend ``rendering`` over a uint8 RGB (H, W, 3) image; returns a new uint8 image."""
    out = background.copy()
    x0, y0, x1, y1 = rendering.box
    m = rendering.window_mask[..., None]
    if not m.any():
        return out
    region = out[y0:y1, x0:x1].astype(np.float32)
    blended = (1 - alpha) * region + alpha * 255.0 * rendering.window_rgb
    out[y0:y1, x0:x1] = np.where(m, np.clip(blended + 0.5, 0, 255), region).astype(np.uint8)
    return out
