import json
import logging
import shutil

import pytest

from mvmocap.cli.main import main
from mvmocap.io import read_keypoints3d
from mvmocap.metrics import mpjpe
from mvmocap.synthetic import CaptureSpec, make_capture, write_capture
from mvmocap.utils import InputError


@pytest.fixture
def capture_root(tmp_path):
    cap = make_capture(CaptureSpec(frames=40, seed=11))
    return write_capture(cap, tmp_path / "data"), cap


@pytest.mark.parametrize("fmt", ["annots", "openpose"])
def test_triangulate_command_writes_accurate_keypoints3d(tmp_path, fmt):
    cap = make_capture(CaptureSpec(frames=40, seed=11))
    root = write_capture(cap, tmp_path / "data", keypoint_format=fmt)
    out = tmp_path / "out"
    assert main(["triangulate", "--data", str(root), "--keypoints", str(root / fmt), "--out", str(out)]) == 0
    kp3d, frames = read_keypoints3d(out / "keypoints3d")
    assert frames == list(range(40)) and kp3d.shape == (40, 25, 4)
    err, missing = mpjpe(kp3d, cap.points3d)
    assert err < 0.02 and missing < 0.05
    report = json.loads((out / "triangulation_report.json").read_text())
    assert report["cameras"] == ["cam1", "cam2", "cam3", "cam4"] and report["skeleton"] == "body25"
    assert set(report["per_joint"]) >= {"Nose", "RHeel"}


def test_camera_with_keypoints_but_no_calibration_is_an_error(tmp_path, capture_root, caplog):
    root, _ = capture_root
    shutil.copytree(root / "annots" / "cam1", root / "annots" / "cam9")
    with caplog.at_level(logging.ERROR):
        code = main(["triangulate", "--data", str(root), "--keypoints", str(root / "annots"), "--out", str(tmp_path)])
    assert code == 2
    assert "keypoint folders ['cam9'] have no calibration" in caplog.text and "--cams" in caplog.text
    # Picking cameras explicitly works around it.
    assert main(["triangulate", "--data", str(root), "--keypoints", str(root / "annots"), "--out", str(tmp_path),
                 "--cams", "cam1", "cam2", "cam3"]) == 0
    assert json.loads((tmp_path / "triangulation_report.json").read_text())["cameras"] == ["cam1", "cam2", "cam3"]


def test_calibrated_camera_without_keypoints_is_skipped_with_a_warning(tmp_path, capture_root, caplog):
    root, cap = capture_root
    shutil.rmtree(root / "annots" / "cam3")
    with caplog.at_level(logging.WARNING):
        assert main(["triangulate", "--data", str(root), "--keypoints", str(root / "annots"),
                     "--out", str(tmp_path / "o")]) == 0
    assert "['cam3'] have no keypoint folder" in caplog.text
    kp3d, _ = read_keypoints3d(tmp_path / "o" / "keypoints3d")
    assert mpjpe(kp3d, cap.points3d)[0] < 0.03


def test_missing_calibration_and_frame_mismatch(tmp_path, capture_root, caplog):
    root, _ = capture_root
    args = ["triangulate", "--data", str(root), "--keypoints", str(root / "annots"), "--out", str(tmp_path / "o")]
    (root / "annots" / "cam2" / "000039.json").unlink()
    with caplog.at_level(logging.WARNING):
        assert main(args) == 0  # paired by frame number: cam2 simply does not see frame 39
    assert "different frame counts" in caplog.text and "paired by number" in caplog.text
    assert read_keypoints3d(tmp_path / "o" / "keypoints3d")[0].shape[0] == 40
    assert main(args + ["--common-frames"]) == 0
    assert read_keypoints3d(tmp_path / "o" / "keypoints3d")[0].shape[0] == 39
    (root / "extri.yml").unlink()
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        assert main(args + ["--common-frames"]) == 2
    assert "extri.yml: file not found" in caplog.text


def test_bench_prints_one_json_object_last(capsys):
    assert main(["bench", "triangulate", "--frames", "60", "--repeats", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"mpjpe_mm", "dlt_mpjpe_mm", "seconds", "frames", "views", "joints"} <= set(result)
    assert result["frames"] == 60 and result["views"] == 4 and result["joints"] == 25
    assert result["mpjpe_mm"] < 20 and result["dlt_mpjpe_mm"] > 2 * result["mpjpe_mm"]


def test_synth_command(tmp_path):
    assert main(["synth", str(tmp_path / "s"), "--frames", "5", "--cameras", "3", "--format", "openpose"]) == 0
    assert len(list((tmp_path / "s" / "openpose" / "cam3").glob("*_keypoints.json"))) == 5
    assert json.loads((tmp_path / "s" / "gt" / "meta.json").read_text())["cameras"] == 3


def test_bench_bodymodel_prints_throughput(capsys):
    assert main(["bench", "bodymodel", "--frames", "40", "--repeats", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("smpl_kp_fps", "smpl_mesh_fps", "anny_kp_fps", "anny_mesh_fps"):
        assert result[key] > 0


def test_bench_render_prints_fps(capsys):
    assert main(["bench", "render", "--frames", "3"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["fps_1080p"] > 0 and result["vertices"] == 6890 and result["mean_mesh_pixels"] > 1000


def test_threads_default_to_one_for_torch_and_blas(monkeypatch):
    """One thread each unless OMP_NUM_THREADS says otherwise (cli.main.use_threads says why)."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    from mvmocap.threads import use_threads

    before = torch.get_num_threads()
    with threadpool_limits(limits=None):  # whatever use_threads sets is undone afterwards
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        assert use_threads() == 1 and torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert use_threads() == 2 and torch.get_num_threads() == 2
    torch.set_num_threads(before)


def test_run_options_are_declared_once_and_the_command_line_made_from_them(tmp_path):
    """Issue 31: every ``mvmocap run`` option was declared twice (argparse and RunOptions) and
    ``--frames`` stayed a string parsed again in three places. The command line is now generated
    from RunOptions' fields, whose values are checked once: frames a FrameSpan, sync a SyncMode."""
    from dataclasses import fields

    from mvmocap.cli.args import options_from
    from mvmocap.cli.main import build_parser
    from mvmocap.pipeline.options import FrameSpan, RunOptions, SyncMode

    parser = build_parser()
    args = parser.parse_args(["run", str(tmp_path), "--frames", "10:20", "--sync", "auto", "--no-video",
                              "--cams", "a", "b", "--workers", "0"])
    options = options_from(args, RunOptions)
    assert options.frames == FrameSpan(10, 20) and options.frame_bounds == (10, 20) and options.sync is SyncMode.AUTO
    assert options.videos is False and options.cams == ("a", "b") and options.workers == 0
    assert options_from(parser.parse_args(["run", str(tmp_path)]), RunOptions) == RunOptions(root=tmp_path)
    offered = {f.name for f in fields(RunOptions) if f.metadata["cli"]}
    assert offered == {f.name for f in fields(RunOptions)} and offered <= set(vars(args))
    with pytest.raises(InputError, match="--frames must look like 100:400"):
        RunOptions(root=tmp_path, frames="ten")
    with pytest.raises(SystemExit):  # the bounds declared on the field reach argparse
        parser.parse_args(["run", str(tmp_path), "--workers", "-1"])


def test_the_library_front_door_is_light_and_is_what_the_command_line_calls(tmp_path):
    """Issue 31: a notebook user calls ``mvmocap.run(...)`` and friends; ``import mvmocap`` alone does
    not load PyTorch, and a bad input is refused before any work, as on the command line."""
    import subprocess
    import sys

    import mvmocap

    probe = "import sys, mvmocap; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"
    with pytest.raises(InputError, match="session folder not found"):
        mvmocap.run_batch(tmp_path / "missing")
    with pytest.raises(InputError, match="--frames must look like"):
        mvmocap.run(tmp_path, frames="ten")
    assert set(mvmocap.__all__) >= {"run", "sync_cameras", "calibrate_people", "export_run", "write_replay"}
