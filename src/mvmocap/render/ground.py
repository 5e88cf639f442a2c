"""The ground view: a checkerboard floor (z = 0) and a virtual camera that follows the subject.

The floor comes two ways: :func:`checkerboard` as a mesh (for scenes seen through real, distorted
lenses, as the synthetic captures render it) and :class:`CheckerFloor` drawn pixel by pixel, each
pixel's ray met with the plane (exact for pinhole cameras, and several times cheaper than
rasterising thousands of floor triangles that cover most of the image).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from mvmocap.camera import Camera

__all__ = ["CheckerFloor", "checkerboard", "follow_cameras"]

_LIGHT_TILE = np.array([0.82, 0.82, 0.80], dtype=np.float32)
_DARK_TILE = np.array([0.45, 0.47, 0.50], dtype=np.float32)


def checkerboard(center=(0.0, 0.0), half_size: float = 3.0, tile: float = 0.5, subdivisions: int = 3):
    """Floor tiles on z = 0 around ``center`` (x, y).

    Returns vertices (N, 3), faces (M, 3) and vertex colours (N, 3). Each tile has its own
    vertices (crisp colour edges) and is split into ``subdivisions``^2 quads so that lens
    distortion bends it smoothly.
    """
    n = max(1, int(round(2 * half_size / tile)))
    cx, cy = center
    origin = np.array([cx - n * tile / 2, cy - n * tile / 2])
    s = subdivisions
    grid = np.stack(np.meshgrid(np.linspace(0, tile, s + 1), np.linspace(0, tile, s + 1), indexing="ij"), -1)
    grid = grid.reshape(-1, 2)
    idx = np.arange((s + 1) ** 2).reshape(s + 1, s + 1)
    quads = np.stack([idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]], -1).reshape(-1, 4)
    tile_faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    verts, faces, colours = [], [], []
    for i in range(n):
        for j in range(n):
            corner = origin + tile * np.array([i, j])
            base = len(verts) * len(grid)
            verts.append(np.concatenate([grid + corner, np.zeros((len(grid), 1))], 1))
            faces.append(tile_faces + base)
            colours.append(np.broadcast_to(_LIGHT_TILE if (i + j) % 2 == 0 else _DARK_TILE, (len(grid), 3)))
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(colours)


@dataclass(frozen=True)
class CheckerFloor:
    """The floor of :func:`checkerboard` (tiles ``tile`` metres wide on z = 0, the square of
    ``half_size`` metres about ``center`` rounded to whole tiles, the corner tile light), flat
    colours, drawn per pixel for a pinhole camera."""

    center: tuple[float, float] = (0.0, 0.0)
    half_size: float = 3.0
    tile: float = 0.5

    def render(self, camera: Camera, size: tuple[int, int] | None = None, *,
               background: tuple[int, int, int] = (40, 40, 40)) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, 3) uint8 RGB (``background`` where there is no floor) and (H, W) depths in
        metres along the camera's axis (inf where no floor) for ``camera`` into an image of
        ``size`` (width, height; default the camera's)."""
        if camera.has_distortion:
            raise ValueError(f"camera '{camera.name}': CheckerFloor draws for pinhole cameras; add checkerboard() "
                             "as a mesh to see the floor through a distorted lens")
        W, H = size or camera.image_size
        n = max(1, int(round(2 * self.half_size / self.tile)))
        origin = np.asarray(self.center, dtype=np.float64) - n * self.tile / 2
        rgb = np.empty((H, W, 3), dtype=np.uint8)
        depth = np.empty((H, W), dtype=np.float64)
        # a pixel's ray, world direction per metre of camera depth: base + px * across + py * down
        rays = camera.R.T @ np.linalg.inv(camera.K)
        colours = np.array([np.round(255 * _LIGHT_TILE), np.round(255 * _DARK_TILE), background], dtype=np.uint8)
        _floor_pixels(rays, camera.center, origin, self.tile, n, colours, rgb, depth)
        return rgb, depth


@numba.njit(cache=True, nogil=True)
def _floor_pixels(rays, centre, origin, tile, n, colours, rgb, depth):  # pragma: no cover - compiled
    H, W = depth.shape
    per_tile = 1.0 / tile
    for py in range(H):
        row_x = rays[0, 1] * py + rays[0, 2]
        row_y = rays[1, 1] * py + rays[1, 2]
        row_z = rays[2, 1] * py + rays[2, 2]
        for px in range(W):
            dz = rays[2, 0] * px + row_z
            shade, near = 2, np.inf  # the background
            if dz * centre[2] < 0.0:  # the ray meets z = 0 in front of the camera
                t = -centre[2] / dz  # camera depth of the meeting point: the ray's camera z is 1
                i = (centre[0] + t * (rays[0, 0] * px + row_x) - origin[0]) * per_tile
                j = (centre[1] + t * (rays[1, 0] * px + row_y) - origin[1]) * per_tile
                if 0.0 <= i < n and 0.0 <= j < n:
                    near = t
                    shade = (int(i) + int(j)) & 1
            depth[py, px] = near
            for c in range(3):
                rgb[py, px, c] = colours[shade, c]


def follow_cameras(centres: np.ndarray, image_size=(1280, 720), distance: float = 4.5, height: float = 2.2,
                   azimuth_deg: float = -60.0, fov_deg: float = 55.0, smooth_frames: int = 15) -> list[Camera]:
    """One virtual camera per frame looking at the (smoothed) subject centre (F, 3) from a fixed
    direction: ``distance`` metres away horizontally, ``height`` metres up."""
    centres = np.asarray(centres, dtype=np.float64)
    if smooth_frames > 1 and len(centres) > 1:
        kernel = np.ones(smooth_frames) / smooth_frames
        padded = np.pad(centres, ((smooth_frames // 2, smooth_frames - 1 - smooth_frames // 2), (0, 0)), mode="edge")
        centres = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(3)], 1)
    w, h = image_size
    f = (w / 2) / np.tan(np.deg2rad(fov_deg) / 2)
    K = [[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]]
    a = np.deg2rad(azimuth_deg)
    offset = np.array([distance * np.cos(a), distance * np.sin(a), height])
    target_lift = np.array([0.0, 0.0, 0.9])
    return [Camera.look_at(f"follow{i}", K, c * [1, 1, 0] + offset, c * [1, 1, 0] + target_lift,
                           image_size=image_size) for i, c in enumerate(centres)]
