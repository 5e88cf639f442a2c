"""``mvmocap run``: detect -> triangulate -> fit -> write -> render, over a dataset folder.

Dataset: ``ROOT/videos/<cam>.mp4`` or ``ROOT/images/<cam>/``, calibration ``ROOT/intri.yml`` +
``extri.yml`` (or ``--calib`` with any supported file). Outputs under ``OUT``:
``keypoints2d/`` (the detection cache), ``keypoints3d/``, ``smpl/``, ``params.npz``,
``keypoints3d_fit/``, ``videos/overlay.mp4``, ``videos/ground.mp4``, ``report.json``, ``log.txt``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mvmocap.associate import SubjectSettings, choose_subject
from mvmocap.bodymodels import BodyModel, load_body_model
from mvmocap.camera import CameraRig, load_calibration
from mvmocap.console import progress
from mvmocap.detect import body_detector_factory, detect_camera
from mvmocap.fit import BodyFitter, FitConfig, FitResult
from mvmocap.io import (
    DataError,
    FrameSource,
    MultiViewKeypoints,
    list_camera_folders,
    list_video_cameras,
    read_keypoints2d,
)
from mvmocap.pipeline.experiment import load_experiment
from mvmocap.pipeline.fitting import write_fit
from mvmocap.pipeline.observations import (
    SYNC_MODES,
    PreparedKeypoints,
    TriangulateSettings,
    heldout_own_timelines,
    prepare_keypoints,
    settings_from,
    subject_offsets,
    threshold_per_camera,
)
from mvmocap.pipeline.triangulation import match_cameras, triangulate_sequence
from mvmocap.pipeline.videos import render_run_videos
from mvmocap.sync import SyncResult, SyncSettings, write_sync_file
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["Inputs", "RunOutput", "RunSetup", "check_output_folder", "detect_inputs", "detect_run_camera",
           "match_frame_sizes", "open_inputs", "parse_frames", "prepare_run", "run_cameras", "run_capture", "run_sync"]

log = logging.getLogger(__name__)


@dataclass
class RunOutput:
    """What a run produced (arrays for callers that evaluate it, e.g. the demo)."""

    out: Path
    rig: CameraRig
    model: BodyModel
    frames: list[int]
    keypoints3d: np.ndarray
    fit: FitResult
    report: dict
    timings: dict[str, float] = field(default_factory=dict)
    prepared: PreparedKeypoints | None = None


def parse_frames(text: str | None) -> tuple[int, int | None]:
    """``"A:B"`` -> (A, B) (B exclusive, None for the end); None -> (0, None)."""
    if not text:
        return 0, None
    start, _, stop = text.partition(":")
    try:
        first, last = int(start or 0), (int(stop) if stop else None)
    except ValueError:
        raise InputError(f"--frames must look like 100:400, got {text!r}") from None
    if first < 0 or (last is not None and last <= first):
        raise InputError(f"--frames {text}: frame numbers start at 0 and A:B needs B > A (B exclusive)")
    return first, last


@dataclass
class RunSetup:
    """What every ``mvmocap run`` experiment starts from."""

    root: Path
    out: Path
    settings: dict
    fit_config: FitConfig
    calib_path: Path
    rig: CameraRig


def prepare_run(root: str | Path, out: str | Path | None, exp: str | Path | None,
                calib: str | Path | None) -> RunSetup:
    """Check the dataset folder, load the experiment and the calibration (``calib`` or ``root``)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "dataset folder not found")
    out = Path(out) if out is not None else root / "output"
    check_output_folder(root, out)
    settings, fit_config = load_experiment(exp)
    calib_path = Path(calib) if calib is not None else root
    return RunSetup(root, out, settings, fit_config, calib_path, load_calibration(calib_path))


def check_output_folder(root: Path, out: Path) -> None:
    """Refuse an output folder whose files would land among the inputs: ``ROOT`` itself (the
    overlay videos would join ``ROOT/videos/`` and be taken for cameras) or a folder inside its
    ``videos/``, ``images/`` or ``annots/``; or a path below a regular file."""
    root_r, out_r = root.resolve(), out.resolve()
    inputs = [root_r / name for name in ("videos", "images", "annots")]
    if out_r == root_r or any(out_r == i or i in out_r.parents for i in inputs):
        raise DataError(out, f"--out must not be the dataset folder {root} or inside its inputs (videos/, "
                             "images/, annots/): the outputs would be read as input by the next run; use the "
                             "default ROOT/output or another folder")
    for parent in (out_r, *out_r.parents):
        if parent.exists():
            if not parent.is_dir():
                raise DataError(parent, f"--out {out}: this is a file, not a folder; choose another --out")
            break


def open_inputs(root: Path, rig: CameraRig, calib_path: Path, cams: list[str] | None, frames: str | None,
                fps: float | None) -> tuple[dict[str, FrameSource], CameraRig, range, float]:
    """The cameras' frame sources (calibrated ones only), the rig of those cameras matched to their
    frames' size (:func:`match_frame_sizes`), the frame range to process (within the range all
    cameras have, with a warning when their counts differ) and the fps."""
    found = list_video_cameras(root)
    names = match_cameras(rig, list(found), calib_path, cams)
    sources = {n: FrameSource(found[n]) for n in names}
    rig = match_frame_sizes(rig.subset(names), {n: s.size for n, s in sources.items()}, calib_path)
    start, stop = parse_frames(frames)
    counts = {n: s.count for n, s in sources.items()}
    common = min(counts.values())
    if len(set(counts.values())) > 1:
        log.warning("cameras have different frame counts (%s); using the common range 0-%d",
                    ", ".join(f"{n}: {c}" for n, c in counts.items()), common - 1)
    frame_range = range(start, min(stop or common, common))
    if len(frame_range) == 0:
        raise DataError(root, f"no frames in range {start}:{stop} (the cameras have {common})")
    fps = fps or next((s.fps for s in sources.values() if getattr(s, "fps", 0) > 0), 30.0)
    return sources, rig, frame_range, fps


def match_frame_sizes(rig: CameraRig, sizes: dict[str, tuple[int, int]], calib_path: Path) -> CameraRig:
    """The rig with each camera's calibration checked against its frames' (width, height).

    The same size (or a calibration without one) is used as it is; the same aspect ratio at another
    size (a calibration made on a 1920x1080 mode, videos at 960x540) is scaled with a warning;
    anything else (portrait against landscape, another aspect ratio) is an error naming the camera
    and both sizes: a calibration of another video mode gives a healthy-looking reprojection error
    and metres of error in 3D."""
    cameras = []
    for cam in rig:
        got = tuple(int(v) for v in sizes[cam.name])
        if cam.image_size is None or tuple(cam.image_size) == got:
            cameras.append(cam)
            continue
        (W, H), (w, h) = cam.image_size, got
        if (W, H) == (h, w):
            raise DataError(calib_path, f"camera {cam.name}: calibrated for {W}x{H} frames but its frames are "
                                        f"{w}x{h} (portrait against landscape: a rotation tag the calibration did "
                                        "not see?); calibrate on the frames as they are read, upright")
        if abs(W * h - w * H) > 0.01 * W * h:
            raise DataError(calib_path, f"camera {cam.name}: calibrated for {W}x{H} frames but its frames are "
                                        f"{w}x{h}, another aspect ratio (another video mode or a crop); calibrate "
                                        "the camera in the mode it filmed in")
        log.warning("camera %s: calibrated for %dx%d frames, its frames are %dx%d (the same aspect ratio): "
                    "intrinsics scaled by %.3f", cam.name, W, H, w, h, w / W)
        cameras.append(cam.resized(got))
    return CameraRig(cameras)


@dataclass
class Inputs:
    """The 2D keypoints of a run: detected now (or cached), or the user's ``--keypoints``."""

    rig: CameraRig  # the cameras with input, in order, matched to their frames' size
    keypoints: Path
    frame_range: range | None
    fps: float
    sources: dict[str, FrameSource]
    timings: dict[str, float]

    @property
    def names(self) -> list[str]:
        return self.rig.names

    def read(self) -> MultiViewKeypoints:
        """Every camera's detections (paired by frame number), within the frame range."""
        seq = read_keypoints2d(self.keypoints, self.names)
        if self.frame_range is not None:
            seq = seq.select_frames([i for i, f in enumerate(seq.frames) if f in self.frame_range])
        return seq


def detect_inputs(setup: RunSetup, *, cams: list[str] | None, frames: str | None, keypoints: str | Path | None,
                  fps: float | None, where: str) -> Inputs:
    """Detect bodies in every calibrated camera (cached in ``OUT/keypoints2d``), or take the
    precomputed ``keypoints`` folder; at least two cameras."""
    start, stop = parse_frames(frames)
    timings: dict[str, float] = {}
    sources: dict[str, FrameSource] = {}
    if keypoints is None:
        make_detector = body_detector_factory(setup.settings["detect"], f"{where}: detect")
        sources, rig, frame_range, fps = open_inputs(setup.root, setup.rig, setup.calib_path, cams, frames, fps)
        names = rig.names
        keypoints = setup.out / "keypoints2d"
        t = time.perf_counter()
        detected = 0
        with progress(len(names) * len(frame_range), desc="detect", unit="view-frame") as bar:
            for name in names:
                detected += detect_camera(sources[name], name, keypoints, make_detector, frame_range,
                                          setup.settings["detect"], bar=bar)
        timings["detect"] = time.perf_counter() - t
        timings["detect_view_frames"] = detected
        log.info("detection: %d new view-frames in %.1f s (cached cameras skipped)", detected, timings["detect"])
    else:
        keypoints = Path(keypoints)
        names = match_cameras(setup.rig, list_camera_folders(keypoints), setup.calib_path, cams)
        rig = setup.rig.subset(names)
        frame_range = None if (start, stop) == (0, None) else range(start, stop or 10**9)
        fps = fps or 30.0
    if len(names) < 2:
        raise DataError(setup.calib_path, f"need at least 2 calibrated cameras with input, found {names}")
    return Inputs(rig, keypoints, frame_range, fps, sources, timings)


def run_cameras(root: str | Path, *, exp: str | Path | None = "body", calib: str | Path | None = None) -> list[str]:
    """The cameras ``mvmocap run ROOT`` detects (calibrated ones with videos or images)."""
    setup = prepare_run(root, None, exp, calib)
    return open_inputs(setup.root, setup.rig, setup.calib_path, None, None, None)[1].names


def detect_run_camera(root: str | Path, out: str | Path | None, camera: str, *, exp: str | Path | None = "body",
                      calib: str | Path | None = None) -> int:
    """Detect one camera of ``mvmocap run ROOT`` into ``OUT/keypoints2d`` exactly as the run would
    (the same frame range, settings and cache), so that the run then finds it done: one trial's
    cameras can be detected on several machines. Returns the frames detected now."""
    setup = prepare_run(root, out, exp, calib)
    sources, rig, frame_range, _ = open_inputs(setup.root, setup.rig, setup.calib_path, None, None, None)
    if camera not in sources:
        raise DataError(setup.root, f"camera {camera!r} is not one of this run's cameras {rig.names}")
    make_detector = body_detector_factory(setup.settings["detect"], f"{exp}: detect")
    return detect_camera(sources[camera], camera, setup.out / "keypoints2d", make_detector, frame_range,
                         setup.settings["detect"])


def run_sync(root: str | Path, out: str | Path | None = None, *, exp: str | Path | None = "body",
             calib: str | Path | None = None, cams: list[str] | None = None, frames: str | None = None,
             keypoints: str | Path | None = None, fps: float | None = None, max_offset: float | None = None,
             sync_file: str | Path | None = None) -> tuple[Path, SyncResult, float]:
    """``mvmocap sync``: detect (or reuse the run's detection cache), choose the subject, estimate
    every camera's offset and write ``sync_file`` (default ``ROOT/sync.yml``). Returns the file
    written, the offsets and the frame rate of the reference camera."""
    setup = prepare_run(root, out, exp, calib)
    subject_settings = settings_from(SubjectSettings, setup.settings.get("associate"), f"{exp}: associate")
    values = dict(setup.settings.get("sync") or {})
    if max_offset is not None:
        values["max_offset"] = max_offset
    sync_settings = settings_from(SyncSettings, values, f"{exp}: sync")
    inputs = detect_inputs(setup, cams=cams, frames=frames, keypoints=keypoints, fps=fps, where=str(exp))
    rig = inputs.rig
    seq = inputs.read()
    choice = choose_subject(rig, seq.candidates(), skeleton=seq.skeleton, fps=inputs.fps, settings=subject_settings)
    result = subject_offsets(rig, seq, choice.keypoints2d, fps=inputs.fps, settings=sync_settings)
    path = write_sync_file(Path(sync_file) if sync_file else setup.root / "sync.yml", result)
    return path, result, inputs.fps


def run_capture(root: str | Path, out: str | Path | None = None, exp: str | Path | None = "body",
                model: str | None = None, calib: str | Path | None = None, cams: list[str] | None = None,
                vis_cams: list[str] | None = None, frames: str | None = None, keypoints: str | Path | None = None,
                gmm: str | Path | None = None, fps: float | None = None, videos: bool = True,
                sync: str = "file", sync_file: str | Path | None = None) -> RunOutput:
    """Run every stage; see the module docstring. Returns the results and the report.

    ``sync``: ``file`` uses ``sync_file`` (default ``ROOT/sync.yml``) when present, ``auto``
    estimates the offsets now (and writes ``OUT/sync.yml``), ``none`` treats the cameras as
    synchronised.
    """
    if sync not in SYNC_MODES:
        raise InputError(f"--sync must be one of {SYNC_MODES}, got {sync!r}")
    setup = prepare_run(root, out, exp, calib)
    root, out, settings, fit_config = setup.root, setup.out, setup.settings, setup.fit_config
    calib_path = setup.calib_path
    body = load_body_model(model)  # a missing model file is found before any detection
    tri_cfg = settings_from(TriangulateSettings, settings["triangulate"], f"{exp}: triangulate")
    tri_settings = {"robust": tri_cfg.robust, "min_views": tri_cfg.min_views}  # the triangulator's own options
    subject_settings = settings_from(SubjectSettings, settings.get("associate"), f"{exp}: associate")
    sync_settings = settings_from(SyncSettings, settings.get("sync"), f"{exp}: sync")
    timings: dict[str, float] = {}

    inputs = detect_inputs(setup, cams=cams, frames=frames, keypoints=keypoints, fps=fps, where=str(exp))
    names, sources, fps, rig = inputs.names, inputs.sources, inputs.fps, inputs.rig
    timings.update(inputs.timings)
    vis = vis_cams or names[:4]
    unknown = [c for c in vis if c not in names]
    if videos and unknown:
        raise DataError(calib_path, f"--vis-cams {unknown} are not among the cameras used {names}")

    t = time.perf_counter()
    seq = inputs.read()
    thresholds = threshold_per_camera(rig, tri_cfg.threshold_px, tri_cfg.threshold_fraction)
    prepared = prepare_keypoints(rig, seq, fps=fps, root=root, out=out, sync=sync, sync_settings=sync_settings,
                                 subject_settings=subject_settings, thresholds=thresholds,
                                 fix_swaps=tri_cfg.fix_left_right, triangulate_options={"min_views": tri_cfg.min_views},
                                 sync_file=sync_file)
    timings["associate_sync"] = time.perf_counter() - t
    t = time.perf_counter()
    tri = triangulate_sequence(rig, prepared.keypoints, out, threshold_px=thresholds, **tri_settings)
    heldout = heldout_own_timelines(rig, prepared, fps=fps, thresholds=thresholds, fix_swaps=tri_cfg.fix_left_right,
                                    **tri_settings)
    timings["triangulate"] = time.perf_counter() - t
    kp3d = tri.result.keypoints3d
    kp2d = tri.keypoints.person()
    frame_ids = tri.keypoints.frames
    unseen = [int(f) for f, row in zip(frame_ids, kp2d, strict=True) if not (row[..., 2] > 0).any()]
    if unseen:
        log.warning("%d frames have no detection of the subject in any camera; the fit interpolates them: %s",
                    len(unseen), unseen[:20])
    never = [n for v, n in enumerate(names) if not (kp2d[:, v, :, 2] > 0).any()]
    if never:
        log.warning("cameras %s never see the subject; they add nothing", never)

    t = time.perf_counter()
    fitter = BodyFitter(body, fit_config, gmm=str(gmm) if gmm else None, fps=fps)
    use_2d = fit_config.stages["reprojection"].enabled
    result = fitter.fit(kp3d, kp2d if use_2d else None, tri.rig if use_2d else None)
    write_fit(out, body, result, frame_ids, fps)
    timings["fit"] = time.perf_counter() - t

    if videos:
        t = time.perf_counter()
        render_run_videos(out, tri.rig, sources, vis, [(body, result)], frame_ids, [(kp2d, "body25")], names, fps,
                          settings["render"])
        timings["render"] = time.perf_counter() - t

    report = {
        "cameras": names, "frames": [frame_ids[0], frame_ids[-1]] if frame_ids else [], "fps": fps,
        "model": body.name, "calibration": str(calib_path), "frames_without_detection": unseen,
        "cameras_never_seeing_subject": never,
        "frames_too_few_views": tri.report["frames_mostly_missing"],
        **prepared.report,
        "heldout": heldout,
        "triangulation": {k: v for k, v in tri.report.items() if k not in ("frames_mostly_missing",)},
        "fit": {"seconds": result.seconds, "final": result.log[-1] if result.log else {}},
        "timings_seconds": {k: round(v, 3) for k, v in timings.items() if k != "detect_view_frames"},
        "detect_view_frames": timings.get("detect_view_frames", 0),
    }
    atomic_write_text(out / "report.json", json.dumps(report, indent=1))
    return RunOutput(out, tri.rig, body, frame_ids, kp3d, result, report, timings, prepared)
