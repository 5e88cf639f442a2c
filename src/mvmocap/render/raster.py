"""Triangle rasterisation with a z-buffer on the CPU (Numba), Gouraud-interpolated colours.

Screen coordinates follow the pixel convention of the package: pixel (0, 0) is the centre of the
top-left pixel, so pixel (i, j) is sampled at x = j, y = i. Depth is interpolated as 1/z, which
is exact for the perspective projection of a planar triangle.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["rasterize"]


@numba.njit(cache=True, nogil=True)
def _raster(xy, inv_z, colours, depth, image, owner, base_id):  # pragma: no cover - compiled
    H, W = depth.shape
    for t in range(xy.shape[0]):
        x0, y0 = xy[t, 0, 0], xy[t, 0, 1]
        x1, y1 = xy[t, 1, 0], xy[t, 1, 1]
        x2, y2 = xy[t, 2, 0], xy[t, 2, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(area) < 1e-12:
            continue
        xmin = max(int(np.ceil(min(x0, x1, x2))), 0)
        xmax = min(int(np.floor(max(x0, x1, x2))), W - 1)
        ymin = max(int(np.ceil(min(y0, y1, y2))), 0)
        ymax = min(int(np.floor(max(y0, y1, y2))), H - 1)
        if xmin > xmax or ymin > ymax:
            continue
        inv_area = 1.0 / area
        for py in range(ymin, ymax + 1):
            for px in range(xmin, xmax + 1):
                w0 = ((x1 - px) * (y2 - py) - (x2 - px) * (y1 - py)) * inv_area
                w1 = ((x2 - px) * (y0 - py) - (x0 - px) * (y2 - py)) * inv_area
                w2 = 1.0 - w0 - w1
                if w0 < 0.0 or w1 < 0.0 or w2 < 0.0:
                    continue
                iz = w0 * inv_z[t, 0] + w1 * inv_z[t, 1] + w2 * inv_z[t, 2]
                if iz <= depth[py, px]:  # depth holds 1/z: larger is nearer
                    continue
                depth[py, px] = iz
                owner[py, px] = base_id + t
                # Perspective-correct colour: weights by 1/z of each corner.
                a0, a1, a2 = w0 * inv_z[t, 0] / iz, w1 * inv_z[t, 1] / iz, w2 * inv_z[t, 2] / iz
                for c in range(3):
                    image[py, px, c] = a0 * colours[t, 0, c] + a1 * colours[t, 1, c] + a2 * colours[t, 2, c]


def rasterize(xy: np.ndarray, z: np.ndarray, colours: np.ndarray, depth: np.ndarray, image: np.ndarray,
              owner: np.ndarray, base_id: int = 0) -> None:
    """Draw triangles into the buffers in place.

    Args:
        xy: (T, 3, 2) pixel coordinates of each triangle's corners.
        z: (T, 3) positive depths of the corners (triangles crossing the near plane are the
            caller's to drop).
        colours: (T, 3, 3) RGB of each corner, floats in [0, 1].
        depth: (H, W) buffer of 1/z, 0 where empty; image: (H, W, 3) float32 colours; owner:
            (H, W) int32 triangle ids (``base_id`` + index), -1 where empty.
    """
    if len(xy) == 0:
        return
    _raster(np.ascontiguousarray(xy, dtype=np.float64), np.ascontiguousarray(1.0 / z, dtype=np.float64),
            np.ascontiguousarray(colours, dtype=np.float32), depth, image, owner, base_id)
