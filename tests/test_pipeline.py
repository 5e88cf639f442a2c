"""``mvmocap run`` end to end on a small rendered capture (real MediaPipe detection), resuming
after an interruption, and bad input."""

import json
import logging
import shutil

import numpy as np
import pytest

from mvmocap.angles import joint_angles, read_mot
from mvmocap.bodymodels import load_body_model
from mvmocap.cli.main import main
from mvmocap.detect import MARKER
from mvmocap.io import read_keypoints3d
from mvmocap.pipeline import RunOptions, run_experiment
from mvmocap.synthetic import make_video_capture

pytestmark = pytest.mark.slow  # end-to-end: make test-fast leaves it out

FRAMES = 24


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    root = tmp_path_factory.mktemp("capture")
    return make_video_capture(root, load_body_model(), frames=FRAMES, cameras=3, image_size=(640, 360), seed=3)


@pytest.fixture(scope="module")
def first_run(capture, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return run_experiment(RunOptions(root=capture, out=out, videos=True))


def test_end_to_end_accuracy_and_outputs(capture, first_run):
    run = first_run
    truth = dict(np.load(capture / "gt" / "params.npz"))
    err = np.linalg.norm(run.fit.keypoints - truth["keypoints3d"], axis=-1).mean()
    assert err < 0.05  # MediaPipe's joints are not Anny's keypoints: a few cm apart by definition
    seen = run.keypoints3d[..., 3] > 0
    assert seen.mean() > 0.85
    assert np.linalg.norm(run.keypoints3d[..., :3] - truth["keypoints3d"], axis=-1)[seen].mean() < 0.06
    out = run.out
    for name in ("report.json", "params.npz", "fit_log.json", "videos/overlay.mp4", "videos/ground.mp4"):
        assert (out / name).is_file(), name
    assert len(list((out / "smpl").glob("*.json"))) == FRAMES
    assert read_keypoints3d(out / "keypoints3d")[0].shape == (FRAMES, 25, 4)
    report = json.loads((out / "report.json").read_text())
    assert report["cameras"] == ["cam1", "cam2", "cam3"] and report["frames"] == [0, FRAMES - 1]
    assert set(report["timings_seconds"]) == {"detect", "associate_sync", "triangulate", "fit", "angles",
                                              "silhouettes", "render", "thumbnails"}
    page = (out / "report.html").read_text()  # issue 32: the page people look at
    assert page.count('<svg class="plot"') > 10 and page.count("data:image/jpeg;base64,") == 6
    # issue 32: the joint angles, read against the truth's through the same conventions
    labels, values = read_mot(out / "angles.mot")
    truth_angles = joint_angles(load_body_model(), truth, np.arange(FRAMES), report["fps"])
    for name in ("knee_flexion_l", "knee_flexion_r", "hip_flexion_l", "hip_flexion_r"):
        assert np.sqrt(np.mean((values[:, labels.index(name)] - truth_angles[name]) ** 2)) < 10, name
    assert report["angles"]["summary"]["knee_flexion_r"]["range"] > 10
    assert 0.8 < report["silhouette"]["width_ratio"] < 1.2  # the fitted body as wide as the rendered person
    assert report["subject"]["view_frames_assigned"] == report["subject"]["view_frames_with_detections"]
    assert 0 < report["heldout"]["heldout_px"] < 20 and set(report["heldout"]["per_camera"]) == {"cam1", "cam2", "cam3"}
    assert report["triangulation"]["per_camera"]["cam2"]["reprojection_error_px"] < 15
    assert all((out / "keypoints2d" / c / MARKER).is_file() for c in report["cameras"])


def test_rerun_and_resume_reuse_the_detection_cache(capture, first_run, tmp_path, caplog):
    out = tmp_path / "out"
    shutil.copytree(first_run.out / "keypoints2d", out / "keypoints2d")
    # An interrupted run: camera 2 lost its marker and its last frames; camera 3 never finished.
    (out / "keypoints2d" / "cam2" / MARKER).unlink()
    for f in range(16, FRAMES):
        (out / "keypoints2d" / "cam2" / f"{f:06d}.json").unlink()
    shutil.rmtree(out / "keypoints2d" / "cam3")
    kept = (out / "keypoints2d" / "cam2" / "000003.json").stat().st_mtime_ns
    with caplog.at_level(logging.INFO):
        run = run_experiment(RunOptions(root=capture, out=out, videos=False))
    assert run.report["detect_view_frames"] == (FRAMES - 16) + FRAMES  # only what was missing
    assert (out / "keypoints2d" / "cam2" / "000003.json").stat().st_mtime_ns == kept
    # Frames 16 on were detected again without the detector's saved state (the marker and state
    # lost): they may differ a little, and the detections' smoothing over time (forwards and
    # backwards) carries that a few frames back; the frames before are the same within a millimetre.
    np.testing.assert_allclose(run.keypoints3d[:16], first_run.keypoints3d[:16], atol=1e-3)
    again = run_experiment(RunOptions(root=capture, out=out, videos=False, frames="4:20"))
    # A narrower rerun (issue 16 case 6) reuses the cached frames and leaves no stale outputs.
    assert again.report["detect_view_frames"] == 0 and again.frames == list(range(4, 20))
    assert len(list((out / "smpl").glob("*.json"))) == 16 and len(list((out / "keypoints3d").glob("*.json"))) == 16
    assert len(list((out / "keypoints2d" / "cam1").glob("*.json"))) == FRAMES  # the cache keeps every frame


def test_precomputed_keypoints_and_command_line(capture, first_run, tmp_path, capsys):
    out = tmp_path / "cli"
    stale = out / "people" / "0" / "params.npz"  # an earlier multi-person run's: not this run's
    stale.parent.mkdir(parents=True)
    stale.write_text("an earlier run's")
    code = main(["run", str(capture), "--out", str(out), "--keypoints", str(first_run.out / "keypoints2d"),
                 "--no-video", "--cams", "cam1", "cam3", "--frames", "0:10"])
    assert code == 0 and not (out / "people").exists()
    assert "mvmocap run: summary" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["cameras"] == ["cam1", "cam3"] and report["frames"] == [0, 9]
    assert "detect" not in report["timings_seconds"] and (out / "log.txt").read_text()


def test_bad_input(capture, tmp_path, caplog):
    def run(root, *extra):
        with caplog.at_level(logging.ERROR):
            caplog.clear()
            return main(["run", str(root), "--out", str(tmp_path / "o"), "--no-video", *extra])

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "intri.yml").write_text((capture / "intri.yml").read_text())
    (empty / "extri.yml").write_text((capture / "extri.yml").read_text())
    assert run(empty) == 2 and "no camera input: expected videos/<cam>.mp4" in caplog.text
    no_calib = tmp_path / "nocalib"
    shutil.copytree(capture / "videos", no_calib / "videos")
    assert run(no_calib) == 2 and "no calibration found (looked for intri.yml + extri.yml" in caplog.text
    extra_cam = tmp_path / "extra"
    shutil.copytree(capture, extra_cam)
    shutil.copy(extra_cam / "videos" / "cam1.mp4", extra_cam / "videos" / "cam9.mp4")
    assert run(extra_cam) == 2 and "['cam9'] have no calibration" in caplog.text
    (extra_cam / "videos" / "cam9.mp4").unlink()
    (extra_cam / "videos" / "cam2.mp4").write_bytes(b"not a video")
    assert run(extra_cam) == 2 and "cam2.mp4: cannot read this video" in caplog.text
    assert run(capture, "--frames", "x:y") == 2 and "--frames must look like" in caplog.text
    assert run(tmp_path / "nowhere") == 2 and "dataset folder not found" in caplog.text


def test_image_folders_with_different_frame_counts_are_each_read_to_their_end(capture, tmp_path, caplog):
    """Cameras started or stopped at other times: each is read to its own end (a frame it lacks
    counts as unseen), and the frames only one camera saw, after the last triangulated one, are
    left out of the fit."""
    import cv2

    from mvmocap.io import FrameSource

    root = tmp_path / "images_capture"
    root.mkdir()
    for name in ("intri.yml", "extri.yml"):
        shutil.copy(capture / name, root / name)
    for cam, count in (("cam1", 10), ("cam2", 7), ("cam3", 8)):
        folder = root / "images" / cam
        folder.mkdir(parents=True)
        for i, rgb in FrameSource(capture / "videos" / f"{cam}.mp4").frames(0, count):
            cv2.imwrite(str(folder / f"{i:06d}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    with caplog.at_level(logging.WARNING):
        run = run_experiment(RunOptions(root=root, out=tmp_path / "out", videos=False))
    assert ("different frame counts (cam1: 10, cam2: 7, cam3: 8); using frames 0-9, a camera past its last frame "
            "counts as not seeing") in caplog.text
    assert run.report["detect_view_frames"] == 10 + 7 + 8
    assert run.frames == list(range(8)) and run.report["frames_left_out_untriangulated"] == {"before": 0, "after": 2}
    assert (run.keypoints3d[..., 3] > 0).mean() > 0.8 and (run.keypoints3d[7, :, 3] > 0).mean() > 0.5
    assert len(run.fit.keypoints) == 8


def test_cameras_of_different_frame_rates_share_one_timeline(tmp_path, capsys):
    """Issue 30: three cameras at 30 fps and one at 60 fps, no sync.yml: the 60 fps camera's
    detections are read at the 30 fps cameras' frame times (by the timestamps), not paired by frame
    number (which would put its frame 2k beside their frame k: the body twice as fast, then gone)."""
    from mvmocap.io import MultiViewKeypoints, write_annots
    from mvmocap.synthetic import make_capture, write_capture
    from mvmocap.synthetic.model_files import make_model_arrays, write_model_file

    capture = make_capture(frames=120, cameras=4, fps=60.0, motion="walk", noise_px=1.0, outlier_ratio=0.0,
                           dropout_ratio=0.0, seed=4, image_size=(1280, 720))
    root = write_capture(capture, tmp_path / "data")
    shutil.rmtree(root / "annots")
    slow, fast = capture.rig.names[:3], capture.rig.names[3]
    kp = capture.keypoints2d
    write_annots(root / "annots", MultiViewKeypoints(slow, list(range(60)), {0: kp[::2, :3]}, "body25",
                                                     {c: np.arange(60) / 30.0 for c in slow}))
    write_annots(root / "annots", MultiViewKeypoints([fast], list(range(120)), {0: kp[:, 3:]}, "body25",
                                                     {fast: np.arange(120) / 60.0}))
    out = tmp_path / "out"
    assert main(["run", str(root), "--keypoints", str(root / "annots"), "--no-video", "--out", str(out),
                 "--model", f"smpl:{write_model_file(make_model_arrays('smpl'), tmp_path / 'SMPL.pkl', 'pkl')}"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["fps"] == 30.0 and report["frames"] == [0, 59]
    assert report["heldout"]["per_camera"][fast] < 5.0, report["heldout"]
    points, _ = read_keypoints3d(out / "keypoints3d")
    seen = points[..., 3] > 0
    error = np.linalg.norm(points[..., :3] - capture.points3d[::2], axis=-1)[seen]
    assert np.median(error) < 0.02


def test_paths_with_spaces_and_other_scripts_through_every_command(capture, tmp_path, capsys):
    """Issue 30: a dataset, an output folder, a model file and export files whose paths hold spaces
    and non-ASCII letters, through detection, FFmpeg's video writing, exports and the replay page."""
    from mvmocap.synthetic.model_files import make_model_arrays, write_model_file

    root = tmp_path / "prise de vue ü" / "dätä 1"
    shutil.copytree(capture, root)
    out = tmp_path / "résultats été" / "sortie 1"
    model = write_model_file(make_model_arrays("smpl"), tmp_path / "modèles ñ" / "SMPL NEUTRAL.pkl", "pkl")
    assert main(["run", str(root), "--out", str(out), "--model", f"smpl:{model}"]) == 0
    assert (out / "videos" / "overlay.mp4").stat().st_size > 1000 and (out / "report.json").is_file()
    for name in ("mouvement ü.bvh", "corps é.glb", "marqueurs ñ.trc"):
        assert main(["export", str(out), "--to", str(out / name), "--model", f"smpl:{model}"]) == 0
        assert (out / name).stat().st_size > 100
    assert main(["view", str(out), "--html", str(out / "rejouer ö.html"), "--model", f"smpl:{model}"]) == 0
    assert (out / "rejouer ö.html").stat().st_size > 1000
    assert main(["calib", "check", str(root), "--out", str(out / "contrôle")]) == 0


def test_a_full_disk_while_encoding_keeps_the_earlier_video(capture, first_run, tmp_path, monkeypatch, capsys,
                                                            caplog):
    """Issue 30: FFmpeg stopping on a full disk gave a bare "Broken pipe" and the FFmpeg command. Now:
    the error names the folder and the cause, the partial video is removed and the earlier one stays."""
    import collections

    import imageio_ffmpeg

    import mvmocap.render.video

    out = tmp_path / "out"
    shutil.copytree(first_run.out, out)  # an earlier run's outputs, its detection cache included
    earlier = (out / "videos" / "overlay.mp4").read_bytes()

    def failing_writer(path, *args, **kwargs):
        sent = 0
        while True:
            frame = yield
            sent += frame is not None
            if sent == 3:
                raise OSError(32, "Broken pipe\n\nFFMPEG COMMAND:\nffmpeg ...")

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", failing_writer)
    monkeypatch.setattr(mvmocap.render.video.shutil, "disk_usage", lambda p: collections.namedtuple(
        "usage", "total used free")(10**9, 10**9 - 4096, 4096))
    with caplog.at_level(logging.ERROR):
        assert main(["run", str(capture), "--out", str(out)]) == 2
    assert f"{out / 'videos'}: no space left on the device while writing overlay.mp4" in caplog.text
    assert "Traceback" not in caplog.text and "FFMPEG COMMAND" not in caplog.text
    assert (out / "videos" / "overlay.mp4").read_bytes() == earlier
    assert not list((out / "videos").glob(".*tmp*")) and (out / "params.npz").is_file()


def test_a_rerun_after_a_kill_during_the_render_reuses_the_fit(capture, first_run, tmp_path, monkeypatch, caplog):
    """Issue 30: a run killed while rendering left its fit complete (params.npz and the rest); the
    rerun takes it up instead of fitting again, finishes the videos, and leaves nothing of the
    killed render behind. Other fit settings fit again."""
    import socket

    import mvmocap.fit

    out = tmp_path / "out"
    shutil.copytree(first_run.out, out)
    fitted = (out / "params.npz").read_bytes()
    (out / "videos" / "overlay.mp4").unlink()  # what kill -9 during the render leaves: a partial temporary
    leftover = out / "videos" / f".overlay.mp4.{socket.gethostname()}-999999999.video.tmp.mp4"
    leftover.write_bytes(b"half a video")

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted again")

    monkeypatch.setattr(mvmocap.fit.BodyFitter, "fit", no_fit)
    with caplog.at_level(logging.INFO):
        run_experiment(RunOptions(root=capture, out=out, videos=True))
    assert "the fit of an earlier run from the same keypoints and settings is reused" in caplog.text
    assert (out / "params.npz").read_bytes() == fitted and (out / "videos" / "overlay.mp4").stat().st_size > 1000
    assert not leftover.exists()
    other = tmp_path / "other_fit.yml"
    other.write_text("fit:\n  poses:\n    weights:\n      kp_acceleration: 0.5\n")
    with pytest.raises(AssertionError, match="fitted again"):
        run_experiment(RunOptions(root=capture, out=out, exp=str(other), videos=False))


def test_a_video_with_corrupt_packets_is_read_to_its_end_and_reported(capture, tmp_path, capsys):
    """Issue 30: a camera's video damaged in the middle: the run goes on, that camera does not see
    the frames that cannot be decoded, and the report and the closing table say which."""
    root = tmp_path / "data"
    shutil.copytree(capture, root)
    video = root / "videos" / "cam2.mp4"
    data = bytearray(video.read_bytes())
    damaged = int(0.8 * data.find(b"moov"))  # late in the frames' data (the index comes after it)
    data[damaged:damaged + 1500] = np.random.default_rng(1).integers(0, 256, 1500, dtype=np.uint8).tobytes()
    video.write_bytes(bytes(data))
    out = tmp_path / "out"
    assert main(["run", str(root), "--out", str(out), "--no-video"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert list(report["frames_undecodable"]) == ["cam2"], report["frames_undecodable"]
    assert "of its video could not be decoded" in capsys.readouterr().out
    assert report["frames"] == [0, FRAMES - 1]  # every frame of the run kept its place
