"""Sessions laid out as FreeMoCap and caliscope lay them out: the trials, their cameras' videos and
the calibration each uses are found, and the calibration's cameras pair with the videos' names."""

import numpy as np

from mvmocap.batch import find_trials
from mvmocap.camera import Camera, CameraRig, load_calibration, save_calibration
from mvmocap.camera.naming import match_names
from mvmocap.io import DataError, list_video_cameras
from mvmocap.synthetic import make_capture


def _rig(names: list[str]):
    rig = make_capture(frames=2, cameras=len(names), seed=0).rig
    return CameraRig(Camera(name, c.K, c.dist, c.R, c.t, c.image_size) for name, c in zip(names, rig, strict=True))


def _caliscope_array(rig) -> str:
    """``rig`` as caliscope writes ``camera_array.toml``: ``[cameras.N]`` tables, 3x3 rotations."""
    lines = []
    for n, cam in enumerate(rig):
        lines += [f"[cameras.{n}]", f"cam_id = {n}", f"size = {list(cam.image_size)}",
                  f"matrix = {cam.K.tolist()}", f"distortions = {cam.dist.tolist()}",
                  f"rotation = {cam.R.tolist()}", f"translation = {cam.t.tolist()}", "rotation_count = 0", ""]
    return "\n".join(lines)


def test_a_freemocap_recording(tmp_path):
    """``synchronized_videos/Camera_000_synchronized.mp4`` ... and the recording's own
    ``<name>_camera_calibration.toml`` (anipose's format, cameras ``cam_0`` ...)."""
    recording = tmp_path / "freemocap_data" / "session_2024" / "recording_walk"
    (recording / "synchronized_videos").mkdir(parents=True)
    for n in range(3):
        (recording / "synchronized_videos" / f"Camera_00{n}_synchronized.mp4").write_bytes(b"")
    calib = recording / "recording_walk_camera_calibration.toml"
    save_calibration(_rig(["cam_0", "cam_1", "cam_2"]), calib)
    (recording / "output_data").mkdir()
    trials = find_trials(tmp_path / "freemocap_data")
    assert [(t.name, t.calibration) for t in trials] == [("session_2024/recording_walk", calib)]
    cameras = list_video_cameras(recording)
    assert list(cameras) == ["Camera_000", "Camera_001", "Camera_002"]
    pairs, how = match_names(load_calibration(trials[0].calibration).names, list(cameras))
    assert pairs == {"Camera_000": "cam_0", "Camera_001": "cam_1", "Camera_002": "cam_2"} and how == "same number"


def test_a_caliscope_workspace(tmp_path):
    """The workspace's ``calibration/extrinsic/capture_volume/camera_array.toml`` serves every
    recording under ``recordings/``, each ``cam_0.mp4`` ... side by side; the calibration videos
    (``calibration/intrinsic/``, ``extrinsic/``) are no trials."""
    workspace = tmp_path / "workspace"
    volume = workspace / "calibration" / "extrinsic" / "capture_volume"
    volume.mkdir(parents=True)
    (volume / "camera_array.toml").write_text(_caliscope_array(_rig(["a", "b", "c"])))
    (workspace / "calibration" / "targets").mkdir()
    (workspace / "calibration" / "targets" / "charuco.toml").write_text("columns = 4\nrows = 5\n")
    for folder in ("calibration/intrinsic", "calibration/extrinsic", "recordings/walking_trial", "recordings/jump"):
        (workspace / folder).mkdir(parents=True, exist_ok=True)
        for n in range(3):
            (workspace / folder / f"cam_{n}.mp4").write_bytes(b"")
    (workspace / "recordings" / "jump" / "timestamps.csv").write_text("cam_id,frame_time\n")
    trials = find_trials(workspace)
    assert [t.name for t in trials] == ["recordings/jump", "recordings/walking_trial"]
    assert {t.calibration for t in trials} == {volume / "camera_array.toml"}
    rig = load_calibration(workspace)  # the workspace folder as --calib
    assert rig.names == ["cam0", "cam1", "cam2"]
    np.testing.assert_allclose(rig[1].t, _rig(["a", "b", "c"])[1].t)
    cameras = list_video_cameras(workspace / "recordings" / "jump")
    assert match_names(rig.names, list(cameras))[0] == {"cam_0": "cam0", "cam_1": "cam1", "cam_2": "cam2"}


def test_one_loose_video_is_no_camera_set(tmp_path):
    """A folder with a single video beside other files is not taken for a recording."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "briefing.mp4").write_bytes(b"")
    assert find_trials(tmp_path) == []
    try:
        list_video_cameras(tmp_path / "notes")
    except DataError as err:
        assert "synchronized_videos" in str(err)
    else:
        raise AssertionError("one loose video was taken for a camera set")
