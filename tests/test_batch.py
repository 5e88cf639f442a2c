"""``mvmocap batch``: trials found with their own or inherited calibration, one failure reported
while the others finish, finished trials skipped on a rerun, two workers equal to one."""

import csv
import json
import shutil

import numpy as np
import pytest

from mvmocap.batch import BatchOptions, find_trials, run_batch
from mvmocap.cli.main import main
from mvmocap.synthetic import make_capture, write_capture
from mvmocap.synthetic.model_files import make_model_arrays, write_model_file

pytestmark = pytest.mark.slow  # end-to-end: make test-fast leaves it out


def _session(root):
    """trial_a: its own calibration; day2/trial_b: the session's calibration/ folder; trial_c: broken annots."""
    write_capture(make_capture(frames=12, cameras=3, seed=1, image_size=(1280, 720)), root / "trial_a")
    b = write_capture(make_capture(frames=12, cameras=3, seed=2, image_size=(1280, 720)), root / "day2" / "trial_b")
    (root / "calibration").mkdir(parents=True)
    for name in ("intri.yml", "extri.yml"):
        shutil.move(str(b / name), str(root / "calibration" / name))
    c = write_capture(make_capture(frames=12, cameras=3, seed=3, image_size=(1280, 720)), root / "trial_c")
    for path in (c / "annots" / "cam2").glob("*.json"):
        path.write_text("{not json")
    return root


def test_batch_runs_resumes_and_reports(tmp_path, capsys):
    session = _session(tmp_path / "session")
    model = f"smpl:{write_model_file(make_model_arrays('smpl'), tmp_path / 'SMPL_NEUTRAL.pkl', 'pkl')}"  # quick to load
    trials = {t.name: t for t in find_trials(session)}
    assert sorted(trials) == ["day2/trial_b", "trial_a", "trial_c"]
    assert trials["day2/trial_b"].calibration == session / "calibration"
    assert trials["trial_a"].calibration == session / "trial_a"
    assert main(["batch", str(session), "--model", model]) == 2  # one trial failed
    rows = {r["trial"]: r for r in csv.DictReader((session / "batch_report.csv").open())}
    assert rows["trial_a"]["status"] == rows["day2/trial_b"]["status"] == "done"
    assert rows["trial_c"]["status"] == "failed" and "not valid JSON" in rows["trial_c"]["error"]
    assert float(rows["trial_a"]["heldout_px"]) < 15 and int(rows["trial_a"]["frames"]) == 12
    first = np.load(session / "trial_a" / "output" / "params.npz")["keypoints3d"]
    options = BatchOptions(model=model)
    again = run_batch(session, options=options)
    assert [r.status for r in again] == ["skipped (done before)", "skipped (done before)", "failed"]
    # Two worker processes give the same fits as one process.
    for trial in ("trial_a", "day2/trial_b"):
        (session / trial / "output" / ".batch.json").unlink()
    parallel = run_batch(session, options=options, workers=2)
    assert [r.status for r in parallel] == ["done", "done", "failed"]
    np.testing.assert_array_equal(np.load(session / "trial_a" / "output" / "params.npz")["keypoints3d"], first)
    report = json.loads((session / "batch_report.json").read_text())
    assert [r["trial"] for r in report] == ["day2/trial_b", "trial_a", "trial_c"]


_POSE2SIM_CONFIG = """[project]
project_dir = '.'
multi_person = false
participant_height = 1.72
participant_mass = 70.0
frame_rate = 'auto'
frame_range = 'auto'

[pose]
pose_model = 'Body_with_feet'
mode = 'balanced'
"""


def test_a_pose2sim_session_runs_every_trial(tmp_path):
    """Pose2Sim's layout: a Config.toml (project settings, not a calibration) in the session and in
    every trial, the session's calibration in calibration/Calib.qca.txt. Both trials failed in 5 s
    before ("Config.toml: no camera tables found"): the settings files were taken for calibrations."""
    from mvmocap.camera import save_calibration

    session = tmp_path / "Session"
    (session / "calibration").mkdir(parents=True)
    (session / "Config.toml").write_text(_POSE2SIM_CONFIG)
    rig = None
    for name in ("Trial_1", "Trial_2"):
        capture = make_capture(frames=12, cameras=3, seed=4, image_size=(1280, 720))  # one rig, two takes
        trial = write_capture(capture, session / name)
        for file in ("intri.yml", "extri.yml"):
            (trial / file).unlink()
        (trial / "Config.toml").write_text(_POSE2SIM_CONFIG.replace("frame_range = 'auto'", "frame_range = [2, 10]")
                                           if name == "Trial_2" else _POSE2SIM_CONFIG)
        rig = capture.rig
    save_calibration(rig, session / "calibration" / "Calib.qca.txt")
    trials = find_trials(session)
    assert [t.calibration for t in trials] == [session / "calibration" / "Calib.qca.txt"] * 2
    model = f"smpl:{write_model_file(make_model_arrays('smpl'), tmp_path / 'SMPL_NEUTRAL.pkl', 'pkl')}"
    results = run_batch(session, options=BatchOptions(model=model))
    assert [r.status for r in results] == ["done", "done"], [r.error for r in results]
    assert [r.frames for r in results] == [12, 8]  # Trial_2's Config.toml: frame_range = [2, 10]
    report = json.loads((session / "Trial_2" / "output" / "report.json").read_text())
    assert report["frames"] == [2, 9]
    assert report["project_settings_used"] == [f"{session / 'Trial_2' / 'Config.toml'}: frame_range"]
