"""The console: native libraries' output kept off the terminal (in log.txt), other packages' chatter
filtered, our own lines and warnings kept; the CLI end to end prints nothing that is not ours."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mvmocap.console import Console, log_to_file, progress, summary_table

OUR_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) ")
NATIVE_MARKERS = ("XNNPACK", "Warp", "CUDA", "W0000", "I0000", "absl", "TensorFlow", "Loading cached model data")


def test_native_output_goes_to_the_log_file_and_our_lines_to_the_terminal(tmp_path, capfd):
    with Console(verbose=False), log_to_file(tmp_path / "log.txt"):
        os.write(2, b"W0000 00:00:1 native_library.cc:12] something only a developer reads\n")
        logging.getLogger("mvmocap.test").info("our progress line")
        logging.getLogger("mvmocap.test").debug("our detail")
        logging.getLogger("somepackage").info("a dependency talking")
        logging.getLogger("somepackage").warning("a dependency warning")
        print("python stderr still works", file=sys.stderr)
        with progress(3, desc="stage", unit="frame") as bar:
            bar.update(3)
    err = capfd.readouterr().err
    assert "our progress line" in err and "a dependency warning" in err and "python stderr still works" in err
    assert "native_library.cc" not in err and "a dependency talking" not in err and "our detail" not in err
    log = (tmp_path / "log.txt").read_text()
    assert "DEBUG mvmocap.native: W0000 00:00:1 native_library.cc:12]" in log
    assert "our detail" in log and "a dependency talking" in log
    os.write(2, b"after the console\n")  # the descriptor is restored
    assert "after the console" in capfd.readouterr().err


def test_verbose_shows_everything(capfd):
    with Console(verbose=True):
        os.write(2, b"native line\n")
        logging.getLogger("somepackage").info("a dependency talking")
        logging.getLogger("mvmocap.test").debug("our detail")
    err = capfd.readouterr().err
    assert "native line" in err and "a dependency talking" in err and "our detail" in err


def test_summary_table_aligns_values():
    text = summary_table("title", {"a": "1", "longer key": "2"})
    assert text.splitlines()[1:] == ["title", "  a           1", "  longer key  2"]


@pytest.mark.slow
def test_demo_prints_only_our_lines(tmp_path):
    """The demo runs every native library of the default pipeline (LiteRT, Anny's Warp)."""
    out = tmp_path / "demo"
    command = Path(sys.executable).with_name("mvmocap")  # the console script, as a user runs it
    proc = subprocess.run([str(command), "demo", "--frames", "6", "--cameras", "3",
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for line in proc.stderr.splitlines():
        assert OUR_LOG_LINE.match(line), f"not one of our log lines on stderr: {line!r}"
    for line in proc.stdout.splitlines():
        assert line == "" or line.startswith(("mvmocap ", "  ")), f"not one of our lines on stdout: {line!r}"
    printed = proc.stdout + proc.stderr
    assert not [m for m in NATIVE_MARKERS if m in printed], printed
    assert "mvmocap run: summary" in proc.stdout and "held-out error" in proc.stdout
    log = (out / "log.txt").read_text()
    assert "mvmocap.native" in log or "native:" in log  # what the libraries said is kept, not lost


@pytest.mark.slow
def test_run_summary_names_the_cameras_with_problems(tmp_path):
    from mvmocap.pipeline.summary import camera_problems, run_summary

    per_camera = {c: {"reprojection_error_px": 4.0, "observations": 100, "rejected_fraction": 0.01}
                  for c in ("cam1", "cam2", "cam3", "cam4")}
    per_camera["cam4"]["rejected_fraction"] = 0.35
    report = {"cameras": ["cam1", "cam2", "cam3", "cam4"], "frames": [0, 9], "fps": 30.0, "model": "anny",
              "frames_without_detection": [3], "cameras_never_seeing_subject": [], "frames_too_few_views": [],
              "subject": {"view_frames_assigned": 40, "view_frames_with_detections": 40, "detections_dropped": 2},
              "sync": {"source": "sync.yml", "cameras": {"cam2": {"offset": 0.05, "status": "unshifted"}}},
              "left_right": {"per_camera": {"cam1": 2}},
              "heldout": {"heldout_px": 9.0, "per_camera": {"cam1": 5.0, "cam2": 6.0, "cam3": 20.0, "cam4": 5.5}},
              "triangulation": {"mean_reprojection_error_px": 4.0, "missing_fraction": 0.1, "per_camera": per_camera},
              "timings_seconds": {"detect": 1.0, "fit": 2.0}}
    problems = camera_problems(report)
    assert set(problems) == {"cam2", "cam3", "cam4"}
    assert "held-out error 20.0 px" in problems["cam3"][0] and "35% of its detections" in problems["cam4"][0]
    assert "could not be determined" in problems["cam2"][0]
    text = run_summary(report, tmp_path)
    assert "cam3: held-out error 20.0 px" in text and "left/right fixed in 2 frames" in text
    assert "+1.50 frames" in text and "time: fit" in text and "1 (3)" in text
