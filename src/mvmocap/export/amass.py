"""AMASS-style ``.npz`` of an SMPL-family fit (the field names AMASS releases use).

- every model: ``poses`` (F, 3 J) axis-angle of every joint in the model's joint order, root
  first, the root rotating about the pelvis (SMPL's standard convention: ``global_orient``);
  ``trans`` (F, 3) metres; ``betas`` (S,); ``gender`` (``neutral``/``male``/``female``, from the
  model file's name); ``surface_model_type`` (``smpl``, ``smplh``, ``smplx``);
- SMPL and SMPL-H (AMASS's original release): ``mocap_framerate``;
- SMPL-X (AMASS's SMPL-X release): ``mocap_frame_rate``, ``num_betas``, and the split
  ``root_orient`` (3), ``pose_body`` (63), ``pose_jaw`` (3), ``pose_eye`` (6), ``pose_hand`` (90).

Axes: mvmocap's world (z up, metres), which is also AMASS's. Hand PCA fits are written with
every finger joint's axis-angle (the coefficients expanded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mvmocap.bodymodels import to_standard
from mvmocap.export.source import FittedRun
from mvmocap.io import DataError, write_params_npz

__all__ = ["write_amass", "amass_gender"]

_KINDS = ("smpl", "smplh", "smplx")


def amass_gender(model_name: str) -> str:
    """``female``, ``male`` or ``neutral`` from a model's name (its file name, e.g. ``SMPL_MALE.pkl``)."""
    name = model_name.lower()
    return "female" if "female" in name else "male" if "male" in name else "neutral"


def write_amass(path: str | Path, run: FittedRun) -> Path:
    """Write ``run`` as an AMASS ``.npz`` (atomically); see the module docstring."""
    kind = getattr(run.model, "kind", run.model.name)
    if kind not in _KINDS:
        raise DataError(run.out / "params.npz", f"AMASS holds SMPL, SMPL-H or SMPL-X bodies; this fit used "
                                                f"{run.model.name}: export .bvh or .glb instead")
    with torch.no_grad():
        p = {k: torch.as_tensor(v) for k, v in run.params.items()}
        std = to_standard(run.model, p["poses"], p["shapes"], p["Rh"], p["Th"])
        full = run.model.full_poses(torch.as_tensor(run.params["poses"])).double().numpy()
    poses = full.copy()
    poses[:, :3] = std["global_orient"].double().numpy()
    betas = run.params["shapes"].reshape(-1)
    fields = {"poses": poses, "trans": std["transl"].double().numpy(), "betas": betas,
              "gender": np.str_(amass_gender(run.model_name)), "surface_model_type": np.str_(kind)}
    if kind == "smplx":
        fields.update({"mocap_frame_rate": np.float64(run.fps), "num_betas": np.int64(len(betas)),
                       "root_orient": poses[:, :3], "pose_body": poses[:, 3:66], "pose_jaw": poses[:, 66:69],
                       "pose_eye": poses[:, 69:75], "pose_hand": poses[:, 75:165]})
    else:
        fields["mocap_framerate"] = np.float64(run.fps)
    write_params_npz(path, fields)
    return Path(path)
