"""``mvmocap run | sync | settings | batch | demo``: captures run end to end."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mvmocap.cli.args import add_options, int_from, options_from, positive_float
from mvmocap.console import log_to_file, summary_table
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.summary import bodyhands_summary, hands_summary, multi_summary, run_summary, sync_summary

__all__ = ["add_run_commands"]


def add_run_commands(sub: argparse._SubParsersAction) -> None:
    """``run``, ``sync``, ``settings``, ``batch`` and ``demo``."""
    run = sub.add_parser("run", help="detect, triangulate, fit, write and render a multi-camera capture")
    add_options(run, RunOptions)
    run.set_defaults(func=_cmd_run)

    syn_t = sub.add_parser("sync", help="estimate every camera's time offset from the people it sees -> sync.yml")
    add_options(syn_t, RunOptions, only=("root", "out", "exp", "calib", "cams", "frames", "keypoints", "fps"))
    syn_t.add_argument("--sync-file", dest="write_to", metavar="SYNC_FILE",
                       help="file to write (default ROOT/sync.yml)")
    syn_t.add_argument("--max-offset", type=positive_float, help="largest offset searched, seconds (default 0.5)")
    syn_t.set_defaults(func=_cmd_sync)

    settings_t = sub.add_parser("settings", help="print every setting of an experiment as YAML (copy, edit, pass "
                                                 "with run --exp)")
    settings_t.add_argument("--exp", default="body", help="body (default), hands, body+hands or a YAML file")
    settings_t.set_defaults(func=_cmd_settings)

    bat = sub.add_parser("batch", help="run every trial of a session folder (resumable, in parallel)")
    bat.add_argument("session", help="folder of trials (folders with videos/, images/ or annots/)")
    bat.add_argument("--exp", help="experiment (default body, or multi where a trial's Pose2Sim Config.toml says "
                     "multi_person = true)")
    bat.add_argument("--model", help="body model (default Anny)")
    bat.add_argument("--workers", type=int_from(1), default=1, help="worker processes (default 1)")
    bat.add_argument("--ray", metavar="ADDRESS", help="run the trials as Ray tasks: 'auto' joins this machine's "
                                                      "cluster, 'local' starts one here, or a cluster address "
                                                      "(pip install 'mvmocap[ray]')")
    bat.add_argument("--video", action="store_true", help="also render each trial's overlay and ground videos")
    bat.set_defaults(func=_cmd_batch)

    demo = sub.add_parser("demo", help="render a synthetic capture, run it end to end, print the accuracy")
    demo.add_argument("--out", default="demo_out")
    demo.add_argument("--frames", type=int, default=150)
    demo.add_argument("--cameras", type=int, default=4)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--hands", action="store_true", help="both hands over a desk, 3 cameras (--exp hands)")
    demo.add_argument("--body-hands", action="store_true", help="a body with moving fingers (--exp body+hands)")
    demo.add_argument("--multi", action="store_true", help="three people walking across each other (--exp multi)")
    demo.set_defaults(func=_cmd_demo)


def _run_options(args: argparse.Namespace) -> RunOptions:
    """The command line of ``mvmocap run`` / ``mvmocap sync`` as checked options (the folders are
    checked by :func:`mvmocap.api.run`, before anything is written)."""
    return options_from(args, RunOptions)


def _cmd_run(args: argparse.Namespace) -> int:
    from mvmocap import api
    from mvmocap.pipeline.experiment import load_experiment

    options = _run_options(args)
    experiment = load_experiment(options.exp)
    result = api.run(options, experiment=experiment)
    out = options.output
    if experiment.kind == "multi":
        print(multi_summary(result.report, out))
    elif experiment.kind == "hands":
        report = json.loads((out / "report.json").read_text())
        print(hands_summary(report, out, {side: result[side] is not None for side in ("l", "r")}))
    elif experiment.kind == "body+hands":
        print(bodyhands_summary(result.keypoints3d, out, result.model.name))
    else:
        print(run_summary(result.report, result.out))
    print(f"report page: {out / 'report.html'}")
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    from mvmocap import api

    path, result, fps = api.sync_cameras(_run_options(args), max_offset=args.max_offset, write_to=args.write_to)
    print(sync_summary(result, path, fps))
    return 0


def _cmd_settings(args: argparse.Namespace) -> int:
    from mvmocap.pipeline.experiment import experiment_yaml, load_experiment

    print(experiment_yaml(load_experiment(args.exp)))
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from mvmocap import api

    session = Path(args.session)
    results = api.run_batch(session, exp=args.exp, model=args.model, videos=args.video, workers=args.workers,
                            ray=args.ray)
    failed = [r for r in results if r.status == "failed"]
    print(summary_table(f"mvmocap batch: {len(results)} trials, {len(failed)} failed", {
        "reports": str(session / "batch_report.json") + "  " + str(session / "batch_report.csv"),
        **{f"  {r.trial}": r.status + (f" ({r.frames} frames, {r.cameras} cameras, held-out "
                                       f"{r.heldout_px:.1f} px, {r.seconds:.0f} s)" if r.heldout_px is not None else "")
           + (f": {r.error}" if r.error else "") for r in results}}))
    return 2 if failed else 0


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
