"""``mvmocap bench hands``: hand fit accuracy and speed against a model-generated truth.

A procedural hand motion (fists, counting, pinches, a turning and drifting wrist) is produced by
the hand model itself; its 21 keypoints get 3 mm Gaussian noise per axis, 5% outliers 2-5 cm
away and 10% missing, and are fitted from scratch with the settings of ``--exp hands``.
"""

from __future__ import annotations

import time

import numpy as np

from mvmocap.bodymodels import BodyModel, SMPLFamilyModel
from mvmocap.fit import BodyFitter
from mvmocap.metrics import jitter_ratio
from mvmocap.pipeline.experiment import load_experiment
from mvmocap.synthetic.body_motion import corrupt_keypoints3d
from mvmocap.synthetic.hand_motion import hand_motion
from mvmocap.synthetic.model_files import make_model_arrays

__all__ = ["bench_bodyhands", "bench_hands"]

def _hand_model(name: str) -> BodyModel:
    if name == "mano":
        return SMPLFamilyModel(make_model_arrays("mano"))
    from mvmocap.bodymodels.anny_model import AnnyModel

    return AnnyModel(hand="R")


def bench_hands(frames: int = 1000, models: tuple[str, ...] = ("mano", "anny"), seed: int = 0) -> dict:
    """Fit each hand model to its own motion: the MANO-format stand-in (778 vertices, 16 joints,
    generated) and Anny's free right hand (1609 vertices)."""
    result: dict = {"frames": frames, "noise_mm": 3.0, "outlier_ratio": 0.05, "missing_ratio": 0.10}
    for name in models:
        result[name] = _bench_one(_hand_model(name), frames, seed)
    return result


def _bench_one(model: BodyModel, frames: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    bounds = model.shape_bounds or (-1.0, 1.0)
    shapes = rng.uniform(0.5 * bounds[0], 0.5 * bounds[1], model.num_shapes)
    truth = hand_motion(model, frames, shapes=shapes, seed=seed)
    true_kp = model.sequence(truth, "hand21")
    observed = corrupt_keypoints3d(true_kp, noise_m=0.003, outlier_ratio=0.05, missing_ratio=0.10,
                                   outlier_range=(0.02, 0.05), seed=seed + 1)
    fitter = BodyFitter(model, load_experiment("hands").fit, keypoint_format="hand21")
    start = time.perf_counter()
    fit = fitter.fit(observed)
    seconds = time.perf_counter() - start
    err = np.linalg.norm(fit.keypoints - true_kp, axis=-1)

    seen = observed[..., 3] > 0
    return {"kp_mpjpe_mm": round(float(err.mean() * 1000), 2),
            "kp_p99_mm": round(float(np.percentile(err, 99) * 1000), 2),
            "input_mpjpe_mm": round(float(np.linalg.norm(observed[..., :3] - true_kp, axis=-1)[seen].mean() * 1e3), 2),
            "jitter_ratio": round(jitter_ratio(fit.keypoints, true_kp), 3),
            "seconds": round(seconds, 2)}


def _whole_body_model(name: str) -> BodyModel:
    if name == "smplh":
        return SMPLFamilyModel(make_model_arrays("smplh"))
    from mvmocap.bodymodels.anny_model import anny_with_fingers

    return anny_with_fingers()


def bench_bodyhands(frames: int = 300, models: tuple[str, ...] = ("smplh", "anny"), seed: int = 0) -> dict:
    """Whole-body fits with hands (67 keypoints): a walk with moving fingers made by each model,
    5 mm noise per axis, 10% missing, fitted with the settings of ``--exp body+hands``."""
    from mvmocap.synthetic.body_motion import model_motion
    from mvmocap.synthetic.motions import motion_curves

    result: dict = {"frames": frames, "noise_mm": 5.0, "missing_ratio": 0.10}
    config = load_experiment("body+hands").fit
    for name in models:
        model = _whole_body_model(name)
        bounds = model.shape_bounds or (-1.0, 1.0)
        shapes = np.random.default_rng(seed).uniform(0.3 * bounds[0], 0.3 * bounds[1], model.num_shapes)
        truth = model_motion(model, motion_curves("walk", frames, seed=seed + 3), shapes)
        for side in ("l", "r"):  # finger poses only; the body's joints stay as the walk set them
            truth["poses"] = truth["poses"] + hand_motion(model, frames, seed=seed + 5, side=side)["poses"]
        true_kp = model.sequence(truth, "bodyhands")
        observed = corrupt_keypoints3d(true_kp, noise_m=0.005, outlier_ratio=0.0, missing_ratio=0.10, seed=seed + 1)
        start = time.perf_counter()
        fit = BodyFitter(model, config, keypoint_format="bodyhands").fit(observed)
        err = np.linalg.norm(fit.keypoints - true_kp, axis=-1)
        result[name] = {"body_mpjpe_mm": round(float(err[:, :25].mean() * 1000), 2),
                        "hands_mpjpe_mm": round(float(err[:, 25:].mean() * 1000), 2),
                        "seconds": round(time.perf_counter() - start, 2)}
    return result
