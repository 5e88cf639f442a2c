"""``mvmocap bench``: benchmarks; each prints one JSON object as its last line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mvmocap.cli.args import add_synth_options, int_from, positive_float, spec_from

__all__ = ["add_bench_commands"]


def add_bench_commands(sub: argparse._SubParsersAction) -> None:
    """``bench <name>``: the models' and stages' benchmarks, then the captures'."""
    bench = sub.add_parser("bench", help="benchmarks; the last line printed is one JSON object")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    _add_stage_benches(bench_sub)
    _add_capture_benches(bench_sub)


def _add_stage_benches(bench_sub: argparse._SubParsersAction) -> None:
    btri = bench_sub.add_parser("triangulate", help="robust vs plain triangulation, accuracy and speed")
    add_synth_options(btri, frames=1000)
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
    bfit.add_argument("--load", type=int_from(0), default=0,
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


def _add_capture_benches(bench_sub: argparse._SubParsersAction) -> None:
    bpipe = bench_sub.add_parser("pipeline", help="the demo capture end to end: speed and accuracy")
    bpipe.add_argument("--frames", type=int, default=150)
    bpipe.add_argument("--cameras", type=int, default=4)
    bpipe.add_argument("--no-video", action="store_true", help="skip rendering the output videos")
    bpipe.add_argument("--real-size", action="store_true",
                       help="4 cameras x 300 frames of 1080x1920 portrait video, cameras timed (--sync auto)")
    bpipe.add_argument("--workers", type=int_from(0), default=0, help="processes detecting cameras (0: one per core)")
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
    bscale = bench_sub.add_parser("scale", help="a long, wide capture (2D detections) through sync, fit and exports")
    bscale.add_argument("--cameras", type=int_from(2), default=9)
    bscale.add_argument("--minutes", type=float, default=3.0)
    bscale.add_argument("--model", default=None, help="body model (default anny)")
    bscale.set_defaults(func=_cmd_bench_scale)

    bang = bench_sub.add_parser("angles", help="rendered walk: joint angles and gait events against the truth")
    bang.add_argument("--frames", type=int_from(2), default=150)
    bang.add_argument("--cameras", type=int_from(2), default=5)
    bang.add_argument("--seed", type=int, default=0)
    bang.add_argument("--motion", choices=("walk", "mixed", "squat", "arms", "turn"), default="walk")
    bang.add_argument("--model", help="body model (default anny)")
    bang.add_argument("--data", help="reuse a capture rendered before (its folder) instead of rendering one")
    bang.set_defaults(func=_cmd_bench_angles)
    bmulti = bench_sub.add_parser("multi", help="several people walking across each other, rendered: pcp, id "
                                                "switches, MPJPE per person, association speed")
    bmulti.add_argument("--people", type=int_from(1), default=3)
    bmulti.add_argument("--frames", type=int_from(2), default=150)
    bmulti.add_argument("--cameras", type=int_from(2), default=6)
    bmulti.add_argument("--seed", type=int, default=0)
    bmulti.add_argument("--data", help="reuse a scene rendered before (its folder) instead of rendering one")
    bmulti.set_defaults(func=_cmd_bench_multi)
    bbat = bench_sub.add_parser("batch", help="trials per minute of mvmocap batch, serial and with workers")
    bbat.add_argument("--trials", type=int_from(2), default=8)
    bbat.add_argument("--frames", type=int_from(10), default=60)
    bbat.add_argument("--workers", type=int_from(2), default=2)
    bbat.set_defaults(func=_cmd_bench_batch)
    bcal = bench_sub.add_parser("calib", help="board intrinsics and extrinsics on rendered photographs of "
                                              "known cameras")
    bcal.add_argument("--views", type=int_from(8), default=20, help="board photographs per camera (intrinsics)")
    bcal.add_argument("--cameras", type=int_from(2), default=4)
    bcal.add_argument("--frames", type=int_from(4), default=40, help="synchronised frames (extrinsics)")
    bcal.add_argument("--people-frames", type=int_from(30), default=300, help="frames of the person (people calib)")
    bcal.add_argument("--seed", type=int, default=0)
    bcal.set_defaults(func=_cmd_bench_calib)

    breal = bench_sub.add_parser("real-calib", help="calibration of real recordings vs another tool's (caliscope "
                                                    "sessions; captures with a reference rig)")
    breal.add_argument("--data", required=True, help="a recording, or a folder of them (e.g. ../shared/real)")
    breal.add_argument("--work", help="folder for the outputs and detection caches (default: a temporary one)")
    breal.add_argument("--height", type=positive_float, help="the subject's height for the people calibration "
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


def _cmd_bench_triangulate(args: argparse.Namespace) -> int:
    from mvmocap.bench import bench_triangulate

    print(json.dumps(bench_triangulate(spec_from(args), repeats=args.repeats)))
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


def _cmd_bench_pipeline(args: argparse.Namespace) -> int:
    from mvmocap.bench.pipeline import bench_pipeline

    print(json.dumps(bench_pipeline(frames=args.frames, cameras=args.cameras, videos=not args.no_video,
                                    real_size=args.real_size, workers=args.workers, exp=args.exp)))
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


def _cmd_bench_scale(args: argparse.Namespace) -> int:
    from mvmocap.bench.scale import bench_scale

    print(json.dumps(bench_scale(cameras=args.cameras, minutes=args.minutes, model=args.model)))
    return 0


def _cmd_bench_angles(args: argparse.Namespace) -> int:
    from mvmocap.bench.angles import bench_angles

    print(json.dumps(bench_angles(frames=args.frames, cameras=args.cameras, seed=args.seed, model=args.model,
                                  motion=args.motion, data=args.data)))
    return 0


def _cmd_bench_multi(args: argparse.Namespace) -> int:
    from mvmocap.bench.multi import bench_multi

    print(json.dumps(bench_multi(people=args.people, frames=args.frames, cameras=args.cameras, seed=args.seed,
                                 data=args.data)))
    return 0
