"""Parametric body models behind one interface: the SMPL family from the user's files, and Anny.

``AnnyModel`` lives in :mod:`mvmocap.bodymodels.anny_model` (imported on demand: it loads Anny's assets).
"""

from mvmocap.bodymodels.base import BodyModel, BodyOutput, from_standard, to_standard
from mvmocap.bodymodels.model_files import MODELS_ENV, ModelFileError, find_model_file, read_model_file
from mvmocap.bodymodels.regressors import FoldedRegressor, KeypointMap, load_regressor_file, regressor_from_matrix
from mvmocap.bodymodels.select import DEFAULT_MODEL, load_body_model
from mvmocap.bodymodels.smpl import SMPLFamilyModel, load_smpl_family

__all__ = [
    "DEFAULT_MODEL",
    "MODELS_ENV",
    "FoldedRegressor",
    "BodyModel",
    "BodyOutput",
    "KeypointMap",
    "ModelFileError",
    "SMPLFamilyModel",
    "find_model_file",
    "from_standard",
    "load_body_model",
    "load_regressor_file",
    "load_smpl_family",
    "read_model_file",
    "regressor_from_matrix",
    "to_standard",
]
