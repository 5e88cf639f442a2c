"""Camera extrinsics from a board seen by subsets of synchronised cameras.

1. Every view's board pose by PnP (for a chessboard both corner orders, see
   :meth:`~mvmocap.calib.boards.BoardSpec.orderings`).
2. A pose graph seeded from the best-connected cameras: the reference camera (the one with most
   views) is placed first; then, repeatedly, the camera sharing most frames with boards already
   placed in the world: each shared frame proposes a camera pose, the largest mutually consistent
   group of proposals (3 degrees, 5 cm) is averaged; frames only it sees place their boards.
3. One sparse bundle adjustment of every camera pose (the reference's too, except that it fixes
   the gauge) and every board pose: ``scipy.optimize.least_squares`` (trust region, a sparse
   Jacobian: each view touches one camera and one board, robust soft-L1 loss with a 1 px scale).
4. World frame: ``origin="first"`` keeps the reference camera's frame; ``origin="floor"`` puts
   the world on the board of ``floor_frame`` (default: the frame most cameras saw), lying on the
   floor: its x axis, z up (the board's own z points into the floor), origin at its first corner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix

from mvmocap.calib.boards import BoardDetection, BoardSpec
from mvmocap.calib.poses import compose, consensus, invert
from mvmocap.camera import CalibrationError, Camera, CameraRig
from mvmocap.camera.distortion import distort
from mvmocap.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.utils import InputError

__all__ = ["ExtrinsicsSettings", "ExtrinsicsResult", "calibrate_extrinsics"]

log = logging.getLogger(__name__)
Pose = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class ExtrinsicsSettings:
    origin: str = "first"  # or "floor"
    floor_frame: int | None = None
    min_shared_views: int = 2  # frames a camera must share with placed boards to be placed
    loss_scale_px: float = 1.0

    def __post_init__(self):
        if self.origin not in ("first", "floor"):
            raise InputError(f"--origin must be 'first' or 'floor', got {self.origin!r}")


@dataclass(frozen=True)
class ExtrinsicsResult:
    rig: CameraRig
    per_camera_rms_px: dict[str, float]
    views_used: dict[str, int]
    views_rejected: dict[str, int]
    reference: str
    boards: dict[int, Pose] = field(default_factory=dict)

    def report(self) -> dict:
        return {"reference": self.reference, "per_camera_rms_px": self.per_camera_rms_px,
                "views_used": self.views_used, "views_rejected": self.views_rejected,
                "boards_placed": len(self.boards)}


def _pnp(obj: np.ndarray, corners: np.ndarray, K: np.ndarray, dist: np.ndarray) -> Pose | None:
    ok, r, t = cv2.solvePnP(obj, corners, K, dist, flags=cv2.SOLVEPNP_ITERATIVE)
    return (axis_angle_to_matrix(r.reshape(3)), t.reshape(3)) if ok else None


def _project(obj: np.ndarray, pose: Pose, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    x = obj @ pose[0].T + pose[1]
    xy = distort(x[:, :2] / x[:, 2:], dist)
    return xy @ K[:2, :2].T + K[:2, 2]


def calibrate_extrinsics(views: dict[str, dict[int, BoardDetection]], board: BoardSpec,
                         intrinsics: dict[str, tuple[np.ndarray, np.ndarray, tuple[int, int] | None]],
                         settings: ExtrinsicsSettings | None = None) -> ExtrinsicsResult:
    """``views[camera][frame]``: the board found in that camera's frame; ``intrinsics[camera]``:
    ``(K, dist, (W, H))``. Every camera must share board frames with the others."""
    settings = settings or ExtrinsicsSettings()
    cams = [c for c in intrinsics if views.get(c)]
    missing = [c for c in intrinsics if not views.get(c)]
    if missing:
        raise CalibrationError(missing[0], f"cameras {missing} never saw the board; they cannot be placed")
    obj_all = board.object_points()
    candidates: dict[tuple[str, int], list[Pose]] = {}
    for c in cams:
        K, dist, _ = intrinsics[c]
        for f, det in views[c].items():
            poses = [_pnp(obj_all[ids], det.corners, K, dist) for ids in board.orderings(det.ids)]
            candidates[(c, f)] = [p for p in poses if p is not None]
    reference = max(cams, key=lambda c: len(views[c]))
    cam_pose: dict[str, Pose] = {reference: (np.eye(3), np.zeros(3))}  # world -> camera
    board_pose: dict[int, Pose] = {}  # board -> world
    ordering: dict[tuple[str, int], int] = {}

    def place_boards(c: str) -> None:
        for f in views[c]:
            if f not in board_pose and candidates[(c, f)]:
                board_pose[f] = compose(invert(cam_pose[c]), candidates[(c, f)][0])
                ordering[(c, f)] = 0

    place_boards(reference)
    while len(cam_pose) < len(cams):
        shared = {c: [f for f in views[c] if f in board_pose] for c in cams if c not in cam_pose}
        c = max(shared, key=lambda k: len(shared[k]))
        if len(shared[c]) < settings.min_shared_views:
            lonely = [k for k in shared if len(shared[k]) < settings.min_shared_views]
            raise CalibrationError(lonely[0], f"cameras {lonely} share fewer than {settings.min_shared_views} board "
                                              f"frames with the cameras placed so far ({sorted(cam_pose)}); they "
                                              "cannot be placed: show the board to them and a placed camera at once")
        proposals, owners = [], []
        for f in shared[c]:
            for o, T_cb in enumerate(candidates[(c, f)]):
                proposals.append(compose(T_cb, invert(board_pose[f])))
                owners.append((f, o))
        cam_pose[c], members = consensus(proposals)
        for i in members:
            ordering[(c, owners[i][0])] = owners[i][1]
        place_boards(c)
    # Views not yet given an order (outside the consensus, or seen after their board was placed):
    # the order that projects best, kept when within 10 px.
    for (c, f), options in candidates.items():
        if (c, f) in ordering or f not in board_pose or not options:
            continue
        K, dist, _ = intrinsics[c]
        det = views[c][f]
        errors = [np.sqrt(np.mean(np.sum((_project(obj_all[ids], compose(cam_pose[c], board_pose[f]), K, dist)
                                          - det.corners) ** 2, 1))) for ids in board.orderings(det.ids)]
        if min(errors) < 10.0:
            ordering[(c, f)] = int(np.argmin(errors))
    cam_pose, board_pose = _bundle_adjust(cams, reference, (cam_pose, board_pose), ordering, views, board, intrinsics,
                                          settings.loss_scale_px)
    if settings.origin == "floor":
        f0 = settings.floor_frame if settings.floor_frame is not None else max(
            board_pose, key=lambda f: sum(f in views[c] for c in cams))
        if f0 not in board_pose:
            raise CalibrationError(f"frame {f0}", "--floor-frame: no camera placed the board in that frame")
        flip = (np.diag([1.0, -1.0, -1.0]), np.zeros(3))  # board z into the floor -> world z up
        new_from_old = compose(flip, invert(board_pose[f0]))
        cam_pose = {c: compose(p, invert(new_from_old)) for c, p in cam_pose.items()}
        board_pose = {f: compose(new_from_old, p) for f, p in board_pose.items()}
    rms, used, rejected = {}, {}, {}
    for c in cams:
        K, dist, _ = intrinsics[c]
        sq = [np.sum((_project(obj_all[board.orderings(views[c][f].ids)[o]], compose(cam_pose[c], board_pose[f]),
                                K, dist) - views[c][f].corners) ** 2, 1) for (cc, f), o in ordering.items() if cc == c]
        rms[c] = float(np.sqrt(np.mean(np.concatenate(sq))))
        used[c] = len(sq)
        rejected[c] = len(views[c]) - len(sq)
    rig = CameraRig([Camera(c, intrinsics[c][0], intrinsics[c][1], cam_pose[c][0], cam_pose[c][1], intrinsics[c][2])
                     for c in intrinsics])
    return ExtrinsicsResult(rig, rms, used, rejected, reference, board_pose)


def _bundle_adjust(cams, reference, start, ordering, views, board, intrinsics, loss_scale):
    """Refine every camera and board pose together (module docstring, step 3), from ``start``:
    ({camera: pose}, {frame: board pose})."""
    cam_pose, board_pose = start
    cam_index = {c: i for i, c in enumerate(cams)}
    frames = sorted(board_pose)
    frame_index = {f: i for i, f in enumerate(frames)}
    obs = [(c, f, o) for (c, f), o in sorted(ordering.items())]
    obj_all = board.object_points()
    n_cam = 6 * len(cams)

    def pack(cp, bp):
        x = [np.r_[matrix_to_axis_angle(cp[c][0]), cp[c][1]] for c in cams]
        x += [np.r_[matrix_to_axis_angle(bp[f][0]), bp[f][1]] for f in frames]
        return np.concatenate(x)

    def unpack(x):
        cp = {c: (axis_angle_to_matrix(x[6 * i:6 * i + 3]), x[6 * i + 3:6 * i + 6]) for c, i in cam_index.items()}
        bp = {f: (axis_angle_to_matrix(x[n_cam + 6 * i:n_cam + 6 * i + 3]), x[n_cam + 6 * i + 3:n_cam + 6 * i + 6])
              for f, i in frame_index.items()}
        return cp, bp

    fixed = cam_pose[reference]
    # every corner seen, in the order of ``obs``: its board point, camera, board frame and pixels
    corner_obj = np.concatenate([obj_all[board.orderings(views[c][f].ids)[o]] for c, f, o in obs])
    corner_cam = np.concatenate([np.full(len(views[c][f].ids), cam_index[c]) for c, f, _ in obs])
    corner_frame = np.concatenate([np.full(len(views[c][f].ids), frame_index[f]) for c, f, _ in obs])
    corner_px = np.concatenate([views[c][f].corners for c, f, _ in obs])
    by_camera = [(i, np.flatnonzero(corner_cam == i), intrinsics[c]) for c, i in cam_index.items()]
    ref_index = cam_index[reference]

    def residuals(x):
        cam_R = axis_angle_to_matrix(x[:n_cam].reshape(-1, 6)[:, :3])
        cam_t = x[:n_cam].reshape(-1, 6)[:, 3:].copy()
        cam_R[ref_index], cam_t[ref_index] = fixed  # the gauge: the reference camera does not move
        board_R = axis_angle_to_matrix(x[n_cam:].reshape(-1, 6)[:, :3])
        board_t = x[n_cam:].reshape(-1, 6)[:, 3:]
        on_board = np.einsum("nij,nj->ni", board_R[corner_frame], corner_obj) + board_t[corner_frame]
        X = np.einsum("nij,nj->ni", cam_R[corner_cam], on_board) + cam_t[corner_cam]
        out = np.empty_like(corner_px)
        for _, rows, (K, dist, _) in by_camera:
            xy = distort(X[rows, :2] / X[rows, 2:], dist)
            out[rows] = xy @ K[:2, :2].T + K[:2, 2] - corner_px[rows]
        return out.ravel()

    sizes = [2 * len(views[c][f].ids) for c, f, _ in obs]
    sparsity = lil_matrix((sum(sizes), n_cam + 6 * len(frames)), dtype=int)
    row = 0
    for (c, f, _), size in zip(obs, sizes, strict=True):
        if c != reference:
            sparsity[row:row + size, 6 * cam_index[c]:6 * cam_index[c] + 6] = 1
        sparsity[row:row + size, n_cam + 6 * frame_index[f]:n_cam + 6 * frame_index[f] + 6] = 1
        row += size
    x0 = pack(cam_pose, board_pose)
    solution = least_squares(residuals, x0, jac_sparsity=sparsity, loss="soft_l1", f_scale=loss_scale,
                             x_scale="jac", method="trf", max_nfev=200)
    log.debug("bundle adjustment: %d views, cost %.3g -> %.3g", len(obs), 0.5 * np.sum(residuals(x0) ** 2),
              solution.cost)
    cp, bp = unpack(solution.x)
    cp[reference] = fixed
    return cp, bp
