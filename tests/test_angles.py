"""Issue 32: joint angles of a fitted body (ISB conventions), their files and ``mvmocap angles``."""

import numpy as np
import pytest
from fitted_runs import FPS, make_run

from mvmocap.angles import ANGLE_NAMES, continuous_zxy, joint_angles, read_mot, write_angles, zxy_angles
from mvmocap.bodymodels import load_body_model
from mvmocap.cli.main import main
from mvmocap.geometry import axis_angle_to_matrix, rotation_about_axis
from mvmocap.synthetic.body_motion import model_motion
from mvmocap.synthetic.model_files import make_model_arrays, write_model_file
from mvmocap.synthetic.motions import motion_curves

FRAMES = 480  # walk, squat, arms and turn of the mixed motion, 4 s each
# the generator's curve (degrees) of each angle, the sign that turns one into the other, whether
# the zero pose's own angle adds to it (the generator lowers the arms to hang: its shoulder curves
# are the angles) and the tolerance: the generator bends the hip about an axis normal to the rest
# thigh, which Anny and SMPL tilt outwards by 5-7 degrees, so a 95 degree squat reads up to 7 degrees
# of adduction the joint coordinate system rightly sees
CURVES = {"hip_flexion_r": ("r_hip_flex", 1, True, 2), "hip_flexion_l": ("l_hip_flex", 1, True, 2),
          "knee_flexion_r": ("r_knee", 1, True, 1), "knee_flexion_l": ("l_knee", 1, True, 1),
          "hip_adduction_r": ("r_hip_abd", -1, True, 8), "hip_adduction_l": ("l_hip_abd", -1, True, 8),
          "shoulder_flexion_r": ("r_shoulder_flex", 1, False, 2),
          "shoulder_abduction_l": ("l_shoulder_abd", 1, False, 2),
          "elbow_flexion_r": ("r_elbow", 1, True, 1), "elbow_flexion_l": ("l_elbow", 1, True, 1),
          "trunk_flexion": ("lean", 1, True, 1)}
# the thorax leans with the line from the pelvis to the neck; the generator bends the spine joints,
# which carry the neck less far than the top spine bone turns: these read the curve while upright
UPRIGHT_ONLY = ("trunk_flexion", "shoulder_flexion_r")


@pytest.fixture(scope="module", params=["anny", "smpl"])
def model(request, tmp_path_factory):
    if request.param == "anny":
        return load_body_model("anny")
    path = write_model_file(make_model_arrays("smpl"), tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.pkl", "pkl")
    return load_body_model(f"smpl:{path}")


def test_angles_follow_the_motion_the_generator_made(model):
    """The generator bends each joint about its own anatomical axes from the model's zero pose;
    the angles read that motion back, each offset by the zero pose's own angle (Anny's rest pose
    bends the elbows 42 degrees: a real flexion, measured from the bones), both sides alike."""
    curves = motion_curves("mixed", FRAMES, FPS, seed=0)
    angles = joint_angles(model, model_motion(model, curves), np.arange(FRAMES), FPS)
    standing = model_motion(model, motion_curves("mixed", 1, FPS, seed=0))
    standing["poses"][:] = 0
    rest = joint_angles(model, standing, np.arange(1), FPS)
    assert angles.values.shape == (FRAMES, len(ANGLE_NAMES)) and np.isfinite(angles.values).all()
    upright = np.abs(curves.angles["lean"]) < 0.5
    assert 0.2 < upright.mean() < 0.8
    for name, (curve, sign, from_zero_pose, tolerance) in CURVES.items():
        moved = angles[name] - (rest[name][0] if from_zero_pose else 0)
        truth = sign * curves.angles[curve]
        assert np.ptp(truth) > 5, name  # the motion moves this joint
        error = np.abs(moved - truth)[upright if name in UPRIGHT_ONLY else slice(None)]
        assert error.max() < tolerance, (name, error.max())
    # bending over: the trunk flexes with the lean, by about half of it to all of it
    lean, trunk = curves.angles["lean"], angles["trunk_flexion"] - rest["trunk_flexion"][0]
    slope = np.polyfit(lean, trunk, 1)[0]
    assert 0.4 < slope < 1.0 and np.corrcoef(lean, trunk)[0, 1] > 0.99
    # the arms go past 90 degrees of abduction and read so, not as 180 degrees of flexion and rotation
    assert angles["shoulder_abduction_l"].max() > 120 and np.abs(angles["shoulder_rotation_l"]).max() < 3
    assert np.abs(angles["trunk_bending"]).max() < 0.5 and np.abs(angles["pelvis_list"]).max() < 0.5
    assert np.allclose(angles["knee_flexion_l"] - rest["knee_flexion_l"][0],
                       angles["knee_flexion_r"] - rest["knee_flexion_r"][0] + curves.angles["l_knee"]
                       - curves.angles["r_knee"], atol=2.5)


def test_signs_of_a_joint_bent_by_hand(model):
    """Flexion positive at the hip, knee and elbow; a left joint reads as the right one mirrored."""
    from mvmocap.bodymodels.anatomy import anatomy_of

    a = anatomy_of(model)
    base = model_motion(model, motion_curves("squat", 1, FPS, seed=0))
    base["poses"][:] = 0
    rest = joint_angles(model, base, np.arange(1), FPS)
    for side in ("l", "r"):
        bent = {k: v.copy() for k, v in base.items()}
        poses = bent["poses"].reshape(1, -1, 3)
        slot = list(model.posed_joints).index(a.joints[f"knee_{side}"])
        poses[0, slot] = model.pose_frame.T @ (np.radians(40) * a.knee_axis(side))
        bent["poses"] = poses.reshape(1, -1)
        knee = joint_angles(model, bent, np.arange(1), FPS)
        assert knee[f"knee_flexion_{side}"][0] - rest[f"knee_flexion_{side}"][0] == pytest.approx(40, abs=0.5)
        assert abs(knee[f"hip_flexion_{side}"][0] - rest[f"hip_flexion_{side}"][0]) < 0.1


def test_euler_angles_round_trip_and_stay_continuous():
    rng = np.random.default_rng(0)
    abc = rng.uniform([-3, -1.4, -3], [3, 1.4, 3], (50, 3))
    R = rotation_about_axis(abc[:, 0], "z") @ rotation_about_axis(abc[:, 1], "x") @ rotation_about_axis(abc[:, 2], "y")
    assert np.allclose(zxy_angles(R), abc, atol=1e-9)
    # an abduction sweeping through 90 degrees and on to 170: continuous, no flip of the other two
    sweep = np.radians(np.linspace(0, 170, 60))
    R = axis_angle_to_matrix(sweep[:, None] * np.array([1.0, 0, 0]))
    got = continuous_zxy(R)
    assert np.allclose(got[:, 1], sweep, atol=1e-6) and np.allclose(got[:, [0, 2]], 0, atol=1e-6)


def test_mot_and_csv_files_and_the_command(tmp_path, capsys):
    """``mvmocap angles OUT`` writes OpenSim's storage format (read back equal) or CSV."""
    anny = load_body_model("anny")
    out = make_run(tmp_path, anny, seed=1, frames=20)
    assert main(["angles", str(out)]) == 0
    assert "20 frames" in capsys.readouterr().out
    text = (out / "angles.mot").read_text().splitlines()
    assert text[1:6] == ["version=1", "nRows=20", f"nColumns={len(ANGLE_NAMES) + 1}", "inDegrees=yes", "endheader"]
    labels, values = read_mot(out / "angles.mot")
    assert labels == ["time", *ANGLE_NAMES] and values.shape == (20, len(ANGLE_NAMES) + 1)
    assert np.allclose(values[:, 0], np.arange(10, 30) / FPS)
    assert main(["angles", str(out), "--to", str(tmp_path / "a.csv")]) == 0
    rows = (tmp_path / "a.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["time", "frame", ANGLE_NAMES[0]] and rows[1].split(",")[1] == "10"
    csv_values = np.array([[float(v) for v in r.split(",")] for r in rows[1:]])
    assert np.allclose(csv_values[:, 2:], values[:, 1:], atol=1e-5)
    assert main(["angles", str(out), "--to", str(tmp_path / "a.txt")]) == 2
    with pytest.raises(Exception, match="not '.txt'"):
        write_angles(tmp_path / "b.txt", None)


def test_gait_events_and_strides_of_a_walk():
    """A straight synthetic walk: one heel strike and one toe-off per foot per cycle, the cycle as
    long as the generator's (its hip flexion's period), strides as long as its speed makes them,
    the same events within 2 frames when the feet jitter by a centimetre; a squat is no walk."""
    from mvmocap.angles import gait_events

    anny = load_body_model("anny")
    curves = motion_curves("walk", 180, FPS, radius=50.0, seed=1)
    keypoints = anny.sequence(model_motion(anny, curves), "body25")
    events = gait_events(keypoints, FPS)
    hip = curves.angles["r_hip_flex"]
    peaks = np.flatnonzero((hip[1:-1] > hip[:-2]) & (hip[1:-1] >= hip[2:])) + 1
    period = float(np.diff(peaks).mean()) / FPS
    speed = float(np.linalg.norm(np.diff(curves.xy, axis=0), axis=1).mean()) * FPS
    for side in ("l", "r"):
        strikes, offs = events.heel_strikes[side], events.toe_offs[side]
        assert len(strikes) >= 4 and abs(len(offs) - len(strikes)) <= 1
        figures = events.summary["sides"][side]
        assert figures["stride_time_s"] == pytest.approx(period, abs=1.5 / FPS)
        assert figures["stride_length_m"] == pytest.approx(speed * period, rel=0.03)
    left, right = events.heel_strikes["l"], events.heel_strikes["r"]
    assert all(abs(min(abs(np.array(right) - f)) - period * FPS / 2) <= 2 for f in left)  # alternating
    assert events.summary["walking_speed_m_s"] == pytest.approx(speed, rel=0.02)
    jittered = gait_events(keypoints + np.random.default_rng(0).normal(0, 0.01, keypoints.shape), FPS)
    for kind in ("heel_strikes", "toe_offs"):
        for side in ("l", "r"):
            got, clean = getattr(jittered, kind)[side], getattr(events, kind)[side]
            assert len(got) == len(clean) and np.abs(np.subtract(got, clean)).max() <= 2
    squat = anny.sequence(model_motion(anny, motion_curves("squat", 90, FPS, seed=1)), "body25")
    assert not gait_events(squat, FPS).found


def test_pelvis_signs_against_the_floor():
    """The whole body pitched forward, tilted to its right and turned to its left by 10 degrees
    reads +10 of pelvis tilt, list and rotation, and no joint moves."""
    from mvmocap.bodymodels.anatomy import anatomy_of
    from mvmocap.geometry import matrix_to_axis_angle

    anny = load_body_model("anny")
    a = anatomy_of(anny)
    base = model_motion(anny, motion_curves("squat", 2, FPS, seed=0))
    base["poses"][:] = 0
    to_world = axis_angle_to_matrix(base["Rh"][0])
    for name, axis in (("pelvis_tilt", a.left), ("pelvis_list", a.anterior), ("pelvis_rotation", a.up)):
        turned = {k: v.copy() for k, v in base.items()}
        turned["Rh"][1] = matrix_to_axis_angle(axis_angle_to_matrix(np.radians(10) * (to_world @ axis)) @ to_world)
        angles = joint_angles(anny, turned, np.arange(2), FPS)
        moved = {n: angles[n][1] - angles[n][0] for n in ANGLE_NAMES
                 if n not in ("pelvis_tx", "pelvis_ty", "pelvis_tz")}
        assert moved.pop(name) == pytest.approx(10, abs=0.01), name
        assert max(abs(v) for v in moved.values()) < 0.01, (name, moved)


@pytest.mark.parametrize("kind", ["anny", "smplx"])
def test_wrist_flexion_and_deviation_of_a_hand_bent_by_hand(kind, tmp_path):
    """Models with hands: a wrist bent by 30 degrees towards the palm reads +30 of flexion, bent
    away from the thumb +30 of (ulnar) deviation, on both hands; the other angles do not move."""
    from mvmocap.angles import WRIST_NAMES
    from mvmocap.bodymodels.anatomy import hand_joints

    if kind == "anny":
        model = load_body_model("anny")
    else:
        path = write_model_file(make_model_arrays("smplx"), tmp_path / "SMPLX_NEUTRAL.npz", "npz")
        model = load_body_model(f"smplx:{path}")
    base = model_motion(model, motion_curves("squat", 1, FPS, seed=0))
    base["poses"][:] = 0
    rest_joints = model.zero_pose_joints()
    still = joint_angles(model, base, np.arange(1), FPS, wrists=True)
    assert still.names[-4:] == WRIST_NAMES
    for side in ("l", "r"):
        joint = hand_joints(model, side)
        wrist, middle, thumb = (rest_joints[joint[k]] for k in ("wrist", "middle1", "thumb1"))
        palm = np.cross(rest_joints[joint["index1"]] - wrist, rest_joints[joint["pinky1"]] - wrist)
        volar = palm if side == "r" else -palm
        along = (wrist - middle) / np.linalg.norm(wrist - middle)
        x = volar - (volar @ along) * along
        x /= np.linalg.norm(x)
        for name, axis in ((f"wrist_flexion_{side}", np.cross(x, along)), (f"wrist_deviation_{side}", x)):
            for sign in (1, -1):
                bent = {k: v.copy() for k, v in base.items()}
                poses = bent["poses"].reshape(1, -1, 3)
                turn = np.radians(30) * sign * axis
                poses[0, list(model.posed_joints).index(joint["wrist"])] = model.pose_frame.T @ turn
                bent["poses"] = poses.reshape(1, -1)
                angles = joint_angles(model, bent, np.arange(1), FPS, wrists=True)
                moved = {n: angles[n][0] - still[n][0] for n in angles.names if not n.startswith("pelvis_t")}
                finger = axis_angle_to_matrix(turn) @ (middle - wrist) - (middle - wrist)
                if name.startswith("wrist_flexion"):
                    towards_palm = finger @ x > 0
                    expected = 30 if towards_palm else -30
                else:
                    from_thumb = finger @ (thumb - wrist) < 0
                    expected = 30 if from_thumb else -30
                assert moved.pop(name) == pytest.approx(expected, abs=0.5), (name, sign)
                assert max(abs(v) for v in moved.values()) < 0.5, (name, moved)
