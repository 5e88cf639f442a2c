"""``mvmocap calib intrinsics|extrinsics|check``: board calibration over a dataset folder.

``ROOT/images/<cam>/*`` or ``ROOT/videos/<cam>.mp4``, as everywhere. Intrinsics: per camera, any
images of the board (every image of a folder, about ``4 x max_views`` frames spread over a video).
Extrinsics: synchronised frames (frame k of every camera at the same time; every ``every``-th
frame is searched). Both write EasyMocap files and a JSON report beside them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mvmocap.associate import choose_subject
from mvmocap.calib.boards import BoardFinder, BoardSpec
from mvmocap.calib.extrinsics import ExtrinsicsResult, ExtrinsicsSettings, calibrate_extrinsics
from mvmocap.calib.intrinsics import IntrinsicsResult, IntrinsicsSettings, calibrate_intrinsics, collect_views
from mvmocap.calib.people import PeopleResult, PeopleSettings, RigCheckError, calibrate_from_candidates, refine_rig
from mvmocap.camera import (
    CalibrationError,
    CameraRig,
    load_calibration,
    read_intrinsics,
    write_extrinsics,
    write_intrinsics,
)
from mvmocap.console import progress
from mvmocap.detect import body_detector_factory
from mvmocap.io import FrameSource, list_video_cameras, read_keypoints2d
from mvmocap.io.project_config import project_config_for
from mvmocap.pipeline.experiment import load_experiment
from mvmocap.pipeline.stages import detect_cameras
from mvmocap.pipeline.triangulation import input_names, rig_named_as
from mvmocap.render import tile_views
from mvmocap.skeletons import get_format
from mvmocap.sync import resample_sequence, sync_file_offsets
from mvmocap.triangulate import Triangulation, reprojection_report, triangulate
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["run_calib_intrinsics", "run_calib_extrinsics", "run_calib_people", "run_calib_check",
           "keypoint_reprojection", "draw_calibration_check"]

log = logging.getLogger(__name__)


def _sources(root: Path, cams: list[str] | None) -> dict[str, FrameSource]:
    found = list_video_cameras(root)
    unknown = sorted(set(cams or []) - set(found))
    if unknown:
        raise CalibrationError(root, f"--cams {unknown} have no images/<cam>/ folder or videos/<cam>.mp4; "
                                     f"found {list(found)}")
    return {name: FrameSource(found[name]) for name in (cams or found)}


def _sources_with_intrinsics(root: Path, intri: str | Path | None, cams: list[str] | None):
    """The cameras' frame sources and ``{camera: (K, dist, size)}`` from ``intri`` (default
    ``ROOT/intri.yml``), in the sources' order; a missing file or camera is an error."""
    intri = Path(intri) if intri else root / "intri.yml"
    if not intri.is_file():
        raise CalibrationError(intri, "not found: run 'mvmocap calib intrinsics' first or give --intri")
    intrinsics = read_intrinsics(intri)
    sources = _sources(root, cams)
    renamed = input_names(list(intrinsics), list(sources), intri)
    intrinsics = {renamed.get(n, n): value for n, value in intrinsics.items()}
    lacking = [n for n in sources if n not in intrinsics]
    if lacking:
        raise CalibrationError(intri, f"cameras {lacking} have no intrinsics here")
    return sources, {n: intrinsics[n] for n in sources}


def _no_board_hint(board: BoardSpec) -> str:
    return (f"check --board ({board.kind}), --pattern {board.cols},{board.rows} (inner corners: squares - 1 per "
            f"side, e.g. {board.cols},{board.rows} for a {board.cols + 1}x{board.rows + 1}-square board; try "
            f"--pattern {board.rows},{board.cols} if it is turned)"
            + (f" and --dictionary {board.dictionary}" if board.kind == "charuco" else ""))


def _sampled(source: FrameSource, step: int, bar):
    """``(label, rgb)`` of every ``step``-th frame (a video is read through, frames are not seeked)."""
    for i, rgb in source.frames():
        bar.update(1)
        if i % step == 0:
            yield (source.images[i].name if source.images is not None else f"{source.path.name} frame {i}"), rgb


def run_calib_intrinsics(root: str | Path, board: BoardSpec, *, cams: list[str] | None = None,
                         out: str | Path | None = None, settings: IntrinsicsSettings | None = None
                         ) -> dict[str, IntrinsicsResult]:
    """Calibrate every camera's intrinsics; writes ``out`` (default ``ROOT/intri.yml``) and
    ``<out stem>_report.json``."""
    root = Path(root)
    settings = settings or IntrinsicsSettings()
    out = Path(out) if out else root / "intri.yml"
    results = {}
    sources = _sources(root, cams)
    for name, source in sources.items():
        step = max(1, source.count // (4 * settings.max_views)) if source.images is None else 1
        with progress(source.count, desc=f"calib intrinsics {name}", unit="frame") as bar:
            views, counts = collect_views(_sampled(source, step, bar), board, settings=settings)
        if not views:
            raise CalibrationError(source.path, f"the board was found in none of the {counts.tried} frames "
                                                f"searched; {_no_board_hint(board)}")
        results[name] = result = calibrate_intrinsics(views, board, counts.image_size, camera=str(source.path),
                                                      settings=settings, counts=counts)
        log.info("%s: %d views, RMS %.3f px, f %.1f px +- %.1f%%, model %s (held-out %s)", name,
                 len(result.per_view), result.rms, result.K[0, 0], 100 * result.focal_uncertainty, result.model,
                 ", ".join(f"{k} {v:.3f} px" for k, v in result.heldout_px.items()))
        if result.focal_uncertainty > settings.max_focal_uncertainty:
            log.warning("%s: the focal length is uncertain by %.1f%% (it moves that much as views are left out): "
                        "film more views of the board near the image's corners and edges, tilted 20-45 degrees",
                        name, 100 * result.focal_uncertainty)
    write_intrinsics({n: (r.K, r.dist, r.image_size) for n, r in results.items()}, out)
    atomic_write_text(out.with_name(out.stem + "_report.json"),
                      json.dumps({n: r.report() for n, r in results.items()}, indent=1))
    return results


def run_calib_extrinsics(root: str | Path, board: BoardSpec, *, intri: str | Path | None = None,
                         cams: list[str] | None = None, out: str | Path | None = None, every: int = 1,
                         settings: ExtrinsicsSettings | None = None) -> ExtrinsicsResult:
    """Place every camera from synchronised board views; writes ``out`` (default
    ``ROOT/extri.yml``) and ``<out stem>_report.json``."""
    root = Path(root)
    sources, intrinsics = _sources_with_intrinsics(root, intri, cams)
    views: dict[str, dict[int, object]] = {n: {} for n in sources}
    finders = {n: BoardFinder(board) for n in sources}
    total = sum(s.count for s in sources.values())
    with progress(total, desc="calib extrinsics", unit="view-frame") as bar:
        for name, source in sources.items():
            for i, rgb in source.frames():
                bar.update(1)
                if i % every == 0:
                    det = finders[name](cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
                    if det is not None:
                        views[name][i] = det
    per_camera = {n: {"frames_searched": f.searched, "views_found": len(views[n]), "found_by": dict(f.found_by)}
                  for n, f in finders.items()}
    for name, found in per_camera.items():
        log.info("%s: board in %d of %d frames searched (%s)", name, found["views_found"], found["frames_searched"],
                 ", ".join(f"{k} {v}" for k, v in found["found_by"].items()) or "none")
    if not any(views.values()):
        raise CalibrationError(root, f"the board was found in none of the frames searched; {_no_board_hint(board)}")
    result = calibrate_extrinsics(views, board, intrinsics, settings)
    out = Path(out) if out else root / "extri.yml"
    write_extrinsics(result.rig, out)
    for name, found in per_camera.items():
        found.update(views_used=result.views_used.get(name, 0), views_rejected=result.views_rejected.get(name, 0))
    atomic_write_text(out.with_name(out.stem + "_report.json"),
                      json.dumps({**result.report(), "cameras": per_camera}, indent=1))
    return result


def _people_seen(root: Path, sources: dict[str, FrameSource], keypoints: Path,
                 exp: str | Path | None) -> tuple[np.ndarray, list[str], float]:
    """Everyone detected in ``sources`` (cached in ``keypoints``), on one timeline with
    ``ROOT/sync.yml`` when present: (F, V, P, J, 3) candidates, the cameras and the frame rate."""
    experiment = load_experiment(exp)
    if experiment.kind != "body":
        raise InputError(f"--exp {exp}: calibration from people reads a body experiment's detect section, not "
                         f"a {experiment.kind} one")
    make_detector = body_detector_factory(experiment.detect, f"{exp}: detect")
    frames = range(0, min(s.count for s in sources.values()))
    detect_cameras(sources, keypoints, dict.fromkeys(sources, make_detector), frames,
                   experiment.detect.identity(), desc="detect")
    seq = read_keypoints2d(keypoints, list(sources))
    fps = next((s.fps for s in sources.values() if getattr(s, "fps", 0) > 0), 30.0)
    sync = root / "sync.yml"
    if sync.is_file():
        offsets, reference = sync_file_offsets(sync, seq.cameras)
        seq = resample_sequence(seq, offsets, fps, reference)
        log.info("cameras put on one timeline with %s", sync)
    candidates = seq.candidates()  # (F, V, P, J, 3)
    if candidates.shape[2] == 0:
        raise CalibrationError(root, "nobody was detected in any camera; people calibration needs a person moving "
                                     "through the views")
    return candidates, seq.cameras, fps


def _write_rig(rig: CameraRig, out: Path) -> None:
    """``OUT/extri.yml`` and ``OUT/intri.yml`` of ``rig``."""
    write_extrinsics(rig, out / "extri.yml")
    write_intrinsics({c.name: (c.K, c.dist, c.image_size) for c in rig}, out / "intri.yml")


def run_calib_people(root: str | Path, *, intri: str | Path | None = None, out: str | Path | None = None,
                     height: float | None = None, cams: list[str] | None = None, exp: str | Path | None = "body",
                     keypoints: str | Path | None = None, settings: PeopleSettings | None = None
                     ) -> tuple[PeopleResult, Path]:
    """Extrinsics from people filmed by every camera at once: detection (cached in ``keypoints``,
    default ``OUT/keypoints2d``; default OUT ``ROOT/calib_people``), ``ROOT/sync.yml`` applied when
    present, the height from ``height``, else a Pose2Sim ``ROOT/Config.toml``'s
    ``participant_height``, :func:`calibrate_from_candidates` (the subject chosen across views, left/right decided,
    the rig checked). Writes ``OUT/calib_people_report.json`` always and, when the rig passes its
    checks, ``OUT/extri.yml`` and a copy of the intrinsics as ``OUT/intri.yml``; a failed check is
    a :class:`CalibrationError` naming the check, its figures and the report."""
    root = Path(root)
    sources, intrinsics = _sources_with_intrinsics(root, intri, cams)
    out = Path(out) if out else root / "calib_people"
    candidates, names, fps = _people_seen(root, sources, Path(keypoints) if keypoints else out / "keypoints2d", exp)
    values = dict(settings.__dict__) if settings else {}
    project = project_config_for(root)
    if height is None and project is not None and project.height is not None:
        height = project.height
        log.info("the person's height, %.2f m, from %s", height, project.named("participant_height")[0])
    if height is not None:
        values["height"] = height
    else:
        log.warning("no --height given: the scale assumes a %.2f m tall person, so lengths are approximate",
                    PeopleSettings().height)
    report = out / "calib_people_report.json"
    out.mkdir(parents=True, exist_ok=True)
    try:
        result, _ = calibrate_from_candidates(candidates, [intrinsics[n] for n in names], names,
                                              PeopleSettings(**values), fps=fps)
    except RigCheckError as err:
        failed = err.result.report() if err.result is not None else {"checks": err.figures}
        atomic_write_text(report, json.dumps({**failed, "written": False}, indent=1))
        raise CalibrationError(out, f"{err.reason} (figures in {report})") from None
    _write_rig(result.rig, out)
    atomic_write_text(report, json.dumps({**result.report(), "written": True}, indent=1))
    return result, out


def run_calib_refine(root: str | Path, calib: str | Path, *, out: str | Path | None = None,
                     cams: list[str] | None = None, exp: str | Path | None = "body",
                     keypoints: str | Path | None = None) -> tuple[CameraRig, dict, Path]:
    """The camera poses of the calibration ``calib`` (a board's, another tool's: the cameras may
    have moved since) refined to the people filmed in ``ROOT`` (:func:`mvmocap.calib.people.refine_rig`,
    checked on frames it was not made from). Detection as in :func:`run_calib_people` (default
    OUT ``ROOT/calib_people``). Writes ``OUT/calib_refine_report.json`` always and, when the
    refinement lowers the held-out error of the frames it was not made from, ``OUT/extri.yml`` and
    ``OUT/intri.yml`` (the intrinsics as given). Returns the rig, the report and OUT."""
    root = Path(root)
    sources = _sources(root, cams)
    given = rig_named_as(load_calibration(calib), list(sources), Path(calib))
    lacking = [n for n in sources if n not in given.names]
    if lacking:
        raise CalibrationError(Path(calib), f"cameras {lacking} are not in this calibration; give --cams")
    out = Path(out) if out else root / "calib_people"
    candidates, names, fps = _people_seen(root, sources, Path(keypoints) if keypoints else out / "keypoints2d", exp)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "calib_refine_report.json"
    try:
        rig, report = refine_rig(given.subset(names), candidates, fps=fps)
    except RigCheckError as err:
        atomic_write_text(report_path, json.dumps({"validation": err.figures, "written": False}, indent=1))
        raise CalibrationError(out, f"{err.reason} (figures in {report_path})") from None
    _write_rig(rig, out)
    report = {"calibration_given": str(calib), **report, "written": True}
    atomic_write_text(report_path, json.dumps(report, indent=1))
    return rig, report, out


def _draw_polyline(image: np.ndarray, cam, points: np.ndarray, colour, thickness: int = 2) -> None:
    """Draw a 3D polyline, split where it passes behind the camera or outside its field of view (a
    lens model's polynomial folds back far outside the image: a wide-angle webcam's grid lines
    curled across the picture)."""
    xyz = cam.world_to_camera(points)
    depth = xyz[:, 2]
    radius = np.linalg.norm(xyz[:, :2] / np.maximum(depth, 1e-9)[:, None], axis=1)
    w, h = cam.image_size or (2 * cam.K[0, 2], 2 * cam.K[1, 2])
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float64)
    field = 1.1 * np.linalg.norm(cam.undistort_points(corners, normalized=True), axis=1).max()
    inside = (depth > 0.05) & (radius < field)
    uv = cam.project(points)
    for a in range(len(points) - 1):
        if inside[a] and inside[a + 1]:
            p, q = uv[a], uv[a + 1]
            if np.all(np.abs(np.r_[p, q]) < 1e5):
                cv2.line(image, tuple(np.round(p).astype(int)), tuple(np.round(q).astype(int)), colour, thickness,
                         cv2.LINE_AA)


def draw_calibration_check(image: np.ndarray, rig: CameraRig, name: str, *, half_size: int = 5) -> np.ndarray:
    """``image`` (RGB) of camera ``name`` with the floor grid (1 m squares, z = 0), the world axes
    (x red, y green, z blue, 1 m) and the other cameras' centres with their names."""
    cam = rig[name]
    out = image.copy()
    line = np.linspace(-half_size, half_size, 41)
    for k in range(-half_size, half_size + 1):
        _draw_polyline(out, cam, np.c_[line, np.full_like(line, k), np.zeros_like(line)], (200, 200, 200), 1)
        _draw_polyline(out, cam, np.c_[np.full_like(line, k), line, np.zeros_like(line)], (200, 200, 200), 1)
    for axis, colour in enumerate([(230, 40, 40), (40, 200, 40), (40, 90, 240)]):
        end = np.zeros(3)
        end[axis] = 1.0
        _draw_polyline(out, cam, np.linspace(np.zeros(3), end, 10), colour, 3)
    for other in rig:
        if other.name == name or cam.world_to_camera(other.center[None])[0, 2] <= 0:
            continue
        u, v = np.round(cam.project(other.center[None])[0]).astype(int)
        if 0 <= u < out.shape[1] and 0 <= v < out.shape[0]:
            cv2.circle(out, (u, v), 8, (255, 220, 0), 2, cv2.LINE_AA)
            cv2.putText(out, other.name, (u + 10, v - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 220, 0), 2, cv2.LINE_AA)
    return out


_SKELETON_COLOUR = (255, 60, 200)  # the triangulated subject, reprojected
_DETECTION_COLOUR = (60, 255, 120)  # the detector's keypoints


def _draw_skeleton(image: np.ndarray, cam, points: np.ndarray, detections: np.ndarray | None,
                   limbs: tuple[tuple[int, int], ...]) -> None:
    """The (J, 4) triangulated points projected into ``cam`` as bones, and the view's (J, 3)
    detections as dots: where the two disagree, the rig (or the detection) is wrong."""
    ok = (points[:, 3] > 0) & (cam.world_to_camera(points[:, :3])[:, 2] > 0.05)
    uv = np.round(cam.project(points[:, :3])).astype(int)
    for i, j in limbs:
        if ok[i] and ok[j]:
            cv2.line(image, tuple(uv[i]), tuple(uv[j]), _SKELETON_COLOUR, 3, cv2.LINE_AA)
    if detections is not None:
        for x, y, c in detections:
            if c > 0:
                cv2.circle(image, (int(round(x)), int(round(y))), 4, _DETECTION_COLOUR, -1, cv2.LINE_AA)


@dataclass(frozen=True)
class _CachedSubject:
    """The subject of a detection cache: ``cameras`` that have one, its (F, V, J, 3) ``keypoints2d``
    chosen across them, their robust ``triangulation`` and the keypoint ``skeleton``."""

    cameras: list[str]
    keypoints2d: np.ndarray
    triangulation: Triangulation
    skeleton: str

    def reprojection_px(self) -> dict[str, float]:
        """Mean reprojection error (px) per camera."""
        report = reprojection_report(self.triangulation, self.cameras, list(get_format(self.skeleton).joints))
        return {c: report["per_camera"][c]["reprojection_error_px"] for c in self.cameras}


def _cached_subject(rig: CameraRig, keypoints: Path) -> _CachedSubject | None:
    """The subject of a detection cache (``keypoints``: ``<cam>/<frame>.json``) chosen across the
    views of ``rig`` that have one, robustly triangulated; None without two such views or anyone
    detected."""
    cams = [n for n in rig.names if (keypoints / n).is_dir()]
    if len(cams) < 2:
        return None
    seq = read_keypoints2d(keypoints, cams)
    candidates = seq.candidates()
    if candidates.shape[2] == 0:
        return None
    sub = rig.subset(cams)
    subject = choose_subject(sub, candidates, skeleton=seq.skeleton).keypoints2d
    thresholds = np.array([0.018 * c.image_diagonal for c in sub])
    return _CachedSubject(cams, subject, triangulate(sub, subject, threshold_px=thresholds), seq.skeleton)


def keypoint_reprojection(rig: CameraRig, keypoints: Path) -> dict[str, float] | None:
    """Mean reprojection error (px) per camera of the robustly triangulated subject (chosen across
    views) of a detection cache (``keypoints``: ``<cam>/<frame>.json``), or None without one."""
    found = _cached_subject(rig, keypoints)
    return found.reprojection_px() if found is not None else None


def run_calib_check(root: str | Path, *, calib: str | Path | None = None, frame: int = 0,
                    out: str | Path | None = None, cams: list[str] | None = None,
                    keypoints: str | Path | None = None) -> list[Path]:
    """``OUT/check_<cam>.png`` per camera and ``OUT/check_all.png`` tiled (default OUT:
    ``ROOT/calib_check``): :func:`draw_calibration_check` on frame ``frame`` of each view, and with
    a detection cache (``keypoints``; default a run's ``ROOT/output/keypoints2d`` or
    ``ROOT/calib_people/keypoints2d``) the subject triangulated with the rig drawn back into every
    view over its detections; the keypoints' reprojection error per camera is logged and written to
    ``OUT/check.json``."""
    root = Path(root)
    rig = rig_named_as(load_calibration(calib or root), list(list_video_cameras(root)), Path(calib or root))
    sources = _sources(root, cams or [n for n in rig.names if n in list_video_cameras(root)])
    out = Path(out) if out else root / "calib_check"
    out.mkdir(parents=True, exist_ok=True)
    caches = [Path(keypoints)] if keypoints else [root / run / "keypoints2d" for run in ("output", "calib_people")]
    cache = next((c for c in caches if c.is_dir()), None)
    found = _cached_subject(rig, cache) if cache is not None else None
    written, tiles = [], []
    for name, source in sources.items():
        if name not in rig:
            raise CalibrationError(calib or root, f"camera {name} has images but no calibration")
        if not 0 <= frame < source.count:
            raise CalibrationError(source.path, f"--frame {frame} is outside its {source.count} frames")
        _, rgb = next(source.frames(frame, frame + 1))
        drawn = draw_calibration_check(rgb, rig, name)
        if found is not None and frame < len(found.keypoints2d):
            view = found.keypoints2d[frame, found.cameras.index(name)] if name in found.cameras else None
            _draw_skeleton(drawn, rig[name], found.triangulation.keypoints3d[frame], view,
                           get_format(found.skeleton).limbs)
        path = out / f"check_{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
        written.append(path)
        tiles.append(drawn)
    cv2.imwrite(str(out / "check_all.png"), cv2.cvtColor(tile_views(tiles), cv2.COLOR_RGB2BGR))
    if found is not None:
        errors = found.reprojection_px()
        log.info("the subject of %s, triangulated, reprojects with %s", cache,
                 ", ".join(f"{c} {e:.2f} px" for c, e in errors.items()))
        atomic_write_text(out / "check.json", json.dumps({"keypoints": str(cache), "keypoint_reprojection_px": errors},
                                                         indent=1))
    return [*written, out / "check_all.png"]
