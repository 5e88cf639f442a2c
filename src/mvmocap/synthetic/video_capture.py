"""A synthetic video capture: a body model performing a human-like motion, rendered into
``videos/<cam>.mp4`` by a calibrated ring of cameras, with its ground truth.

On disk: ``ROOT/videos/<cam>.mp4``, ``ROOT/intri.yml`` + ``extri.yml`` and ``ROOT/gt/params.npz``
(``poses``, ``shapes``, ``Rh``, ``Th``, ``keypoints3d``, ``fps``, ``model``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mvmocap.bodymodels import BodyModel
from mvmocap.camera import save_calibration
from mvmocap.console import progress
from mvmocap.io import write_params_npz
from mvmocap.render import Scene, VideoWriter, checkerboard
from mvmocap.synthetic.body_motion import model_motion
from mvmocap.synthetic.hand_motion import hand_motion
from mvmocap.synthetic.motions import motion_curves
from mvmocap.synthetic.rigs import ring_rig

__all__ = ["make_hand_capture", "make_video_capture"]

SKIN = (0.86, 0.70, 0.60)  # the colour of rendered people, also in mvmocap.synthetic.realistic
BACKDROP = np.array([110, 128, 155], dtype=np.uint8)  # the flat background behind the floor


def _film(root: Path, rig, meshes: list[tuple[np.ndarray, np.ndarray]], fps: float, background: np.ndarray,
          floor=None) -> None:
    """Render ``meshes`` ((F, V, 3) vertices, faces) in skin colour, over an optional ``floor``
    (vertices, faces, colours) and a flat ``background``, into ``root/videos/<cam>.mp4``."""
    frames = len(meshes[0][0])
    with progress(len(rig) * frames, desc="render the synthetic capture", unit="view-frame") as bar:
        for cam in rig:
            with VideoWriter(root / "videos" / f"{cam.name}.mp4", fps, quality=8) as video:
                for f in range(frames):
                    scene = Scene() if floor is None else Scene().add(*floor[:2], vertex_colours=floor[2])
                    for vertices, faces in meshes:
                        scene.add(vertices[f], faces, SKIN)
                    r = scene.render(cam)
                    video.write(np.where(r.mask[..., None], (r.rgb * 255 + 0.5).astype(np.uint8), background))
                    bar.update(1)


def make_video_capture(root: str | Path, model: BodyModel, *, frames: int = 150, cameras: int = 4,
                       image_size: tuple[int, int] = (960, 540), fps: float = 30.0, seed: int = 0,
                       fingers: bool = False) -> Path:
    """Render ``frames`` frames of ``model`` moving (the ``mixed`` motion: walking, squatting, arms,
    turning) from ``cameras`` cameras; returns ``root``.

    ``fingers``: the hands also open, close and count (the model must pose its finger joints:
    SMPL-H, SMPL-X, Anny with ``ANNY_FINGER_BONES``); the truth's ``keypoints3d`` are then
    ``bodyhands`` (67), else ``body25``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    bounds = model.shape_bounds or (-1.0, 1.0)
    shapes = rng.uniform(0.6 * bounds[0], 0.6 * bounds[1], model.num_shapes)
    truth = model_motion(model, motion_curves("mixed", frames, fps, radius=0.8, seed=seed), shapes)
    if fingers:  # finger joints only: the body's stay as the motion set them
        for side in ("l", "r"):
            truth["poses"] = truth["poses"] + hand_motion(model, frames, fps, seed=seed + 1, side=side)["poses"]
    rig = ring_rig(cameras, image_size=image_size, seed=seed)
    save_calibration(rig, root)
    faces = model.faces.cpu().numpy()
    floor = checkerboard((0.0, 0.0), half_size=5.0)
    with torch.no_grad():
        out = model(*(torch.as_tensor(truth[k]).float() for k in ("poses", "shapes", "Rh", "Th")),
                    keypoints="bodyhands" if fingers else "body25")
    vertices = out.vertices.double().numpy()
    _film(root, rig, [(vertices, faces)], fps, BACKDROP, floor)
    write_params_npz(root / "gt" / "params.npz", {**truth, "keypoints3d": out.keypoints.double().numpy(),
                                                  "fps": np.float64(fps), "model": np.str_(model.name)})
    return root


def make_hand_capture(root: str | Path, models: dict[str, BodyModel], frames: int = 90, cameras: int = 3,
                      image_size: tuple[int, int] = (960, 540), fps: float = 30.0, seed: int = 0) -> Path:
    """Both hands (``models["l"]``, ``models["r"]``) moving over a desk, filmed by ``cameras``
    cameras above and in front of it; ground truth per hand in ``gt/hand{l,r}.npz``."""
    from mvmocap.camera import Camera, CameraRig

    root = Path(root)
    w, h = image_size
    f = 0.9 * w
    K = [[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]]
    angles = np.linspace(-2.4, -0.7, cameras)
    rig = CameraRig(Camera.look_at(f"cam{i + 1}", K, [0.75 * np.cos(a), 0.75 * np.sin(a), 1.35], [0, 0, 0.78],
                                   image_size=image_size) for i, a in enumerate(angles))
    save_calibration(rig, root)
    verts, faces = [], []
    for k, (side, model) in enumerate(sorted(models.items())):
        truth = hand_motion(model, frames, fps, seed=seed + k, side=side)
        truth["Th"][:, 0] += 0.16 if side == "l" else -0.16
        keypoints = model.sequence(truth, "hand21")
        write_params_npz(root / "gt" / f"hand{side}.npz", {**truth, "keypoints3d": keypoints,
                                                          "fps": np.float64(fps), "model": np.str_(model.name)})
        verts.append(model.sequence(truth))
        faces.append(model.faces.cpu().numpy())
    _film(root, rig, list(zip(verts, faces, strict=True)), fps, np.full(3, 90, np.uint8))
    return root
