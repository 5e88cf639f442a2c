"""Board calibration on rendered photographs of known cameras: intrinsics (chessboard, ChArUco),
extrinsics by bundle adjustment, the check images, and bad input."""

import json
import logging
from dataclasses import replace

import cv2
import numpy as np
import pytest

from mvmocap.calib.boards import BoardSpec
from mvmocap.calib.people import (
    PeopleSettings,
    RigCheckError,
    calibrate_from_candidates,
    calibrate_from_people,
    check_rig,
)
from mvmocap.camera import CalibrationError, Camera, CameraRig, load_calibration, read_intrinsics, write_intrinsics
from mvmocap.cli.main import main
from mvmocap.geometry import axis_angle_to_matrix
from mvmocap.metrics import people_errors, pose_errors
from mvmocap.pipeline.calibration import keypoint_reprojection
from mvmocap.skeletons import BODY25
from mvmocap.synthetic import make_capture, ring_rig, write_capture
from mvmocap.synthetic.boards import board_seen_by, boards_in_rig, random_board_poses, write_board_images
from mvmocap.synthetic.motions import generate_motion
from mvmocap.synthetic.multi import multi_detections
from mvmocap.synthetic.observations import observe

SIZE = (960, 540)


def _camera(name, f, dist, centre_offset):
    """A camera whose principal point is ``centre_offset`` px off the image centre (more than the
    test's tolerance, so assuming the centre cannot pass)."""
    K = np.array([[f, 0, SIZE[0] / 2 + centre_offset[0]], [0, f, SIZE[1] / 2 + centre_offset[1]], [0, 0, 1]])
    return Camera(name, K, np.asarray(dist, float), np.eye(3), np.zeros(3), SIZE)


# ChArUco corners are found less precisely than a chessboard's (0.34 vs 0.15 px RMS here).
@pytest.mark.slow
@pytest.mark.parametrize("kind,limit,centre_px", [("chessboard", 0.005, 8.0), ("charuco", 0.01, 8.0)])
def test_intrinsics_from_board_images(tmp_path, kind, limit, centre_px, capsys):
    board = BoardSpec(kind, 8, 5, 0.04, 0.03 if kind == "charuco" else None)
    rng = np.random.default_rng(0)
    rig = CameraRig([_camera("cam1", 760.0, [-0.22, 0.07, 0.0005, -0.0005, 0], (20, -14)),
                     _camera("cam2", 640.0, [0.05, -0.01, 0, 0, 0], (-16, 12))])
    write_board_images(tmp_path, board, rig, {c.name: random_board_poses(board, c, 16, rng=rng, distance=(0.5, 1.2))
                                              for c in rig}, rng=rng, blurred=(3, 9))
    extra = ["--marker", "0.03"] if kind == "charuco" else []
    assert main(["calib", "intrinsics", str(tmp_path), "--board", kind, "--pattern", "8,5", "--square", "0.04",
                 *extra]) == 0
    assert "mvmocap calib intrinsics" in capsys.readouterr().out
    found = read_intrinsics(tmp_path / "intri.yml")
    report = json.loads((tmp_path / "intri_report.json").read_text())
    for cam in rig:
        K, dist, size = found[cam.name]
        assert abs(K[0, 0] / cam.K[0, 0] - 1) < limit and abs(K[1, 1] / cam.K[1, 1] - 1) < limit
        assert np.abs(K[:2, 2] - cam.K[:2, 2]).max() < centre_px and size == SIZE
        assert report[cam.name]["rms_px"] < 0.6
        if kind == "chessboard":  # the two blurred photographs are recognised as such
            assert report[cam.name]["views_skipped"]["blurred"] == 2


def test_the_focal_length_says_how_uncertain_it_is():
    """Issue 28 (a real webcam session: a small board, 16 views, the fit's own focal deviation 1.6%,
    yet leaving views out moved the focal by 6%, and it was 3.9% from caliscope's): the focal's
    uncertainty is also measured by jackknife over the views, and a weak set of views (the board
    nearly square to the camera) says so: ``calib intrinsics`` warns above 2% and says what to film."""
    from mvmocap.calib.boards import BoardDetection
    from mvmocap.calib.intrinsics import BoardView, calibrate_intrinsics

    board = BoardSpec("chessboard", 4, 3, 0.054)
    camera = _camera("cam1", 640.0, [0.15, -0.2, 0, 0, 0], (10, -6))
    rng = np.random.default_rng(4)

    def views(count: int, tilt: float, distance: tuple[float, float]) -> list:
        out = []
        for k, pose in enumerate(random_board_poses(board, camera, count, rng=rng, distance=distance,
                                                    max_tilt_deg=tilt)):
            corners = camera.project(board.object_points() @ pose.R.T + pose.t) + rng.normal(0, 0.3, (board.size, 2))
            out.append(BoardView(f"view {k}", BoardDetection(np.arange(board.size), corners), 1.0))
        return out

    strong = calibrate_intrinsics(views(24, 45.0, (0.25, 0.5)), board, SIZE)
    weak = calibrate_intrinsics(views(12, 10.0, (0.5, 0.8)), board, SIZE)  # 9% off here
    assert strong.focal_uncertainty < 0.02 and abs(strong.K[0, 0] / 640 - 1) < 0.02
    assert weak.focal_uncertainty > 0.04 and abs(weak.K[0, 0] / 640 - 1) > 0.02, weak.focal_uncertainty
    assert np.isfinite(weak.focal_spread) and weak.report()["focal_uncertainty"] == round(weak.focal_uncertainty, 4)


def _extrinsics_capture(root, board, rig, frames, rng):
    poses = boards_in_rig(board, rig, frames, rng=rng)
    write_board_images(root, board, rig, {c.name: [p if c.name in board_seen_by(board, rig, p) else None
                                                   for p in poses] for c in rig}, rng=rng)
    write_intrinsics({c.name: (c.K, c.dist, c.image_size) for c in rig}, root / "intri.yml")


@pytest.mark.slow
def test_extrinsics_by_bundle_adjustment(tmp_path, capsys):
    board = BoardSpec("chessboard", 7, 5, 0.08)
    rig = ring_rig(4, 2.2, image_size=(640, 360), distortion=0.05, seed=1)
    _extrinsics_capture(tmp_path, board, rig, 32, np.random.default_rng(3))
    assert main(["calib", "extrinsics", str(tmp_path), "--board", "chessboard", "--pattern", "7,5",
                 "--square", "0.08", "--origin", "floor"]) == 0
    found = load_calibration(tmp_path)
    centre_mm, angle_deg = pose_errors(rig, found)
    assert centre_mm < 5.0 and angle_deg < 0.1, (centre_mm, angle_deg)
    report = json.loads((tmp_path / "extri_report.json").read_text())
    assert max(report["per_camera_rms_px"].values()) < 1.0
    # The check images: the world origin (--origin floor: the first corner of the board most cameras
    # saw), projected into a camera that sees it, is where the axes are drawn.
    assert main(["calib", "check", str(tmp_path), "--frame", "2"]) == 0
    origin = np.zeros((1, 3))
    viewer = next(c for c in found if c.world_to_camera(origin)[0, 2] > 0 and c.in_image(c.project(origin))[0])
    check = cv2.imread(str(tmp_path / "calib_check" / f"check_{viewer.name}.png"))
    plain = cv2.imread(str(tmp_path / "images" / viewer.name / "000002.png"))
    u, v = np.round(viewer.project(origin)[0]).astype(int)
    assert np.abs(check[v - 3:v + 4, u - 3:u + 4].astype(int) - plain[v - 3:v + 4, u - 3:u + 4]).max() > 60
    assert (tmp_path / "calib_check" / "check_all.png").is_file()


def test_bad_board_input_is_named(tmp_path, caplog):
    board = BoardSpec("chessboard", 7, 5, 0.08)
    rig = ring_rig(3, 3.0, image_size=(640, 360), distortion=0.0, seed=2)
    rng = np.random.default_rng(4)
    poses = boards_in_rig(board, rig, 6, rng=rng)
    seen = {c.name: [p if c.name in board_seen_by(board, rig, p) and c.name != "cam3" else None for p in poses]
            for c in rig}
    write_board_images(tmp_path, board, rig, seen, rng=rng)
    write_intrinsics({c.name: (c.K, c.dist, c.image_size) for c in rig}, tmp_path / "intri.yml")
    with caplog.at_level(logging.ERROR):
        assert main(["calib", "extrinsics", str(tmp_path), "--board", "chessboard", "--pattern", "6,5",
                     "--square", "0.08"]) == 2
        assert "the board was found in none of the frames searched; check --board" in caplog.text
        caplog.clear()
        assert main(["calib", "extrinsics", str(tmp_path), "--board", "chessboard", "--pattern", "7,5",
                     "--square", "0.08"]) == 2
        assert "['cam3'] never saw the board; they cannot be placed" in caplog.text
        caplog.clear()
        assert main(["calib", "intrinsics", str(tmp_path), "--board", "chessboard", "--pattern", "9,9",
                     "--square", "0.08", "--cams", "cam1"]) == 2
        assert "found in none of the 6 frames" in caplog.text and "--pattern" in caplog.text
        caplog.clear()
        assert main(["calib", "intrinsics", str(tmp_path), "--board", "charuco", "--pattern", "7,5",
                     "--square", "0.08"]) == 2
        assert "--marker must be given" in caplog.text
        caplog.clear()
        (tmp_path / "no_intrinsics").mkdir()
        assert main(["calib", "people", str(tmp_path / "no_intrinsics")]) == 2
        assert "intri.yml: not found: run 'mvmocap calib intrinsics' first" in caplog.text


@pytest.mark.slow
def test_people_calibration_places_the_cameras(tmp_path):
    """4 cameras, a person moving for 150 frames, 4 px noise and 5% outliers in their 2D keypoints."""
    capture = make_capture(frames=150, cameras=4, noise_px=4.0, outlier_ratio=0.05, seed=5, image_size=(1280, 720))
    result = calibrate_from_people(capture.keypoints2d, [(c.K, c.dist, c.image_size) for c in capture.rig],
                                   capture.rig.names, PeopleSettings(height=capture.spec.height, max_frames=50))
    centre_mm, rot_deg, scale_err = people_errors(capture.rig, result.rig)
    assert centre_mm < 30 and rot_deg < 0.5 and abs(scale_err) < 0.05, (centre_mm, rot_deg, scale_err)
    assert not result.unplaced and max(result.per_camera_median_px.values()) < 6
    heights = np.array([c.center[2] for c in result.rig])  # the floor frame: cameras at their true heights
    assert np.abs(heights - np.array([c.center[2] for c in capture.rig])).max() < 0.15


def test_people_calibration_needs_two_cameras_seeing_the_person():
    capture = make_capture(frames=60, cameras=3, seed=6, image_size=(1280, 720))
    keypoints = capture.keypoints2d.copy()
    keypoints[:, 1:, :, 2] = 0  # only the first camera sees anyone
    with pytest.raises(CalibrationError, match="too few frames"):
        calibrate_from_people(keypoints, [(c.K, c.dist, c.image_size) for c in capture.rig], capture.rig.names)


def test_still_person_and_the_check_of_keypoint_reprojection(tmp_path):
    capture = make_capture(frames=60, cameras=3, seed=7, image_size=(1280, 720), outlier_ratio=0.0)
    still = np.repeat(capture.keypoints2d[:1], 60, axis=0)
    with pytest.raises(CalibrationError, match="nobody moves"):
        calibrate_from_people(still, [(c.K, c.dist, c.image_size) for c in capture.rig], capture.rig.names)
    root = write_capture(capture, tmp_path / "capture")
    good = keypoint_reprojection(capture.rig, root / "annots")
    shifted = CameraRig([Camera(c.name, c.K, c.dist, c.R, c.t + ([0.1, 0, 0] if c.name == "cam2" else 0), c.image_size)
                         for c in capture.rig])
    bad = keypoint_reprojection(shifted, root / "annots")
    assert max(good.values()) < 5 and bad["cam2"] > 2 * good["cam2"]


def _two_people_with_swaps(seed: int):
    """A 4-camera capture of the subject, a second person walking through frames 40-109 who is the
    more confident detection in two views then, and one view labelling the subject's left and right
    the other way for frames 20-69 (what real detectors do): (capture, (F, V, 2, 25, 3) candidates)."""
    capture = make_capture(frames=150, cameras=4, noise_px=3.0, outlier_ratio=0.02, seed=seed, image_size=(1280, 720))
    subject = capture.keypoints2d.copy()
    other = generate_motion("walk", 150, 30.0, 1.6, radius=0.6, seed=seed + 7) + np.array([0.8, -0.5, 0])
    second = observe(capture.rig, other, "body25", 3.0, 0.02, 0.05, seed=seed + 8).keypoints2d
    second[:40] = 0
    second[110:] = 0
    subject[40:110, [0, 2], :, 2] *= 0.5
    subject[20:70, 1] = subject[20:70, 1][:, BODY25.flip_index]
    return capture, np.stack([subject, second], 2)


@pytest.mark.slow
def test_people_calibration_with_a_second_person_and_left_right_swaps():
    """The most confident person of each view-frame (the old choice) placed the cameras 129 mm and
    2.4 degrees off here, and wrote them; the subject chosen across views, left/right decided,
    within 10 mm."""
    capture, candidates = _two_people_with_swaps(5)
    result, keypoints = calibrate_from_candidates(candidates, [(c.K, c.dist, c.image_size) for c in capture.rig],
                                                  capture.rig.names,
                                                  PeopleSettings(height=capture.spec.height, max_frames=50))
    centre_mm, rot_deg, scale_err = people_errors(capture.rig, result.rig)
    assert centre_mm < 10 and rot_deg < 0.3 and abs(scale_err) < 0.05, (centre_mm, rot_deg, scale_err)
    assert result.checks["passed"] and max(result.checks["asymmetry"].values()) < 0.02
    assert result.subject["round_2"]["view_frames_with_left_right_fixed"] >= 40  # the swapped stretch, undone
    assert np.allclose(keypoints[30, 1, :, :2], capture.keypoints2d[30, 1, :, :2])


@pytest.mark.slow
def test_people_calibration_of_two_people_walking_the_whole_time():
    """Issue 28 (a real two-person capture: the first rig took the most confident person of each
    view-frame, who was another person in another view, and the rig was refused with its keypoints
    agreeing "in 14 places only"): two people walk through the whole take, equally confident, in
    another slot order in every view. The first rig is made from one detector track per view,
    the tracks chosen by how much of everyone the rig they give explains: the cameras come out
    within 3 mm and 0.04 degrees. The old choice gave a rig that failed its checks (left and
    right forearms 6% apart) and was not written."""
    capture = make_capture(frames=120, cameras=4, noise_px=2.0, outlier_ratio=0.0, seed=11, image_size=(1280, 720))
    other = generate_motion("walk", 120, 30.0, 1.6, radius=1.2, seed=4) + np.array([0.9, -0.6, 0])
    candidates = multi_detections(capture.rig, np.stack([capture.points3d, other]), noise_px=2.0, seed=3)
    result, _ = calibrate_from_candidates(candidates, [(c.K, c.dist, c.image_size) for c in capture.rig],
                                          capture.rig.names, PeopleSettings(height=capture.spec.height, max_frames=40))
    centre_mm, rot_deg, scale_err = people_errors(capture.rig, result.rig)
    assert centre_mm < 20 and rot_deg < 0.5, (centre_mm, rot_deg, scale_err)
    assert result.checks["passed"] and len(result.subject["first"]["detector_track_per_camera"]) == 4


@pytest.mark.slow
def test_people_calibration_from_two_people_who_stay_in_place():
    """Issue 28 (the Pose2Sim capture: two people exercising on one spot for 1.7 s, refused as "the
    person hardly moves"): one person squats, the other waves their arms, neither walks. The first
    rig comes from one person (on every joint: the swap-proof points of a person in place lie near
    one plane, and the cameras came out 100 degrees off on them), then everyone is followed with it
    and the cameras adjusted to both people at once, round after round: within 15 mm and 0.3
    degrees. The old code refused."""
    capture = make_capture(frames=60, cameras=4, noise_px=3.0, outlier_ratio=0.0, seed=12, image_size=(1280, 720))
    squatting = generate_motion("squat", 60, 30.0, 1.75, radius=0.05, seed=12) + np.array([-0.5, 0.3, 0])
    waving = generate_motion("arms", 60, 30.0, 1.75, radius=0.05, seed=13) + np.array([0.6, -0.4, 0])
    candidates = multi_detections(capture.rig, np.stack([squatting, waving]), noise_px=3.0, seed=3)
    result, _ = calibrate_from_candidates(candidates, [(c.K, c.dist, c.image_size) for c in capture.rig],
                                          capture.rig.names, PeopleSettings(height=1.75, max_frames=30))
    centre_mm, rot_deg, scale_err = people_errors(capture.rig, result.rig)
    assert centre_mm < 15 and rot_deg < 0.3 and abs(scale_err) < 0.05, (centre_mm, rot_deg, scale_err)
    assert result.checks["passed"] and result.subject["round_1"]["people_adjusted"] == 2


def test_a_bystander_standing_still_counts_for_little_and_an_unsettled_rig_is_refused():
    """Issue 28, the Pose2Sim capture: the first rig was made on a bystander standing by the wall in
    two views (their track, seen in every frame, ranked first) and the woman in the other two; the
    rounds turned the cameras 3-5 degrees each and the rig, 70 degrees off, passed its checks and
    was written. Tracks are now ranked by the distinct places they give (a joint held still counts
    once), and a rig still turning in its last round is refused."""
    from mvmocap.calib.people import _distinct_places

    capture = make_capture(frames=40, cameras=4, noise_px=0.5, outlier_ratio=0.0, seed=12, image_size=(1280, 720))
    still = np.repeat(capture.points3d[:1], 40, axis=0) + np.array([1.5, 1.0, 0])
    candidates = multi_detections(capture.rig, np.stack([capture.points3d, still]), noise_px=0.5, seed=3)
    intrinsics = [(c.K, c.dist, c.image_size) for c in capture.rig]
    places = [sorted(_distinct_places(candidates[:, v, p], intrinsics[v], PeopleSettings()) for p in range(2))
              for v in range(4)]
    assert all(low <= 2 * 25 < 4 * 25 <= high for low, high in places), places  # still: a place or two a joint
    settings = PeopleSettings(height=capture.spec.height, max_frames=20, rounds=1, max_last_turn_deg=1e-4)
    with pytest.raises(RigCheckError, match="the rig is not settled"):
        calibrate_from_candidates(candidates, intrinsics, capture.rig.names, settings)


def test_a_wrong_rig_fails_its_checks_and_is_not_written():
    capture = make_capture(frames=60, cameras=4, noise_px=2.0, outlier_ratio=0.0, seed=8, image_size=(1280, 720))
    settings = PeopleSettings(height=capture.spec.height)
    assert check_rig(capture.rig, capture.keypoints2d, settings)["passed"]
    turn = axis_angle_to_matrix(np.radians([0, 3.0, 0]))  # cam3 turned 3 degrees about its own centre
    turned = CameraRig([c if c.name != "cam3" else Camera(c.name, c.K, c.dist, turn @ c.R, -turn @ c.R @ c.center,
                                                          c.image_size) for c in capture.rig])
    with pytest.raises(RigCheckError, match=r"cameras the others do not predict: held-out error \{'cam3'"):
        check_rig(turned, capture.keypoints2d, settings)
    with pytest.raises(RigCheckError, match=r"limbs out of proportion to a 3.\d\d m person"):
        check_rig(capture.rig, capture.keypoints2d, replace(settings, height=2 * capture.spec.height))


def test_left_and_right_limbs_may_differ_as_much_as_they_vary():
    """On the Pose2Sim capture the rig that predicts every camera best (12 px held out, against 85 px
    for the lab's calibration) measured one forearm 6.4% longer than the other: the detector's left
    wrist wanders (its forearm's length varies 11% over the frames) and sits a little off on
    average. The check refused it (at most 5%); now a limb may differ as much as its length varies,
    up to 10%. Past that, and where the lengths hold steady, it still fails."""
    capture = make_capture(frames=60, cameras=4, noise_px=1.0, outlier_ratio=0.0, seed=8, image_size=(1280, 720))
    settings = PeopleSettings(height=capture.spec.height)
    elbow, wrist = BODY25.index("LElbow"), BODY25.index("LWrist")

    def forearm_stretched(mean: float, spread: float) -> np.ndarray:
        points = capture.points3d.copy()
        factor = mean + spread * np.random.default_rng(0).standard_normal(len(points))[:, None]
        points[:, wrist] = points[:, elbow] + factor * (points[:, wrist] - points[:, elbow])
        return observe(capture.rig, points, "body25", 1.0, 0.0, 0.0, seed=1).keypoints2d

    figures = check_rig(capture.rig, forearm_stretched(1.065, 0.12), settings)
    assert figures["asymmetry"]["Elbow-Wrist"] > 0.05 and figures["asymmetry_allowed"]["Elbow-Wrist"] > 0.065
    with pytest.raises(RigCheckError, match="left and right limbs differ: {'Elbow-Wrist'"):
        check_rig(capture.rig, forearm_stretched(1.065, 0.0), settings)  # steady lengths: 5% allowed
    with pytest.raises(RigCheckError, match="left and right limbs differ: {'Elbow-Wrist'"):
        check_rig(capture.rig, forearm_stretched(1.15, 0.3), settings)  # never more than 10%


def test_refine_a_calibration_whose_cameras_moved():
    """A board calibration made before two cameras were knocked (cam2 turned 3 degrees, cam4 moved
    10 cm): refined to the two people filmed, the poses come back to the truth in the given world
    frame, and the check on frames it was not refined on says so."""
    from mvmocap.calib.people import refine_rig

    capture, candidates = _two_people_with_swaps(5)
    turn = axis_angle_to_matrix(np.radians([0, 3.0, 0]))
    knocked = []
    for c in capture.rig:
        if c.name == "cam2":
            c = Camera(c.name, c.K, c.dist, turn @ c.R, -turn @ c.R @ c.center, c.image_size)
        elif c.name == "cam4":
            c = Camera(c.name, c.K, c.dist, c.R, -c.R @ (c.center + [0.1, 0.0, 0.0]), c.image_size)
        knocked.append(c)
    refined, report = refine_rig(CameraRig(knocked), candidates[:100], PeopleSettings(max_frames=50, rounds=1),
                                 fps=30.0)
    check = report["validation"]
    assert report["association"]["people"] == 2
    assert check["heldout_px_refined"]["heldout_px"] < 0.5 * check["heldout_px_given"]["heldout_px"]
    centre_mm, rot_deg, scale_err = people_errors(capture.rig, refined)  # the layout, up to a similarity
    assert centre_mm < 15 and rot_deg < 0.3 and abs(scale_err) < 0.02, (centre_mm, rot_deg, scale_err)
    for cam, truth in zip(refined, capture.rig, strict=True):  # in the given world frame (the knocked camera
        assert np.linalg.norm(cam.center - truth.center) < 0.06, cam.name  # moves it a little)
    assert report["moved"]["cam2"]["rotation_deg"] > 2.5  # turned back
