"""``mvmocap``: command-line entry point (argparse sub-commands, one function each)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mvmocap.camera import load_calibration, save_calibration
from mvmocap.console import Console, log_to_file, summary_table
from mvmocap.io import DataError
from mvmocap.pipeline.summary import hands_summary, multi_summary, run_summary, sync_summary
from mvmocap.utils import InputError, output_lock

if TYPE_CHECKING:
    from mvmocap.pipeline.stages import RunOptions

EXIT_DONE, EXIT_BUG, EXIT_INPUT = 0, 1, 2  # README: exit codes

log = logging.getLogger("mvmocap")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


class _CameraNames(argparse.Action):
    """``--cams``-like lists: each camera once (a repeated name is an argparse error, exit 2)."""

    def __call__(self, parser, namespace, values, option_string=None):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            parser.error(f"{option_string} names {repeated} more than once; list each camera once")
        setattr(namespace, self.dest, values)


def _int_from(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _dataset_root(args: argparse.Namespace) -> None:
    """A mistyped ROOT is reported as such, before anything (log.txt included) is written under it."""
    if not Path(args.root).is_dir():
        raise DataError(Path(args.root), "dataset folder not found (expected videos/<cam>.mp4 or images/<cam>/ "
                                         "and a calibration)")


def _cmd_calib_convert(args: argparse.Namespace) -> int:
    rig = load_calibration(args.input)
    written = save_calibration(rig, args.output)
    log.info("wrote %d cameras %s to %s", len(rig), rig.names, ", ".join(map(str, written)))
    return 0


def _board_from(args: argparse.Namespace):
    from mvmocap.calib.boards import BOARD_KINDS, BoardSpec, read_board_file

    if args.board not in BOARD_KINDS:
        if not args.board.endswith(".toml"):
            raise InputError(f"--board must be one of {BOARD_KINDS} or a caliscope board .toml, got {args.board!r}")
        return read_board_file(args.board)
    if args.pattern is None or args.square is None:
        raise InputError(f"--board {args.board} needs --pattern COLS,ROWS and --square (metres)")
    try:
        cols, rows = (int(v) for v in args.pattern.split(","))
    except ValueError:
        raise InputError(f"--pattern must look like COLS,ROWS (inner corners, e.g. 9,6), got {args.pattern!r}"
                         ) from None
    return BoardSpec(args.board, cols, rows, args.square, args.marker, args.dictionary)


def _cmd_calib_board(args: argparse.Namespace) -> int:
    from mvmocap.calib.extrinsics import ExtrinsicsSettings
    from mvmocap.calib.intrinsics import IntrinsicsSettings
    from mvmocap.pipeline.calibration import run_calib_extrinsics, run_calib_intrinsics

    _dataset_root(args)
    board = _board_from(args)
    if args.calib_command == "intrinsics":
        results = run_calib_intrinsics(args.root, board, cams=args.cams, out=args.out,
                                       settings=IntrinsicsSettings(max_views=args.max_views))
        print(summary_table("mvmocap calib intrinsics", {
            "written": str(args.out or Path(args.root) / "intri.yml"),
            **{f"  {n}": f"RMS {r.rms:.3f} px, {len(r.per_view)} views ({r.counts.found} found in "
                         f"{r.counts.tried} frames, {len(r.dropped)} outliers dropped), f {r.K[0, 0]:.1f} "
                         f"+- {100 * r.focal_uncertainty:.1f}%, {r.model}"
               for n, r in results.items()}}))
        return 0
    result = run_calib_extrinsics(args.root, board, intri=args.intri, cams=args.cams, out=args.out, every=args.every,
                                  settings=ExtrinsicsSettings(origin=args.origin, floor_frame=args.floor_frame))
    print(summary_table("mvmocap calib extrinsics", {
        "written": str(args.out or Path(args.root) / "extri.yml"), "reference camera": result.reference,
        **{f"  {n}": f"RMS {rms:.3f} px over {result.views_used[n]} views"
                     + (f" ({result.views_rejected[n]} rejected)" if result.views_rejected[n] else "")
           for n, rms in result.per_camera_rms_px.items()}}))
    return 0


def _cmd_calib_people(args: argparse.Namespace) -> int:
    from mvmocap.pipeline.calibration import run_calib_people

    _dataset_root(args)
    if args.refine:
        return _calib_refine(args)
    result, out = run_calib_people(args.root, intri=args.intri, out=args.out, height=args.height, cams=args.cams)
    print(summary_table("mvmocap calib people", {
        "written": str(out / "extri.yml"),
        **{f"  {n}": f"median reprojection {px:.2f} px over {result.correspondences[n]} joint observations"
           for n, px in result.per_camera_median_px.items()},
        "not placed": ", ".join(result.unplaced) or "none"}))
    return 0


def _calib_refine(args: argparse.Namespace) -> int:
    from mvmocap.pipeline.calibration import run_calib_refine

    rig, report, out = run_calib_refine(args.root, args.refine, out=args.out, cams=args.cams)
    check = report["validation"]
    print(summary_table("mvmocap calib people --refine", {
        "written": str(out / "extri.yml"),
        "checked on": f"frames {check['frames_checked'][0]}-{check['frames_checked'][1]} (refined on "
                      f"{check['frames_refined_on'][0]}-{check['frames_refined_on'][1]})",
        "held-out error": f"{check['heldout_px_refined']['heldout_px']:.1f} px refined, "
                          f"{check['heldout_px_given']['heldout_px']:.1f} px as given",
        **{f"  {n}": f"held-out {check['heldout_px_refined']['per_camera'][n]:.1f} px (given "
                     f"{check['heldout_px_given']['per_camera'][n]:.1f}); turned {moved['rotation_deg']:.2f} deg, "
                     f"moved {100 * moved['centre_moved_m']:.1f} cm"
           for n, moved in report["moved"].items()}}))
    return 0


def _cmd_calib_check(args: argparse.Namespace) -> int:
    from mvmocap.pipeline.calibration import run_calib_check

    _dataset_root(args)
    written = run_calib_check(args.root, calib=args.calib, frame=args.frame, out=args.out, cams=args.cams,
                              keypoints=args.keypoints)
    print(f"mvmocap calib check: wrote {len(written)} images to {written[-1].parent}")
    return 0


def _cmd_triangulate(args: argparse.Namespace) -> int:
    from mvmocap.pipeline import run_triangulation

    run_triangulation(
        args.data, args.keypoints, args.out, calib=args.calib, cameras=args.cams, person=args.person,
        common_frames=args.common_frames, robust=not args.plain, threshold_px=args.threshold,
        min_views=args.min_views,
    )
    return 0


def _spec_from(args: argparse.Namespace):
    from mvmocap.synthetic import CaptureSpec

    return CaptureSpec(frames=args.frames, cameras=args.cameras, radius=args.radius, motion=args.motion,
                       noise_px=args.noise, outlier_ratio=args.outliers, dropout_ratio=args.dropouts, seed=args.seed)


def _cmd_synth(args: argparse.Namespace) -> int:
    from mvmocap.synthetic import make_capture, write_capture

    root = write_capture(make_capture(_spec_from(args)), args.out, args.format)
    log.info("wrote a synthetic capture to %s", root)
    return 0


def _cmd_bench_triangulate(args: argparse.Namespace) -> int:
    from mvmocap.bench import bench_triangulate

    print(json.dumps(bench_triangulate(_spec_from(args), repeats=args.repeats)))
    return 0


def _cmd_bench_bodymodel(args: argparse.Namespace) -> int:
    from mvmocap.bench import bench_bodymodel

    print(json.dumps(bench_bodymodel(args.frames, args.repeats, anny=not args.no_anny)))
    return 0


def _cmd_bench_fit(args: argparse.Namespace) -> int:
    from mvmocap.bench import bench_fit

    print(json.dumps(bench_fit(args.frames, tuple(args.models), args.seed, metrics=not args.no_metrics,
                               load=args.load)))
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from mvmocap.pipeline import run_fit

    run_fit(args.keypoints3d, args.out, model=args.model, exp=args.exp, gmm=args.gmm, fps=args.fps,
            regressor=args.regressor)
    return 0


def _cmd_bench_hands(args: argparse.Namespace) -> int:
    from mvmocap.bench import bench_hands

    print(json.dumps(bench_hands(args.frames, tuple(args.models), args.seed)))
    return 0


def _cmd_bench_bodyhands(args: argparse.Namespace) -> int:
    from mvmocap.bench import bench_bodyhands

    print(json.dumps(bench_bodyhands(args.frames, tuple(args.models), args.seed)))
    return 0


def _cmd_bench_render(args: argparse.Namespace) -> int:
    from mvmocap.bench import bench_render

    print(json.dumps(bench_render(args.frames)))
    return 0


def _run_options(args: argparse.Namespace) -> RunOptions:
    """The command line of ``mvmocap run`` / ``mvmocap sync`` as checked options."""
    from mvmocap.pipeline.stages import RunOptions

    _dataset_root(args)
    return RunOptions(root=Path(args.root), out=Path(args.out) if args.out else None, exp=args.exp,
                      model=getattr(args, "model", None), calib=args.calib, cams=args.cams,
                      vis_cams=getattr(args, "vis_cams", None), frames=args.frames, fps=args.fps,
                      videos=not getattr(args, "no_video", False), keypoints=args.keypoints,
                      gmm=getattr(args, "gmm", None), sync=getattr(args, "sync", "file"),
                      max_people=getattr(args, "max_people", None), workers=getattr(args, "workers", 1))


def _cmd_run(args: argparse.Namespace) -> int:
    from mvmocap.pipeline.experiment import load_experiment
    from mvmocap.pipeline.launch import run_experiment
    from mvmocap.pipeline.stages import check_output_folder

    options = _run_options(args)
    check_output_folder(options.root, options.output)  # before log.txt is written there
    experiment = load_experiment(options.exp)  # its errors come before log.txt is written
    kind = experiment.kind
    options.check_for(kind)
    out = options.output
    with output_lock(out), log_to_file(out / "log.txt"):
        result = run_experiment(options, experiment)
    if kind == "multi":
        print(multi_summary(result.report, out))
    elif kind == "hands":
        report = json.loads((out / "report.json").read_text())
        print(hands_summary(report, out, {side: result[side] is not None for side in ("l", "r")}))
    elif kind == "body+hands":
        found = result.keypoints3d[..., 3] > 0
        print(summary_table("mvmocap run --exp body+hands: summary", {
            "outputs": str(out), "model": result.model.name, "frames": str(len(result.frames)),
            **{part: f"{100 * found[:, cols].mean():.0f}% of keypoints found" for part, cols in
               (("body", slice(0, 25)), ("left hand", slice(25, 46)), ("right hand", slice(46, 67)))}}))
    else:
        print(run_summary(result.report, result.out))
    return 0


def _cmd_settings(args: argparse.Namespace) -> int:
    from mvmocap.pipeline.experiment import experiment_yaml, load_experiment

    print(experiment_yaml(load_experiment(args.exp)))
    return 0


def _cmd_bench_pipeline(args: argparse.Namespace) -> int:
    import tempfile

    from mvmocap.demo import run_body_hands_demo, run_demo

    if args.real_size and args.exp != "body":
        raise InputError("--real-size times the body pipeline; drop --exp body+hands")
    frames, cameras = (300, 4) if args.real_size else (args.frames, args.cameras)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if args.exp == "body+hands":
            result = run_body_hands_demo(Path(tmp), frames=frames, cameras=cameras, videos=not args.no_video)
        else:
            result = run_demo(Path(tmp), frames=frames, cameras=cameras, videos=not args.no_video,
                              workers=args.workers, **({"image_size": (1080, 1920), "sync": "auto"}
                                                       if args.real_size else {}))
        seconds = time.perf_counter() - start
    run = result["run"]
    timings = run.timings
    if args.exp == "body+hands":
        print(json.dumps({
            "detect_fps": round(frames * cameras / max(timings["detect"], 1e-9), 2),
            "seconds_total": round(seconds, 2),
            **{f"{part}_{key}": round(value, 3 if key == "found" else 2) for part in ("body", "left_hand", "right_hand")
               for key, value in result[part].items()},
            "stage_seconds": {k: round(v, 2) for k, v in timings.items()}, "frames": frames, "cameras": cameras,
        }))
        return 0
    pipeline = sum(timings.values())
    print(json.dumps({
        "detect_fps": round(run.report["detect_view_frames"] / max(timings["detect"], 1e-9), 2),
        "pipeline_seconds": round(pipeline, 2),
        "pipeline_over_detect": round(pipeline / max(timings["detect"], 1e-9), 2),
        "seconds_total": round(seconds, 2), "synth_seconds": round(result["synth_seconds"], 2),
        "kp_mpjpe_mm": round(result["kp_mpjpe_mm"], 2), "pve_mm": round(result["pve_mm"], 2),
        "triangulated_mpjpe_mm": round(result["triangulated_mpjpe_mm"], 2),
        "stage_seconds": {k: round(v, 2) for k, v in timings.items()},
        "frames": frames, "cameras": cameras, "image_size": list(run.rig[0].image_size), "workers": args.workers,
    }))
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    from mvmocap.pipeline.run import run_sync
    from mvmocap.pipeline.stages import check_output_folder

    options = _run_options(args)
    check_output_folder(options.root, options.output)  # before log.txt is written there
    with log_to_file(options.output / "log.txt"):
        path, result, fps = run_sync(options, max_offset=args.max_offset,
                                     write_to=Path(args.sync_file) if args.sync_file else None)
    print(sync_summary(result, path, fps))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from mvmocap.export import export_run

    path = export_run(args.out, args.to, person=args.person, up=args.up, units=args.units, model=args.model,
                      correctives=not args.no_correctives, keypoints=args.keypoints)
    print(f"mvmocap export: wrote {path}")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from mvmocap.batch import BatchOptions, run_batch

    session = Path(args.session)
    if not session.is_dir():
        raise DataError(session, "session folder not found")
    results = run_batch(session, options=BatchOptions(exp=args.exp, model=args.model, videos=args.video),
                        workers=args.workers, ray=args.ray)
    failed = [r for r in results if r.status == "failed"]
    print(summary_table(f"mvmocap batch: {len(results)} trials, {len(failed)} failed", {
        "reports": str(session / "batch_report.json") + "  " + str(session / "batch_report.csv"),
        **{f"  {r.trial}": r.status + (f" ({r.frames} frames, {r.cameras} cameras, held-out "
                                       f"{r.heldout_px:.1f} px, {r.seconds:.0f} s)" if r.heldout_px is not None else "")
           + (f": {r.error}" if r.error else "") for r in results}}))
    return 2 if failed else 0


def _cmd_view(args: argparse.Namespace) -> int:
    from mvmocap.view import view_run

    path = view_run(args.out, args.html, calib=args.calib, model=args.model)
    print(f"mvmocap view: wrote {path} ({path.stat().st_size / 1e6:.1f} MB; opens offline in any browser)")
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


def _cmd_bench_batch(args: argparse.Namespace) -> int:
    from mvmocap.bench.batch import bench_batch

    print(json.dumps(bench_batch(trials=args.trials, frames=args.frames, workers=args.workers)))
    return 0


def _cmd_bench_real_calib(args: argparse.Namespace) -> int:
    from mvmocap.bench.real_calib import bench_real_calib

    print(json.dumps(bench_real_calib(args.data, work=args.work, height=args.height)))
    return 0


def _cmd_bench_real(args: argparse.Namespace) -> int:
    from mvmocap.bench.real import bench_real

    print(json.dumps(bench_real(args.data, work=args.work, model=args.model, frames=args.frames,
                                calib=Path(args.calib) if args.calib else None)))
    return 0


def _cmd_bench_calib(args: argparse.Namespace) -> int:
    from mvmocap.bench.calib import bench_calib

    print(json.dumps(bench_calib(views=args.views, cameras=args.cameras, frames=args.frames,
                                 people_frames=args.people_frames, seed=args.seed)))
    return 0


def _cmd_bench_realistic(args: argparse.Namespace) -> int:
    from mvmocap.bench.realistic import bench_realistic

    print(json.dumps(bench_realistic(frames=args.frames, cameras=args.cameras, seed=args.seed, data=args.data,
                                     exp=args.exp, start_spread=args.start_spread)))
    return 0


def _cmd_bench_multi(args: argparse.Namespace) -> int:
    from mvmocap.bench.multi import bench_multi

    print(json.dumps(bench_multi(people=args.people, frames=args.frames, cameras=args.cameras, seed=args.seed,
                                 data=args.data)))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from mvmocap.demo import run_body_hands_demo, run_demo, run_hands_demo, run_multi_demo

    with log_to_file(Path(args.out) / "log.txt"):
        if args.multi:
            run_multi_demo(Path(args.out), frames=args.frames, cameras=args.cameras, seed=args.seed)
        elif args.hands:
            run_hands_demo(Path(args.out), frames=args.frames, seed=args.seed)
        elif args.body_hands:
            run_body_hands_demo(Path(args.out), frames=args.frames, cameras=args.cameras, seed=args.seed)
        else:
            run_demo(Path(args.out), frames=args.frames, cameras=args.cameras, seed=args.seed)
    return 0


def _add_synth_options(p: argparse.ArgumentParser, frames: int) -> None:
    from mvmocap.synthetic import MOTIONS

    p.add_argument("--frames", type=_int_from(1), default=frames)
    p.add_argument("--cameras", type=_int_from(2), default=4, help="cameras on the ring")
    p.add_argument("--radius", type=float, default=3.5, help="ring radius in metres")
    p.add_argument("--motion", choices=MOTIONS, default="mixed")
    p.add_argument("--noise", type=float, default=2.0, help="2D noise, pixels (standard deviation)")
    p.add_argument("--outliers", type=float, default=0.1, help="fraction of observations replaced by outliers")
    p.add_argument("--dropouts", type=float, default=0.05, help="fraction of observations dropped")
    p.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mvmocap", description="Multi-view markerless motion capture.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    calib = sub.add_parser("calib", help="calibration files").add_subparsers(dest="calib_command", required=True)
    conv = calib.add_parser("convert", help="convert between intri/extri.yml, .toml and .qca.txt")
    conv.add_argument("input", help="dataset folder with intri.yml + extri.yml, a .toml or a .qca.txt")
    conv.add_argument("output", help="folder (writes intri.yml + extri.yml), .toml or .qca.txt")
    conv.set_defaults(func=_cmd_calib_convert)
    for command, text in (("intrinsics", "per-camera intrinsics from images or videos of a board -> intri.yml"),
                          ("extrinsics", "camera poses from synchronised views of a board -> extri.yml")):
        cal = calib.add_parser(command, help=text)
        cal.add_argument("root", help="dataset folder with images/<cam>/ or videos/<cam>.mp4")
        cal.add_argument("--board", required=True, help="chessboard, charuco, or caliscope's board file "
                         "(charuco.toml: no --pattern, --square, --marker needed)")
        cal.add_argument("--pattern", help="inner corners COLS,ROWS (as OpenCV counts them)")
        cal.add_argument("--square", type=_positive_float, help="square side, metres")
        cal.add_argument("--marker", type=_positive_float, help="ChArUco marker side, metres")
        cal.add_argument("--dictionary", default="DICT_5X5_100", help="ChArUco ArUco dictionary")
        cal.add_argument("--cams", nargs="+", action=_CameraNames,
                         help="cameras (default: every camera folder or video)")
        default = "intri" if command == "intrinsics" else "extri"
        cal.add_argument("--out", help=f"file to write (default ROOT/{default}.yml)")
        if command == "extrinsics":
            cal.add_argument("--intri", help="intrinsics (default ROOT/intri.yml)")
            cal.add_argument("--origin", choices=["first", "floor"], default="first",
                             help="world frame: the best-connected camera's, or a board lying on the floor (z up)")
            cal.add_argument("--floor-frame", type=_int_from(0), help="with --origin floor: the frame whose board "
                             "lies on the floor (default: the one most cameras saw)")
            cal.add_argument("--every", type=_int_from(1), default=1, help="search every N-th frame")
        else:
            cal.add_argument("--max-views", type=_int_from(6), default=40, help="views kept per camera")
        cal.set_defaults(func=_cmd_calib_board)
    ppl = calib.add_parser("people", help="camera poses from video of a person moving through the views -> extri.yml")
    ppl.add_argument("root", help="dataset folder with videos/<cam>.mp4 or images/<cam>/ (in step, or a sync.yml)")
    ppl.add_argument("--intri", help="intrinsics (default ROOT/intri.yml)")
    ppl.add_argument("--height", type=_positive_float, help="the person's height in metres (sets the scale; "
                     "default 1.70 with a warning)")
    ppl.add_argument("--out", help="folder for extri.yml, intri.yml and the report (default ROOT/calib_people)")
    ppl.add_argument("--cams", nargs="+", action=_CameraNames)
    ppl.add_argument("--refine", help="a calibration made before (file or folder: a board's, another tool's) whose "
                     "camera poses are refined to the people instead of found from scratch; written only if it "
                     "predicts frames it was not refined on better")
    ppl.set_defaults(func=_cmd_calib_people)
    chk = calib.add_parser("check", help="draw the floor grid, world axes, cameras and the people's triangulated "
                                         "skeleton into one frame of each view")
    chk.add_argument("root")
    chk.add_argument("--calib", help="calibration (default ROOT)")
    chk.add_argument("--frame", type=_int_from(0), default=0)
    chk.add_argument("--out", help="folder for the PNGs (default ROOT/calib_check)")
    chk.add_argument("--cams", nargs="+", action=_CameraNames)
    chk.add_argument("--keypoints", help="a detection cache whose subject is triangulated and drawn back into "
                     "every view (default ROOT/output/keypoints2d or ROOT/calib_people/keypoints2d)")
    chk.set_defaults(func=_cmd_calib_check)

    tri = sub.add_parser("triangulate", help="2D keypoints of several cameras -> keypoints3d/<frame>.json")
    tri.add_argument("--data", required=True, help="dataset root (holds intri.yml + extri.yml unless --calib)")
    tri.add_argument("--keypoints", required=True, help="folder of <cam>/<frame>.json (EasyMocap annots or OpenPose)")
    tri.add_argument("--out", required=True, help="output folder")
    tri.add_argument("--calib", help="calibration file or folder (default: --data)")
    tri.add_argument("--cams", nargs="+", action=_CameraNames,
                     help="cameras to use (default: every camera with keypoints)")
    tri.add_argument("--person", type=int, help="person id (default: the most confidently detected)")
    tri.add_argument("--threshold", type=_positive_float, default=20.0, help="outlier threshold, pixels")
    tri.add_argument("--min-views", type=_int_from(2), default=2)
    tri.add_argument("--plain", action="store_true", help="plain weighted DLT, no outlier rejection")
    tri.add_argument("--common-frames", action="store_true",
                     help="cameras with different frame counts: use the common range")
    tri.set_defaults(func=_cmd_triangulate)

    syn = sub.add_parser("synth", help="write a synthetic keypoint capture with ground truth")
    syn.add_argument("out")
    syn.add_argument("--format", choices=["annots", "openpose"], default="annots")
    _add_synth_options(syn, frames=300)
    syn.set_defaults(func=_cmd_synth)

    bench = sub.add_parser("bench", help="benchmarks; the last line printed is one JSON object")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    btri = bench_sub.add_parser("triangulate", help="robust vs plain triangulation, accuracy and speed")
    _add_synth_options(btri, frames=1000)
    btri.add_argument("--repeats", type=int, default=5)
    btri.set_defaults(func=_cmd_bench_triangulate)

    bbody = bench_sub.add_parser("bodymodel", help="body model forward throughput (keypoints-only and mesh)")
    bbody.add_argument("--frames", type=int, default=1000)
    bbody.add_argument("--repeats", type=int, default=5)
    bbody.add_argument("--no-anny", action="store_true", help="SMPL-format model only")
    bbody.set_defaults(func=_cmd_bench_bodymodel)

    bfit = bench_sub.add_parser("fit", help="body fit accuracy against a model-generated truth")
    bfit.add_argument("--frames", type=int, default=1000)
    bfit.add_argument("--models", nargs="+", choices=["smpl", "anny"], default=["smpl", "anny"])
    bfit.add_argument("--seed", type=int, default=0)
    bfit.add_argument("--no-metrics", action="store_true", help="skip the vertex metrics (memory runs)")
    bfit.add_argument("--load", type=_int_from(0), default=0,
                      help="also fit beside this many busy processes; reports load_slowdown")
    bfit.set_defaults(func=_cmd_bench_fit)

    bhands = bench_sub.add_parser("hands", help="hand fit accuracy (MANO-format, Anny hand) against a truth")
    bhands.add_argument("--frames", type=int, default=1000)
    bhands.add_argument("--models", nargs="+", choices=["mano", "anny"], default=["mano", "anny"])
    bhands.add_argument("--seed", type=int, default=0)
    bhands.set_defaults(func=_cmd_bench_hands)

    bbh = bench_sub.add_parser("bodyhands", help="whole-body fit with hands (SMPL-H format, Anny) against a truth")
    bbh.add_argument("--frames", type=int, default=300)
    bbh.add_argument("--models", nargs="+", choices=["smplh", "anny"], default=["smplh", "anny"])
    bbh.add_argument("--seed", type=int, default=0)
    bbh.set_defaults(func=_cmd_bench_bodyhands)

    brender = bench_sub.add_parser("render", help="mesh overlay frames per second at 1080p")
    brender.add_argument("--frames", type=int, default=60)
    brender.set_defaults(func=_cmd_bench_render)

    bpipe = bench_sub.add_parser("pipeline", help="the demo capture end to end: speed and accuracy")
    bpipe.add_argument("--frames", type=int, default=150)
    bpipe.add_argument("--cameras", type=int, default=4)
    bpipe.add_argument("--no-video", action="store_true", help="skip rendering the output videos")
    bpipe.add_argument("--real-size", action="store_true",
                       help="4 cameras x 300 frames of 1080x1920 portrait video, cameras timed (--sync auto)")
    bpipe.add_argument("--workers", type=_int_from(0), default=1, help="processes detecting cameras (0: one per core)")
    bpipe.add_argument("--exp", choices=("body", "body+hands"), default="body",
                       help="body+hands: Anny with moving fingers (demo --body-hands)")
    bpipe.set_defaults(func=_cmd_bench_pipeline)

    breal = bench_sub.add_parser("realistic", help="rendered capture with desynchronised cameras, a bystander, "
                                                   "mixed resolutions: sync, held-out error, accuracy")
    breal.add_argument("--frames", type=int, default=150)
    breal.add_argument("--cameras", type=int, default=5)
    breal.add_argument("--seed", type=int, default=0)
    breal.add_argument("--data", help="reuse a capture rendered before (its folder) instead of rendering one")
    breal.add_argument("--exp", default="body", help="a body experiment YAML to run the capture with (default: body)")
    breal.add_argument("--start-spread", type=float, default=0.0, metavar="SECONDS",
                       help="cameras after the first start up to this late, as phones started by hand (the "
                            "sync search range is widened to match)")
    breal.set_defaults(func=_cmd_bench_realistic)
    bmulti = bench_sub.add_parser("multi", help="several people walking across each other, rendered: pcp, id "
                                                "switches, MPJPE per person, association speed")
    bmulti.add_argument("--people", type=_int_from(1), default=3)
    bmulti.add_argument("--frames", type=_int_from(2), default=150)
    bmulti.add_argument("--cameras", type=_int_from(2), default=6)
    bmulti.add_argument("--seed", type=int, default=0)
    bmulti.add_argument("--data", help="reuse a scene rendered before (its folder) instead of rendering one")
    bmulti.set_defaults(func=_cmd_bench_multi)
    bbat = bench_sub.add_parser("batch", help="trials per minute of mvmocap batch, serial and with workers")
    bbat.add_argument("--trials", type=_int_from(2), default=8)
    bbat.add_argument("--frames", type=_int_from(10), default=60)
    bbat.add_argument("--workers", type=_int_from(2), default=2)
    bbat.set_defaults(func=_cmd_bench_batch)
    bcal = bench_sub.add_parser("calib", help="board intrinsics and extrinsics on rendered photographs of "
                                              "known cameras")
    bcal.add_argument("--views", type=_int_from(8), default=20, help="board photographs per camera (intrinsics)")
    bcal.add_argument("--cameras", type=_int_from(2), default=4)
    bcal.add_argument("--frames", type=_int_from(4), default=40, help="synchronised frames (extrinsics)")
    bcal.add_argument("--people-frames", type=_int_from(30), default=300, help="frames of the person (people calib)")
    bcal.add_argument("--seed", type=int, default=0)
    bcal.set_defaults(func=_cmd_bench_calib)

    breal = bench_sub.add_parser("real-calib", help="calibration of real recordings vs another tool's (caliscope "
                                                    "sessions; captures with a reference rig)")
    breal.add_argument("--data", required=True, help="a recording, or a folder of them (e.g. ../shared/real)")
    breal.add_argument("--work", help="folder for the outputs and detection caches (default: a temporary one)")
    breal.add_argument("--height", type=_positive_float, help="the subject's height for the people calibration "
                       "(default: as the reference rig measures it)")
    breal.set_defaults(func=_cmd_bench_real_calib)

    brun = bench_sub.add_parser("real", help="a real capture run and measured without ground truth: held-out error "
                                             "vs plain DLT, people covered, sync closure, jitter")
    brun.add_argument("--data", required=True, help="a capture: videos/ and a calibration (e.g. "
                                                    "../shared/real/pose2sim_multiperson)")
    brun.add_argument("--work", help="output and detection cache folder (default: a temporary one)")
    brun.add_argument("--model", help="body model (default: the experiment's)")
    brun.add_argument("--frames", help="frame range A:B (B exclusive)")
    brun.add_argument("--calib", help="calibration file or folder (default: the capture's own)")
    brun.set_defaults(func=_cmd_bench_real)

    fit = sub.add_parser("fit", help="fit a body model to keypoints3d/<frame>.json")
    fit.add_argument("--keypoints3d", required=True, help="folder of body25 keypoints3d/<frame>.json")
    fit.add_argument("--out", required=True, help="output folder (smpl/, params.npz, keypoints3d_fit/, fit_log.json)")
    fit.add_argument("--model", default=None,
                     help="anny (default), smpl, smplh, smplx [:neutral|male|female|:PATH]")
    fit.add_argument("--exp", help="fit configuration YAML (default: the packaged default_fit.yml)")
    fit.add_argument("--gmm", help="gmm_08.pkl pose prior (SMPL family)")
    fit.add_argument("--regressor", help="a .npy body25 regressor (K x V) for SMPL-family meshes")
    fit.add_argument("--fps", type=_positive_float, default=30.0)
    fit.set_defaults(func=_cmd_fit)

    run = sub.add_parser("run", help="detect, triangulate, fit, write and render a multi-camera capture")
    run.add_argument("root", help="dataset: videos/<cam>.mp4 or images/<cam>/, intri.yml + extri.yml")
    run.add_argument("--out", help="output folder (default ROOT/output)")
    run.add_argument("--exp", default="body",
                     help="experiment: body, multi (everyone in the scene), hands, body+hands, or a YAML file "
                          "(mvmocap settings --exp NAME prints one with every key)")
    run.add_argument("--workers", type=_int_from(0), default=1,
                     help="processes detecting cameras at once (0: one per core; default 1); the same detections")
    run.add_argument("--max-people", type=_int_from(1), help="--exp multi: at most this many people (default: the "
                                                             "experiment's people.max_people, 10)")
    run.add_argument("--model", help="body: anny (default), smpl, smplh, smplx [:neutral|male|female|:PATH]; "
                                      "hands: anny-hand (default) or mano[:FOLDER]; body+hands: anny, smplh, smplx")
    run.add_argument("--calib", help="calibration file or folder (default: ROOT)")
    run.add_argument("--cams", nargs="+", action=_CameraNames, help="cameras to use (default: all with calibration)")
    run.add_argument("--vis-cams", nargs="+", action=_CameraNames,
                     help="cameras shown in the overlay video (default: first 4)")
    run.add_argument("--frames", help="frame range A:B (B exclusive)")
    run.add_argument("--keypoints", help="precomputed 2D keypoints (annots/ or OpenPose) instead of detection")
    run.add_argument("--gmm", help="gmm_08.pkl pose prior (SMPL family)")
    run.add_argument("--fps", type=_positive_float, help="frame rate (default: the videos', else 30)")
    run.add_argument("--no-video", action="store_true", help="skip the overlay and ground videos")
    run.add_argument("--sync", choices=("file", "auto", "none"), default="file",
                     help="camera time offsets: file = ROOT/sync.yml when present (default), auto = estimate now "
                          "(writes OUT/sync.yml), none = cameras taken as synchronised")
    run.set_defaults(func=_cmd_run)

    settings_t = sub.add_parser("settings", help="print every setting of an experiment as YAML (copy, edit, pass "
                                                 "with run --exp)")
    settings_t.add_argument("--exp", default="body", help="body (default), hands, body+hands or a YAML file")
    settings_t.set_defaults(func=_cmd_settings)

    exp_t = sub.add_parser("export", help="a finished run to BVH, skinned glTF (.glb), AMASS (.npz), TRC or C3D")
    exp_t.add_argument("out", help="the run's output folder (holds params.npz)")
    exp_t.add_argument("--to", required=True, help="file to write; its extension picks the format: "
                       ".bvh .glb .npz (AMASS) .trc .c3d")
    exp_t.add_argument("--person", type=_int_from(0), default=0, help="person id (default 0)")
    exp_t.add_argument("--up", choices=["y", "z"], help="up axis of BVH/TRC/C3D (default y)")
    exp_t.add_argument("--units", choices=["m", "cm", "mm"], help="units of BVH/TRC/C3D (default m)")
    exp_t.add_argument("--model", help="the fit's body model when its kind alone does not find it "
                       "(e.g. smpl:/path/SMPL_MALE.pkl)")
    exp_t.add_argument("--no-correctives", action="store_true", help=".glb without pose-corrective morph targets "
                       "(lighter; SMPL family only)")
    exp_t.add_argument("--keypoints", choices=["triangulated", "fit"], default="triangulated",
                       help="TRC/C3D markers: the triangulated keypoints3d/ (default) or the fitted body's")
    exp_t.set_defaults(func=_cmd_export)

    bat = sub.add_parser("batch", help="run every trial of a session folder (resumable, in parallel)")
    bat.add_argument("session", help="folder of trials (folders with videos/, images/ or annots/)")
    bat.add_argument("--exp", help="experiment (default body, or multi where a trial's Pose2Sim Config.toml says "
                     "multi_person = true)")
    bat.add_argument("--model", help="body model (default Anny)")
    bat.add_argument("--workers", type=_int_from(1), default=1, help="worker processes (default 1)")
    bat.add_argument("--ray", metavar="ADDRESS", help="run the trials as Ray tasks: 'auto' joins this machine's "
                                                      "cluster, 'local' starts one here, or a cluster address "
                                                      "(pip install 'mvmocap[ray]')")
    bat.add_argument("--video", action="store_true", help="also render each trial's overlay and ground videos")
    bat.set_defaults(func=_cmd_batch)

    view_t = sub.add_parser("view", help="write a self-contained 3D replay page (HTML, works offline)")
    view_t.add_argument("out", help="the run's output folder (holds params.npz)")
    view_t.add_argument("--html", help="page to write (default OUT/replay.html)")
    view_t.add_argument("--calib", help="calibration for the camera frusta (default: the run's)")
    view_t.add_argument("--model", help="the fit's body model when its kind alone does not find it")
    view_t.add_argument("--open", action="store_true", help="open the page in the default browser")
    view_t.set_defaults(func=_cmd_view)

    syn_t = sub.add_parser("sync", help="estimate every camera's time offset from the people it sees -> sync.yml")
    syn_t.add_argument("root", help="dataset: videos/<cam>.mp4 or images/<cam>/, intri.yml + extri.yml")
    syn_t.add_argument("--out", help="where the detection cache lives (default ROOT/output, shared with run)")
    syn_t.add_argument("--sync-file", help="file to write (default ROOT/sync.yml)")
    syn_t.add_argument("--exp", default="body", help="experiment (detection, association and sync settings)")
    syn_t.add_argument("--calib", help="calibration file or folder (default: ROOT)")
    syn_t.add_argument("--cams", nargs="+", action=_CameraNames, help="cameras to use (default: all with calibration)")
    syn_t.add_argument("--frames", help="frame range A:B (B exclusive)")
    syn_t.add_argument("--keypoints", help="precomputed 2D keypoints (annots/ or OpenPose) instead of detection")
    syn_t.add_argument("--fps", type=_positive_float, help="frame rate of image folders (videos: their timestamps)")
    syn_t.add_argument("--max-offset", type=_positive_float, help="largest offset searched, seconds (default 0.5)")
    syn_t.set_defaults(func=_cmd_sync)

    demo = sub.add_parser("demo", help="render a synthetic capture, run it end to end, print the accuracy")
    demo.add_argument("--out", default="demo_out")
    demo.add_argument("--frames", type=int, default=150)
    demo.add_argument("--cameras", type=int, default=4)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--hands", action="store_true", help="both hands over a desk, 3 cameras (--exp hands)")
    demo.add_argument("--body-hands", action="store_true", help="a body with moving fingers (--exp body+hands)")
    demo.add_argument("--multi", action="store_true", help="three people walking across each other (--exp multi)")
    demo.set_defaults(func=_cmd_demo)
    return parser


def use_threads() -> int:
    """PyTorch's intra-op threads for this process: ``OMP_NUM_THREADS`` when the user set it, else 1.

    Measured with ``mvmocap bench fit --frames 300 --load 1`` (a fit beside one busy process, 2
    cores): with PyTorch's default of one thread per core the loaded Anny fit took 18.7x its quiet
    time (350 s against 18.8 s) and SMPL's 6.7x, because OpenMP threads that spin and wait at every
    barrier lose their core to the other process; with one thread the loaded fits took 1.0x and 0.8x
    (Anny 30.8 s quiet, 1.6x the two-thread quiet time; SMPL unchanged). Users run mvmocap beside
    other work, so one thread is the default; a dedicated machine may set ``OMP_NUM_THREADS``. One
    thread is also what ``mvmocap batch`` uses per trial, so a run and a batch give the same fit.

    NumPy's BLAS (OpenBLAS) gets the same number of threads: its threads spin-wait like OpenMP's,
    and a threaded OpenBLAS called from several Python threads at once (the render draws a frame's
    views in threads) ran 15x slower than one BLAS thread, and once spun for ten minutes in
    ``exec_blas_async_wait``, never returning."""
    import torch
    from threadpoolctl import threadpool_limits

    wanted = os.environ.get("OMP_NUM_THREADS", "")
    threads = int(wanted) if wanted.isdigit() and int(wanted) > 0 else 1
    torch.set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")
    return threads


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = use_threads()
    start = time.perf_counter()
    with Console(verbose=args.verbose):
        try:
            code = args.func(args)
        except (InputError, FileNotFoundError) as err:  # the user's input: files, settings, options, model files
            log.error("%s", err)
            return EXIT_INPUT
        except OSError as err:  # the machine: a full disk, no permission, a vanished mount
            log.error("%s%s", f"{err.filename}: " if err.filename else "", err.strerror or err)
            return EXIT_INPUT
        except Exception:  # noqa: BLE001 - anything else is ours to fix
            log.exception("this is a bug in mvmocap, not a problem with your input; please report it with the "
                          "command line and the traceback above (and log.txt of the run)")
            return EXIT_BUG
        log.debug("done in %.2f s on %d PyTorch thread(s)", time.perf_counter() - start, threads)
    return code


if __name__ == "__main__":
    sys.exit(main())
