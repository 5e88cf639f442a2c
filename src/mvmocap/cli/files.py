"""``mvmocap triangulate | fit | synth | export | angles | report | view``: one step on files, or a
finished run's outputs."""

from __future__ import annotations

import argparse
import logging

from mvmocap.cli.args import CameraNames, add_synth_options, int_from, positive_float, spec_from

__all__ = ["add_file_commands"]

log = logging.getLogger("mvmocap")


def add_file_commands(sub: argparse._SubParsersAction) -> None:
    """``triangulate``, ``fit`` and ``synth`` (one step on files); ``export``, ``angles``, ``report``
    and ``view`` (a run's outputs)."""
    tri = sub.add_parser("triangulate", help="2D keypoints of several cameras -> keypoints3d/<frame>.json")
    tri.add_argument("--data", required=True, help="dataset root (holds intri.yml + extri.yml unless --calib)")
    tri.add_argument("--keypoints", required=True, help="folder of <cam>/<frame>.json (EasyMocap annots or OpenPose)")
    tri.add_argument("--out", required=True, help="output folder")
    tri.add_argument("--calib", help="calibration file or folder (default: --data)")
    tri.add_argument("--cams", nargs="+", action=CameraNames,
                     help="cameras to use (default: every camera with keypoints)")
    tri.add_argument("--person", type=int, help="person id (default: the most confidently detected)")
    tri.add_argument("--threshold", type=positive_float, default=20.0, help="outlier threshold, pixels")
    tri.add_argument("--min-views", type=int_from(2), default=2)
    tri.add_argument("--plain", action="store_true", help="plain weighted DLT, no outlier rejection")
    tri.add_argument("--common-frames", action="store_true",
                     help="cameras with different frame counts: use the common range")
    tri.set_defaults(func=_cmd_triangulate)

    fit = sub.add_parser("fit", help="fit a body model to keypoints3d/<frame>.json")
    fit.add_argument("--keypoints3d", required=True, help="folder of body25 keypoints3d/<frame>.json")
    fit.add_argument("--out", required=True, help="output folder (smpl/, params.npz, keypoints3d_fit/, fit_log.json)")
    fit.add_argument("--model", default=None,
                     help="anny (default), smpl, smplh, smplx [:neutral|male|female|:PATH]")
    fit.add_argument("--exp", help="fit configuration YAML (default: the packaged default_fit.yml)")
    fit.add_argument("--gmm", help="gmm_08.pkl pose prior (SMPL family)")
    fit.add_argument("--regressor", help="a .npy body25 regressor (K x V) for SMPL-family meshes")
    fit.add_argument("--fps", type=positive_float, default=30.0)
    fit.set_defaults(func=_cmd_fit)

    syn = sub.add_parser("synth", help="write a synthetic keypoint capture with ground truth")
    syn.add_argument("out")
    syn.add_argument("--format", choices=["annots", "openpose"], default="annots")
    add_synth_options(syn, frames=300)
    syn.set_defaults(func=_cmd_synth)

    exp_t = sub.add_parser("export", help="a finished run to BVH, skinned glTF (.glb), AMASS (.npz), TRC or C3D")
    exp_t.add_argument("out", help="the run's output folder (holds params.npz)")
    exp_t.add_argument("--to", required=True, help="file to write; its extension picks the format: "
                       ".bvh .glb .npz (AMASS) .trc .c3d")
    exp_t.add_argument("--person", type=int_from(0), default=0, help="person id (default 0)")
    exp_t.add_argument("--up", choices=["y", "z"], help="up axis of BVH/TRC/C3D (default y)")
    exp_t.add_argument("--units", choices=["m", "cm", "mm"], help="units of BVH/TRC/C3D (default m)")
    exp_t.add_argument("--model", help="the fit's body model when its kind alone does not find it "
                       "(e.g. smpl:/path/SMPL_MALE.pkl)")
    exp_t.add_argument("--no-correctives", action="store_true", help=".glb without pose-corrective morph targets "
                       "(lighter; SMPL family only)")
    exp_t.add_argument("--keypoints", choices=["triangulated", "fit"], default="triangulated",
                       help="TRC/C3D markers: the triangulated keypoints3d/ (default) or the fitted body's")
    exp_t.set_defaults(func=_cmd_export)

    ang = sub.add_parser("angles", help="a finished run's joint angles (ISB conventions) to OpenSim .mot or CSV")
    ang.add_argument("out", help="the run's output folder (holds params.npz)")
    ang.add_argument("--to", help="file to write, .mot or .csv (default OUT/angles.mot; a multi-person run: "
                     "OUT/people/<id>/angles.mot)")
    ang.add_argument("--person", type=int_from(0), default=0, help="person id (default 0)")
    ang.add_argument("--model", help="the fit's body model when its kind alone does not find it")
    ang.set_defaults(func=_cmd_angles)

    rep = sub.add_parser("report", help="rewrite a finished run's page OUT/report.html (plots, offline)")
    rep.add_argument("out", help="the run's output folder (holds report.json)")
    rep.add_argument("--html", help="page to write (default OUT/report.html)")
    rep.set_defaults(func=_cmd_report)

    view_t = sub.add_parser("view", help="write a self-contained 3D replay page (HTML, works offline)")
    view_t.add_argument("out", help="the run's output folder (holds params.npz)")
    view_t.add_argument("--html", help="page to write (default OUT/replay.html)")
    view_t.add_argument("--calib", help="calibration for the camera frusta (default: the run's)")
    view_t.add_argument("--model", help="the fit's body model when its kind alone does not find it")
    view_t.add_argument("--open", action="store_true", help="open the page in the default browser")
    view_t.set_defaults(func=_cmd_view)


def _cmd_triangulate(args: argparse.Namespace) -> int:
    from mvmocap.pipeline import run_triangulation
    from mvmocap.triangulate import TriangulateSettings

    settings = TriangulateSettings(robust=not args.plain, threshold_px=args.threshold, min_views=args.min_views)
    run_triangulation(args.data, args.keypoints, args.out, calib=args.calib, cameras=args.cams, person=args.person,
                      common_frames=args.common_frames, settings=settings)
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from mvmocap.pipeline import run_fit

    run_fit(args.keypoints3d, args.out, model=args.model, exp=args.exp, gmm=args.gmm, fps=args.fps,
            regressor=args.regressor)
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from mvmocap.synthetic import make_capture, write_capture

    root = write_capture(make_capture(spec_from(args)), args.out, args.format)
    log.info("wrote a synthetic capture to %s", root)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from mvmocap import api

    print(f"mvmocap report: wrote {api.write_report(args.out, args.html)}")
    return 0


def _cmd_angles(args: argparse.Namespace) -> int:
    from mvmocap import api

    path, angles = api.export_angles(args.out, to=args.to, person=args.person, model=args.model)
    print(f"mvmocap angles: {len(angles.frames)} frames x {len(angles.names)} angles written to {path}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from mvmocap import api

    path = api.export_run(args.out, args.to, person=args.person, up=args.up, units=args.units, model=args.model,
                      correctives=not args.no_correctives, keypoints=args.keypoints)
    print(f"mvmocap export: wrote {path}")
    return 0


def _cmd_view(args: argparse.Namespace) -> int:
    from mvmocap import api

    path = api.write_replay(args.out, args.html, calib=args.calib, model=args.model)
    print(f"mvmocap view: wrote {path} ({path.stat().st_size / 1e6:.1f} MB; opens offline in any browser)")
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0
