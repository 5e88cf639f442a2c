"""``mvmocap calib``: calibration files from boards or people, converted, checked."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mvmocap.camera import load_calibration, save_calibration
from mvmocap.cli.args import CameraNames, dataset_root, int_from, positive_float
from mvmocap.console import summary_table
from mvmocap.utils import InputError

__all__ = ["add_calib_commands"]

log = logging.getLogger("mvmocap")


def add_calib_commands(sub: argparse._SubParsersAction) -> None:
    """``calib convert | intrinsics | extrinsics | people | check``."""
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
        cal.add_argument("--square", type=positive_float, help="square side, metres")
        cal.add_argument("--marker", type=positive_float, help="ChArUco marker side, metres")
        cal.add_argument("--dictionary", default="DICT_5X5_100", help="ChArUco ArUco dictionary")
        cal.add_argument("--cams", nargs="+", action=CameraNames,
                         help="cameras (default: every camera folder or video)")
        default = "intri" if command == "intrinsics" else "extri"
        cal.add_argument("--out", help=f"file to write (default ROOT/{default}.yml)")
        if command == "extrinsics":
            cal.add_argument("--intri", help="intrinsics (default ROOT/intri.yml)")
            cal.add_argument("--origin", choices=["first", "floor"], default="first",
                             help="world frame: the best-connected camera's, or a board lying on the floor (z up)")
            cal.add_argument("--floor-frame", type=int_from(0), help="with --origin floor: the frame whose board "
                             "lies on the floor (default: the one most cameras saw)")
            cal.add_argument("--every", type=int_from(1), default=1, help="search every N-th frame")
        else:
            cal.add_argument("--max-views", type=int_from(6), default=40, help="views kept per camera")
        cal.set_defaults(func=_cmd_calib_board)
    ppl = calib.add_parser("people", help="camera poses from video of a person moving through the views -> extri.yml")
    ppl.add_argument("root", help="dataset folder with videos/<cam>.mp4 or images/<cam>/ (in step, or a sync.yml)")
    ppl.add_argument("--intri", help="intrinsics (default ROOT/intri.yml)")
    ppl.add_argument("--height", type=positive_float, help="the person's height in metres (sets the scale; "
                     "default 1.70 with a warning)")
    ppl.add_argument("--out", help="folder for extri.yml, intri.yml and the report (default ROOT/calib_people)")
    ppl.add_argument("--cams", nargs="+", action=CameraNames)
    ppl.add_argument("--refine", help="a calibration made before (file or folder: a board's, another tool's) whose "
                     "camera poses are refined to the people instead of found from scratch; written only if it "
                     "predicts frames it was not refined on better")
    ppl.set_defaults(func=_cmd_calib_people)
    chk = calib.add_parser("check", help="draw the floor grid, world axes, cameras and the people's triangulated "
                                         "skeleton into one frame of each view")
    chk.add_argument("root")
    chk.add_argument("--calib", help="calibration (default ROOT)")
    chk.add_argument("--frame", type=int_from(0), default=0)
    chk.add_argument("--out", help="folder for the PNGs (default ROOT/calib_check)")
    chk.add_argument("--cams", nargs="+", action=CameraNames)
    chk.add_argument("--keypoints", help="a detection cache whose subject is triangulated and drawn back into "
                     "every view (default ROOT/output/keypoints2d or ROOT/calib_people/keypoints2d)")
    chk.set_defaults(func=_cmd_calib_check)


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
    from mvmocap import api
    from mvmocap.calib.extrinsics import ExtrinsicsSettings

    dataset_root(args)
    board = _board_from(args)
    if args.calib_command == "intrinsics":
        results = api.calibrate_intrinsics(args.root, board, cams=args.cams, out=args.out, max_views=args.max_views)
        print(summary_table("mvmocap calib intrinsics", {
            "written": str(args.out or Path(args.root) / "intri.yml"),
            **{f"  {n}": f"RMS {r.rms:.3f} px, {len(r.per_view)} views ({r.counts.found} found in "
                         f"{r.counts.tried} frames, {len(r.dropped)} outliers dropped), f {r.K[0, 0]:.1f} "
                         f"+- {100 * r.focal_uncertainty:.1f}%, {r.model}"
               for n, r in results.items()}}))
        return 0
    result = api.calibrate_extrinsics(args.root, board, intri=args.intri, cams=args.cams, out=args.out,
                                      every=args.every,
                                      settings=ExtrinsicsSettings(origin=args.origin, floor_frame=args.floor_frame))
    print(summary_table("mvmocap calib extrinsics", {
        "written": str(args.out or Path(args.root) / "extri.yml"), "reference camera": result.reference,
        **{f"  {n}": f"RMS {rms:.3f} px over {result.views_used[n]} views"
                     + (f" ({result.views_rejected[n]} rejected)" if result.views_rejected[n] else "")
           for n, rms in result.per_camera_rms_px.items()}}))
    return 0


def _cmd_calib_people(args: argparse.Namespace) -> int:
    from mvmocap import api

    dataset_root(args)
    if args.refine:
        return _calib_refine(args)
    result, out = api.calibrate_people(args.root, intri=args.intri, out=args.out, height=args.height, cams=args.cams)
    print(summary_table("mvmocap calib people", {
        "written": str(out / "extri.yml"),
        **{f"  {n}": f"median reprojection {px:.2f} px over {result.correspondences[n]} joint observations"
           for n, px in result.per_camera_median_px.items()},
        "not placed": ", ".join(result.unplaced) or "none"}))
    return 0


def _calib_refine(args: argparse.Namespace) -> int:
    from mvmocap import api

    rig, report, out = api.refine_calibration(args.root, args.refine, out=args.out, cams=args.cams)
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
    from mvmocap import api

    dataset_root(args)
    written = api.check_calibration(args.root, calib=args.calib, frame=args.frame, out=args.out, cams=args.cams,
                              keypoints=args.keypoints)
    print(f"mvmocap calib check: wrote {len(written)} images to {written[-1].parent}")
    return 0
