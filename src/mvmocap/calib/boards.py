"""Calibration boards: their 3D corners, their detection in an image, and their printed image.

A board's frame: x along its columns, y along its rows, z into the board (OpenCV's), metres;
corner ``i`` of a chessboard is row ``i // cols``, column ``i % cols``. ``cols, rows`` count
inner corners, as OpenCV does; a ChArUco board of ``cols x rows`` inner corners has
``(cols + 1) x (rows + 1)`` squares. ChArUco corners carry their ids, so any subset of them is
seen unambiguously; a chessboard is found whole or not at all, and its corner order can come out
turned 180 degrees (:meth:`BoardSpec.orderings` lists both orders for the solvers to choose).

Real boards are found however they were printed and filmed, with no option to set: small in a
large image (searched at full size when the reduced copy misses it), printed inverted (white on
black), seen from behind (ChArUco: a double-sided or translucent print looks mirrored), and in
cameras mounted turned by a quarter or half turn (every finder is rotation-invariant).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mvmocap.utils import InputError

__all__ = ["BoardSpec", "BoardDetection", "BoardFinder", "BOARD_KINDS", "read_board_file"]

BOARD_KINDS = ("chessboard", "charuco")


@dataclass(frozen=True)
class BoardDetection:
    """Corners found in one image: ``ids`` (N,) into :meth:`BoardSpec.object_points`, ``corners``
    (N, 2) pixels (sub-pixel refined), ``search``: which of :meth:`BoardSpec.searches` found it."""

    ids: np.ndarray
    corners: np.ndarray
    search: str = ""


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

    def searches(self) -> tuple[str, ...]:
        """The ways :meth:`detect` can look for this board, cheapest and most common first.

        Chessboard: ``reduced`` (OpenCV's classic finder on a copy at most 800 px wide, fast),
        ``sector`` (the sector-based finder at full size: small boards, either polarity),
        ``full size`` (the classic finder at full size). ChArUco: ``front``, ``front inverted``
        (printed white on black), ``back`` and ``back inverted`` (the board seen from behind, as
        through a double-sided or translucent print: found in the mirrored image)."""
        if self.kind == "chessboard":
            return ("reduced", "sector", "full size")
        return ("front", "front inverted", "back", "back inverted")

    def detect(self, gray: np.ndarray, *, min_corners: int = 6,
               searches: tuple[str, ...] | None = None) -> BoardDetection | None:
        """Find the board in a grey uint8 image, trying ``searches`` (default: all of
        :meth:`searches`) in turn; None when none sees it (ChArUco: fewer than ``min_corners``
        corners). The detection's ``search`` says which one found it."""
        for search in searches or self.searches():
            found = (self._chessboard(gray, search) if self.kind == "chessboard"
                     else self._charuco_corners(gray, search, min_corners))
            if found is not None:
                return found
        return None

    def _chessboard(self, gray: np.ndarray, search: str) -> BoardDetection | None:
        pattern = (self.cols, self.rows)
        flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
        scale = min(1.0, 800.0 / max(gray.shape)) if search == "reduced" else 1.0
        image = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
        if search == "sector":
            found, corners = cv2.findChessboardCornersSB(image, pattern, flags=cv2.CALIB_CB_NORMALIZE_IMAGE)
        else:
            # The quick check first (most views), the full search when it says no (it misses some
            # strongly tilted boards); the full search is slow at full size, so only after the check.
            found, corners = cv2.findChessboardCorners(image, pattern, flags=flags | cv2.CALIB_CB_FAST_CHECK)
            if not found and search == "reduced":
                found, corners = cv2.findChessboardCorners(image, pattern, flags=flags)
        if not found:
            return None
        corners = (corners.reshape(-1, 2) + 0.5) / scale - 0.5
        spacing = np.median(np.linalg.norm(np.diff(corners.reshape(self.rows, self.cols, 2), axis=1), axis=-1))
        half = int(np.clip(spacing / 4, 2, 11))  # the search window stays inside one square
        corners = cv2.cornerSubPix(gray, corners.astype(np.float32).reshape(-1, 1, 2), (half, half), (-1, -1),
                                   (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 40, 1e-3))
        return BoardDetection(np.arange(self.size), corners.reshape(-1, 2).astype(np.float64), search)

    def _charuco_corners(self, gray: np.ndarray, search: str, min_corners: int) -> BoardDetection | None:
        image = 255 - gray if search.endswith("inverted") else gray  # white on black printing
        back = search.startswith("back")
        if back:  # seen from behind, the board is its mirror image
            image = cv2.flip(image, 1)
        corners, ids, _, _ = cv2.aruco.CharucoDetector(self._charuco()).detectBoard(image)
        if ids is None or len(ids) < min_corners:
            return None
        # The detector's corners came out half a pixel off on rendered boards of known geometry
        # (0.7 px median); a small-window refinement on the saddle points removes it (0.16 px).
        corners = cv2.cornerSubPix(image, corners.astype(np.float32), (3, 3), (-1, -1),
                                   (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 40, 1e-3)).reshape(-1, 2)
        if back:
            corners[:, 0] = gray.shape[1] - 1 - corners[:, 0]
        return BoardDetection(ids.reshape(-1).astype(np.int64), corners.astype(np.float64), search)

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


class BoardFinder:
    """Finds ``board`` in the frames of one camera, learning which searches work there.

    The searches that found the board before are tried first. Once ``settled`` views are found,
    searches that never found it in this camera run only on every ``explore_every``-th frame: on a
    frame without the board, a chessboard's full-size searches cost about 0.3 s each at 1080p.
    ``found_by`` counts the views each search found; ``searched`` the frames looked at.
    """

    def __init__(self, board: BoardSpec, *, settled: int = 3, explore_every: int = 8):
        self.board, self.settled, self.explore_every = board, settled, explore_every
        self.found_by: Counter[str] = Counter()
        self.searched = 0

    def __call__(self, gray: np.ndarray) -> BoardDetection | None:
        order = sorted(self.board.searches(), key=lambda s: -self.found_by[s])  # stable: cheap first on ties
        if self.found_by.total() >= self.settled and self.searched % self.explore_every:
            order = [s for s in order if self.found_by[s]]
        self.searched += 1
        detection = self.board.detect(gray, searches=tuple(order))
        if detection is not None:
            self.found_by[detection.search] += 1
        return detection


_INCH = 0.0254


def read_board_file(path: str | Path) -> BoardSpec:
    """A ChArUco board described by caliscope's ``charuco.toml`` (``columns`` and ``rows`` count
    squares; ``square_size_override_cm``, or the printed ``board_height`` in ``units`` over
    ``rows``; ``aruco_scale``: marker / square; ``dictionary``). ``inverted`` needs no setting:
    both printings are always searched."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: board file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None
    missing = [k for k in ("columns", "rows", "dictionary", "aruco_scale") if k not in data]
    if missing:
        raise InputError(f"{path}: a caliscope ChArUco board file needs {missing}; or give --board chessboard|charuco "
                         "with --pattern, --square and --marker")
    if "square_size_override_cm" in data:
        square = float(data["square_size_override_cm"]) / 100
    elif "board_height" in data:
        unit = {"inch": _INCH, "cm": 0.01, "mm": 0.001}.get(data.get("units", "inch"))
        if unit is None:
            raise InputError(f"{path}: units = {data['units']!r}; expected inch, cm or mm")
        square = float(data["board_height"]) * unit / int(data["rows"])
    else:
        raise InputError(f"{path}: the square size is missing (square_size_override_cm or board_height)")
    return BoardSpec("charuco", int(data["columns"]) - 1, int(data["rows"]) - 1, square,
                     float(data["aruco_scale"]) * square, str(data["dictionary"]))
