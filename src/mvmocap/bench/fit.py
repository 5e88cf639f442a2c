"""``mvmocap bench fit``: accuracy, smoothness and speed of the body fit against a known truth.

For each model, a 1000-frame human-like motion is produced by the model itself (the mixed
procedural motion retargeted to its joints, a random body shape), its body25 keypoints are
corrupted (15 mm Gaussian noise per axis, 5% outliers 20-50 cm away, 10% missing) and fitted
from scratch with the default configuration.

``load``: the same fit is run again beside ``load`` busy processes (each a single-threaded loop, as
a browser tab or a second capture would be), measured in the same run: ``load_slowdown`` is the
loaded seconds over the quiet seconds (a machine with spare cores shows about 1; on N cores beside
one loop, a fair share is N / (N - 1) to 2).
"""

from __future__ import annotations

import contextlib
import resource
import subprocess
import sys
import time

import numpy as np

from mvmocap.bodymodels import BodyModel, SMPLFamilyModel
from mvmocap.fit import BodyFitter
from mvmocap.metrics import fit_metrics
from mvmocap.synthetic.body_motion import corrupt_keypoints3d, model_motion
from mvmocap.synthetic.model_files import make_model_arrays
from mvmocap.synthetic.motions import motion_curves

__all__ = ["bench_fit"]


def _make_model(name: str) -> BodyModel:
    if name == "smpl":
        return SMPLFamilyModel(make_model_arrays("smpl"))
    from mvmocap.bodymodels.anny_model import AnnyModel

    return AnnyModel()


@contextlib.contextmanager
def busy_processes(count: int):
    """``count`` processes spinning a single-threaded loop while the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.2 if count else 0.0)  # running before the timed work starts
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def bench_fit(frames: int = 1000, models: tuple[str, ...] = ("smpl", "anny"), seed: int = 0,
              metrics: bool = True, load: int = 0) -> dict:
    """Fit each model to its own corrupted motion; one dict of figures per model.

    ``metrics=False`` skips the vertex comparison (for memory runs on very long sequences).
    ``peak_rss_mb`` is the process's peak resident memory so far (Linux ru_maxrss).
    """
    rng = np.random.default_rng(seed)
    result: dict = {"frames": frames, "noise_mm": 15.0, "outlier_ratio": 0.05, "missing_ratio": 0.10, "load": load}
    for name in models:
        model = _make_model(name)
        shapes = rng.normal(0, 0.5, model.num_shapes) if name == "smpl" else rng.uniform(-0.3, 0.3, 6)
        truth = model_motion(model, motion_curves("mixed", frames, seed=seed + 3), shapes)
        fitter = BodyFitter(model)
        true_kp = fitter.evaluate(truth["poses"], truth["shapes"], truth["Rh"], truth["Th"])
        observed = corrupt_keypoints3d(true_kp, seed=seed + 7)
        start = time.perf_counter()
        fit = fitter.fit(observed)
        entry = {"seconds": round(time.perf_counter() - start, 2)}
        if load:
            with busy_processes(load):
                start = time.perf_counter()
                fitter.fit(observed)
                entry["seconds_loaded"] = round(time.perf_counter() - start, 2)
            entry["load_slowdown"] = round(entry["seconds_loaded"] / entry["seconds"], 2)
        seen = observed[..., 3] > 0
        entry["input_mpjpe_mm"] = round(float(np.linalg.norm(observed[..., :3] - true_kp, axis=-1)[seen].mean()
                                              * 1000), 2)
        if metrics:
            entry.update(fit_metrics(model, truth, true_kp, fit))
        entry["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        result[name] = entry
    return result
