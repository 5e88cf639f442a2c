"""Camera extrinsics from one person moving through the volume: no board.

The person's 2D body keypoints are correspondences between views (the same joint at the same
time), and their bones do not stretch, which is what makes a person a calibration object:

1. Keypoints undistorted to normalised coordinates; a joint counts where its confidence is at
   least ``min_confidence`` in both views.
2. The cameras are placed twice, and the placement under which more of the person's keypoints
   agree is kept: on points that a left/right label swap does not move, the centre joints (nose,
   neck, mid-hip) and the midpoint of every left/right pair (real detectors swap left and right
   for stretches of frames in one view, which would poison the geometry), and on every joint (the
   swap-proof points of a person who stays in place lie near one plane, the body's midline, which
   leaves the geometry ambiguous). Each time the camera pair with most correspondences starts: its
   essential matrix by RANSAC (``cv2.findEssentialMat``, threshold ``ransac_px`` over the focal
   length), the pose recovered, the keypoints triangulated. Each next camera (most correspondences
   with triangulated keypoints first) is placed by PnP with RANSAC on them, and the keypoints are
   triangulated again from every placed camera (robust: a joint's views that disagree by more than
   ``ransac_px`` x 4 are left out).
3. A sparse bundle adjustment of all camera poses, the 3D keypoints of up to ``max_frames``
   frames and one length per bone, left and right sharing theirs: reprojection residuals (pixels,
   soft-L1 at ``ransac_px``) plus ``bone_weight`` x (|X_a - X_b| - L_bone) for every bone of every
   frame (metres).
4. Scale: the fitted bones give a standing height (``HEIGHT_FROM_BONES`` x the heel-to-nose
   chain of bones, an adult's typical ratio); everything is scaled so it equals ``height``. The
   scale is as good as that ratio is for this person (a few percent), and approximate unless the
   person's real height is given.
5. World frame: the floor is the plane through the lowest foot keypoints over the sequence (a
   RANSAC plane within 15 degrees of the trunk's median direction, 3 cm inliers; z up, towards the
   head), the origin under the person's mean position, x towards the first camera.

:func:`calibrate_from_candidates` wraps this for real footage, where every view shows several
people and swaps left and right: a first rig from one detector track per view (the swap-proof
points above keep it close). The tracks are chosen without a rig: for the three views seen most,
every combination of their most seen tracks gives a rig (step 2), scored by how much of everyone
it explains (the tracks of each two views paired one to one, the points near their epipolar
lines counted): a rig made from different people in different views explains its own wrong
pairing, the right one explains everyone at once; each further view's track is then chosen the
same way. (The most confident person of each view-frame, taken before, was another person in
another view on a real two-person capture.) Then, round after round (at most ``rounds``, until no
camera turns by ``converged_deg``), everyone is followed across the views with the rig
(:func:`mvmocap.associate.track_people`), each person's left/right labels decided against the other
views (:func:`mvmocap.associate.fix_left_right`), the cameras adjusted to everyone at once (step 3,
each person with their own bone lengths), and the result scaled and framed by the subject chosen
across views (:func:`mvmocap.associate.choose_subject`: bystanders drop out). Everyone, because
people who stay in place (exercising on one spot, as in a lab) give the cameras little to hold on
one at a time: on a real two-person capture the first rig was 6 degrees off and these rounds
brought it within 0.2 degrees of a calibration refined from the lab's. :func:`check_rig` then
judges the result before anything is written: cameras in front of the person, left and right bones
alike, body proportions, every camera predicted by the others; a rig that fails is an error naming
the check and its figures; so is a rig whose cameras still turn by more than ``max_last_turn_deg``
in the last round (not settled: on a real capture, a first rig made on a bystander standing by the
wall wandered 3-5 degrees a round and ended 70 degrees off). Someone must move: detections in which
everyone's hips stay in place are refused before any of this. The first tracks are ranked, and the
rigs scored, by distinct places (a joint held still counts once, however many frames see it).
"""

from __future__ import annotations

import itertools
import logging
import warnings
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from scipy.optimize import least_squares, linear_sum_assignment
from scipy.sparse import csr_matrix

from mvmocap.associate import choose_subject, fix_left_right, track_people
from mvmocap.calib.poses import compose, invert, rotation_angle_deg, similarity
from mvmocap.camera import CalibrationError, Camera, CameraRig
from mvmocap.camera.distortion import distort, undistort
from mvmocap.geometry import axis_angle_to_matrix, essential_matrix, matrix_to_axis_angle
from mvmocap.skeletons import BODY25
from mvmocap.triangulate import heldout_errors, heldout_summary, triangulate

__all__ = ["PeopleSettings", "PeopleResult", "calibrate_from_people", "calibrate_from_candidates", "check_rig",
           "RigCheckError", "measured_height", "HEIGHT_FROM_BONES"]

log = logging.getLogger(__name__)

# Standing height / (heel-ankle-knee-hip-midhip-neck-nose chain, along the bones) for an adult:
# anthropometric segment ratios (heel-ankle 0.04, shank 0.25, thigh 0.245, half pelvis 0.05, trunk
# 0.29, neck-nose 0.075 of the height) give 1/0.95 = 1.05; mvmocap's synthetic skeleton gives 1.02.
HEIGHT_FROM_BONES = 1.04
_CHAIN = [("LHeel", "LAnkle"), ("LAnkle", "LKnee"), ("LKnee", "LHip"), ("LHip", "MidHip"), ("MidHip", "Neck"),
          ("Neck", "Nose")]
_FEET = ("LHeel", "RHeel", "LBigToe", "RBigToe", "LSmallToe", "RSmallToe", "LAnkle", "RAnkle")
_EVERY_JOINT_GAIN = 1.25  # the first placement on every joint is kept when this many times as many keypoints agree
_PLACE = 0.01  # normalised image units (1% of the focal length): observations nearer count as one place
_SWAP_PROOF_POINTS = len(np.flatnonzero(BODY25.flip_index >= np.arange(len(BODY25.flip_index))))  # per frame
_FIRST_TRACKS = 3  # per view, the detector tracks (most seen first) the first rig is tried on
# Limbs as a fraction of the standing height (Drillis and Contini's segment ratios), for the checks.
_PROPORTIONS = {("RHip", "RKnee"): 0.245, ("RKnee", "RAnkle"): 0.246, ("RShoulder", "RElbow"): 0.186,
                ("RElbow", "RWrist"): 0.146}


@dataclass(frozen=True)
class PeopleSettings:
    height: float = 1.70
    min_confidence: float = 0.3
    ransac_px: float = 3.0
    max_frames: int = 150
    bone_weight: float = 200.0  # pixels of reprojection residual per metre of bone-length change
    min_correspondences: int = 60
    min_travel: float = 0.03  # the hips' spread in the image, as a fraction of its diagonal
    rounds: int = 6  # at most: everyone followed with the rig, left/right decided, the rig adjusted to them
    converged_deg: float = 0.05  # the rounds stop when no camera turned more than this in the last one
    max_last_turn_deg: float = 1.0  # a rig whose cameras still turn more in the last round is refused
    threshold_fraction: float = 0.018  # triangulation inlier threshold, of each camera's image diagonal
    # The checks of a rig before it is written (check_rig):
    min_in_front: float = 0.9  # of a camera's observations of the person, the fraction in front of it
    max_asymmetry: float = 0.05  # |left - right| / mean of twin limbs, triangulated (median over frames)
    proportion_range: tuple[float, float] = (0.6, 1.6)  # a limb / height, over its typical ratio
    max_heldout_ratio: float = 2.0  # a camera's held-out error over the median of the cameras


@dataclass(frozen=True)
class PeopleResult:
    rig: CameraRig
    per_camera_median_px: dict[str, float]  # the median reprojection error (detector outliers kept)
    correspondences: dict[str, int]
    bone_lengths: dict[str, float]
    unplaced: list[str]
    checks: dict = field(default_factory=dict)  # check_rig's figures
    subject: dict = field(default_factory=dict)  # how the subject was chosen (calibrate_from_candidates)

    def report(self) -> dict:
        return {"per_camera_median_px": self.per_camera_median_px, "correspondences": self.correspondences,
                "bone_lengths_m": self.bone_lengths, "cameras_not_placed": self.unplaced, "checks": self.checks,
                "subject": self.subject}


def _triangulate(poses: dict[int, tuple[np.ndarray, np.ndarray]], xy: np.ndarray, seen: np.ndarray,
                 gate: float) -> np.ndarray:
    """(N, 3) points from normalised observations ``xy`` (N, V, 2) of the placed cameras ``poses``
    ({view: world -> camera}); NaN where fewer than two views agree within ``gate``. Each point is
    solved (linear, all its views at once), its worst view dropped if it disagrees, and solved again."""
    views = sorted(poses)
    P = np.stack([np.concatenate([poses[v][0], poses[v][1][:, None]], 1) for v in views])  # (W, 3, 4)
    x, use = xy[:, views], seen[:, views].copy()  # (N, W, 2), (N, W)
    out = np.full((len(xy), 3), np.nan)
    pending = np.ones(len(xy), bool)
    for _ in range(2):  # solve, drop the worst view if it disagrees, solve again
        rows = np.flatnonzero(pending & (use.sum(1) >= 2))
        if not len(rows):
            break
        xr, ur = x[rows], use[rows]
        A = np.concatenate([xr[..., :1] * P[:, 2] - P[:, 0], xr[..., 1:] * P[:, 2] - P[:, 1]], 1)  # (n, 2W, 4)
        A = A * np.concatenate([ur, ur], 1)[..., None]  # a view not used: zero rows, the same null space
        X = np.linalg.svd(A)[2][:, -1]
        solved = np.abs(X[:, 3]) >= 1e-12
        pending[rows[~solved]] = False
        rows, X, xr, ur = rows[solved], X[solved, :3] / X[solved, 3:], xr[solved], ur[solved]
        c = np.einsum("wij,nj->nwi", P[:, :, :3], X) + P[:, :, 3]  # (n, W, 3)
        with np.errstate(divide="ignore", invalid="ignore"):
            errors = np.linalg.norm(c[..., :2] / c[..., 2:] - xr, axis=-1)
        errors = np.where(c[..., 2] > 0, errors, np.inf)
        errors = np.where(ur, errors, -np.inf)
        worst = np.argmax(errors, axis=1)
        agree = errors[np.arange(len(rows)), worst] <= gate
        out[rows[agree]] = X[agree]
        pending[rows[agree]] = False
        use[rows[~agree], worst[~agree]] = False
    return out


def calibrate_from_people(keypoints2d: np.ndarray, intrinsics: list[tuple[np.ndarray, np.ndarray, tuple]],
                          names: list[str], settings: PeopleSettings | None = None) -> PeopleResult:
    """``keypoints2d`` (F, V, 25, 3) body25 pixels + confidence of one person in synchronised
    views; ``intrinsics[v]`` = (K, dist, (W, H)) of view v named ``names[v]``."""
    s = settings or PeopleSettings()
    _check_someone_moves(keypoints2d[:, :, None], intrinsics, names, s)
    return _solved(keypoints2d, intrinsics, names, s)


def _check_someone_moves(candidates: np.ndarray, intrinsics: list[tuple[np.ndarray, np.ndarray, tuple]],
                         names: list[str], s: PeopleSettings) -> None:
    """Refuse (F, V, P, 25, 3) detections in which nobody moves: every detector track's hips stay
    within ``s.min_travel`` of the image diagonal (their spread over the frames, x and y added) in
    every view. One pose held still gives the views too little to place the cameras on."""
    hip = BODY25.index("MidHip")
    hips = np.where(candidates[..., hip, 2:3] >= s.min_confidence, candidates[..., hip, :2], np.nan)
    enough = (np.isfinite(hips[..., 0]).sum(0) >= 2)[..., None]  # (V, P, 1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # tracks seen in fewer than two frames
        spread = np.where(enough, np.nanstd(hips, axis=0), np.nan).sum(-1)  # (V, P)
    diagonals = np.array([np.hypot(*size) if size else 2 * K[0, 2] * 1.15 for K, _, size in intrinsics])
    travel = spread / diagonals[:, None]
    if np.all(~np.isfinite(travel) | (travel < s.min_travel)):
        raise CalibrationError(names[0], "nobody moves in any view (everyone's hips stay within "
                                         f"{100 * s.min_travel:.0f}% of the image); people calibration needs someone "
                                         "walking through the volume")


def _solved(keypoints2d: np.ndarray, intrinsics: list[tuple[np.ndarray, np.ndarray, tuple]], names: list[str],
            s: PeopleSettings) -> PeopleResult:
    """Steps 1-5 of the module docstring on one person's (F, V, 25, 3) keypoints."""
    kp, xy, seen = _normalised(keypoints2d, intrinsics, s)  # seen: (F, V, J)
    F, V, J = seen.shape
    focal = float(np.mean([K[0, 0] for K, _, _ in intrinsics]))
    gate = s.ransac_px / focal
    counts = {v: int(seen[:, v].sum()) for v in range(V)}
    never = [names[v] for v in range(V) if counts[v] < s.min_correspondences]
    if len(never) > V - 2:
        raise CalibrationError(names[0], f"the person is seen in too few frames by {never}; people calibration "
                                         "needs two or more cameras that see them moving at the same time")
    poses, points = _first_poses(xy, seen, names, gate, s)
    if np.isfinite(points[:, 0]).sum() < s.min_correspondences:
        raise CalibrationError(names[min(poses)], f"the person's keypoints agree between the cameras placed "
                               f"({[names[v] for v in sorted(poses)]}) in {int(np.isfinite(points[:, 0]).sum())} "
                               "places only: the views do not see one person moving at the same time (cameras "
                               "out of step: give ROOT/sync.yml)")
    unplaced = [names[v] for v in range(V) if v not in poses]
    for name in unplaced:
        log.warning("camera %s could not be placed from the person (too few shared views)", name)
    placed = sorted(poses)
    poses, points, bones = _bundle_adjust(poses, points.reshape(F, J, 3), xy, seen, intrinsics, s)
    # Scale from the height, then the floor frame.
    index = {n: i for i, n in enumerate(BODY25.joints)}
    chain = _chain_length(bones)
    if not np.isfinite(chain):
        raise CalibrationError(names[placed[0]], "the person's legs, hips and head were not reconstructed: "
                                                 "cannot set the scale from their height")
    scale = s.height / (HEIGHT_FROM_BONES * chain)
    points = points * scale
    poses = {v: (R, t * scale) for v, (R, t) in poses.items()}
    bones = {k: L * scale for k, L in bones.items()}
    world_from_old = _floor_frame(points, index, poses[placed[0]])
    cameras, median, corr = [], {}, {}
    for v in range(V):
        K, dist, size = intrinsics[v]
        if v not in poses:
            continue
        pose = compose(poses[v], invert(world_from_old))
        cameras.append(Camera(names[v], K, dist, pose[0], pose[1], size))
        error = np.linalg.norm(_pixel_residuals(poses[v], points, kp[:, v], seen[:, v], K, dist), axis=-1)
        error = error[np.isfinite(error)]
        median[names[v]] = float(np.median(error)) if error.size else float("nan")
        corr[names[v]] = int(seen[:, v].sum())
    return PeopleResult(CameraRig(cameras), median, corr, bones, unplaced)


def _swap_proof(xy: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F * K, V, 2) and (F * K, V) rows of the points that left/right swaps leave in place: the
    centre joints and the midpoint of each left/right pair, from (F, V, J, 2) ``xy``."""
    flip = BODY25.flip_index
    centre = np.flatnonzero(flip == np.arange(len(flip)))
    left = np.flatnonzero(flip > np.arange(len(flip)))
    mid_xy = np.concatenate([xy[:, :, centre], (xy[:, :, left] + xy[:, :, flip[left]]) / 2], 2)
    mid_seen = np.concatenate([seen[:, :, centre], seen[:, :, left] & seen[:, :, flip[left]]], 2)
    F, V, K = mid_seen.shape
    return mid_xy.transpose(0, 2, 1, 3).reshape(F * K, V, 2), mid_seen.transpose(0, 2, 1).reshape(F * K, V)


def _first_poses(xy: np.ndarray, seen: np.ndarray, names: list[str], gate: float, s: PeopleSettings
                 ) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Step 2 of the module docstring on (F, V, J, 2) normalised keypoints seen as (F, V, J):
    the cameras placed on the swap-proof points, and on every joint; the latter kept only where
    ``_EVERY_JOINT_GAIN`` times as many of the person's keypoints agree under it (the swap-proof
    points of a person who stays in place lie near one plane, the body's midline, on which the
    views' geometry is ambiguous: cameras 100 degrees off and a quarter of the keypoints agreeing
    on a synthetic person squatting; every joint has depth, but a stretch of frames labelled the
    other way round in one view misleads it). Returns the poses and the (F * J, 3) keypoints
    triangulated with them (NaN where the views disagree)."""
    F, V, J = seen.shape
    flat_xy = xy.transpose(0, 2, 1, 3).reshape(F * J, V, 2)  # (frame, joint) rows, one column per view
    flat_seen = seen.transpose(0, 2, 1).reshape(F * J, V)
    placed, failure = [], None
    for rows in (_swap_proof(xy, seen), (flat_xy, flat_seen)):
        try:
            poses = _place_cameras(*rows, names, gate, s)
        except CalibrationError as err:
            failure = err
            continue
        points = _triangulate(poses, flat_xy, flat_seen, 4 * gate)
        placed.append((int(np.isfinite(points[:, 0]).sum()), poses, points))
    if not placed:
        raise failure
    if len(placed) == 2 and placed[1][0] < _EVERY_JOINT_GAIN * placed[0][0]:
        placed = placed[:1]  # the swap-proof placement, unless every joint does clearly better
    return placed[-1][1:]


def _place_cameras(flat_xy: np.ndarray, flat_seen: np.ndarray, names: list[str], gate: float,
                   s: PeopleSettings) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Step 2 of the module docstring on (N, V, 2) normalised points seen as (N, V): world ->
    camera poses of the cameras that could be placed, the first of the starting pair at the origin."""
    V = flat_xy.shape[1]
    pairs = {(a, b): int((flat_seen[:, a] & flat_seen[:, b]).sum()) for a in range(V) for b in range(a + 1, V)}
    (a, b), shared = max(pairs.items(), key=lambda item: item[1])
    if shared < s.min_correspondences:
        raise CalibrationError(names[a], f"no two cameras see the person at the same time often enough "
                               f"(best: {names[a]}-{names[b]} with {shared} joint observations)")
    both = flat_seen[:, a] & flat_seen[:, b]
    cv2.setRNGSeed(0)  # RANSAC draws from OpenCV's global generator: the same detections, the same rig
    E, mask = cv2.findEssentialMat(flat_xy[both, a], flat_xy[both, b], np.eye(3), cv2.RANSAC, 0.999, gate)
    if E is None:
        raise CalibrationError(names[a], "no essential matrix fits the person's keypoints (does the person move?)")
    _, R, t, _ = cv2.recoverPose(E[:3], flat_xy[both, a], flat_xy[both, b], np.eye(3), mask=mask)
    poses = {a: (np.eye(3), np.zeros(3)), b: (R, t.reshape(3))}
    points = _triangulate(poses, flat_xy, flat_seen, 4 * gate)
    while len(poses) < V:
        candidates = {v: int((flat_seen[:, v] & np.isfinite(points[:, 0])).sum()) for v in range(V) if v not in poses}
        v = max(candidates, key=candidates.get)
        if candidates[v] < s.min_correspondences // 2:
            break
        use = flat_seen[:, v] & np.isfinite(points[:, 0])
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(points[use], flat_xy[use, v], np.eye(3), None,
                                                     reprojectionError=gate, iterationsCount=500,
                                                     flags=cv2.SOLVEPNP_EPNP)
        if not ok or inliers is None or len(inliers) < 12:
            break
        poses[v] = (axis_angle_to_matrix(rvec.reshape(3)), tvec.reshape(3))
        points = _triangulate(poses, flat_xy, flat_seen, 4 * gate)
    return poses


def _spread(count: int, s: PeopleSettings) -> slice:
    """Every ``max(1, count // s.max_frames)``-th of ``count`` frames."""
    return slice(None, None, max(1, count // s.max_frames))


def _normalised(keypoints2d: np.ndarray, intrinsics: list[tuple[np.ndarray, np.ndarray, tuple]],
                s: PeopleSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kp, xy, seen): at most ``s.max_frames`` evenly spread frames of (F, V, J, 3)
    ``keypoints2d`` (:func:`_spread`), their undistorted normalised coordinates (F', V, J, 2)
    and which are seen."""
    kp = keypoints2d[_spread(len(keypoints2d), s)]
    seen = kp[..., 2] >= s.min_confidence
    xy = np.zeros(kp.shape[:-1] + (2,))
    for v, (K, dist, _) in enumerate(intrinsics):
        norm = (kp[:, v, :, :2] - K[:2, 2]) / np.diag(K)[:2]
        xy[:, v] = undistort(norm, dist) if np.any(dist) else norm
    return kp, xy, seen


def _adjusted(rig: CameraRig, keypoints2d: np.ndarray, owners: np.ndarray, s: PeopleSettings) -> CameraRig:
    """``rig``'s poses and people's (N, V, 25, 3) keypoints bundle-adjusted together from ``rig``
    (intrinsics kept; ``owners`` (N,): whose body each row is, each with their own bone lengths;
    the first camera held, the others' frame as the adjustment leaves it)."""
    intrinsics = [(c.K, c.dist, c.image_size) for c in rig]
    kp, xy, seen = _normalised(keypoints2d, intrinsics, s)
    owners = np.unique(owners[_spread(len(keypoints2d), s)], return_inverse=True)[1]
    F, V, J = seen.shape
    poses = {v: (c.R, c.t) for v, c in enumerate(rig)}
    gate = s.ransac_px / float(np.mean([c.K[0, 0] for c in rig]))
    flat_xy = xy.transpose(0, 2, 1, 3).reshape(F * J, V, 2)
    points = _triangulate(poses, flat_xy, seen.transpose(0, 2, 1).reshape(F * J, V), 8 * gate)
    if np.isfinite(points[:, 0]).sum() < s.min_correspondences:
        raise CalibrationError(rig.names[0], f"the person's keypoints agree between the cameras in "
                               f"{int(np.isfinite(points[:, 0]).sum())} places only: the calibration given is too "
                               "far off to refine, or the views do not see the person at the same moments")
    adjusted, _, _ = _bundle_adjust(poses, points.reshape(F, J, 3), xy, seen, intrinsics, s, owners)
    return CameraRig([Camera(c.name, c.K, c.dist, *adjusted[v], c.image_size) for v, c in enumerate(rig)])


def _everyone(rig: CameraRig, candidates: np.ndarray, s: PeopleSettings, *, fps: float,
              skeleton: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Everyone in ``candidates`` (F, V, P, 25, 3) followed across views with ``rig``
    (:func:`mvmocap.associate.track_people`), each person's left/right decided: their seen frames
    stacked, (N, V, 25, 3), whose body each row is (N,), and the association's report."""
    everyone = track_people(rig, candidates, skeleton=skeleton, fps=fps)
    rows, owners = [], []
    for k, pid in enumerate(everyone.ids):
        kp, _ = fix_left_right(rig, everyone.keypoints2d[pid][everyone.seen[pid]], skeleton=skeleton,
                               threshold_px=_inlier_thresholds(rig, s))
        rows.append(kp)
        owners.append(np.full(len(kp), k))
    if not rows:
        raise CalibrationError(rig.names[0], "nobody is seen by two cameras at once with this calibration: it is "
                                             "too far off to refine, or the views do not see the people at the same "
                                             "moments")
    return np.concatenate(rows), np.concatenate(owners), everyone.report


def _refined(rig: CameraRig, candidates: np.ndarray, s: PeopleSettings, *, fps: float, skeleton: str
             ) -> tuple[CameraRig, dict]:
    """``rig`` refined to ``candidates`` in at most ``s.rounds`` rounds (until no camera turns by
    ``s.converged_deg``): everyone followed and left/right decided with the rig of the round before
    (:func:`_everyone`), the poses adjusted (:func:`_adjusted`) and put back in ``rig``'s world
    frame and scale."""
    current, report = rig, {}
    for _ in range(max(1, s.rounds)):
        rows, owners, report = _everyone(current, candidates, s, fps=fps, skeleton=skeleton)
        previous, current = current, _in_frame_of(rig, _adjusted(current, rows, owners, s))
        if _largest_turn_deg(previous, current) < s.converged_deg:
            break
    return current, report


def _in_frame_of(given: CameraRig, found: CameraRig) -> CameraRig:
    """``found`` moved by the similarity that maps its camera centres best onto ``given``'s (a
    knocked camera moves that frame a little: 5 cm for one of four cameras knocked 10 cm)."""
    scale, Q, shift = similarity(np.stack([c.center for c in found]), np.stack([c.center for c in given]))
    return CameraRig([Camera(c.name, c.K, c.dist, c.R @ Q.T, scale * c.t - c.R @ Q.T @ shift, c.image_size)
                      for c in found])


def refine_rig(rig: CameraRig, candidates: np.ndarray, settings: PeopleSettings | None = None, *, fps: float = 30.0,
               skeleton: str = "body25") -> tuple[CameraRig, dict]:
    """The poses of ``rig`` (a calibration made before: a board, another tool; the cameras may
    have moved since) refined to the people it films, ``candidates`` (F, V, P, 25, 3) in
    synchronised views (:func:`_refined`). Everyone, not one subject: a single person in one part
    of the room fits the poses there and lets them drift elsewhere (on a real two-person capture
    the other person's held-out error rose by 40%).

    Checked on frames it was not made from: refined on the first half of the frames, each
    camera's held-out error over everyone on the second half (followed with the rig checked) with
    the given and the refined poses (the report's ``validation``); a refinement that does not
    lower the median over the cameras is an error (the given calibration fits the people as
    well). The rig returned is refined on all frames. Returns it and the report."""
    s = settings or PeopleSettings()
    half = len(candidates) // 2
    flip = BODY25.flip_index

    def heldout(trial: CameraRig) -> dict:
        rows, _, _ = _everyone(trial, candidates[half:], s, fps=fps, skeleton=skeleton)
        return heldout_summary(heldout_errors(trial, rows, flip, threshold_px=_inlier_thresholds(trial, s)),
                               trial.names)

    before = heldout(rig)
    after = heldout(_refined(rig, candidates[:half], s, fps=fps, skeleton=skeleton)[0])
    validation = {"frames_refined_on": [0, half - 1], "frames_checked": [half, len(candidates) - 1],
                  "heldout_px_given": before, "heldout_px_refined": after}
    if not after["heldout_px"] < before["heldout_px"]:
        raise RigCheckError(rig.names[0], f"refining the calibration does not help: on frames it was not made from, "
                            f"the held-out error is {after['heldout_px']:.1f} px refined against "
                            f"{before['heldout_px']:.1f} px as given; keep the calibration given",
                            figures=validation)
    refined, association = _refined(rig, candidates, s, fps=fps, skeleton=skeleton)
    moved = {c.name: {"rotation_deg": round(float(rotation_angle_deg(c.R @ g.R.T)), 3),
                      "centre_moved_m": round(float(np.linalg.norm(c.center - g.center)), 4)}
             for c, g in zip(refined, rig, strict=True)}
    return refined, {"association": association, "validation": validation, "moved": moved}


def _pixel_residuals(pose, points, kp, seen, K, dist):
    """(N, 2) pixel residuals of the finite points seen in one view (NaN rows elsewhere)."""
    X = points.reshape(-1, 3) @ pose[0].T + pose[1]
    uv = distort(X[:, :2] / X[:, 2:], dist) @ K[:2, :2].T + K[:2, 2]
    res = uv - kp[..., :2].reshape(-1, 2)
    res[~seen.reshape(-1) | ~np.isfinite(res).all(1)] = np.nan
    return res


def _starting_lengths(points: np.ndarray, owners: np.ndarray, people: int, slot: np.ndarray) -> np.ndarray:
    """Each person's bone lengths to start from, one block of ``slot.max() + 1`` after another: the
    median over their frames of (F, J, 3) ``points`` of each body25 limb, a limb and its mirror
    (``slot``: limb -> its length variable) together; a length nobody shows, the median of the others."""
    def median_length(i: int, j: int, rows: np.ndarray) -> float:
        d = np.linalg.norm(points[rows, i] - points[rows, j], axis=-1)
        return float(np.median(d[np.isfinite(d)])) if np.isfinite(d).any() else np.nan

    lengths = []
    for person in range(people):
        per_limb = np.array([median_length(i, j, owners == person) for i, j in BODY25.limbs])
        lengths.append([np.nanmedian(per_limb[slot == k]) if np.isfinite(per_limb[slot == k]).any() else np.nan
                        for k in range(int(slot.max()) + 1)])
    lengths = np.concatenate(lengths)
    return np.where(np.isfinite(lengths), lengths, np.median(lengths[np.isfinite(lengths)]))


def _bundle_adjust(poses, points, xy, seen, intrinsics, s: PeopleSettings, owners: np.ndarray | None = None):
    """Cameras (the first placed one fixed), finite 3D keypoints and bone lengths together; a left
    bone and its right twin share one length. ``owners`` (F,): whose body each row of ``points``
    is (several people stacked along the frames: each their own bone lengths; default one)."""
    F, J, _ = points.shape
    owners = np.zeros(F, np.intp) if owners is None else np.asarray(owners, np.intp)
    people = int(owners.max()) + 1 if F else 1
    placed = sorted(poses)
    ref = placed[0]
    movable = placed[1:]
    limbs = [(i, j) for i, j in BODY25.limbs]
    point_ok = np.isfinite(points[..., 0])
    pid = -np.ones((F, J), int)
    pid[point_ok] = np.arange(point_ok.sum())
    n_pts = int(point_ok.sum())
    obs = [(f, v, j) for f in range(F) for v in placed for j in range(J) if seen[f, v, j] and point_ok[f, j]]
    bone_terms = [(f, k) for f in range(F) for k, (i, j) in enumerate(limbs) if point_ok[f, i] and point_ok[f, j]]
    first = points[point_ok]
    flip = BODY25.flip_index
    twins = [min((i, j), (int(flip[i]), int(flip[j]))) for i, j in limbs]  # a bone and its mirror: one key
    keys = sorted(set(twins))
    slot = np.array([keys.index(k) for k in twins])  # limb -> its length variable
    lengths0 = _starting_lengths(points, owners, people, slot)
    n_cam = 6 * len(movable)
    x0 = np.concatenate([np.concatenate([np.r_[matrix_to_axis_angle(poses[v][0]), poses[v][1]] for v in movable])
                         if movable else np.zeros(0), first.ravel(), lengths0])
    obs_f, obs_v, obs_j = (np.array([o[i] for o in obs]) for i in range(3))
    obs_xy = xy[obs_f, obs_v, obs_j]
    obs_pid = pid[obs_f, obs_j]
    bf = np.array([b[0] for b in bone_terms], dtype=np.intp)
    bk = np.array([b[1] for b in bone_terms], dtype=np.intp)
    bi = pid[bf, np.array([limbs[k][0] for k in bk])]
    bj = pid[bf, np.array([limbs[k][1] for k in bk])]
    length_of = owners[bf] * len(keys) + slot[bk]  # each bone term's length variable
    focal = np.array([intrinsics[v][0][0, 0] for v in obs_v])
    cam_slot = {v: i for i, v in enumerate(movable)}

    def unpack(x):
        cams = {ref: poses[ref]}
        for v, i in cam_slot.items():
            cams[v] = (axis_angle_to_matrix(x[6 * i:6 * i + 3]), x[6 * i + 3:6 * i + 6])
        pts = x[n_cam:n_cam + 3 * n_pts].reshape(-1, 3)
        return cams, pts, x[n_cam + 3 * n_pts:]

    obs_cam = np.searchsorted(placed, obs_v)  # each observation's camera among the placed ones

    def residuals(x):
        cams, pts, lengths = unpack(x)
        R = np.stack([cams[v][0] for v in placed])[obs_cam]
        t = np.stack([cams[v][1] for v in placed])[obs_cam]
        X = np.einsum("nij,nj->ni", R, pts[obs_pid]) + t
        z = np.maximum(X[:, 2:], 1e-6)
        reproj = (X[:, :2] / z - obs_xy) * focal[:, None]  # pixels (undistorted)
        bone = s.bone_weight * (np.linalg.norm(pts[bi] - pts[bj], axis=1) - lengths[length_of])
        return np.concatenate([reproj.ravel(), bone])

    obs_slot = np.array([cam_slot.get(v, -1) for v in placed])[obs_cam]  # -1: the fixed camera
    entries = _jacobian_entries(obs_cam=obs_slot, obs_point=obs_pid, bones=(bi, bj, length_of), n_cam=n_cam,
                                n_pts=n_pts)
    shape = (2 * len(obs) + len(bone_terms), len(x0))

    def jacobian(x):
        cams, pts, _ = unpack(x)
        R = np.stack([cams[v][0] for v in placed])[obs_cam]
        t = np.stack([cams[v][1] for v in placed])[obs_cam]
        right = _right_jacobians(x[:n_cam].reshape(-1, 6)[:, :3]) if movable else np.zeros((0, 3, 3))
        per_obs = right[np.maximum(obs_slot, 0)] if movable else np.zeros((len(obs_slot), 3, 3))
        between = pts[bi] - pts[bj]
        unit = between / np.maximum(np.linalg.norm(between, axis=1, keepdims=True), 1e-12)
        values = _jacobian_values(R, t, pts[obs_pid], focal, per_obs, obs_slot >= 0, (unit, s.bone_weight))
        return csr_matrix((values, entries), shape=shape)

    solution = least_squares(residuals, x0, jac=jacobian, loss="soft_l1", f_scale=s.ransac_px, x_scale="jac",
                             method="trf", tr_solver="lsmr", max_nfev=150)
    cams, pts, lengths = unpack(solution.x)
    out = np.full((F, J, 3), np.nan)
    out[point_ok] = pts
    names = {f"{BODY25.joints[i]}-{BODY25.joints[j]}": float(lengths[k]) for (i, j), k in zip(limbs, slot, strict=True)}
    return cams, out, names


def _jacobian_entries(*, obs_cam: np.ndarray, obs_point: np.ndarray, bones: tuple[np.ndarray, np.ndarray, np.ndarray],
                      n_cam: int, n_pts: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the nonzero derivatives of :func:`_bundle_adjust`'s residuals, in the
    order :func:`_jacobian_values` gives them: an observation's two rows on its camera's 6
    (``obs_cam`` -1: the fixed camera, none) and its point's 3; a bone term on its two points' 3
    each and its length."""
    r, c = [], []
    obs_rows = 2 * np.arange(len(obs_point))
    moving = obs_cam >= 0
    for row in (0, 1):
        for k in range(6):
            r.append(obs_rows[moving] + row)
            c.append(6 * obs_cam[moving] + k)
        for k in range(3):
            r.append(obs_rows + row)
            c.append(n_cam + 3 * obs_point + k)
    bi, bj, length = bones
    bone_rows = 2 * len(obs_point) + np.arange(len(bi))
    for k in range(3):
        r += [bone_rows, bone_rows]
        c += [n_cam + 3 * bi + k, n_cam + 3 * bj + k]
    r.append(bone_rows)
    c.append(n_cam + 3 * n_pts + length)
    return np.concatenate(r).astype(np.intp), np.concatenate(c).astype(np.intp)


def _right_jacobians(axis_angles: np.ndarray) -> np.ndarray:
    """(C, 3, 3) right Jacobians of SO(3) at (C, 3) axis-angle vectors: R(w + d) ~ R(w) Exp(J_r(w) d)."""
    theta = np.linalg.norm(axis_angles, axis=1)[:, None, None]
    W = np.zeros((len(axis_angles), 3, 3))
    W[:, 0, 1], W[:, 0, 2], W[:, 1, 2] = -axis_angles[:, 2], axis_angles[:, 1], -axis_angles[:, 0]
    W = W - W.transpose(0, 2, 1)
    small = theta < 1e-8
    t = np.where(small, 1.0, theta)
    a = np.where(small, 0.5, (1 - np.cos(t)) / t ** 2)
    b = np.where(small, 1.0 / 6.0, (t - np.sin(t)) / t ** 3)
    return np.eye(3) - a * W + b * W @ W


def _jacobian_values(R: np.ndarray, t: np.ndarray, points: np.ndarray, focal: np.ndarray, right: np.ndarray,
                     moving: np.ndarray, bone: tuple[np.ndarray, float]) -> np.ndarray:
    """The derivatives of :func:`_bundle_adjust`'s residuals in :func:`_jacobian_entries`' order:
    per observation its camera's (n, 3, 3) ``R`` and (n, 3) ``t``, its (n, 3) point, ``focal``
    (n,), the camera's right Jacobian (n, 3, 3) and whether it moves (n,); ``bone``: (b, 3) unit
    vectors between the bone terms' points, and the bone weight."""
    X = np.einsum("nij,nj->ni", R, points) + t
    z = np.maximum(X[:, 2], 1e-6)
    d_camera = np.zeros((len(X), 2, 3))  # d residual / d camera-frame point
    d_camera[:, 0, 0] = d_camera[:, 1, 1] = focal / z
    d_camera[:, :, 2] = -focal[:, None] * X[:, :2] / z[:, None] ** 2
    d_point = d_camera @ R
    skew = np.zeros((len(X), 3, 3))
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -points[:, 2], points[:, 1], -points[:, 0]
    skew = skew - skew.transpose(0, 2, 1)
    m = moving
    d_rotation = d_camera[m] @ (-R[m] @ skew[m] @ right[m])  # d (R P) / d w = -R [P]x J_r(w)
    values = []
    for row in (0, 1):
        values += [d_rotation[:, row, k] for k in range(3)] + [d_camera[m][:, row, k] for k in range(3)]
        values += [d_point[:, row, k] for k in range(3)]
    unit, weight = bone
    for k in range(3):
        values += [weight * unit[:, k], -weight * unit[:, k]]
    values.append(np.full(len(unit), -weight))
    return np.concatenate(values)


def _floor_frame(points: np.ndarray, index: dict[str, int], first_camera) -> tuple[np.ndarray, np.ndarray]:
    """World <- reconstruction transform of step 5 in the module docstring."""
    feet = points[:, [index[n] for n in _FEET]].reshape(-1, 3)
    feet = feet[np.isfinite(feet).all(1)]
    if len(feet) < 3:  # no foot reconstructed (a rough first rig): the lowest keypoints of all
        feet = points.reshape(-1, 3)[np.isfinite(points.reshape(-1, 3)).all(1)]
    trunk = points[:, index["Neck"]] - points[:, index["MidHip"]]
    trunk = trunk[np.isfinite(trunk).all(1)]
    up = np.median(trunk / np.linalg.norm(trunk, axis=1, keepdims=True), 0)
    up /= np.linalg.norm(up)  # people stand nearly upright: the prior for the floor's normal
    height = feet @ up
    low = feet[height <= np.quantile(height, 0.2)]  # the lowest fifth of the foot keypoints
    normal, centre = up, np.median(low, 0)
    best = 0
    rng = np.random.default_rng(0)
    for _ in range(300):  # RANSAC plane through the low points, within 15 degrees of the prior
        sample = low[rng.choice(len(low), 3, replace=False)]
        n = np.cross(sample[1] - sample[0], sample[2] - sample[0])
        if np.linalg.norm(n) < 1e-9:
            continue
        n = n / np.linalg.norm(n) * np.sign(n @ up)
        if n @ up < np.cos(np.radians(15)):
            continue
        inliers = np.abs((low - sample[0]) @ n) < 0.03
        if inliers.sum() > best:
            best = inliers.sum()
            fit = low[inliers]
            c = fit.mean(0)
            refined = np.linalg.svd(fit - c)[2][-1]
            normal, centre = refined * np.sign(refined @ up), c
    hips = points[:, index["MidHip"]]
    origin = np.nanmean(hips, 0)
    origin = origin - ((origin - centre) @ normal) * normal
    cam_centre = -first_camera[0].T @ first_camera[1]
    x = cam_centre - origin
    x = x - (x @ normal) * normal
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(normal, x), normal])  # rows: world axes in reconstruction coordinates
    return R, -R @ origin


class RigCheckError(CalibrationError):
    """A rig from people that failed :func:`check_rig` (nothing is to be written): ``figures`` are
    the checks' figures, ``result`` the failed :class:`PeopleResult` where one was made."""

    def __init__(self, path: str, message: str, *, figures: dict):
        super().__init__(path, message)
        self.reason, self.figures = message, figures
        self.result: PeopleResult | None = None


def _limb_lengths(points: np.ndarray, a: str, b: str) -> np.ndarray:
    """(F,) lengths of limb a-b of (F, J, 4) triangulated points, NaN where either end is missing."""
    i, j = BODY25.index(a), BODY25.index(b)
    ok = (points[:, i, 3] > 0) & (points[:, j, 3] > 0)
    return np.where(ok, np.linalg.norm(points[:, i, :3] - points[:, j, :3], axis=-1), np.nan)


def _median_length(points: np.ndarray, a: str, b: str) -> float:
    """The median length of limb a-b over the frames that have it (NaN when none does)."""
    lengths = _limb_lengths(points, a, b)
    return float(np.nanmedian(lengths)) if np.isfinite(lengths).any() else float("nan")


def _relative_spread(points: np.ndarray, a: str, b: str) -> float:
    """How much limb a-b's length varies over the frames: its interquartile range over its median
    (0 when fewer than 4 frames have it)."""
    lengths = _limb_lengths(points, a, b)
    lengths = lengths[np.isfinite(lengths)]
    if len(lengths) < 4:
        return 0.0
    q1, q2, q3 = np.percentile(lengths, [25, 50, 75])
    return float((q3 - q1) / q2)


def _inlier_thresholds(rig: CameraRig, s: PeopleSettings) -> np.ndarray:
    """(V,) triangulation inlier thresholds in pixels: ``threshold_fraction`` of each image diagonal."""
    return np.array([s.threshold_fraction * c.image_diagonal for c in rig])


def _mirror_name(name: str) -> str:
    return {"R": "L", "L": "R"}[name[0]] + name[1:]


def check_rig(rig: CameraRig, keypoints2d: np.ndarray, settings: PeopleSettings | None = None) -> dict:
    """Judge a rig by the person it was made from, ``keypoints2d`` (F, V, 25, 3) in ``rig``'s
    order: every camera sees the triangulated person in front of it (``min_in_front`` of its
    observations), left and right limbs are alike (within ``max_asymmetry``, or within how much
    each limb's length varies over the frames, its interquartile range over its median, when that
    is more, up to twice ``max_asymmetry``: a detector that places one wrist less steadily than the
    other also places it a little off on average, and that is not the rig's doing; a wrong rig
    makes limbs differ by tens of percent), the limbs are in proportion
    to ``settings.height`` (``proportion_range`` of their typical share), and each camera is
    predicted by the others (its held-out error within ``max_heldout_ratio`` x the median).
    Returns the figures; raises :class:`RigCheckError` naming every failed check and its figures."""
    s = settings or PeopleSettings()
    thresholds = _inlier_thresholds(rig, s)
    points = triangulate(rig, keypoints2d, threshold_px=thresholds).keypoints3d  # (F, J, 4)
    failures, figures = [], {}
    in_front = {}
    for v, cam in enumerate(rig):
        seen = (keypoints2d[:, v, :, 2] >= s.min_confidence) & (points[..., 3] > 0)
        depth = cam.world_to_camera(points[..., :3])[..., 2][seen]
        in_front[cam.name] = round(float((depth > 0).mean()), 3) if depth.size else None
    figures["in_front"] = in_front
    behind = {n: f for n, f in in_front.items() if f is None or f < s.min_in_front}
    if behind:
        failures.append(f"cameras not in front of the person: share of observations in front {behind} "
                        f"(needs {s.min_in_front})")
    limbs = [*_PROPORTIONS, *((_mirror_name(a), _mirror_name(b)) for a, b in _PROPORTIONS)]
    lengths = {f"{a}-{b}": _median_length(points, a, b) for a, b in limbs}
    figures["limb_lengths_m"] = {k: round(v, 4) for k, v in lengths.items()}
    asymmetry, tolerance = {}, {}
    for a, b in _PROPORTIONS:
        right, left = lengths[f"{a}-{b}"], lengths[f"{_mirror_name(a)}-{_mirror_name(b)}"]
        key = f"{a[1:]}-{b[1:]}"
        asymmetry[key] = round(abs(right - left) / ((right + left) / 2), 3)
        spread = max(_relative_spread(points, a, b), _relative_spread(points, _mirror_name(a), _mirror_name(b)))
        tolerance[key] = round(float(np.clip(spread, s.max_asymmetry, 2 * s.max_asymmetry)), 3)
    figures["asymmetry"], figures["asymmetry_allowed"] = asymmetry, tolerance
    lopsided = {k: v for k, v in asymmetry.items() if not v <= tolerance[k]}
    if lopsided:
        failures.append(f"left and right limbs differ: {lopsided} (|L - R| / mean; at most {s.max_asymmetry}, or as "
                        f"much as the limb's length varies over the frames, up to {2 * s.max_asymmetry}: {tolerance})")
    low, high = s.proportion_range
    proportion = {k: round(lengths[f"{a}-{b}"] / (s.height * share), 3) for (a, b), share in _PROPORTIONS.items()
                  for k in [f"{a[1:]}-{b[1:]}"]}
    figures["proportion_of_typical"] = proportion
    odd = {k: v for k, v in proportion.items() if not low <= v <= high}
    if odd:
        failures.append(f"limbs out of proportion to a {s.height:.2f} m person: {odd} x their typical share "
                        f"(allowed {low}-{high})")
    if len(rig) >= 3:
        errors = heldout_errors(rig, keypoints2d, flip=BODY25.flip_index, threshold_px=thresholds)
        per_camera = {c.name: float(np.nanmedian(errors[:, v])) if np.isfinite(errors[:, v]).any() else float("nan")
                      for v, c in enumerate(rig)}
        median = float(np.nanmedian(list(per_camera.values())))
        figures["heldout_px"] = {k: round(v, 2) for k, v in per_camera.items()}
        outliers = {k: round(v, 1) for k, v in per_camera.items() if not v <= s.max_heldout_ratio * median}
        if outliers:
            failures.append(f"cameras the others do not predict: held-out error {outliers} px against a median of "
                            f"{median:.1f} px (at most {s.max_heldout_ratio}x)")
    figures["passed"] = not failures
    if failures:
        raise RigCheckError("calib people", "the rig fails its checks, so it was not written: "
                            + "; ".join(failures) + ". Film the person walking through the whole volume, seen by "
                            "every camera at once, and give --height", figures=figures)
    return figures


def calibrate_from_candidates(candidates: np.ndarray, intrinsics: list[tuple[np.ndarray, np.ndarray, tuple]],
                              names: list[str], settings: PeopleSettings | None = None, *, fps: float = 30.0,
                              skeleton: str = "body25") -> tuple[PeopleResult, np.ndarray]:
    """Cameras from every view's detections, ``candidates`` (F, V, P, 25, 3) with several people
    per view-frame (module docstring); checked by :func:`check_rig`. Returns the result and the
    subject's (F, V, 25, 3) keypoints it was made from (left/right decided)."""
    s = settings or PeopleSettings()
    _check_someone_moves(candidates, intrinsics, names, s)
    tracks = _first_tracks(candidates, intrinsics, names, s)
    keypoints = np.stack([candidates[:, v, p] for v, p in enumerate(tracks)], 1)
    result = _solved(keypoints, intrinsics, names, s)
    subject: dict = {"first": {"detector_track_per_camera": dict(zip(names, map(int, tracks), strict=True))}}
    placed = [names.index(n) for n in result.rig.names]
    turns: list[float] = []  # per round, the largest turn of a camera
    for round_ in range(s.rounds):
        rows, owners, association = _everyone(result.rig, candidates[:, placed], s, fps=fps, skeleton=skeleton)
        adjusted = _adjusted(result.rig, rows, owners, s)
        choice = choose_subject(adjusted, candidates[:, placed], skeleton=skeleton, fps=fps)
        if choice.report["view_frames_assigned"] == 0:
            break
        chosen, flips = fix_left_right(adjusted, choice.keypoints2d, skeleton=skeleton,
                                       threshold_px=_inlier_thresholds(adjusted, s))
        keypoints = np.zeros_like(keypoints)
        keypoints[:, placed] = chosen
        turns.append(_largest_turn_deg(result.rig, adjusted))
        result = replace(_in_world_of(adjusted, chosen, s), unplaced=result.unplaced)
        subject[f"round_{round_ + 1}"] = {**choice.report, "view_frames_with_left_right_fixed":
                                          int(flips.any(-1).sum()), "people_adjusted": len(np.unique(owners)),
                                          "largest_turn_deg": round(turns[-1], 4)}
        if turns[-1] < s.converged_deg:
            break
    try:
        if turns and turns[-1] > s.max_last_turn_deg:
            raise RigCheckError("calib people", f"the rig is not settled, so it was not written: a camera still turned "
                                f"{turns[-1]:.1f} degrees in the last of {len(turns)} rounds (at most "
                                f"{s.max_last_turn_deg}); the people filmed do not hold the cameras in place. Film "
                                "someone walking through the whole volume, seen by every camera at once",
                                figures={"largest_turn_deg_per_round": [round(t, 4) for t in turns]})
        checks = check_rig(result.rig, keypoints[:, placed], s)
    except RigCheckError as err:
        err.result = replace(result, checks=err.figures, subject=subject)
        raise
    return replace(result, checks=checks, subject=subject), keypoints


def _largest_turn_deg(before: CameraRig, after: CameraRig) -> float:
    """The largest rotation, in degrees, of a camera relative to the first camera between two rigs
    of the same cameras (whatever their world frames)."""
    return max(rotation_angle_deg((a.R @ after[0].R.T) @ (b.R @ before[0].R.T).T)
               for a, b in zip(after, before, strict=True))


def _twin_lengths(xyz: np.ndarray) -> dict[str, float]:
    """The median length of each body25 limb over (F, 25, 3) points (NaN where missing), a limb
    and its mirror together (named as ``_bundle_adjust`` names its lengths)."""
    bones = {}
    for i, j in BODY25.limbs:
        twin = (int(BODY25.flip_index[i]), int(BODY25.flip_index[j]))
        lengths = np.concatenate([np.linalg.norm(xyz[:, i] - xyz[:, j], axis=-1),
                                  np.linalg.norm(xyz[:, twin[0]] - xyz[:, twin[1]], axis=-1)])
        bones[f"{BODY25.joints[i]}-{BODY25.joints[j]}"] = (float(np.nanmedian(lengths)) if np.isfinite(lengths).any()
                                                         else np.nan)
    return bones


def _chain_length(bones: dict[str, float]) -> float:
    """The heel-to-nose chain (``_CHAIN``) of bone lengths named as ``_bundle_adjust`` names them;
    x ``HEIGHT_FROM_BONES``, the standing height."""
    return sum(bones.get(f"{p}-{c}", bones.get(f"{c}-{p}", np.nan)) for p, c in _CHAIN)


def _in_world_of(rig: CameraRig, keypoints2d: np.ndarray, s: PeopleSettings) -> PeopleResult:
    """``rig`` (any scale and world frame) scaled so that the person seen as (F, V, 25, 3)
    ``keypoints2d`` is ``s.height`` tall (their median bone lengths, left and right together, x
    ``HEIGHT_FROM_BONES``) and put in their floor frame (step 5 of the module docstring)."""
    points = triangulate(rig, keypoints2d, threshold_px=_inlier_thresholds(rig, s)).keypoints3d
    xyz = np.where(points[..., 3:] > 0, points[..., :3], np.nan)  # (F, J, 3)
    bones = _twin_lengths(xyz)
    chain = _chain_length(bones)
    if not np.isfinite(chain):
        raise CalibrationError(rig.names[0], "the person's legs, hips and head were not reconstructed: "
                                             "cannot set the scale from their height")
    scale = s.height / (HEIGHT_FROM_BONES * chain)
    xyz = xyz * scale
    old = [(c.R, c.t * scale) for c in rig]
    world_from_old = _floor_frame(xyz, {n: i for i, n in enumerate(BODY25.joints)}, old[0])
    cameras, median, corr = [], {}, {}
    for v, c in enumerate(rig):
        cameras.append(Camera(c.name, c.K, c.dist, *compose(old[v], invert(world_from_old)), c.image_size))
        seen = keypoints2d[:, v, :, 2] >= s.min_confidence
        error = np.linalg.norm(_pixel_residuals(old[v], xyz, keypoints2d[:, v], seen, c.K, c.dist), axis=-1)
        error = error[np.isfinite(error)]
        median[c.name] = float(np.median(error)) if error.size else float("nan")
        corr[c.name] = int(seen.sum())
    return PeopleResult(CameraRig(cameras), median, corr, {k: v * scale for k, v in bones.items()}, [])


def _first_tracks(candidates: np.ndarray, intrinsics: list[tuple[np.ndarray, np.ndarray, tuple]], names: list[str],
                  s: PeopleSettings) -> list[int]:
    """The detector track (person slot) of each view the first rig is made from: one person seen
    by every view, found without a rig (module docstring of :func:`calibrate_from_candidates`)."""
    V, P = candidates.shape[1:3]
    seen = np.array([[_distinct_places(candidates[:, v, p], intrinsics[v], s) for p in range(P)] for v in range(V)])
    tried = [[int(p) for p in np.argsort(-seen[v], kind="stable")[:_FIRST_TRACKS] if seen[v, p] > 0] or [0]
             for v in range(V)]
    if all(len(t) == 1 for t in tried):
        return [t[0] for t in tried]
    points = {(v, p): _normalised(candidates[:, v:v + 1, p], intrinsics[v:v + 1], s)[1:]
              for v in range(V) for p in tried[v]}
    focal = float(np.mean([K[0, 0] for K, _, _ in intrinsics]))
    order = sorted(range(V), key=lambda v: -seen[v].max())
    start = order[:3]
    best = max(itertools.product(*(tried[v] for v in start)),
               key=lambda combo: _explained(dict(zip(start, combo, strict=True)), points, tried, names, focal, s))
    choice = dict(zip(start, best, strict=True))
    for v in order[3:]:
        choice[v] = max(tried[v], key=lambda p, v=v: _explained(choice | {v: p}, points, tried, names, focal, s))
    return [choice[v] for v in range(V)]


def _explained(choice: dict[int, int], points: dict, tried: list[list[int]], names: list[str], focal: float,
               s: PeopleSettings) -> float:
    """How much of everyone the rig placed on the tracks ``choice`` (view -> track) explains: over
    every pair of views placed, the tracks paired one to one (most agreeing first) and the
    swap-proof points within 3 x ``ransac_px`` of their epipolar lines counted. A rig from
    different people in different views explains its own wrong pairing, not the others; the right
    rig explains everyone at once. 0 when no rig can be placed."""
    views = sorted(choice)
    xy = np.concatenate([points[(v, choice[v])][0] for v in views], 1)
    seen = np.concatenate([points[(v, choice[v])][1] for v in views], 1)
    try:
        poses, _ = _first_poses(xy, seen, [names[v] for v in views], s.ransac_px / focal, s)
    except CalibrationError:
        return 0.0
    points = {key: _swap_proof(*normalised) for key, normalised in points.items()}
    total = 0.0
    for a, b in itertools.combinations(sorted(poses), 2):
        E = essential_matrix(*poses[a], *poses[b])
        agree = np.zeros((len(tried[views[a]]), len(tried[views[b]])))
        for i, pa in enumerate(tried[views[a]]):
            for j, pb in enumerate(tried[views[b]]):
                (xa, sa), (xb, sb) = points[(views[a], pa)], points[(views[b], pb)]
                both = np.flatnonzero(sa[:, 0] & sb[:, 0])
                near = both[_epipolar_px(E, xa[both, 0], xb[both, 0], focal) < 3 * s.ransac_px]
                places = np.c_[near % _SWAP_PROOF_POINTS, np.floor(np.c_[xa[near, 0], xb[near, 0]] / _PLACE)]
                agree[i, j] = len(np.unique(places, axis=0))  # a point held still counts once
        rows, cols = linear_sum_assignment(-agree)
        total += agree[rows, cols].sum()
    return total


def _distinct_places(keypoints: np.ndarray, intrinsics: tuple[np.ndarray, np.ndarray, tuple], s: PeopleSettings
                     ) -> int:
    """How many distinct (joint, place) observations one detector track gives in one view: its
    (F, 25, 3) keypoints seen, at ``_PLACE`` resolution (normalised image units). A person who
    stands still gives one place per joint however many frames they are seen in, and a rig made on
    them is made on a handful of points (a bystander standing by the wall chosen in two views
    of a real capture gave a rig 70 degrees off that passed its checks)."""
    K = intrinsics[0]
    ok = keypoints[..., 2] >= s.min_confidence
    if not ok.any():
        return 0
    cells = np.floor((keypoints[..., :2] - K[:2, 2]) / np.diag(K)[:2] / _PLACE)[ok]
    return len(np.unique(np.c_[np.nonzero(ok)[1], cells], axis=0))


def _epipolar_px(E: np.ndarray, xa: np.ndarray, xb: np.ndarray, focal: float) -> np.ndarray:
    """(N,) symmetric distances to the epipolar lines, in pixels of ``focal``, of (N, 2) normalised points."""
    ha, hb = np.c_[xa, np.ones(len(xa))], np.c_[xb, np.ones(len(xb))]
    line_b, line_a = ha @ E.T, hb @ E
    num = np.abs((hb * line_b).sum(1))
    return 0.5 * focal * (num / np.maximum(np.linalg.norm(line_b[:, :2], axis=1), 1e-12)
                          + num / np.maximum(np.linalg.norm(line_a[:, :2], axis=1), 1e-12))


def measured_height(rig: CameraRig, keypoints: np.ndarray, *, fps: float = 30.0) -> float:
    """The subject's standing height as ``rig`` measures it from (F, V, P, 25, 3) candidates: the
    heel-to-nose chain of median limb lengths, left and right together, x ``HEIGHT_FROM_BONES``
    (what the scale step of :func:`calibrate_from_candidates` assumes, :func:`_in_world_of`)."""
    subject = choose_subject(rig, keypoints, fps=fps).keypoints2d
    points = triangulate(rig, subject, threshold_px=_inlier_thresholds(rig, PeopleSettings())).keypoints3d
    return HEIGHT_FROM_BONES * _chain_length(_twin_lengths(np.where(points[..., 3:] > 0, points[..., :3], np.nan)))
