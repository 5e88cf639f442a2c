"""The ground view: a checkerboard floor (z = 0) and a virtual camera that follows the subject."""

from __future__ import annotations

import numpy as np

from mvmocap.camera import Camera

__all__ = ["checkerboard", "follow_cameras"]

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
