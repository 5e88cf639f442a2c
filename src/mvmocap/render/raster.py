"""Triangle rasterisation with a z-buffer on the CPU (Numba), Gouraud-interpolated colours.

Screen coordinates follow the pixel convention of the package: pixel (0, 0) is the centre of the
top-left pixel, so pixel (i, j) is sampled at x = j, y = i. Depth is interpolated as 1/z, which
is exact for the perspective projection of a planar triangle.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

__all__ = ["RasterBuffers", "drawable_bounds", "rasterize"]


@numba.njit(cache=True, nogil=True)  # a compiled kernel: plain arrays in, one per buffer
def _raster(uv, inv_z, faces, colours, near_inv_z, depth, image, owner, base_id, x_off, y_off):  # pragma: no cover
    # the buffers hold image pixels (y_off .. y_off + H - 1, x_off .. x_off + W - 1)
    H, W = depth.shape
    for t in range(faces.shape[0]):
        a, b, c = faces[t, 0], faces[t, 1], faces[t, 2]
        iz0, iz1, iz2 = inv_z[a], inv_z[b], inv_z[c]
        if iz0 >= near_inv_z or iz1 >= near_inv_z or iz2 >= near_inv_z or iz0 <= 0 or iz1 <= 0 or iz2 <= 0:
            continue  # a corner behind the near plane (or behind the camera)
        x0, y0 = uv[a, 0], uv[a, 1]
        x1, y1 = uv[b, 0], uv[b, 1]
        x2, y2 = uv[c, 0], uv[c, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(area) < 1e-12:
            continue
        xmin = max(int(np.ceil(min(x0, x1, x2))), x_off)
        xmax = min(int(np.floor(max(x0, x1, x2))), x_off + W - 1)
        ymin = max(int(np.ceil(min(y0, y1, y2))), y_off)
        ymax = min(int(np.floor(max(y0, y1, y2))), y_off + H - 1)
        if xmin > xmax or ymin > ymax:
            continue  # wholly outside the image
        inv_area = 1.0 / area
        for py in range(ymin, ymax + 1):
            for px in range(xmin, xmax + 1):
                w0 = ((x1 - px) * (y2 - py) - (x2 - px) * (y1 - py)) * inv_area
                w1 = ((x2 - px) * (y0 - py) - (x0 - px) * (y2 - py)) * inv_area
                w2 = 1.0 - w0 - w1
                if w0 < 0.0 or w1 < 0.0 or w2 < 0.0:
                    continue
                iz = w0 * iz0 + w1 * iz1 + w2 * iz2
                by, bx = py - y_off, px - x_off
                if iz <= depth[by, bx]:  # depth holds 1/z: larger is nearer
                    continue
                depth[by, bx] = iz
                owner[by, bx] = base_id + t
                # Perspective-correct colour: weights by 1/z of each corner.
                a0, a1, a2 = w0 * iz0 / iz, w1 * iz1 / iz, w2 * iz2 / iz
                for k in range(3):
                    image[by, bx, k] = a0 * colours[a, k] + a1 * colours[b, k] + a2 * colours[c, k]


@numba.njit(cache=True, nogil=True)
def _bounds(uv, z, near):  # pragma: no cover - compiled
    lo_x = lo_y = np.inf
    hi_x = hi_y = -np.inf
    for v in range(uv.shape[0]):
        x, y = uv[v, 0], uv[v, 1]
        if z[v] > near and np.isfinite(x) and np.isfinite(y):
            lo_x, hi_x = min(lo_x, x), max(hi_x, x)
            lo_y, hi_y = min(lo_y, y), max(hi_y, y)
    return lo_x, lo_y, hi_x, hi_y


def drawable_bounds(uv: np.ndarray, z: np.ndarray, near: float) -> tuple[float, float, float, float]:
    """(x min, y min, x max, y max) of the (V, 2) pixels ``uv`` of the vertices whose depth ``z``
    (V,) is beyond ``near`` (infinite bounds, min > max, when none is): a triangle
    :func:`rasterize` draws lies within them."""
    return _bounds(np.ascontiguousarray(uv, dtype=np.float64), np.ascontiguousarray(z, dtype=np.float64), float(near))


class RasterBuffers(NamedTuple):
    """What :func:`rasterize` draws into, in place: ``depth`` (H, W) 1/z, 0 where empty; ``image``
    (H, W, 3) float32 colours; ``owner`` (H, W) int32 triangle ids, -1 where empty. They may hold
    a window of the image: ``origin`` (x, y), the image pixel of their first row and column."""

    depth: np.ndarray
    image: np.ndarray
    owner: np.ndarray
    origin: tuple[int, int] = (0, 0)


def rasterize(uv: np.ndarray, z: np.ndarray, faces: np.ndarray, colours: np.ndarray, buffers: RasterBuffers, *,
              base_id: int = 0, near: float = 0.0) -> None:
    """Draw a mesh's triangles into ``buffers`` in place.

    Args:
        uv: (V, 2) pixel coordinates of the vertices; z: (V,) their depths (camera z, metres).
        faces: (T, 3) vertex indices; a triangle with a corner nearer than ``near`` (or behind
            the camera) is not drawn, nor one wholly outside the image.
        colours: (V, 3) RGB of each vertex, floats in [0, 1].
        buffers: the depth, colour and owner buffers; a pixel's owner is ``base_id`` + the index
            of the face drawn there.
    """
    depth, image, owner, (x_off, y_off) = buffers
    if len(faces) == 0:
        return
    with np.errstate(divide="ignore"):
        inv_z = 1.0 / np.asarray(z, dtype=np.float64)
    _raster(np.ascontiguousarray(uv, dtype=np.float64), np.ascontiguousarray(inv_z),
            np.ascontiguousarray(faces, dtype=np.int64), np.ascontiguousarray(colours, dtype=np.float32),
            1.0 / near if near > 0 else np.inf, depth, image, owner, base_id, int(x_off), int(y_off))
