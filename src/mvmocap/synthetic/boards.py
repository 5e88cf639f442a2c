"""Photographs of a calibration board through a known camera (lens distortion, blur, noise), for
the calibration tests and ``mvmocap bench calib``.

Every output pixel is traced back: undistorted to a viewing ray, intersected with the board's
plane, looked up in the board's printed image (bilinear); pixels off the board get a grey
background. The board pose is board -> world (``R_wb``, ``t_wb``), the camera as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mvmocap.calib.boards import BoardSpec
from mvmocap.camera import Camera
from mvmocap.geometry import axis_angle_to_matrix

__all__ = ["BoardPose", "BoardCamera", "random_board_poses", "boards_in_rig", "board_seen_by", "write_board_images"]

_PIXELS_PER_SQUARE = 60


@dataclass(frozen=True)
class BoardPose:
    """Board frame -> world: ``x_world = R @ x_board + t``."""

    R: np.ndarray
    t: np.ndarray


class BoardCamera:
    """Photographs ``board`` through ``camera`` (its image size); the viewing rays are traced once.
    ``photo(pose)`` -> (H, W) grey uint8. ``inverted``: the board printed white on black (its
    margin black too). A board seen from behind shows its print mirrored, as a double-sided or
    translucent board does."""

    def __init__(self, board: BoardSpec, camera: Camera, *, inverted: bool = False):
        self.board, self.camera = board, camera
        w, h = camera.image_size
        u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        rays = camera.undistort_points(np.stack([u, v], -1).reshape(-1, 2), normalized=True)
        self.rays = np.c_[rays, np.ones(len(rays))]
        self.image = board.image(_PIXELS_PER_SQUARE)
        if inverted:
            self.image = 255 - self.image
        self.margin = (self.image.shape[1] - (board.cols + 1) * _PIXELS_PER_SQUARE) / 2

    def photo(self, pose: BoardPose, *, noise: float = 2.0, blur: float = 0.0, background: int = 110,
              rng: np.random.Generator | None = None) -> np.ndarray:
        rng = rng or np.random.default_rng(0)
        cam, board = self.camera, self.board
        w, h = cam.image_size
        # Board -> camera: x_cam = Rc (R x_b + t) + tc; on the board plane x_b = (X, Y, 0).
        R_cb = cam.R @ pose.R
        t_cb = cam.R @ pose.t + cam.t
        plane = np.stack([R_cb[:, 0], R_cb[:, 1], t_cb], 1)  # x_cam ~ plane @ (X, Y, 1)
        board_xy = self.rays @ np.linalg.inv(plane).T
        in_front = board_xy[:, 2] > 0  # the ray meets the plane in front of the camera
        board_xy = board_xy[:, :2] / board_xy[:, 2:]
        # Board metres -> printed-image pixels: the first inner corner is one square in from the pattern.
        scale = _PIXELS_PER_SQUARE / board.square
        offset = _PIXELS_PER_SQUARE + self.margin - 0.5
        map_x = (board_xy[:, 0] * scale + offset).astype(np.float32)
        map_y = (board_xy[:, 1] * scale + offset).astype(np.float32)
        map_x[~in_front] = -1e6
        looked_up = cv2.remap(self.image, map_x.reshape(h, w), map_y.reshape(h, w), cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=background)
        out = looked_up.astype(np.float64)
        if blur > 0:
            out = cv2.GaussianBlur(out, (0, 0), blur)
        out = out + rng.normal(0.0, noise, out.shape)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def random_board_poses(board: BoardSpec, camera: Camera, count: int, *, rng: np.random.Generator,
                       distance: tuple[float, float] = (0.6, 1.6), max_tilt_deg: float = 45.0) -> list[BoardPose]:
    """``count`` poses of a hand-held board in front of ``camera``, spread over its image, tilted
    up to ``max_tilt_deg``, whole boards inside the image."""
    poses = []
    w, h = camera.image_size
    centre = np.array([(board.cols - 1) * board.square / 2, (board.rows - 1) * board.square / 2, 0.0])
    corners = board.object_points()[[0, board.cols - 1, board.size - board.cols, board.size - 1]]
    while len(poses) < count:
        depth = rng.uniform(*distance)
        target = camera.undistort_points(np.array([[rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h]]),
                                         normalized=True)[0]
        tilt = np.radians(max_tilt_deg) * rng.uniform(-1, 1, 3) * np.array([1, 1, 0.5])
        R_cb = axis_angle_to_matrix(tilt) @ np.diag([1.0, 1.0, 1.0])
        t_cb = np.array([target[0] * depth, target[1] * depth, depth]) - R_cb @ centre
        R = camera.R.T @ R_cb
        t = camera.R.T @ (t_cb - camera.t)
        uv = camera.project(corners @ R.T + t)
        if np.all((uv > 10) & (uv < np.array([w, h]) - 10)):
            poses.append(BoardPose(R, t))
    return poses


def boards_in_rig(board: BoardSpec, rig, count: int, *, rng: np.random.Generator, centre=(0.0, 0.0, 1.0),
                  spread: float = 0.8, min_views: int = 2) -> list[BoardPose]:
    """``count`` poses of a board carried through the middle of ``rig``, each turned towards a
    random camera (up to 35 degrees off) and wholly seen, from the front, by at least ``min_views``
    cameras."""
    poses = []
    centre = np.asarray(centre, dtype=np.float64)
    mid = np.array([(board.cols - 1) * board.square / 2, (board.rows - 1) * board.square / 2, 0.0])
    while len(poses) < count:
        facing = rig[int(rng.integers(len(rig)))]
        position = centre + spread * rng.uniform(-1, 1, 3) * np.array([1.0, 1.0, 0.4])
        z = position - facing.center  # the board's z axis points away from the camera it faces
        z /= np.linalg.norm(z)
        x = np.cross([0.0, 0.0, 1.0], z)
        x /= np.linalg.norm(x)
        R = np.stack([x, np.cross(z, x), z], 1) @ axis_angle_to_matrix(np.radians(35) * rng.uniform(-1, 1, 3))
        pose = BoardPose(R, position - R @ mid)
        if len(board_seen_by(board, rig, pose)) >= min_views:
            poses.append(pose)
    return poses


def board_seen_by(board: BoardSpec, rig, pose: BoardPose, margin: float = 10.0, *,
                  from_behind: bool = False) -> list[str]:
    """The cameras that see the whole board at ``pose`` from its printed side (``from_behind``:
    from either side)."""
    corners = board.object_points() @ pose.R.T + pose.t
    normal = pose.R[:, 2]
    seen = []
    for cam in rig:
        w, h = cam.image_size
        uv = cam.project(corners)
        in_front = (cam.world_to_camera(corners)[:, 2] > 0.1).all() and (from_behind
                                                                          or normal @ (pose.t - cam.center) > 0)
        if in_front and np.all((uv > margin) & (uv < np.array([w, h]) - margin)):
            seen.append(cam.name)
    return seen


def write_board_images(root, board: BoardSpec, rig, poses_per_camera: dict[str, list[BoardPose]], *,
                       rng: np.random.Generator, blur: float = 0.6, blurred: tuple[int, ...] = (),
                       inverted: bool = False) -> None:
    """``root/images/<cam>/NNNNNN.png``: camera ``cam`` photographing the board at each of its
    poses (None: a frame without the board, plain grey); the frames whose index is in ``blurred`` are badly
    out of focus; ``inverted``: printed white on black."""
    for cam in rig:
        folder = Path(root) / "images" / cam.name
        folder.mkdir(parents=True, exist_ok=True)
        photographer = BoardCamera(board, cam, inverted=inverted)
        for k, pose in enumerate(poses_per_camera[cam.name]):
            if pose is None:  # an empty grey view
                w, h = cam.image_size
                image = np.full((h, w), 110, np.uint8)
            else:
                image = photographer.photo(pose, rng=rng, blur=4.0 if k in blurred else blur)
            cv2.imwrite(str(folder / f"{k:06d}.png"), image)
