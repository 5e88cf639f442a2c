"""Fit configuration: the packaged ``default_fit.yml`` merged with the user's YAML.

Unknown keys are errors that name the key and the file, so a typo never silently falls back to
a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from mvmocap.settings import require_at_least_one, require_positive, settings_from
from mvmocap.utils import InputError, merge_settings

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "FitConfig",
    "FitPass",
    "STAGE_TERMS",
    "SolverSettings",
    "StageConfig",
    "TEMPORAL_TERMS",
    "load_fit_config",
    "merged_fit_settings",
]

DEFAULT_CONFIG_PATH = Path(str(resources.files("mvmocap.fit") / "default_fit.yml"))

_POSE_TERMS = ("keypoints3d", "rot_velocity", "rot_acceleration", "Th_acceleration", "kp_velocity",
               "kp_acceleration", "joint_limits", "pose_reg", "gmm")
STAGE_TERMS = {
    "shape": ("limb_length", "shape", "girth"),
    "global": ("torso", "rot_acceleration", "Th_acceleration"),
    "poses": _POSE_TERMS,
    "reprojection": ("reprojection", *_POSE_TERMS),
}


TEMPORAL_TERMS = ("rot_velocity", "rot_acceleration", "Th_acceleration", "kp_velocity", "kp_acceleration")


@dataclass
class FitPass:
    """One optimisation of a stage: the robust scale (None: squared error) and a factor on the
    temporal terms' weights."""

    robust_sigma: float | None = None
    temporal: float = 1.0


@dataclass
class StageConfig:
    """One stage: its loss weights, iteration budget per pass, stopping rule and passes."""

    name: str
    iterations: int
    tolerance: float
    weights: dict[str, float]
    passes: list[FitPass] = field(default_factory=lambda: [FitPass()])
    enabled: bool = True

    def pass_weights(self, fit_pass: FitPass) -> dict[str, float]:
        """The weights of one pass (temporal terms scaled)."""
        return {k: w * (fit_pass.temporal if k in TEMPORAL_TERMS else 1.0) for k, w in self.weights.items()}


@dataclass(frozen=True)
class SolverSettings:
    """How the fit's stages are optimised (values in ``default_fit.yml``).

    method: gauss-newton (Levenberg-Marquardt on the analytic Jacobian, frames tied by the temporal
        terms solved by preconditioned conjugate gradients) or lbfgs (each stage's own budget).
    iterations: Levenberg-Marquardt steps per pass at most.
    tolerance: stop when a step lowers the loss by less than this fraction of it.
    cg_iterations: conjugate-gradient steps per linear solve at most.
    cg_tolerance: the solve stops when its residual is this fraction of the gradient.
    """

    method: str
    iterations: int
    tolerance: float
    cg_iterations: int
    cg_tolerance: float

    def __post_init__(self):
        if self.method not in ("gauss-newton", "lbfgs"):
            raise ValueError(f"method: must be gauss-newton or lbfgs, got {self.method!r}")
        require_at_least_one(self, "iterations", "cg_iterations")
        require_positive(self, "tolerance", "cg_tolerance")


@dataclass
class FitConfig:
    window_size: int
    window_overlap: int
    init_cutoff_hz: float
    init_outlier_sigma: float
    fit_smoothed: bool
    stages: dict[str, StageConfig]
    solver: SolverSettings
    source: str = "default"


def merged_fit_settings(overrides: dict | None = None, path: str | Path | None = None) -> dict:
    """The fit settings as a nested mapping: ``default_fit.yml``, then the YAML at ``path``, then
    ``overrides``; a key the defaults lack is an error naming it."""
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: fit configuration not found")
        raw = merge_settings(raw, yaml.safe_load(path.read_text()) or {}, str(path))
    return merge_settings(raw, overrides, "overrides")


def load_fit_config(path: str | Path | None = None, overrides: dict | None = None) -> FitConfig:
    """Defaults, then the YAML at ``path``, then ``overrides`` (a nested dict)."""
    raw = merged_fit_settings(overrides, path)
    source = "default" if path is None else str(path)
    stages = {}
    for name, terms in STAGE_TERMS.items():
        entry = raw[name]
        if "passes" in entry:
            passes = [FitPass(**merge_settings({"robust_sigma": None, "temporal": 1.0}, p, source, f"{name}.passes."))
                      for p in entry["passes"]]
        else:
            passes = [FitPass(entry.get("robust_sigma"))]
        weights = {k: float(v) for k, v in entry["weights"].items()}
        unknown = [k for k in weights if k not in terms]
        if unknown:
            raise InputError(f"{source}: stage '{name}' has no loss {unknown}; its losses are {list(terms)}")
        if not passes:
            raise InputError(f"{source}: stage '{name}' needs at least one pass")
        stages[name] = StageConfig(name, int(entry["iterations"]), float(entry["tolerance"]), weights, passes,
                                   bool(entry.get("enabled", True)))
    window = raw["window"]
    if window["size"] < 2 or not 0 <= window["overlap"] < window["size"] // 2:
        raise InputError(f"{source}: window size must be >= 2 and overlap in [0, size / 2)")
    init = raw["init"]
    solver = settings_from(SolverSettings, raw["solver"], f"{source}: solver")
    return FitConfig(int(window["size"]), int(window["overlap"]), float(init["cutoff_hz"]),
                     float(init["outlier_sigma"]), bool(init["fit_smoothed"]), stages, solver, source)
