"""Whole-sequence body-model fitting: losses, priors, stages, configuration."""

from mvmocap.fit.config import FitConfig, StageConfig, load_fit_config
from mvmocap.fit.fitter import BodyFitter, FitResult, plan_windows
from mvmocap.fit.joint_limits import JointLimitPrior
from mvmocap.fit.priors import GMMPosePrior

__all__ = [
    "BodyFitter",
    "FitConfig",
    "FitResult",
    "GMMPosePrior",
    "JointLimitPrior",
    "StageConfig",
    "load_fit_config",
    "plan_windows",
]
