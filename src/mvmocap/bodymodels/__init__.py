"""Parametric body models behind one interface: the SMPL family from the user's files, and Anny."""

from mvmocap.bodymodels.base import BodyModel, BodyOutput, from_standard, to_standard
from mvmocap.bodymodels.model_files import MODELS_ENV, ModelFileError, find_model_file, read_model_file
from mvmocap.bodymodels.regressors import KeypointMap, load_regressor_file, regressor_from_matrix
from mvmocap.bodymodels.smpl import SMPLFamilyModel, load_smpl_family

__all__ = [
    "MODELS_ENV",
    "BodyModel",
    "BodyOutput",
    "KeypointMap",
    "ModelFileError",
    "SMPLFamilyModel",
    "find_model_file",
    "from_standard",
    "load_regressor_file",
    "load_smpl_family",
    "read_model_file",
    "regressor_from_matrix",
    "to_standard",
]
