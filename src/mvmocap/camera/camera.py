"""``Camera`` and ``CameraRig``: calibrated pinhole cameras with OpenCV distortion.

Frames: ``x_cam = R_cam_world @ X_world + t_cam_world`` (OpenCV: x right, y down, z forward),
pixels ``u = K @ distort(x_cam[:2] / x_cam[2])``. The camera centre in the world is
``-R.T @ t``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from mvmocap.camera.distortion import distort, padded_coefficients, undistort
from mvmocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = ["Camera", "CameraRig"]


def _as_matrix(value, shape: tuple[int, ...], what: str, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"camera '{name}': {what} must have shape {shape}, got {arr.shape}")
    arr = arr.reshape(shape)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"camera '{name}': {what} contains NaN or infinite values")
    return arr


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera.

    Attributes:
        name: camera name as used in folders and calibration files.
        K: (3, 3) intrinsic matrix.
        dist: (D,) OpenCV distortion, D in {0, 4, 5, 8}.
        R: (3, 3) rotation ``R_cam_world``.
        t: (3,) translation ``t_cam_world`` in metres.
        image_size: ``(width, height)`` in pixels, or None when unknown.
    """

    name: str
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray
    image_size: tuple[int, int] | None = None
    _coeffs: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name = str(self.name)
        K = _as_matrix(self.K, (3, 3), "K", name)
        if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ValueError(f"camera '{name}': K must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0")
        R = _as_matrix(self.R, (3, 3), "R", name)
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-5) or np.linalg.det(R) < 0:
            raise ValueError(f"camera '{name}': R is not a rotation matrix (R @ R.T != I or det < 0)")
        t = _as_matrix(self.t, (3,), "t", name)
        dist = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        coeffs = padded_coefficients(dist)
        size = None
        if self.image_size is not None:
            w, h = (int(round(float(v))) for v in self.image_size)
            if w <= 0 or h <= 0:
                raise ValueError(f"camera '{name}': image size must be positive, got {self.image_size}")
            size = (w, h)
        for key, value in dict(name=name, K=K, R=R, t=t, dist=dist, image_size=size, _coeffs=coeffs).items():
            object.__setattr__(self, key, value)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_rvec(cls, name: str, K, dist, rvec, t, image_size=None) -> Camera:
        """Build from a Rodrigues rotation vector ``rvec`` (3,) = axis-angle of ``R_cam_world``."""
        return cls(name, K, dist, axis_angle_to_matrix(np.asarray(rvec, dtype=np.float64).reshape(3)), t, image_size)

    @classmethod
    def look_at(cls, name: str, K, position, target, up=(0.0, 0.0, 1.0), dist=(), image_size=None) -> Camera:
        """A camera at ``position`` (3,) looking at ``target`` (3,), image 'up' towards ``up``."""
        position = np.asarray(position, dtype=np.float64)
        z = np.asarray(target, dtype=np.float64) - position
        z /= np.linalg.norm(z)
        x = np.cross(z, np.asarray(up, dtype=np.float64))
        if np.linalg.norm(x) < 1e-9:
            raise ValueError(f"camera '{name}': viewing direction is parallel to 'up'")
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        R = np.stack([x, y, z])
        return cls(name, K, dist, R, -R @ position, image_size)

    # ----------------------------------------------------------------- derived values
    @property
    def rvec(self) -> np.ndarray:
        """(3,) Rodrigues vector of ``R``."""
        return matrix_to_axis_angle(self.R)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates."""
        return -self.R.T @ self.t

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix ``K [R | t]`` (ignores distortion)."""
        return self.K @ np.concatenate([self.R, self.t[:, None]], 1)

    @property
    def Rt(self) -> np.ndarray:
        """(3, 4) extrinsic matrix ``[R | t]``."""
        return np.concatenate([self.R, self.t[:, None]], 1)

    @property
    def image_diagonal(self) -> float:
        """Pixels corner to corner (from the principal point when the image size is unknown): the
        scale that image-relative thresholds are fractions of."""
        if self.image_size:
            return float(np.hypot(*self.image_size))
        return float(np.hypot(2 * self.K[0, 2] + 1, 2 * self.K[1, 2] + 1))

    def resized(self, image_size: tuple[int, int]) -> Camera:
        """The same camera for frames scaled to ``image_size`` (the same lens and view: K scaled
        about pixel centres, distortion unchanged)."""
        w, h = image_size
        sx, sy = w / self.image_size[0], h / self.image_size[1]
        S = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
        return Camera(self.name, S @ self.K, self.dist, self.R, self.t, (w, h))

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self._coeffs))

    # ----------------------------------------------------------------- mappings
    def world_to_camera(self, X: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 3) camera coordinates."""
        X = np.asarray(X, dtype=np.float64)
        return X @ self.R.T + self.t

    def project(self, X: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 2) distorted pixels, as ``cv2.projectPoints``.

        Points at or behind the camera plane (z <= 0) give meaningless pixels; check
        :meth:`world_to_camera` depth where that matters.
        """
        xc = self.world_to_camera(X)
        z = xc[..., 2:3]
        xy = xc[..., :2] / np.where(np.abs(z) < 1e-12, 1e-12, z)
        return self.normalized_to_pixels(distort(xy, self._coeffs) if self.has_distortion else xy)

    def normalized_to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) normalised (already distorted, if any) -> (..., 2) pixels via K."""
        K = self.K
        u = K[0, 0] * xy[..., 0] + K[0, 1] * xy[..., 1] + K[0, 2]
        v = K[1, 1] * xy[..., 1] + K[1, 2]
        return np.stack([u, v], -1)

    def pixels_to_normalized(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) pixels -> (..., 2) normalised coordinates via K^-1 (no undistortion)."""
        uv = np.asarray(uv, dtype=np.float64)
        K = self.K
        y = (uv[..., 1] - K[1, 2]) / K[1, 1]
        x = (uv[..., 0] - K[0, 2] - K[0, 1] * y) / K[0, 0]
        return np.stack([x, y], -1)

    def undistort_points(self, uv: np.ndarray, normalized: bool = False) -> np.ndarray:
        """(..., 2) distorted pixels -> (..., 2) undistorted pixels (same K), or normalised
        coordinates when ``normalized`` is True."""
        xy = self.pixels_to_normalized(uv)
        if self.has_distortion:
            xy = undistort(xy, self._coeffs)
        return xy if normalized else self.normalized_to_pixels(xy)

    def in_image(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) pixels -> (...,) bool, True inside the image (all True when size unknown)."""
        uv = np.asarray(uv)
        if self.image_size is None:
            return np.ones(uv.shape[:-1], dtype=bool)
        w, h = self.image_size
        return (uv[..., 0] >= -0.5) & (uv[..., 0] < w - 0.5) & (uv[..., 1] >= -0.5) & (uv[..., 1] < h - 0.5)

    def __repr__(self) -> str:
        f = self.K[0, 0]
        return f"Camera({self.name!r}, f={f:.1f}px, center={np.round(self.center, 3).tolist()}, size={self.image_size})"


class CameraRig:
    """An ordered set of cameras with unique names. Order is the file's order, never string sorting."""

    def __init__(self, cameras: Iterable[Camera]):
        self.cameras: tuple[Camera, ...] = tuple(cameras)
        names = [c.name for c in self.cameras]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"camera names must be unique; repeated: {dupes}")
        self._index = {n: i for i, n in enumerate(names)}

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> Camera:
        if isinstance(key, str):
            if key not in self._index:
                raise KeyError(f"no camera named {key!r}; the rig has {self.names}")
            return self.cameras[self._index[key]]
        return self.cameras[key]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def index(self, name: str) -> int:
        return self._index[name]

    def subset(self, names: Iterable[str]) -> CameraRig:
        """A rig of the named cameras, in the order given."""
        return CameraRig(self[n] for n in names)

    def without_distortion(self) -> CameraRig:
        """The same cameras with no lens distortion: the rig of undistorted pixels
        (:meth:`undistort_points`)."""
        return CameraRig(Camera(c.name, c.K, (), c.R, c.t, c.image_size) for c in self.cameras)

    def projection_matrices(self) -> np.ndarray:
        """(V, 3, 4) ``K [R | t]`` per camera."""
        return np.stack([c.P for c in self.cameras]) if self.cameras else np.zeros((0, 3, 4))

    def centers(self) -> np.ndarray:
        """(V, 3) camera centres in world coordinates."""
        return np.stack([c.center for c in self.cameras]) if self.cameras else np.zeros((0, 3))

    def project(self, X: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (V, ..., 2) distorted pixels in every camera."""
        return np.stack([c.project(X) for c in self.cameras])

    def depths(self, X: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (V, ...) depth along each camera's optical axis."""
        return np.stack([c.world_to_camera(X)[..., 2] for c in self.cameras])

    def undistort_points(self, uv: np.ndarray, normalized: bool = False) -> np.ndarray:
        """(V, ..., 2) pixels per camera -> (V, ..., 2) undistorted pixels or normalised coordinates."""
        uv = np.asarray(uv, dtype=np.float64)
        if uv.shape[0] != len(self):
            raise ValueError(f"expected a leading camera axis of {len(self)}, got shape {uv.shape}")
        return np.stack([c.undistort_points(p, normalized) for c, p in zip(self.cameras, uv, strict=True)])

    def __repr__(self) -> str:
        return f"CameraRig({self.names})"
