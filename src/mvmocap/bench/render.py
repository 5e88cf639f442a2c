"""``mvmocap bench render``: mesh overlays on 1080p images, frames per second."""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from mvmocap.bodymodels import SMPLFamilyModel
from mvmocap.render import Scene, composite
from mvmocap.synthetic import ring_rig
from mvmocap.synthetic.body_motion import model_motion
from mvmocap.synthetic.model_files import make_model_arrays
from mvmocap.synthetic.motions import motion_curves

__all__ = ["bench_render"]


def bench_render(frames: int = 60) -> dict:
    """Render a walking SMPL-sized mesh (6890 vertices, 13040 faces) over a 1920x1080 image of a
    distorted camera, shade and alpha-blend it; ``fps_1080p`` from the median frame time
    (the first frame, which may compile the rasteriser, is not counted)."""
    model = SMPLFamilyModel(make_model_arrays("smpl"))
    params = model_motion(model, motion_curves("walk", frames + 1, seed=2))
    with torch.no_grad():
        verts = model(*(torch.as_tensor(params[k]).float() for k in ("poses", "shapes", "Rh", "Th"))).vertices
    verts = verts.double().numpy()
    faces = model.faces.numpy()
    camera = ring_rig(4, seed=0)[0]
    background = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    times = []
    pixels = 0
    for f in range(frames + 1):
        start = time.perf_counter()
        rendering = Scene().add(verts[f], faces).render(camera, (1920, 1080))
        composite(background, rendering)
        if f:
            times.append(time.perf_counter() - start)
            pixels += int(rendering.mask.sum())
    return {"fps_1080p": round(1.0 / statistics.median(times), 1), "seconds": round(sum(times), 3),
            "frames": frames, "vertices": int(verts.shape[1]), "faces": int(len(faces)),
            "mean_mesh_pixels": pixels // max(frames, 1)}
