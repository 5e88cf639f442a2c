"""2D overlays: skeletons of detections or reprojections, 3D keypoints seen by a camera, tiling."""

from __future__ import annotations

import cv2
import numpy as np

from mvmocap.camera import Camera
from mvmocap.skeletons import KeypointFormat, get_format

__all__ = ["draw_skeleton", "draw_keypoints3d", "tile_columns", "tile_layout", "tile_views", "put_label"]

MOSAIC_ASPECT = 16 / 9  # the shape a tiled overlay aims for: a screen's

_LEFT, _RIGHT, _MID = (60, 160, 255), (255, 110, 80), (120, 230, 120)


def _limb_colour(fmt: KeypointFormat, child: int):
    name = fmt.joints[child]
    if name[:1] in "LR" and name[1:2].isupper():
        return _LEFT if name[0] == "L" else _RIGHT
    return _MID


def draw_skeleton(image: np.ndarray, keypoints: np.ndarray, fmt: str | KeypointFormat = "body25",
                  colour=None, min_conf: float = 0.0, thickness: int = 2) -> np.ndarray:
    """Draw (J, 3) pixel keypoints (x, y, conf) and their limbs on a uint8 RGB image, in place.

    Left limbs blue, right limbs red, the midline green, unless ``colour`` is given; points with
    confidence <= ``min_conf`` are not drawn.
    """
    fmt = get_format(fmt)
    kp = np.asarray(keypoints, dtype=np.float64)
    seen = (kp[:, 2] > min_conf) & np.isfinite(kp[:, :2]).all(1)
    pts = np.round(kp[:, :2]).astype(int)
    for a, b in fmt.limbs:
        if seen[a] and seen[b]:
            cv2.line(image, tuple(pts[a]), tuple(pts[b]), colour or _limb_colour(fmt, b), thickness, cv2.LINE_AA)
    for j in np.flatnonzero(seen):
        cv2.circle(image, tuple(pts[j]), thickness + 1, colour or (255, 255, 255), -1, cv2.LINE_AA)
    return image


def draw_keypoints3d(image: np.ndarray, camera: Camera, keypoints3d: np.ndarray, fmt: str = "body25",
                     colour=None, thickness: int = 2) -> np.ndarray:
    """Project (J, 4) 3D keypoints (x, y, z, conf) with ``camera`` (distortion included) and draw them."""
    kp = np.asarray(keypoints3d, dtype=np.float64)
    uv = camera.project(kp[:, :3])
    in_front = camera.world_to_camera(kp[:, :3])[:, 2] > 0.05
    conf = np.where(in_front, kp[:, 3], 0.0)
    return draw_skeleton(image, np.concatenate([uv, conf[:, None]], 1), fmt, colour, 0.0, thickness)


def put_label(image: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner, in place."""
    cv2.putText(image, text, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(image, text, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
    return image


def _screen_scale(count: int, columns: int, cell: tuple[int, int]) -> float:
    """Screen heights per pixel of a grid of ``count`` cells of ``cell`` (width, height) in
    ``columns`` shown whole on a :data:`MOSAIC_ASPECT` screen."""
    w, h = cell
    rows = -(-count // columns)
    return min(MOSAIC_ASPECT / (columns * w), 1.0 / (rows * h))


def tile_columns(count: int, cell_size: tuple[int, int]) -> int:
    """Columns of the grid of ``count`` cells of ``cell_size`` (width, height) whose cells look
    largest when the mosaic is shown on a :data:`MOSAIC_ASPECT` screen (four landscape views: 2 x
    2; four portrait phones: a row of 4, not a mosaic twice as tall as it is wide); of grids that
    show them equally large the one with more columns (at a given width, the fewer pixels)."""

    def shown(columns: int) -> tuple[float, int]:
        return round(_screen_scale(count, columns, cell_size) * cell_size[1], 3), columns

    return max(range(1, max(1, count) + 1), key=shown)


def tile_layout(sizes: list[tuple[int, int]]) -> tuple[tuple[int, int], int]:
    """The cell (width, height) and the columns of a grid for views of ``sizes`` (width, height):
    the cell is one of the views' own sizes, the one under which all the views together, each fitted
    in a cell with its aspect kept, are shown largest on a :data:`MOSAIC_ASPECT` screen (a rig of
    mostly portrait phones gets portrait cells); of equally good ones the first view's."""
    if not sizes:
        raise ValueError("no views to tile")
    layouts = {tuple(cell): tile_columns(len(sizes), cell) for cell in sizes}  # first view's first

    def shown(cell: tuple[int, int]) -> float:
        w, h = cell
        screen = _screen_scale(len(sizes), layouts[cell], cell)
        return round(sum((screen * min(w / vw, h / vh)) ** 2 * vw * vh for vw, vh in sizes), 6)

    best = max(layouts, key=shown)  # max keeps the first of equals
    return best, layouts[best]


def tile_views(images: list[np.ndarray], columns: int | None = None, width: int | None = None,
               cell: tuple[int, int] | None = None) -> np.ndarray:
    """Tile uint8 images in a grid of cells of ``cell`` (width, height; default and columns by
    default: :func:`tile_layout`): an image of another size is scaled to fit its cell with its
    aspect kept and centred (a portrait view beside landscape ones is not stretched). Optionally
    scale the mosaic to ``width`` pixels. Empty cells are black."""
    if not images:
        raise ValueError("no images to tile")
    if cell is None:
        cell, layout_columns = tile_layout([(img.shape[1], img.shape[0]) for img in images])
        columns = columns or layout_columns
    w, h = cell
    columns = columns or tile_columns(len(images), (w, h))
    rows = int(np.ceil(len(images) / columns))
    mosaic = np.zeros((rows * h, columns * w, 3), dtype=np.uint8)
    for i, img in enumerate(images):
        if img.shape[0] > h or img.shape[1] > w or (img.shape[0] < h and img.shape[1] < w):
            scale = min(h / img.shape[0], w / img.shape[1])
            size = (max(1, min(w, int(round(img.shape[1] * scale)))), max(1, min(h, int(round(img.shape[0] * scale)))))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        top, left = (h - img.shape[0]) // 2, (w - img.shape[1]) // 2
        r, c = divmod(i, columns)
        mosaic[r * h + top:r * h + top + img.shape[0], c * w + left:c * w + left + img.shape[1]] = img
    if width is not None and width != mosaic.shape[1]:
        height = int(round(mosaic.shape[0] * width / mosaic.shape[1]))
        mosaic = cv2.resize(mosaic, (width, height), interpolation=cv2.INTER_AREA)
    return mosaic
