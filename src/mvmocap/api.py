"""The library's front door: what each ``mvmocap`` command does, as a function a notebook or a
script calls (the command line calls these too). ``import mvmocap`` offers them without loading
PyTorch until one is called::

    import mvmocap

    mvmocap.calibrate_people("session/", height=1.75)   # -> session/calib_people/extri.yml
    result = mvmocap.run("session/", calib="session/calib_people", sync="auto")
    mvmocap.export_run("session/output", "walk.bvh")
    mvmocap.write_replay("session/output")              # -> session/output/replay.html

Each takes the command's options as keyword arguments (their names are the flags' without the
dashes) and raises :class:`mvmocap.utils.InputError` (a subclass names the file) for input it
cannot use, before any long work starts.
"""

from __future__ import annotations

from pathlib import Path

from mvmocap.batch import BatchOptions, TrialResult
from mvmocap.batch import run_batch as _run_batch
from mvmocap.calib.boards import BoardSpec
from mvmocap.calib.intrinsics import IntrinsicsResult, IntrinsicsSettings
from mvmocap.calib.people import PeopleResult
from mvmocap.console import log_to_file
from mvmocap.export import export_run
from mvmocap.export.angles import export_angles
from mvmocap.io import DataError
from mvmocap.pipeline.calibration import (
    run_calib_check,
    run_calib_extrinsics,
    run_calib_intrinsics,
    run_calib_people,
    run_calib_refine,
)
from mvmocap.pipeline.experiment import Experiment
from mvmocap.pipeline.inputs import run_sync
from mvmocap.pipeline.launch import run_experiment
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.stages import prepare_run
from mvmocap.report import write_report_page
from mvmocap.sync import SyncResult
from mvmocap.view import view_run

__all__ = ["run", "sync_cameras", "calibrate_intrinsics", "calibrate_extrinsics", "calibrate_people",
           "refine_calibration", "check_calibration", "run_batch", "export_run", "export_angles", "write_replay",
           "write_report", "RunOptions", "BoardSpec"]


def run(root: str | Path | RunOptions, *, experiment: Experiment | None = None, **options):
    """``mvmocap run``: detect, follow, triangulate, fit, write and render the capture in ``root``
    (or run a :class:`RunOptions` as given). ``options`` are :class:`RunOptions`' fields (``exp``,
    ``out``, ``calib``, ``frames="100:400"``, ``sync="auto"``, ``videos=False``...). Logs to
    ``OUT/log.txt``; returns the run's result (``body``: :class:`mvmocap.pipeline.RunOutput` with
    the report, keypoints and fit; ``multi``: every person's; ``hands``: per side)."""
    options = root if isinstance(root, RunOptions) else RunOptions(root=Path(root), **options)
    return run_experiment(options, experiment, log_file=True)


def sync_cameras(root: str | Path | RunOptions, *, max_offset: float | None = None, write_to: str | Path | None = None,
                 **options) -> tuple[Path, SyncResult, float]:
    """``mvmocap sync``: every camera's time offset from the people it sees, written to
    ``write_to`` (default ``ROOT/sync.yml``). Returns the file, the offsets and the frame rate."""
    options = root if isinstance(root, RunOptions) else RunOptions(root=Path(root), **options)
    setup = prepare_run(options)  # every check before log.txt is written
    with log_to_file(options.output / "log.txt"):
        return run_sync(setup, max_offset=max_offset, write_to=Path(write_to) if write_to else None)


def calibrate_intrinsics(root: str | Path, board: BoardSpec, *, cams: list[str] | None = None,
                         out: str | Path | None = None, max_views: int = 40) -> dict[str, IntrinsicsResult]:
    """``mvmocap calib intrinsics``: each camera's intrinsics from its images or video of ``board``
    -> ``out`` (default ``ROOT/intri.yml``)."""
    return run_calib_intrinsics(root, board, cams=cams, out=out, settings=IntrinsicsSettings(max_views=max_views))


calibrate_extrinsics = run_calib_extrinsics  # mvmocap calib extrinsics


def calibrate_people(root: str | Path, *, height: float | None = None, intri: str | Path | None = None,
                     out: str | Path | None = None, cams: list[str] | None = None) -> tuple[PeopleResult, Path]:
    """``mvmocap calib people``: the cameras' poses from the people they film (no board), checked
    before ``OUT/extri.yml`` is written (default OUT ``ROOT/calib_people``). Returns the result and OUT."""
    return run_calib_people(root, intri=intri, out=out, height=height, cams=cams)


refine_calibration = run_calib_refine  # mvmocap calib people --refine CALIB
check_calibration = run_calib_check  # mvmocap calib check


def run_batch(session: str | Path, *, exp: str | None = None, model: str | None = None, videos: bool = False,
              workers: int = 1, ray: str | None = None) -> list[TrialResult]:
    """``mvmocap batch``: every trial of ``session``, resumable, in ``workers`` processes or on Ray."""
    if not Path(session).is_dir():
        raise DataError(Path(session), "session folder not found")
    return _run_batch(session, options=BatchOptions(exp=exp, model=model, videos=videos), workers=workers, ray=ray)


def write_report(out: str | Path, html: str | Path | None = None) -> Path:
    """``mvmocap report``: rewrite the page of the finished run in ``out`` (default
    ``OUT/report.html``: plots of each camera's quality, sync, joint angles, the path). Returns its path."""
    return write_report_page(out, html)


def write_replay(out: str | Path, html: str | Path | None = None, *, calib: str | Path | None = None,
                 model: str | None = None) -> Path:
    """``mvmocap view``: the self-contained 3D replay page of the run in ``out`` (default
    ``OUT/replay.html``). Returns its path."""
    return view_run(out, html, calib=calib, model=model)
