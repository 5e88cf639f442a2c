"""The fit stage over files: keypoints3d/ -> body parameters, fitted keypoints, loss logs."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from mvmocap.bodymodels import BodyModel, load_body_model, to_standard
from mvmocap.camera import CameraRig
from mvmocap.fit import BodyFitter, FitConfig, FitResult, load_fit_config
from mvmocap.io import DataError, read_keypoints3d, write_keypoints3d, write_params_npz, write_smpl_jsons
from mvmocap.skeletons import get_format
from mvmocap.utils import atomic_write_text

__all__ = ["FitRun", "cached_fit", "fit_key", "remove_other_fits", "run_fit", "write_fit", "FIT_MARKER"]

log = logging.getLogger(__name__)

# The fit of a run is kept with the key of what it was made from (OUT/.fit.json, written last): a
# rerun with the same inputs and settings (one killed while rendering, say) reuses it instead of
# fitting again. FIT_REVISION changes when the fitter's results would.
FIT_MARKER = ".fit.json"
FIT_REVISION = 1


def fit_key(config: FitConfig, model: BodyModel, keypoints3d: np.ndarray, frames: list[int], fps: float, *,
            views: tuple[np.ndarray, CameraRig] | None = None, spec: str | None = None, gmm: str | None = None) -> str:
    """What a fit depends on, as one hash: the fit settings, the model (its name and ``spec``), the
    (F, J, 4) keypoints, their frames and rate, ``views``: the (F, V, J, 3) 2D detections and the
    cameras where the fit uses them, the GMM prior's file."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in asdict(config).items() if k != "source"}
    digest.update(json.dumps({"revision": FIT_REVISION, "settings": settings, "model": model.name, "spec": str(spec),
                              "gmm": str(gmm), "frames": [int(f) for f in frames], "fps": float(fps)},
                             sort_keys=True, default=str).encode())
    arrays = [keypoints3d] if views is None else [keypoints3d, views[0],
                                                   *(np.concatenate([c.P.ravel(), c.dist]) for c in views[1])]
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return digest.hexdigest()


def cached_fit(out: Path, key: str) -> FitResult | None:
    """The fit an earlier run with the same ``key`` left complete in ``out``, or None."""
    try:
        if json.loads((out / FIT_MARKER).read_text())["key"] != key:
            return None
        data = np.load(out / "params.npz")
        fit_log = json.loads((out / "fit_log.json").read_text())
        return FitResult(*(np.asarray(data[k], dtype=np.float64) for k in ("poses", "shapes", "Rh", "Th")),
                         keypoints=np.asarray(data["keypoints3d"], dtype=np.float64), log=fit_log["stages"],
                         seconds=float(fit_log["seconds"]))
    except (OSError, KeyError, ValueError, TypeError):
        return None


@dataclass
class FitRun:
    model: BodyModel
    result: FitResult
    frames: list[int]
    out: Path


def remove_other_fits(out: Path, people: list[int] | None = None) -> None:
    """Remove what an earlier run of another kind or with other people left in ``out``, so that no
    reader (export, view) takes it for this run's: a single-person run (``people`` None) removes
    ``people/``; a multi-person run removes the single-person ``params.npz``, ``keypoints3d_fit/``
    and ``fit_log.json``, and the ``people/<id>`` folders of ids it does not have."""
    if people is None:
        stale = [out / "people"]
    else:
        stale = [out / "params.npz", out / "keypoints3d_fit", out / "fit_log.json", out / FIT_MARKER]
        if (out / "people").is_dir():
            stale += [p for p in (out / "people").iterdir() if p.is_dir() and p.name not in {str(i) for i in people}]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        log.info("removed %s: an earlier run's, not this one's", path)


def write_fit(out: Path, model: BodyModel, result: FitResult, frames: list[int], fps: float, *,
              extra: dict[str, np.ndarray] | None = None, key: str | None = None) -> None:
    """``out/smpl/%06d.json``, ``out/params.npz`` (both conventions, plus ``extra`` arrays),
    ``out/keypoints3d_fit/``, ``out/fit_log.json``, and last, with ``key`` (:func:`fit_key`), the
    marker that lets a rerun reuse the fit (:func:`cached_fit`)."""
    (out / FIT_MARKER).unlink(missing_ok=True)  # until every file below is written
    params = {"poses": result.poses, "shapes": result.shapes, "Rh": result.Rh, "Th": result.Th}
    write_smpl_jsons(out / "smpl", params, frames)
    with torch.no_grad():
        std = {k: v.numpy() for k, v in to_standard(model, *(torch.as_tensor(params[k]) for k in
                                                            ("poses", "shapes", "Rh", "Th"))).items()}
        expanded = {}
        if model.pose_dim != 3 * len(model.full_pose_joints):  # hand PCA: also every joint's axis-angle
            expanded["full_poses"] = model.full_poses(torch.as_tensor(result.poses)).double().numpy()
    write_params_npz(out / "params.npz", {
        "global_orient": std["global_orient"], "body_pose": std["body_pose"], "betas": result.shapes[0],
        "transl": std["transl"], "fps": np.float64(fps), "frames": np.asarray(frames), "model": np.str_(model.name),
        **params, **expanded, "keypoints3d": result.keypoints, **(extra or {}),
    })
    conf = np.ones(result.keypoints.shape[:-1] + (1,))
    write_keypoints3d(out / "keypoints3d_fit", np.concatenate([result.keypoints, conf], -1), frames)
    atomic_write_text(out / "fit_log.json", json.dumps({"seconds": result.seconds, "stages": result.log}, indent=1))
    if key is not None:
        atomic_write_text(out / FIT_MARKER, json.dumps({"key": key}))


def run_fit(keypoints3d: str | Path, out: str | Path, model: str | None = None, exp: str | Path | None = None,
            gmm: str | Path | None = None, fps: float = 30.0, regressor: str | Path | None = None) -> FitRun:
    """Fit ``model`` (default Anny) to ``keypoints3d/<frame>.json`` and write the results to ``out``."""
    kp, frames = read_keypoints3d(keypoints3d)
    body = load_body_model(model, regressor=regressor)
    fmt = get_format("body25")
    if kp.shape[1] != fmt.num_joints:
        raise DataError(keypoints3d, f"expected body25 keypoints (25 joints), found {kp.shape[1]}")
    config = load_fit_config(exp)
    fitter = BodyFitter(body, config, gmm=str(gmm) if gmm else None, fps=fps)
    result = fitter.fit(kp)
    out = Path(out)
    write_fit(out, body, result, frames, fps)
    seen = kp[..., 3] > 0
    err = np.linalg.norm(result.keypoints - kp[..., :3], axis=-1)[seen]
    log.info("fitted %s to %d frames in %.1f s; median distance to the 3D keypoints %.1f mm",
             body.name, len(kp), result.seconds, 1000 * float(np.median(err)) if err.size else float("nan"))
    return FitRun(body, result, frames, out)
