"""Synthetic camera rigs: a ring of cameras around a capture volume."""

from __future__ import annotations

import numpy as np

from mvmocap.camera import Camera, CameraRig

__all__ = ["ring_rig"]


def ring_rig(
    num_cameras: int = 4,
    radius: float = 3.5,
    heights: tuple[float, ...] = (1.6, 2.4),
    image_size: tuple[int, int] | list[tuple[int, int]] = (1920, 1080),
    fov_deg: float = 65.0,
    distortion: float = 0.05,
    target: tuple[float, float, float] = (0.0, 0.0, 0.9),
    seed: int = 0,
) -> CameraRig:
    """Cameras evenly spaced on a circle of ``radius`` metres, all looking at ``target``.

    Heights cycle through ``heights``; the field of view ``fov_deg`` varies by +-5% per
    camera and the principal point by a few pixels. ``distortion`` is the scale of random
    OpenCV coefficients (k1 about -distortion, small k2, p1, p2, k3); 0 gives ideal pinholes.
    The cameras are named ``cam1 .. camN``. ``image_size`` is one (width, height) or a list, one per
    camera (cycled), to mix resolutions and orientations (a portrait phone is (1080, 1920)); ``fov_deg`` is along each
    image's longer side, as for a phone turned upright.
    """
    if num_cameras < 1:
        raise ValueError("num_cameras must be at least 1")
    rng = np.random.default_rng(seed)
    names = [f"cam{i + 1}" for i in range(num_cameras)]
    cameras = []
    for i, name in enumerate(names):
        w, h = image_size[i % len(image_size)] if isinstance(image_size, list) else image_size
        angle = 2 * np.pi * i / num_cameras + rng.uniform(-0.05, 0.05)
        position = [radius * np.cos(angle), radius * np.sin(angle), heights[i % len(heights)]]
        f = (max(w, h) / 2) / np.tan(np.deg2rad(fov_deg) / 2) * rng.uniform(0.95, 1.05)
        K = [[f, 0, (w - 1) / 2 + rng.uniform(-8, 8)], [0, f, (h - 1) / 2 + rng.uniform(-8, 8)], [0, 0, 1]]
        d = distortion * np.array([-1.0, 0.2, 0.01, -0.01, 0.05]) * rng.uniform(0.5, 1.5, 5)
        cameras.append(Camera.look_at(name, K, position, target, dist=d, image_size=(w, h)))
    return CameraRig(cameras)
