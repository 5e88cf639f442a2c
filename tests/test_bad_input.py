"""Bad input: a clear message naming what is wrong and how to fix it, exit code 2, before any long
work, and nothing written where the user did not ask (issue cases are named in each test)."""

import logging
import re

import pytest

from mvmocap.cli.main import main
from mvmocap.synthetic import CaptureSpec, make_capture, write_capture


@pytest.fixture(scope="module")
def keypoint_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("kp")
    return write_capture(make_capture(CaptureSpec(frames=12, cameras=3, seed=2)), root / "data")


def _fails(capsys, caplog, argv, pattern):
    """``mvmocap argv`` exits with 2 and says ``pattern`` (in the log or argparse's own message)."""
    try:
        with caplog.at_level(logging.ERROR):
            code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    text = caplog.text + capsys.readouterr().err
    assert code == 2, text
    assert re.search(pattern, text), text


def test_mistyped_root_is_not_created(tmp_path, capsys, caplog):
    """A mistyped ROOT is reported as missing, and no ROOT/output/log.txt appears."""
    missing = tmp_path / "dataa"
    for cmd in (["run", str(missing)], ["sync", str(missing)]):
        _fails(capsys, caplog, cmd, r"dataa: dataset folder not found")
    assert not missing.exists()


@pytest.mark.parametrize("argv, pattern", [
    (["run", "{root}", "--frames=-5:5"], r"--frames -5:5: frame numbers start at 0"),
    (["run", "{root}", "--frames", "9:3"], r"A:B needs B > A"),
    (["run", "{root}", "--fps", "-30"], r"--fps: must be a number above 0, got -30"),
    (["run", "{root}", "--fps", "0"], r"--fps: must be a number above 0"),
    (["run", "{root}", "--vis-cams", "cam1", "--no-video"], r"--vis-cams chooses the views .* --no-video"),
    # before any stage, as the run's context is made (the stage runner had let it wait for the render)
    (["run", "{root}", "--keypoints", "{root}/annots", "--out", "{tmp}/o", "--vis-cams", "cam9"],
     r"--vis-cams \['cam9'\] are not among the cameras used"),
    (["run", "{root}", "--sync", "maybe"], r"--sync: invalid choice"),
    (["sync", "{root}", "--max-offset", "0"], r"--max-offset: must be a number above 0"),
    (["triangulate", "--data", "{root}", "--keypoints", "{root}/annots", "--out", "{tmp}/o", "--threshold", "-1"],
     r"--threshold: must be a number above 0"),
    (["triangulate", "--data", "{root}", "--keypoints", "{root}/annots", "--out", "{tmp}/o", "--min-views", "5"],
     r"--min-views 5 but only 3 cameras"),
    (["synth", "{tmp}/s", "--frames", "0"], r"--frames: must be at least 1"),
    (["synth", "{tmp}/s", "--cameras", "1"], r"--cameras: must be at least 2"),
    (["run", "{root}", "--exp", "hands", "--gmm", "g.pkl", "--sync", "auto"],
     r"--gmm and --sync: read by body and multi experiments only; --exp hands \(hands\) would ignore them"),
    (["run", "{root}", "--exp", "body+hands", "--keypoints", "{root}/annots"], r"--keypoints: read by body"),
    (["run", "{root}", "--exp", "hands", "--max-people", "3"], r"--max-people: read by multi experiments only"),
    (["batch", "{tmp}", "--exp", "multi"], r"--exp multi: mvmocap batch runs body experiments"),
])
def test_values_out_of_range_are_refused(keypoint_root, tmp_path, capsys, caplog, argv, pattern):
    _fails(capsys, caplog, [a.format(root=keypoint_root, tmp=tmp_path) for a in argv], pattern)
    assert not (tmp_path / "o" / "keypoints3d").exists() and not (tmp_path / "s").exists()


def test_bad_detector_setting_fails_before_detection(tmp_path, keypoint_root, capsys, caplog):
    """detect.model_complexity: 7 used to abort inside MediaPipe (SIGABRT)."""
    exp = tmp_path / "exp.yml"
    exp.write_text("detect:\n  backend: mediapipe-legacy\n  model_complexity: 7\n")
    (keypoint_root / "videos").mkdir(exist_ok=True)
    (keypoint_root / "videos" / "cam1.mp4").write_bytes(b"")  # never reached: the setting fails first
    with caplog.at_level(logging.ERROR):
        code = main(["run", str(keypoint_root), "--exp", str(exp), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "detect.model_complexity: must be 0 (lite) or 1 (full)" in caplog.text
    assert not (tmp_path / "out" / "keypoints2d").exists()


def test_another_detector_reads_its_own_keys(tmp_path):
    """Choosing mediapipe-legacy in a user file starts its detect section from that detector's keys
    (blazepose's defaults would otherwise be refused as unread)."""
    from mvmocap.detect import body_detector_factory
    from mvmocap.pipeline.experiment import load_experiment

    exp = tmp_path / "legacy.yml"
    exp.write_text("detect:\n  backend: mediapipe-legacy\n  model_complexity: 0\n")
    detect = load_experiment(exp).detect
    assert detect.identity() == {"backend": "mediapipe-legacy", "model_complexity": 0,
                                 "min_detection_confidence": 0.5, "min_tracking_confidence": 0.5}
    assert callable(body_detector_factory(detect))


def _image_folders(root, sizes):
    import cv2
    import numpy as np

    for cam, (w, h) in sizes.items():
        (root / "images" / cam).mkdir(parents=True, exist_ok=True)
        for k in range(2):
            cv2.imwrite(str(root / "images" / cam / f"{k:06d}.png"), np.zeros((h, w, 3), np.uint8))


def test_calibration_of_another_resolution_is_scaled_or_refused(keypoint_root, tmp_path, capsys, caplog):
    """Issue case 1: a calibration made at 1280x720 used on 640x360 videos gave 1.4 m errors silently."""
    import shutil

    import numpy as np

    from mvmocap.pipeline.options import RunOptions
    from mvmocap.pipeline.stages import open_inputs, prepare_run

    root = tmp_path / "data"
    root.mkdir()
    for name in ("intri.yml", "extri.yml"):
        shutil.copy(keypoint_root / name, root / name)
    setup = prepare_run(RunOptions(root=root))
    rig = setup.rig
    W, H = rig["cam1"].image_size
    _image_folders(root, {"cam1": (W // 2, H // 2), "cam2": (W, H), "cam3": (W, H)})
    with caplog.at_level(logging.WARNING):
        _, matched, _, _ = open_inputs(setup)
    assert f"camera cam1: calibrated for {W}x{H} frames, its frames are {W // 2}x{H // 2}" in caplog.text
    K, K0 = matched["cam1"].K, rig["cam1"].K
    np.testing.assert_allclose(K[0, 0], K0[0, 0] / 2)
    np.testing.assert_allclose(K[0, 2], (K0[0, 2] + 0.5) / 2 - 0.5)
    assert matched["cam1"].image_size == (W // 2, H // 2) and matched["cam2"] is rig["cam2"]
    X = np.array([[0.1, 0.2, 1.0]])  # the same point lands at the same place in the smaller frame
    np.testing.assert_allclose((matched["cam1"].project(X) + 0.5) * 2 - 0.5, rig["cam1"].project(X), atol=1e-9)

    shutil.rmtree(root / "images" / "cam1")
    _image_folders(root, {"cam1": (H, W)})  # portrait frames, landscape calibration
    _fails(capsys, caplog, ["run", str(root), "--out", str(tmp_path / "o")],
           rf"camera cam1: calibrated for {W}x{H} frames but its frames are {H}x{W} "
           r"\(portrait against landscape")
    shutil.rmtree(root / "images" / "cam1")
    _image_folders(root, {"cam1": (W, W)})
    _fails(capsys, caplog, ["run", str(root), "--out", str(tmp_path / "o")],
           rf"camera cam1: calibrated for {W}x{H} frames but its frames are {W}x{W}, another aspect ratio")
    assert not (tmp_path / "o" / "keypoints2d").exists()


def test_outputs_never_land_among_the_inputs(keypoint_root, tmp_path, capsys, caplog):
    """Issue case 5: --out ROOT put overlay.mp4 into ROOT/videos/, breaking every later run; an --out
    below a regular file gave a traceback (case 10)."""
    before = sorted(p.relative_to(keypoint_root) for p in keypoint_root.rglob("*"))
    for out in (keypoint_root, keypoint_root / "annots" / "out"):
        _fails(capsys, caplog, ["run", str(keypoint_root), "--out", str(out)],
               r"--out must not be the dataset folder .* or inside its inputs")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    _fails(capsys, caplog, ["run", str(keypoint_root), "--out", str(a_file / "out")],
           r"notes\.txt: --out .*: this is a file, not a folder")
    assert sorted(p.relative_to(keypoint_root) for p in keypoint_root.rglob("*")) == before
    assert a_file.read_text() == "mine"


@pytest.mark.parametrize("text, pattern", [
    ("fit: 3\n", r"exp\.yml: 'fit' holds settings \('key: value' lines below it\), got 3"),
    ("- a\n- b\n", r"exp\.yml: must hold sections of settings .* got a list"),
    ("fit: {stages: [\n", r"exp\.yml: not valid YAML at line 2, column 1"),
    ("triangulate:\n  min_views: two\n", r"exp\.yml: triangulate\.min_views: must be a whole number, got 'two'"),
    ("triangulate:\n  threshold_px: -3\n", r"exp\.yml: triangulate: threshold_px must be above 0"),
    ("associate:\n  max_gap: 1.5\n", r"exp\.yml: associate\.max_gap: must be a whole number, got 1\.5"),
])
def test_experiment_file_errors_name_the_file_and_key(keypoint_root, tmp_path, capsys, caplog, text, pattern):
    """Issue case 10: a wrong value type, a YAML list or a syntax error gave tracebacks (or '<unicode string>')."""
    exp = tmp_path / "exp.yml"
    exp.write_text(text)
    _fails(capsys, caplog, ["run", str(keypoint_root), "--exp", str(exp), "--keypoints", str(keypoint_root / "annots"),
                            "--out", str(tmp_path / "o"), "--no-video"], pattern)
    assert not (tmp_path / "o" / "keypoints3d").exists()


def test_truncated_or_binary_calibration_is_named(keypoint_root, tmp_path, capsys, caplog):
    """Issue case 10: OpenCV raised SystemError (a traceback) for a truncated or binary intri.yml."""
    import os
    import shutil

    for damage in ("truncated", "binary"):
        root = tmp_path / damage
        shutil.copytree(keypoint_root, root)
        text = (root / "intri.yml").read_bytes()
        (root / "intri.yml").write_bytes(text[: len(text) // 2] if damage == "truncated" else os.urandom(300))
        _fails(capsys, caplog, ["triangulate", "--data", str(root), "--keypoints", str(root / "annots"), "--out",
                                str(tmp_path / "o")], rf"{damage}/intri\.yml: not a readable OpenCV YAML file")


def test_a_pipe_instead_of_a_video_is_refused_not_waited_on(keypoint_root, tmp_path, capsys, caplog):
    """Issue case 7: a FIFO as a camera's video hung forever, printing nothing."""
    import os
    import shutil

    root = tmp_path / "data"
    root.mkdir()
    for name in ("intri.yml", "extri.yml"):
        shutil.copy(keypoint_root / name, root / name)
    (root / "videos").mkdir()
    for cam in ("cam1", "cam2", "cam3"):
        os.mkfifo(root / "videos" / f"{cam}.mp4")
    _fails(capsys, caplog, ["run", str(root), "--out", str(tmp_path / "o")],
           r"cam1\.mp4: not a regular file \(a pipe, a socket or a device\)")


def test_exit_codes_tell_input_problems_from_bugs(keypoint_root, tmp_path, monkeypatch, capsys, caplog):
    """README: 0 done, 2 the user's input (one message), 1 a bug in mvmocap (the traceback and where to report)."""
    import mvmocap.pipeline.run as run_module

    _fails(capsys, caplog, ["run", str(keypoint_root), "--model", "foo"], r"unknown body model 'foo'")

    def broken(*args, **kwargs):
        raise ValueError("an internal inconsistency")  # a plain ValueError is ours, not the user's

    monkeypatch.setattr(run_module, "open_body_run", broken)
    with caplog.at_level(logging.ERROR):
        caplog.clear()
        code = main(["run", str(keypoint_root), "--keypoints", str(keypoint_root / "annots"), "--out",
                     str(tmp_path / "o"), "--no-video"])
    assert code == 1
    assert "this is a bug in mvmocap" in caplog.text and "ValueError: an internal inconsistency" in caplog.text


def _edited_copy(src, dst, *, intri=None, annot=None):
    import shutil

    shutil.copytree(src, dst)
    if intri:
        (dst / "intri.yml").write_text(intri((dst / "intri.yml").read_text()))
    if annot:
        first = sorted((dst / "annots" / "cam1").glob("*.json"))[0]
        first.write_text(annot(first.read_text()))
    return dst


@pytest.mark.parametrize("name, intri, annot, pattern", [
    ("nan_size", lambda t: re.sub(r"W_cam1: \d+", "W_cam1: .nan", t), None,
     r"intri\.yml: fields 'W_cam1' / 'H_cam1' must be the image width and height in pixels"),
    ("transposed_k", lambda t: re.sub(r"(K_cam2: !!opencv-matrix\s+rows: 3\s+cols: 3\s+dt: d\s+data: \[ )"
                                      r"([^,]+), 0\., ([^,]+), 0\.,\s+([^,]+), ([^,]+), 0\., 0\., 1\. \]",
                                      r"\1\2, 0., 0., 0., \4, 0., \3, \5, 1. ]", t), None,
     r"intri\.yml: field 'K_cam2' must be \[\[fx, s, cx\], \[0, fy, cy\], \[0, 0, 1\]\] .* \(it looks transposed\)"),
    ("duplicate_names", lambda t: t.replace("   - cam2\n", "   - cam1\n", 1), None,
     r"intri\.yml: field 'names' lists \['cam1'\] more than once"),
    ("person_id", None, lambda t: t.replace('"personID": 0', '"personID": "zero"', 1),
     r"000000\.json: annots\[0\]\.personID must be a whole number >= 0, got 'zero'"),
    ("openpose_null", None, lambda t: '{"people": [null]}',
     r"000000\.json: people\[0\] is null, not an object"),
])
def test_damaged_fields_are_named(keypoint_root, tmp_path, capsys, caplog, name, intri, annot, pattern):
    """Issue cases 10 and 14: these gave tracebacks or messages without file and field."""
    root = _edited_copy(keypoint_root, tmp_path / name, intri=intri, annot=annot)
    if intri:
        assert (root / "intri.yml").read_text() != (keypoint_root / "intri.yml").read_text()  # the edit applied
    _fails(capsys, caplog, ["triangulate", "--data", str(root), "--keypoints", str(root / "annots"), "--out",
                            str(tmp_path / "o")], pattern)


@pytest.mark.parametrize(("error", "after"), [(28, 3), (30, 0)])  # ENOSPC after three files, EROFS at once
def test_a_full_or_read_only_disk_is_named_and_leaves_finished_files_whole(keypoint_root, tmp_path, capsys, caplog,
                                                                          monkeypatch, error, after):
    """Issue case 10: ``--out`` on a full or read-only disk: one line naming the folder and the cause
    (exit 2, no traceback); the files of an earlier run stay whole and no temporary is left."""
    import errno
    import json
    import os
    import tempfile

    import mvmocap.utils

    out = tmp_path / "out"
    argv = ["run", str(keypoint_root), "--keypoints", str(keypoint_root / "annots"), "--out", str(out), "--no-video"]
    assert main(argv) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "log.txt"}
    calls = []

    def failing_mkstemp(*args, dir=None, **kwargs):
        calls.append(dir)
        if len(calls) > after:
            raise OSError(error, os.strerror(error), dir)
        return tempfile.mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(mvmocap.utils.tempfile, "mkstemp", failing_mkstemp)
    cause = "No space left on device" if error == errno.ENOSPC else "Read-only file system"
    _fails(capsys, caplog, argv, rf"{re.escape(str(out))}\S*: {cause}")
    assert "Traceback" not in caplog.text
    import numpy as np

    for path, content in before.items():
        if after == 0:  # nothing could be written: every file is the earlier run's
            assert path.read_bytes() == content, path
        elif path.suffix == ".json":  # the earlier run's or a complete new one
            json.loads(path.read_text())
        elif path.suffix == ".npz":
            assert len(np.load(path).files) > 0
    assert not [p for p in out.rglob("*.tmp*")]


def _blanked(keypoint_root, tmp_path, cams):
    """A copy of the capture whose ``cams`` detected nobody in any frame."""
    import json
    import shutil

    root = tmp_path / "data"
    shutil.copytree(keypoint_root, root)
    for cam in cams:
        for path in (root / "annots" / cam).glob("*.json"):
            path.write_text(json.dumps({**json.loads(path.read_text()), "annots": []}))
    return root


@pytest.mark.parametrize("cams", [["cam3"], ["cam1", "cam2", "cam3"]])
def test_cameras_that_never_see_anyone_are_named_not_a_crash(keypoint_root, tmp_path, capsys, cams):
    """Issue 30: the closing summary formatted a None figure of such a camera (a traceback after the fit)."""
    import json

    root = _blanked(keypoint_root, tmp_path, cams)
    out = tmp_path / "out"
    assert main(["run", str(root), "--keypoints", str(root / "annots"), "--no-video", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for cam in cams:
        assert re.search(rf"{cam}\s+never saw anyone", text), text
    assert json.loads((out / "report.json").read_text())["cameras_never_seeing_anyone"] == cams


@pytest.mark.parametrize("command", [["run", "ROOT", "--no-video"], ["calib", "check", "ROOT"],
                                     ["triangulate", "--data", "ROOT", "--keypoints", "ROOT/annots", "--out", "OUT"]])
def test_a_camera_named_twice_is_a_one_line_error(keypoint_root, tmp_path, capsys, caplog, command):
    argv = [a.replace("ROOT", str(keypoint_root)).replace("OUT", str(tmp_path / "o")) for a in command]
    _fails(capsys, caplog, [*argv, "--cams", "cam1", "cam1", "cam2"], r"--cams names \['cam1'\] more than once")


def test_two_runs_never_write_one_output_folder(keypoint_root, tmp_path, capsys, caplog):
    """Issue 30: a second run into an output folder being written is refused; a lock left by a
    killed run is taken over; no lock is left behind."""
    import socket
    import subprocess
    import sys

    out = tmp_path / "out"
    out.mkdir()
    lock = out / ".mvmocap.lock"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{socket.gethostname()}\n{other.pid}\n2026-12-04 10:00:00\n")
        _fails(capsys, caplog, ["run", str(keypoint_root), "--keypoints", str(keypoint_root / "annots"),
                                "--no-video", "--out", str(out)],
               rf"another mvmocap run is writing here \(process {other.pid} on .*, since 2026-12-04 10:00:00\)")
        assert not (out / "log.txt").exists()  # the running one's log is not written into
    finally:
        other.kill()
        other.wait()
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # the holder is gone: its lock is stale
        assert main(["run", str(keypoint_root), "--keypoints", str(keypoint_root / "annots"), "--no-video",
                     "--out", str(out)]) == 0
    assert "no longer runs" in caplog.text and not lock.exists() and (out / "report.json").is_file()


def test_a_lock_of_another_host_is_taken_over_only_once_it_stops_beating(tmp_path, caplog):
    """A node lost from a cluster leaves its lock on the shared filesystem; its process cannot be
    checked from here, so the lock counts as stale once its holder stops touching it."""
    import os
    import time

    from mvmocap.utils import LOCK_NAME, LOCK_STALE_SECONDS, InputError, output_lock

    lock = tmp_path / LOCK_NAME
    lock.write_text("another-node\n4242\n2026-12-04 10:00:00\n")
    with pytest.raises(InputError, match=r"another mvmocap run is writing here \(process 4242 on another-node"):
        with output_lock(tmp_path):
            pass
    old = time.time() - LOCK_STALE_SECONDS - 5
    os.utime(lock, (old, old))
    with caplog.at_level(logging.WARNING), output_lock(tmp_path):
        assert lock.read_text().split("\n")[1] == str(os.getpid())
    assert "left by a run that no longer runs (process 4242 on another-node)" in caplog.text and not lock.exists()
