"""``mvmocap bench bodymodel``: forward throughput, keypoints-only and full mesh, SMPL-format and Anny."""

from __future__ import annotations

import statistics
import time

import torch

from mvmocap.bodymodels import BodyModel, SMPLFamilyModel
from mvmocap.synthetic.model_files import make_model_arrays

__all__ = ["bench_bodymodel"]


def _fps(model: BodyModel, frames: int, repeats: int, vertices: bool, chunk: int) -> float:
    g = torch.Generator().manual_seed(0)
    poses = torch.randn(frames, model.pose_dim, generator=g) * 0.3
    shapes = torch.randn(1, model.num_shapes, generator=g) * 0.1
    Rh, Th = torch.randn(frames, 3, generator=g), torch.randn(frames, 3, generator=g)
    times = []
    with torch.no_grad():
        model(poses[:2], shapes, keypoints="body25", vertices=vertices)  # warm-up (kernels, caches)
        for _ in range(repeats):
            start = time.perf_counter()
            for s in range(0, frames, chunk):
                model(poses[s:s + chunk], shapes, Rh[s:s + chunk], Th[s:s + chunk], keypoints="body25",
                      vertices=vertices)
            times.append(time.perf_counter() - start)
    return frames / statistics.median(times)


def bench_bodymodel(frames: int = 1000, repeats: int = 5, anny: bool = True) -> dict:
    """Frames per second (median of ``repeats``) on the CPU in float32, shapes shared by the sequence.

    The SMPL-format model is a generated stand-in with SMPL's real sizes (6890 vertices, 24
    joints, 207 pose blend shapes); the mesh forward runs in chunks of 250 frames.
    """
    torch.set_grad_enabled(False)
    result: dict = {"frames": frames, "repeats": repeats, "threads": torch.get_num_threads()}
    start = time.perf_counter()
    smpl = SMPLFamilyModel(make_model_arrays("smpl"))
    result["smpl_load_seconds"] = round(time.perf_counter() - start, 3)
    result["smpl_kp_fps"] = round(_fps(smpl, frames, repeats, vertices=False, chunk=frames), 1)
    result["smpl_mesh_fps"] = round(_fps(smpl, frames, repeats, vertices=True, chunk=250), 1)
    if anny:
        from mvmocap.bodymodels.anny_model import AnnyModel

        start = time.perf_counter()
        model = AnnyModel()
        result["anny_load_seconds"] = round(time.perf_counter() - start, 3)
        result["anny_kp_fps"] = round(_fps(model, frames, repeats, vertices=False, chunk=frames), 1)
        result["anny_mesh_fps"] = round(_fps(model, frames, repeats, vertices=True, chunk=250), 1)
    torch.set_grad_enabled(True)
    return result
