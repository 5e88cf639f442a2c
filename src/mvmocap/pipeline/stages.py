"""The set-up every ``mvmocap run`` shares: its options checked with the dataset folder, the
output folder, the experiment and the calibration (:func:`prepare_run`), the inputs (frame
sources matched to the calibration: :func:`open_inputs`), per-camera detection through the cache
(:func:`detect_cameras`), stage timing and the report.

The runs of each kind are stages over one :class:`mvmocap.pipeline.context.RunContext` built on
these; :func:`mvmocap.pipeline.launch.run_experiment` is the one way into them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from mvmocap.camera import CameraRig, load_calibration
from mvmocap.console import progress
from mvmocap.detect import detect_camera, detect_camera_in_worker, save_body
from mvmocap.io import DataError, FrameSource, check_dataset_folder, list_video_cameras
from mvmocap.pipeline.experiment import Experiment, load_experiment
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.triangulation import match_cameras
from mvmocap.utils import atomic_write_text

__all__ = ["RunSetup", "StageTimer", "camera_frames", "check_folders", "check_output_folder", "detect_cameras",
           "detection_processes", "match_frame_sizes", "open_inputs", "prepare_run", "video_cameras", "write_report"]

log = logging.getLogger(__name__)


@dataclass
class RunSetup:
    """What every experiment starts from: checked folders, the experiment and the calibration."""

    options: RunOptions
    experiment: Experiment
    calib_path: Path
    rig: CameraRig

    @property
    def root(self) -> Path:
        return self.options.root

    @property
    def out(self) -> Path:
        return self.options.output


def prepare_run(options: RunOptions, experiment: Experiment | None = None) -> RunSetup:
    """Check the dataset and output folders, load the experiment (unless given) and the calibration."""
    check_folders(options)
    experiment = experiment or load_experiment(options.exp)
    options.check_for(experiment.kind)
    calib_path = options.calib if options.calib is not None else options.root
    return RunSetup(options, experiment, calib_path, load_calibration(calib_path))


def check_folders(options: RunOptions) -> None:
    """The dataset folder exists and the output folder is a fit place (:func:`check_output_folder`)."""
    check_dataset_folder(options.root)
    check_output_folder(options.root, options.output)


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


def open_inputs(setup: RunSetup, *, longest: bool = False) -> tuple[dict[str, FrameSource], CameraRig, range, float]:
    """The cameras' frame sources (calibrated ones only), the rig of those cameras matched to their
    frames' size (:func:`match_frame_sizes`), the frame range to process and the fps.

    The frame range lies within the frames every camera has (with a warning when their counts
    differ), or with ``longest`` within the longest camera's: each camera is then detected within
    its own frames (:func:`camera_frames`) and a frame a camera lacks counts as not seen there, as
    cameras started by hand film different spans."""
    options = setup.options
    found = list_video_cameras(setup.root)
    rig = match_cameras(setup.rig, list(found), setup.calib_path, list(options.cams) if options.cams else None)
    sources = {n: FrameSource(found[n]) for n in rig.names}
    rig = match_frame_sizes(rig, {n: s.size for n, s in sources.items()}, setup.calib_path)
    start, stop = options.frame_bounds
    counts = {n: s.count for n, s in sources.items()}
    usable = max(counts.values()) if longest else min(counts.values())
    if len(set(counts.values())) > 1:
        log.warning("cameras have different frame counts (%s); %s", ", ".join(f"{n}: {c}" for n, c in counts.items()),
                    f"using frames 0-{usable - 1}, a camera past its last frame counts as not seeing" if longest
                    else f"using the common range 0-{usable - 1}")
    frame_range = range(start, min(stop or usable, usable))
    if len(frame_range) == 0:
        raise DataError(setup.root, f"no frames in range {start}:{stop} (the cameras have {usable})")
    fps = options.fps or next((s.fps for s in sources.values() if getattr(s, "fps", 0) > 0), 30.0)
    return sources, rig, frame_range, fps


def video_cameras(setup: RunSetup, names: list[str]) -> list[str]:
    """The cameras of the overlay video: ``--vis-cams`` (each one of ``names``), else the first four."""
    chosen = list(setup.options.vis_cams or names[:4])
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise DataError(setup.calib_path, f"--vis-cams {unknown} are not among the cameras used {names}")
    return chosen


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


def camera_frames(frame_range: range, source: FrameSource) -> range:
    """The frames of ``frame_range`` that ``source`` has."""
    return range(frame_range.start, max(frame_range.start, min(frame_range.stop, source.count)))


VIEW_FRAMES_PER_PROCESS = 300  # frames to detect that repay one more detection process


def detection_processes(sources: dict[str, FrameSource], folder: Path, frame_range: range, wanted: int) -> int:
    """How many processes should detect ``sources`` into ``folder`` (``wanted`` at most): one per
    camera at most, and one per ``VIEW_FRAMES_PER_PROCESS`` frames still to detect (a process's
    start, its imports and its models, costs about 1 s, what thirty 1080 x 1920 frames do; a
    short clip stays in the run's own process)."""
    ranges = [(camera_frames(frame_range, source), folder / name) for name, source in sources.items()]
    to_detect = sum(len(frames) - _cached_frames(cache, frames) for frames, cache in ranges)
    return max(1, min(wanted, len(sources), to_detect // VIEW_FRAMES_PER_PROCESS))


def detect_cameras(sources: dict[str, FrameSource], folder: Path, factories: dict[str, Callable[[], Callable]],
                   frame_range: range, identity: dict, *, desc: str, save: Callable = save_body,
                   processes: int = 1) -> int:
    """Detect every camera of ``sources`` into ``folder`` through the cache (``identity``: what the
    detections depend on), each within the frames of ``frame_range`` it has; ``factories[camera]()``
    makes that camera's fresh detector. With ``processes`` > 1 the cameras are detected in that
    many worker processes at once (the factories must then be picklable, e.g.
    ``functools.partial``; :func:`detection_processes` says how many repay their start); each
    camera's result is the same as in this process. Returns the frames detected now (cached ones
    are skipped)."""
    detected = 0
    processes = min(processes, len(sources))
    ranges = {name: camera_frames(frame_range, source) for name, source in sources.items()}
    with progress(sum(len(r) for r in ranges.values()), desc=desc, unit="view-frame") as bar:
        if processes <= 1:
            for name, source in sources.items():
                detected += detect_camera(source, name, folder, factories[name], ranges[name], identity, save=save,
                                          bar=bar)
            return detected
        log.info("detecting %d cameras in %d processes", len(sources), processes)
        with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
            jobs = {pool.submit(detect_camera_in_worker, source.path, name, folder, factories[name], ranges[name],
                                identity, save): name for name, source in sources.items()}
            shown = 0
            pending = set(jobs)
            while pending:
                finished, pending = wait(pending, timeout=0.5)
                for job in finished:
                    detected += job.result()  # a worker's error is raised here, naming its file
                done = sum(_cached_frames(folder / name, ranges[name]) for name in sources)
                bar.update(done - shown)
                shown = done
    return detected


def _cached_frames(folder: Path, frame_range: range) -> int:
    """How many frames of ``frame_range`` a camera's cache folder holds (for the progress bar)."""
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.glob("[0-9]*.json") if p.stem.isdigit() and int(p.stem) in frame_range)


@dataclass
class StageTimer:
    """Seconds per stage, as ``report.json`` lists them."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}


def write_report(out: Path, report: dict, timer: StageTimer) -> dict:
    """``out/report.json``: ``report`` with the stage timings; returns what was written."""
    report = {**report, "timings_seconds": timer.rounded()}
    atomic_write_text(out / "report.json", json.dumps(report, indent=1, default=float))
    return report
