"""Choosing a body model by name: ``anny`` (the default), ``smpl``, ``smplh``, ``smplx``, ``mano``."""

from __future__ import annotations

from pathlib import Path

import torch

from mvmocap.bodymodels.base import BodyModel
from mvmocap.bodymodels.model_files import MODEL_FILE_NAMES
from mvmocap.bodymodels.smpl import load_smpl_family
from mvmocap.utils import InputError

__all__ = ["load_body_model", "DEFAULT_MODEL"]

DEFAULT_MODEL = "anny"


def load_body_model(spec: str | None = None, dtype: torch.dtype = torch.float32, num_shapes: int = 10,
                    regressor: str | Path | None = None, hand_pca: int | None = None) -> BodyModel:
    """Load a body model from a short spec.

    ``anny``; ``anny-hand[:R|L]`` (Anny's free hand model); ``KIND`` (found in
    ``$MVMOCAP_MODELS`` or the user folder); ``KIND:VARIANT`` with a gender (neutral, male,
    female) or MANO side (right, left); ``KIND:PATH`` to a file or folder.
    ``None`` gives the default, Anny. ``regressor`` is a user ``.npy`` body25 regressor (SMPL family).
    ``hand_pca``: MANO, SMPL-H and SMPL-X fingers posed by this many PCA coefficients per hand.
    """
    spec = spec or DEFAULT_MODEL
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind in ("anny", "anny-hand"):
        from mvmocap.bodymodels.anny_model import AnnyModel

        if hand_pca is not None:
            raise InputError("hand_pca needs MANO, SMPL-H or SMPL-X hands (their files hold the PCA); Anny has none")
        if kind == "anny":
            return AnnyModel(dtype=dtype)
        return AnnyModel(dtype=dtype, hand=(rest or "R").upper())
    if kind not in MODEL_FILE_NAMES:
        raise InputError(f"unknown body model {spec!r}; use anny, anny-hand[:R|L], or "
                         "smpl / smplh / smplx / mano[:VARIANT|:PATH]")
    variants = MODEL_FILE_NAMES[kind]
    variant = rest if rest in variants else ("right" if kind == "mano" else "neutral")
    path = rest if rest and rest not in variants else None
    model = load_smpl_family(kind, variant, path, num_shapes=num_shapes, regressor=regressor, hand_pca=hand_pca)
    return model.to(dtype)
