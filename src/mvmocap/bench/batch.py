"""``mvmocap bench batch``: throughput of ``mvmocap batch`` over ``trials`` short synthetic trials
(keypoint captures of ``frames`` frames x 4 cameras, the default body model), serial and with
``workers`` worker processes and on a Ray instance started on this machine for the batch (its start
included; absent when Ray is not installed), each from a clean output; ``speedup`` = trials per
minute over the serial rate."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import time
from pathlib import Path

from mvmocap.batch import BatchOptions, run_batch
from mvmocap.synthetic import make_capture, write_capture

__all__ = ["bench_batch"]


def bench_batch(trials: int = 8, frames: int = 60, workers: int = 2) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "session"
        for k in range(trials):
            write_capture(make_capture(frames=frames, cameras=4, seed=k, image_size=(1280, 720)), session / f"t{k:02d}")
        rates = {}
        runs = [("serial", {"workers": 1}), (f"workers_{workers}", {"workers": workers})]
        if importlib.util.find_spec("ray") is not None:
            runs.append(("ray_local", {"ray": "local"}))
        for label, how in runs:
            for out in session.glob("*/output"):
                shutil.rmtree(out)
            start = time.perf_counter()
            results = run_batch(session, options=BatchOptions(), **how)
            minutes = (time.perf_counter() - start) / 60
            if any(r.status != "done" for r in results):
                raise RuntimeError(f"bench batch: trials failed: {[r.error for r in results if r.error]}")
            rates[label] = round(trials / minutes, 2)
    return {"trials_per_minute": rates,
            "speedup": {label: round(rate / rates["serial"], 2) for label, rate in rates.items() if label != "serial"},
            "trials": trials, "frames": frames, "workers": workers}
