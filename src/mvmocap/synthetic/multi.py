"""Several people walking across each other's paths, for ``mvmocap demo --multi`` and ``bench multi``.

Person ``i`` of ``n`` walks a straight line through the middle of the scene: heading
``pi * i / n`` (plus up to 0.2 rad), passing the centre ``d_i`` (up to 0.3 m) to its side at
``0.6-0.9`` m/s, the people reaching the middle 0.9 s apart, so every pair's paths cross, people
occlude each other in the views behind them, and some walk out of the ring of cameras and back
in view at the ends. They wear clothes (``OUTFITS``: skin tones, shirts, trousers, shoes).
Cameras are synchronised (time offsets are :mod:`mvmocap.synthetic.realistic`'s).

On disk, besides ``videos/`` and ``intri.yml`` / ``extri.yml``: ``gt/people.npz`` with
``keypoints3d`` (N, F, 25, 3) and ``shapes`` (N, S), ``gt/spec.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.camera import save_calibration
from mvmocap.console import progress
from mvmocap.io import write_params_npz
from mvmocap.render import Scene, VideoWriter, checkerboard
from mvmocap.synthetic.body_motion import model_motion
from mvmocap.synthetic.motions import MotionCurves, motion_curves, motion_keypoints
from mvmocap.synthetic.rigs import ring_rig
from mvmocap.synthetic.video_capture import BACKDROP
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["MultiSpec", "crossing_walks", "make_multi_capture", "multi_detections", "people_keypoints",
           "write_multi_keypoints"]

# (skin, shirt, trousers) per person: natural skin tones and clothes. A person detector trained on
# people finds a clothed figure; it misses most bodies painted one saturated colour (blue, green).
OUTFITS = (((0.86, 0.70, 0.60), (0.75, 0.20, 0.20), (0.15, 0.20, 0.35)),
           ((0.55, 0.38, 0.28), (0.90, 0.90, 0.88), (0.25, 0.25, 0.27)),
           ((0.93, 0.78, 0.68), (0.20, 0.35, 0.60), (0.62, 0.55, 0.42)),
           ((0.40, 0.27, 0.20), (0.85, 0.70, 0.25), (0.12, 0.12, 0.14)),
           ((0.78, 0.60, 0.48), (0.30, 0.50, 0.30), (0.45, 0.45, 0.50)),
           ((0.65, 0.48, 0.36), (0.55, 0.30, 0.55), (0.20, 0.30, 0.45)),
           ((0.90, 0.74, 0.62), (0.95, 0.55, 0.20), (0.30, 0.22, 0.18)),
           ((0.48, 0.33, 0.24), (0.35, 0.35, 0.38), (0.60, 0.52, 0.40)))


@dataclass(frozen=True)
class MultiSpec:
    """The scene (defaults: ``mvmocap bench multi``'s)."""

    people: int = 3
    frames: int = 150
    cameras: int = 6
    fps: float = 30.0
    radius: float = 4.5
    image_size: tuple[int, int] = (960, 540)
    noise: float = 3.0  # sensor noise, grey levels
    distortion: float = 0.03
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.people <= len(OUTFITS):
            raise InputError(f"people must be 1 to {len(OUTFITS)}, got {self.people}")
        if self.frames < 2 or self.cameras < 2:
            raise InputError(f"a capture needs at least 2 frames and 2 cameras, got {self.frames} and {self.cameras}")


def crossing_walks(spec: MultiSpec) -> list[MotionCurves]:
    """Each person's walk along their line (module docstring)."""
    rng = np.random.default_rng(spec.seed)
    t = np.arange(spec.frames) / spec.fps
    walks = []
    for i in range(spec.people):
        heading = np.pi * i / spec.people + rng.uniform(-0.2, 0.2)
        side, speed = rng.uniform(-0.3, 0.3), rng.uniform(0.6, 0.9)
        passing = t[-1] / 2 + (i - (spec.people - 1) / 2) * 0.9
        along = np.array([np.cos(heading), np.sin(heading)])
        across = np.array([-along[1], along[0]])
        xy = side * across + speed * (t - passing)[:, None] * along
        walk = motion_curves("walk", spec.frames, spec.fps, radius=1.0, seed=spec.seed * 31 + i)
        walks.append(replace(walk, xy=xy, yaw=np.full(spec.frames, heading)))
    return walks


def people_keypoints(spec: MultiSpec) -> np.ndarray:
    """(N, F, 25, 3) the walkers on the procedural skeleton (no body model: for fast tests)."""
    rng = np.random.default_rng(spec.seed + 1)
    return np.stack([motion_keypoints(w, rng.uniform(1.55, 1.9)) for w in crossing_walks(spec)])


def _box(uv: np.ndarray) -> np.ndarray:
    return np.concatenate([uv.min(0), uv.max(0)])


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over the area of box ``a``."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / max((a[2] - a[0]) * (a[3] - a[1]), 1e-9)


def multi_detections(rig, truth: np.ndarray, *, noise_px: float = 2.0, seed: int = 0) -> np.ndarray:
    """(F, V, N, J, 3) detections of (N, F, J, 3) people as a detector would give them: projected
    with pixel noise, in a random order per view (a detector's ids mean nothing across views),
    outside the image missing, and a person hidden in a view where more than half of their box lies
    behind someone nearer the camera."""
    rng = np.random.default_rng(seed)
    N, F, J, _ = truth.shape
    out = np.zeros((F, len(rig), N, J, 3))
    for v, cam in enumerate(rig):
        uv = cam.project(truth) + rng.normal(0.0, noise_px, (N, F, J, 2))
        depth = cam.world_to_camera(truth)[..., 2].mean(-1)  # (N, F)
        w, h = cam.image_size
        inside = (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)
        order = rng.permutation(N)
        for f in range(F):
            boxes = [_box(uv[n, f]) for n in range(N)]
            for n in range(N):
                hidden = any(depth[m, f] < depth[n, f] and _overlap(boxes[n], boxes[m]) > 0.5
                             for m in range(N) if m != n)
                conf = np.where(inside[n, f] & ~hidden, 0.9, 0.0)
                out[f, v, order[n]] = np.concatenate([uv[n, f], conf[:, None]], -1)
    return out


def write_multi_keypoints(root: str | Path, spec: MultiSpec | None = None, *, noise_px: float = 2.0) -> Path:
    """The scene as 2D keypoints, without rendering (fast, for tests): ``intri.yml`` /
    ``extri.yml``, ``annots/<cam>/`` from :func:`multi_detections` and ``gt/people.npz``
    (``keypoints3d`` (N, F, 25, 3)). Returns ``root``."""
    from mvmocap.io import MultiViewKeypoints, write_annots

    spec = spec or MultiSpec()
    root = Path(root)
    truth = people_keypoints(spec)
    rig = ring_rig(spec.cameras, spec.radius, image_size=[spec.image_size] * spec.cameras,
                   distortion=spec.distortion, seed=spec.seed)
    detections = multi_detections(rig, truth, noise_px=noise_px, seed=spec.seed)
    save_calibration(rig, root)
    seq = MultiViewKeypoints(rig.names, list(range(spec.frames)),
                             {slot: detections[:, :, slot] for slot in range(spec.people)}, "body25", {})
    write_annots(root / "annots", seq, {cam.name: cam.image_size for cam in rig})
    write_params_npz(root / "gt" / "people.npz", {"keypoints3d": truth, "fps": np.float64(spec.fps)})
    atomic_write_text(root / "gt" / "spec.json", json.dumps(asdict(spec), indent=1))
    return root


def _outfit_colours(vertices: np.ndarray, joints: np.ndarray, outfit) -> np.ndarray:
    """(V, 3) per-vertex colours of one person from their first frame: trousers below the hips,
    a long-sleeved shirt up to the neck, skin above it and on the hands (body25 joints (25, 3))."""
    skin, shirt, trousers = (np.asarray(c) for c in outfit)
    height = vertices[:, 2]
    hip, neck = joints[8, 2], joints[1, 2]
    wrists, elbows = joints[[4, 7]], joints[[3, 6]]
    palms = wrists + 0.4 * (wrists - elbows)  # the hand lies beyond the wrist, along the forearm
    colours = np.where((height < hip)[:, None], trousers, np.where((height < neck - 0.02)[:, None], shirt, skin))
    near_hand = np.linalg.norm(vertices[:, None] - palms[None], axis=-1).min(1) < 0.11
    feet = height < 0.07
    colours[near_hand] = skin
    colours[feet] = (0.12, 0.10, 0.09)  # shoes
    return colours


def make_multi_capture(root: str | Path, model: BodyModel, spec: MultiSpec | None = None) -> Path:
    """Render the scene of the module docstring with ``model`` under ``root``; returns ``root``."""
    spec = spec or MultiSpec()
    root = Path(root)
    rng = np.random.default_rng(spec.seed)
    bounds = model.shape_bounds or (-1.0, 1.0)
    meshes, keypoints, shapes = [], [], []
    for walk in crossing_walks(spec):
        betas = rng.uniform(0.6 * bounds[0], 0.6 * bounds[1], model.num_shapes)
        params = model_motion(model, walk, betas)
        with torch.no_grad():
            out = model(*(torch.as_tensor(params[k]).float() for k in ("poses", "shapes", "Rh", "Th")),
                        keypoints="body25")
        meshes.append(out.vertices.double().numpy())
        keypoints.append(out.keypoints.double().numpy())
        shapes.append(betas)
    outfits = [_outfit_colours(v[0], kp[0], OUTFITS[i]) for i, (v, kp) in enumerate(zip(meshes, keypoints,
                                                                                        strict=True))]
    rig = ring_rig(spec.cameras, spec.radius, image_size=[spec.image_size] * spec.cameras,
                   distortion=spec.distortion, seed=spec.seed)
    save_calibration(rig, root)
    faces = model.faces.cpu().numpy()
    floor = checkerboard((0.0, 0.0), half_size=8.0)
    with progress(spec.cameras * spec.frames, desc="render the synthetic capture", unit="view-frame") as bar:
        for cam in rig:
            with VideoWriter(root / "videos" / f"{cam.name}.mp4", spec.fps, quality=8) as video:
                for k in range(spec.frames):
                    scene = Scene().add(*floor[:2], vertex_colours=floor[2])
                    for vertices, colours in zip(meshes, outfits, strict=True):
                        scene.add(vertices[k], faces, vertex_colours=colours)
                    r = scene.render(cam)
                    image = np.where(r.mask[..., None], r.rgb * 255, BACKDROP.astype(np.float64))
                    image = image + rng.normal(0.0, spec.noise, image.shape)
                    video.write(np.clip(image + 0.5, 0, 255).astype(np.uint8))
                    bar.update(1)
    write_params_npz(root / "gt" / "people.npz", {"keypoints3d": np.stack(keypoints), "shapes": np.stack(shapes),
                                                  "fps": np.float64(spec.fps), "model": np.str_(model.name)})
    atomic_write_text(root / "gt" / "spec.json", json.dumps(asdict(spec), indent=1))
    return root
