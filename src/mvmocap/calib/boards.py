"""Calibration boards: their 3D corners, their detection in an image, and their printed image.

A board's frame: x along its columns, y along its rows, z into the board (OpenCV's), metres;
corner ``i`` of a chessboard is row ``i // cols``, column ``i % cols``. ``cols, rows`` count
inner corners, as OpenCV does; a ChArUco board of ``cols x rows`` inner corners has
``(cols + 1) x (rows + 1)`` squares. ChArUco corners carry their ids, so any subset of them is
seen unambiguously; a chessboard is found whole or not at all, and its corner order can come out
turned 180 degrees (:meth:`BoardSpec.orderings` lists both orders for the solvers to choose).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mvmocap.utils import InputError

__all__ = ["BoardSpec", "BoardDetection", "BOARD_KINDS"]

BOARD_KINDS = ("chessboard", "charuco")


@dataclass(frozen=True)
class BoardDetection:
    """Corners found in one image: ``ids`` (N,) into :meth:`BoardSpec.object_points`, ``corners``
    (N, 2) pixels (sub-pixel refined)."""

    ids: np.ndarray
    corners: np.ndarray


@dataclass(frozen=True)
class BoardSpec:
    """``kind``: chessboard or charuco; ``cols``, ``rows``: inner corners; ``square`` and
    ``marker`` (ChArUco) side lengths in metres; ``dictionary``: an OpenCV ArUco dictionary name."""

    kind: str
    cols: int
    rows: int
    square: float
    marker: float | None = None
    dictionary: str = "DICT_5X5_100"

    def __post_init__(self):
        if self.kind not in BOARD_KINDS:
            raise InputError(f"--board must be one of {BOARD_KINDS}, got {self.kind!r}")
        if self.cols < 2 or self.rows < 2:
            raise InputError(f"--pattern {self.cols},{self.rows}: a board needs at least 2 x 2 inner corners")
        if not self.square > 0:
            raise InputError(f"--square must be positive (metres), got {self.square}")
        if self.kind == "charuco":
            if self.marker is None or not 0 < self.marker < self.square:
                raise InputError(f"--marker must be given for a ChArUco board and be smaller than --square "
                                 f"({self.square} m), got {self.marker}")
            if not hasattr(cv2.aruco, self.dictionary):
                raise InputError(f"--dictionary {self.dictionary!r} is not an OpenCV ArUco dictionary "
                                 "(e.g. DICT_4X4_50, DICT_5X5_100, DICT_6X6_250)")

    @property
    def size(self) -> int:
        return self.cols * self.rows

    def object_points(self) -> np.ndarray:
        """(cols * rows, 3) corner positions in the board frame (z = 0), metres."""
        r, c = np.divmod(np.arange(self.size), self.cols)
        return np.stack([c * self.square, r * self.square, np.zeros(self.size)], 1).astype(np.float64)

    def orderings(self, ids: np.ndarray) -> list[np.ndarray]:
        """The object-point indices ``ids`` may stand for: themselves, and for a chessboard also
        the board turned by 180 degrees (corner i is corner size - 1 - i)."""
        return [ids] if self.kind == "charuco" else [ids, self.size - 1 - ids]

    def _charuco(self):
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.cols + 1, self.rows + 1), self.square, self.marker, dictionary)

    def detect(self, gray: np.ndarray, *, min_corners: int = 6) -> BoardDetection | None:
        """Find the board in a grey uint8 image; None when it is not seen (ChArUco: fewer than
        ``min_corners`` corners)."""
        if self.kind == "chessboard":
            # Found on a copy at most 800 px wide (OpenCV's search slows down steeply with size),
            # then refined to sub-pixel on the full image.
            scale = min(1.0, 800.0 / max(gray.shape))
            small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
            flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
            # The quick check first (most views), the full search when it says no (it misses some
            # strongly tilted boards).
            found, corners = cv2.findChessboardCorners(small, (self.cols, self.rows),
                                                       flags=flags | cv2.CALIB_CB_FAST_CHECK)
            if not found:
                found, corners = cv2.findChessboardCorners(small, (self.cols, self.rows), flags=flags)
            if not found:
                return None
            corners = (corners.reshape(-1, 2) + 0.5) / scale - 0.5
            spacing = np.median(np.linalg.norm(np.diff(corners.reshape(self.rows, self.cols, 2), axis=1), axis=-1))
            half = int(np.clip(spacing / 4, 2, 11))  # the search window stays inside one square
            corners = cv2.cornerSubPix(gray, corners.astype(np.float32).reshape(-1, 1, 2), (half, half), (-1, -1),
                                       (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 40, 1e-3))
            return BoardDetection(np.arange(self.size), corners.reshape(-1, 2).astype(np.float64))
        detector = cv2.aruco.CharucoDetector(self._charuco())
        corners, ids, _, _ = detector.detectBoard(gray)
        if ids is None or len(ids) < min_corners:
            return None
        # The detector's corners came out half a pixel off on rendered boards of known geometry
        # (0.7 px median); a small-window refinement on the saddle points removes it (0.16 px).
        corners = cv2.cornerSubPix(gray, corners.astype(np.float32), (3, 3), (-1, -1),
                                   (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 40, 1e-3))
        return BoardDetection(ids.reshape(-1).astype(np.int64), corners.reshape(-1, 2).astype(np.float64))

    def image(self, pixels_per_square: int = 80, margin_squares: float = 0.5) -> np.ndarray:
        """The printable board, grey uint8, with a white margin; pixel ``(u, v)`` of it is board
        point ``((u - m) / s - 1, (v - m) / s - 1)`` squares for margin m and s pixels per square
        (the first inner corner sits one square in from the pattern's edge)."""
        s, m = pixels_per_square, int(round(margin_squares * pixels_per_square))
        w, h = (self.cols + 1) * s, (self.rows + 1) * s
        if self.kind == "charuco":
            pattern = self._charuco().generateImage((w, h), marginSize=0)
        else:
            r, c = np.divmod(np.arange(h * w), w)
            pattern = np.where(((r // s) + (c // s)) % 2 == 0, 0, 255).astype(np.uint8).reshape(h, w)
        return cv2.copyMakeBorder(pattern, m, m, m, m, cv2.BORDER_CONSTANT, value=255)
