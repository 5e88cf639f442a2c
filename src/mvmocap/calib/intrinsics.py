"""Camera intrinsics from photographs or a video of a board.

1. :func:`collect_views`: frames are sampled (every image of a folder, or about ``4 x max_views``
   frames spread over a video), the board is detected; a blurred view (sharpness, the variance of
   the Laplacian inside the board, under ``min_sharpness_ratio`` x the camera's median) and a
   near-duplicate one (corners within ``duplicate_fraction`` of the image diagonal of a kept view)
   are skipped; at most ``max_views`` views are kept, spread by farthest-point sampling over where
   the board sits in the image, how big and how foreshortened it is.
2. :func:`calibrate_intrinsics`: OpenCV's calibration (Zhang's method with Levenberg-Marquardt)
   with square pixels (fx = fy) and k1, k2, p1, p2; a free aspect ratio, then k3, is added only
   when it lowers the error on held-out views (4-fold: the board pose of each held-out view by PnP
   with the other views' intrinsics) by 2% or more, so the model does not overfit. (A small board
   seen by a webcam leaves fx / fy loosely held: on a real session, free it put one camera's focal
   5.6% from another tool's calibration; square, 1.3%.) Views whose error exceeds
   ``outlier_factor`` x the median (and 1 px) are dropped and the calibration is redone (two rounds
   at most). The focal length's uncertainty is the larger of the fit's own estimate and a jackknife
   over the views (:meth:`IntrinsicsResult.focal_uncertainty`); above ``max_focal_uncertainty`` the
   calibration says which views to add.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from mvmocap.calib.boards import BoardDetection, BoardFinder, BoardSpec
from mvmocap.camera import CalibrationError

__all__ = ["IntrinsicsSettings", "BoardView", "ViewCounts", "IntrinsicsResult", "collect_views",
           "calibrate_intrinsics"]


@dataclass(frozen=True)
class IntrinsicsSettings:
    max_views: int = 40
    min_views: int = 6
    min_sharpness_ratio: float = 0.3
    duplicate_fraction: float = 0.01
    outlier_factor: float = 3.0
    k3_gain: float = 0.02  # the held-out error must drop by this fraction for a free aspect or k3 to be used
    max_focal_uncertainty: float = 0.02  # relative; above it the calibration warns and says what to film


@dataclass(frozen=True)
class BoardView:
    """One image's board: ``label`` (file or frame), ``detection``, ``sharpness``."""

    label: str
    detection: BoardDetection
    sharpness: float


@dataclass(frozen=True)
class ViewCounts:
    """What happened to one camera's frames: ``tried`` searched, ``found`` with the board (``found_by``
    each search of :meth:`BoardSpec.searches`), ``blurred`` and ``duplicates`` skipped, ``image_size``
    (W, H)."""

    tried: int = 0
    found: int = 0
    found_by: dict[str, int] = field(default_factory=dict)
    blurred: int = 0
    duplicates: int = 0
    image_size: tuple[int, int] | None = None

    def describe(self) -> str:
        """One line: how many frames were searched, found (and by which search), skipped and why."""
        how = ", ".join(f"{n} {s}" for s, n in self.found_by.items())
        return (f"board found in {self.found} of {self.tried} frames searched" + (f" ({how})" if how else "")
                + f", {self.blurred} skipped as blurred, {self.duplicates} as near-duplicates")

    def report(self) -> dict:
        return {"frames_searched": self.tried, "views_found": self.found, "found_by": self.found_by,
                "views_skipped": {"blurred": self.blurred, "duplicates": self.duplicates}}


@dataclass(frozen=True)
class IntrinsicsResult:
    """``K`` (3, 3), ``dist`` (5,) k1 k2 p1 p2 k3, ``image_size`` (W, H), ``rms`` px over the views
    used, ``per_view`` px, ``model`` (a name of ``MODELS``), ``heldout_px`` per model tried,
    ``dropped`` outlier views, ``counts``: what became of the camera's frames, ``focal_std`` px."""

    K: np.ndarray
    dist: np.ndarray
    image_size: tuple[int, int]
    rms: float
    per_view: dict[str, float]
    model: str
    heldout_px: dict[str, float]
    dropped: list[str] = field(default_factory=list)
    counts: ViewCounts = field(default_factory=ViewCounts)
    focal_std: float = float("nan")  # px: the focal length's standard deviation as the fit estimates it
    focal_spread: float = float("nan")  # px: its standard deviation by jackknife over the views (see below)

    @property
    def focal_uncertainty(self) -> float:
        """How uncertain the focal length is, relative to it: the larger of the fit's own standard
        deviation and the jackknife's (the views left out in turn, a tenth at a time). On a real
        webcam session the fit said 1.6% where leaving views out moved the focal by 6%."""
        return float(np.nanmax([self.focal_std, self.focal_spread]) / self.K[0, 0])

    def report(self) -> dict:
        return {"rms_px": self.rms, "model": self.model, "heldout_px": self.heldout_px, "fx": float(self.K[0, 0]),
                "fy": float(self.K[1, 1]), "focal_std_px": self.focal_std, "focal_jackknife_std_px": self.focal_spread,
                "focal_uncertainty": round(self.focal_uncertainty, 4), "cx": float(self.K[0, 2]),
                "cy": float(self.K[1, 2]),
                "dist": self.dist.tolist(), "image_size": list(self.image_size), "views_used": len(self.per_view),
                "views_dropped_as_outliers": self.dropped, **self.counts.report(), "per_view_px": self.per_view}


def _sharpness(gray: np.ndarray, corners: np.ndarray) -> float:
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
    patch = gray[y0:y1, x0:x1]
    return float(cv2.Laplacian(patch, cv2.CV_64F).var()) if patch.size else 0.0


def _features(view: BoardView, size: tuple[int, int]) -> np.ndarray:
    """Where the board is (centre), how big (log scale) and how foreshortened (principal axes)."""
    c = view.detection.corners
    w, h = size
    spread = np.linalg.eigvalsh(np.cov((c - c.mean(0)).T) + 1e-9 * np.eye(2))
    return np.array([c[:, 0].mean() / w, c[:, 1].mean() / h, 0.5 * np.log(spread.sum()) - np.log(np.hypot(w, h)),
                     0.25 * np.log(spread[1] / spread[0])])


def collect_views(frames, board: BoardSpec, image_size: tuple[int, int] | None = None,
                  settings: IntrinsicsSettings | None = None) -> tuple[list[BoardView], ViewCounts]:
    """Detect the board in ``frames`` (an iterable of ``(label, rgb or grey image)``) and keep a
    sharp, non-duplicate, well-spread set (module docstring). Returns the views and their counts."""
    settings = settings or IntrinsicsSettings()
    finder = BoardFinder(board)
    found: list[BoardView] = []
    tried = 0
    size = image_size
    for label, image in frames:
        tried += 1
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        size = size or (gray.shape[1], gray.shape[0])
        if (gray.shape[1], gray.shape[0]) != tuple(size):
            raise CalibrationError(label, f"image size {gray.shape[1]}x{gray.shape[0]} differs from the camera's "
                                          f"other images ({size[0]}x{size[1]}); one camera per folder")
        detection = finder(gray)
        if detection is not None:
            found.append(BoardView(str(label), detection, _sharpness(gray, detection.corners)))
    counts = ViewCounts(tried, len(found), dict(finder.found_by), image_size=size)
    if not found:
        return [], counts
    median = float(np.median([v.sharpness for v in found]))
    sharp = [v for v in found if v.sharpness >= settings.min_sharpness_ratio * median]
    diagonal = float(np.hypot(*size))
    distinct: list[BoardView] = []
    for view in sharp:
        duplicate = False
        for kept in distinct:
            common, a, b = np.intersect1d(view.detection.ids, kept.detection.ids, return_indices=True)
            moved = np.linalg.norm(view.detection.corners[a] - kept.detection.corners[b], axis=1).mean()
            if len(common) >= 0.9 * len(view.detection.ids) and moved < settings.duplicate_fraction * diagonal:
                duplicate = True
                break
        if not duplicate:
            distinct.append(view)
    counts = replace(counts, blurred=len(found) - len(sharp), duplicates=len(sharp) - len(distinct))
    if len(distinct) <= settings.max_views:
        return distinct, counts
    feats = np.stack([_features(v, size) for v in distinct])
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-9)
    chosen = [int(np.argmax(np.linalg.norm(feats, axis=1)))]
    nearest = np.linalg.norm(feats - feats[chosen[0]], axis=1)
    while len(chosen) < settings.max_views:
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.linalg.norm(feats - feats[nxt], axis=1))
    return [distinct[i] for i in sorted(chosen)], counts


# Lens models from the simplest: OpenCV flags (square pixels: fx / fy held at the initial 1).
MODELS = {"square k1k2p1p2": cv2.CALIB_FIX_ASPECT_RATIO | cv2.CALIB_FIX_K3, "k1k2p1p2": cv2.CALIB_FIX_K3,
          "square k1k2p1p2k3": cv2.CALIB_FIX_ASPECT_RATIO, "k1k2p1p2k3": 0}


def _calibrate(views: list[BoardView], board: BoardSpec, size: tuple[int, int], model: str):
    objects = [board.object_points()[v.detection.ids].astype(np.float32) for v in views]
    images = [v.detection.corners.astype(np.float32) for v in views]
    _, K, dist, rvecs, tvecs, std, _, _ = cv2.calibrateCameraExtended(
        objects, images, tuple(size), np.eye(3), None, flags=MODELS[model],
        criteria=(cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 100, 1e-9))
    errors = []
    for obj, img, r, t in zip(objects, images, rvecs, tvecs, strict=True):
        projected, _ = cv2.projectPoints(obj, r, t, K, dist)
        errors.append(float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - img) ** 2, 1)))))
    return K, dist.reshape(-1)[:5], np.array(errors), float(np.max(std.reshape(-1)[:2]))


def _heldout(views: list[BoardView], board: BoardSpec, size: tuple[int, int], model: str, folds: int = 4) -> float:
    """RMS px of views left out of the calibration, each placed by PnP with the others' intrinsics."""
    errors = []
    for f in range(folds):
        train = [v for i, v in enumerate(views) if i % folds != f]
        test = [v for i, v in enumerate(views) if i % folds == f]
        K, dist, _, _ = _calibrate(train, board, size, model)
        for v in test:
            obj = board.object_points()[v.detection.ids]
            ok, r, t = cv2.solvePnP(obj, v.detection.corners, K, dist, flags=cv2.SOLVEPNP_ITERATIVE)
            if ok:
                projected, _ = cv2.projectPoints(obj, r, t, K, dist)
                errors.append(np.sum((projected.reshape(-1, 2) - v.detection.corners) ** 2, 1))
    return float(np.sqrt(np.mean(np.concatenate(errors)))) if errors else float("inf")


def calibrate_intrinsics(views: list[BoardView], board: BoardSpec, image_size: tuple[int, int], *,
                         camera: str = "", settings: IntrinsicsSettings | None = None,
                         counts: ViewCounts | None = None) -> IntrinsicsResult:
    """Intrinsics of one camera from its board views (module docstring); ``counts``, from
    :func:`collect_views`, go into the result and into the error when too few views are left."""
    settings = settings or IntrinsicsSettings()
    counts = counts or ViewCounts(found=len(views), image_size=tuple(image_size))
    if len(views) < settings.min_views:
        raise CalibrationError(camera, f"the board was usable in {len(views)} views; at least {settings.min_views} "
                                       f"are needed ({counts.describe()}). Film {settings.min_views - len(views)} or "
                                       "more further views: the board near the image's corners and edges, tilted "
                                       "20-45 degrees, covering a quarter of the image or more, held still")
    # From the simplest model, a freer one only when it predicts held-out views clearly better:
    # first the aspect ratio freed, then k3 added (with 8 views or more).
    model = "square k1k2p1p2"
    heldout = {model: _heldout(views, board, image_size, model)}
    for step in ("free aspect", "k3") if len(views) >= 8 else ("free aspect",):
        candidate = "k1k2p1p2" if step == "free aspect" else model + "k3"
        heldout[candidate] = _heldout(views, board, image_size, candidate)
        if heldout[candidate] < (1 - settings.k3_gain) * heldout[model]:
            model = candidate
    dropped: list[str] = []
    for round_ in range(3):  # calibrate, drop outlier views, calibrate again (twice at most)
        K, dist, errors, focal_std = _calibrate(views, board, image_size, model)
        bad = errors > max(settings.outlier_factor * float(np.median(errors)), 1.0)
        if round_ == 2 or not bad.any() or len(views) - bad.sum() < settings.min_views:
            break
        dropped += [v.label for v, b in zip(views, bad, strict=True) if b]
        views = [v for v, b in zip(views, bad, strict=True) if not b]
    rms = float(np.sqrt(np.mean(errors ** 2)))
    return IntrinsicsResult(K, np.pad(dist, (0, 5 - len(dist))), tuple(image_size), rms,
                            {v.label: float(e) for v, e in zip(views, errors, strict=True)},
                            model, heldout, dropped, counts, focal_std,
                            _jackknife_focal(views, board, image_size, model))


def _jackknife_focal(views: list[BoardView], board: BoardSpec, size: tuple[int, int], model: str,
                     groups: int = 10) -> float:
    """The focal length's standard deviation (px) by grouped jackknife: the views split into
    ``groups`` interleaved groups, the calibration redone without each, sqrt((g - 1) / g x the
    sum of squared deviations). It sees what the fit's own estimate does not: a few views that
    alone hold the focal where it is."""
    g = min(groups, len(views))
    focals = np.array([_calibrate([v for i, v in enumerate(views) if i % g != k], board, size, model)[0][0, 0]
                       for k in range(g)])
    return float(np.sqrt((g - 1) / g * np.sum((focals - focals.mean()) ** 2)))
