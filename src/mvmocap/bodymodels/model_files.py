"""Reading the SMPL-family model files users download, and finding them on disk.

Official files come as Python-2 pickles whose arrays are chumpy objects (and whose
``J_regressor`` is a SciPy sparse matrix), as plain pickles, or as ``.npz``. Pickles are read
with a restricted unpickler: chumpy and SciPy classes are replaced by stand-ins that keep their
data, NumPy arrays are rebuilt, and any other class is refused, so neither chumpy nor SciPy is
needed and a model file cannot run code.
"""

from __future__ import annotations

import copyreg
import os
import pickle
from pathlib import Path

import numpy as np

from mvmocap.utils import InputError

__all__ = [
    "MODELS_ENV",
    "MODEL_FILE_NAMES",
    "ModelFileError",
    "REGISTER_AT",
    "find_model_file",
    "load_restricted_pickle",
    "read_model_file",
]

MODELS_ENV = "MVMOCAP_MODELS"
REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
OPTIONAL_KEYS = ("hands_components", "hands_mean", "hands_componentsl", "hands_componentsr", "hands_meanl",
                 "hands_meanr")

MODEL_FILE_NAMES = {
    "smpl": {
        g: [f"SMPL_{g.upper()}.pkl", f"SMPL_{g.upper()}.npz", f"basicmodel_{c}_lbs_10_207_0_v1.1.0.pkl",
            f"basicModel_{c}_lbs_10_207_0_v1.0.0.pkl"]
        for g, c in (("neutral", "neutral"), ("male", "m"), ("female", "f"))
    },
    "smplh": {g: [f"SMPLH_{g.upper()}.pkl", f"SMPLH_{g.upper()}.npz", f"{g}/model.npz"]
              for g in ("neutral", "male", "female")},
    "smplx": {g: [f"SMPLX_{g.upper()}.npz", f"SMPLX_{g.upper()}.pkl"] for g in ("neutral", "male", "female")},
    "mano": {s: [f"MANO_{s.upper()}.pkl", f"MANO_{s.upper()}.npz"] for s in ("right", "left")},
}
REGISTER_AT = {
    "smpl": "https://smpl.is.tue.mpg.de",
    "smplh": "https://mano.is.tue.mpg.de (SMPL+H)",
    "smplx": "https://smpl-x.is.tue.mpg.de",
    "mano": "https://mano.is.tue.mpg.de",
}


class ModelFileError(FileNotFoundError):
    """A body model file is missing or unreadable; the message says where we looked and what to do."""


class _StandIn:
    """Keeps the pickled state of a chumpy or SciPy object."""

    def __init__(self, *args, **kwargs):
        self.state = None

    def __setstate__(self, state):
        self.state = state


class _Chumpy(_StandIn):
    pass


class _Sparse(_StandIn):
    layout = "csc"


_NUMPY = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}


class _ModelUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module.startswith("chumpy"):
            return _Chumpy
        if module.startswith("scipy.sparse") and name[:3] in ("csc", "csr", "coo"):
            return type(name, (_Sparse,), {"layout": name[:3]})
        if (module, name) in _NUMPY:
            import importlib

            return getattr(importlib.import_module(module.replace("numpy.core", "numpy._core")), name)
        if (module, name) in (("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")):
            return copyreg._reconstructor
        if (module, name) in (("__builtin__", "object"), ("builtins", "object")):
            return object
        if (module, name) == ("_codecs", "encode"):  # bytes in protocol-2 pickles written by Python 3
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a model file")


def _to_array(value, key: str, path: Path):
    if isinstance(value, _Chumpy):
        state = value.state if isinstance(value.state, dict) else {}
        if "x" not in state:
            raise ModelFileError(f"{path}: field '{key}' is a chumpy expression without stored values")
        return np.asarray(state["x"])
    if isinstance(value, _Sparse):
        return _sparse_to_dense(value.state or {}, value.layout, key, path)
    return value


def _sparse_to_dense(state: dict, layout: str, key: str, path: Path) -> np.ndarray:
    shape = tuple(state.get("_shape", state.get("shape", ())))
    data = np.asarray(state.get("data", []))
    dense = np.zeros(shape, dtype=np.float64)
    if layout in ("csc", "csr") and "indptr" in state:
        indptr, indices = np.asarray(state["indptr"]), np.asarray(state["indices"])
        outer = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        rows, cols = (indices, outer) if layout == "csc" else (outer, indices)
    elif layout == "coo" and "row" in state:
        rows, cols = np.asarray(state["row"]), np.asarray(state["col"])
    else:
        raise ModelFileError(f"{path}: field '{key}' is a sparse matrix in an unknown layout")
    np.add.at(dense, (rows, cols), data)
    return dense


def load_restricted_pickle(path: Path):
    """Unpickle ``path`` with the restricted unpickler (NumPy arrays, chumpy/SciPy stand-ins)."""
    try:
        with path.open("rb") as fh:
            raw = _ModelUnpickler(fh, encoding="latin1").load()
    except (pickle.UnpicklingError, ValueError, EOFError, OSError) as err:
        raise ModelFileError(f"{path}: not a readable pickle of arrays ({err})") from None
    if isinstance(raw, dict):
        raw = {k: _to_array(v, k, path) for k, v in raw.items()}
    return raw


def read_model_file(path: str | Path) -> dict[str, np.ndarray]:
    """Arrays of a SMPL-family model file (``.pkl`` with or without chumpy, or ``.npz``)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                raw = {k: npz[k] for k in (*REQUIRED_KEYS, *OPTIONAL_KEYS) if k in npz.files}
        except (ValueError, OSError) as err:
            raise ModelFileError(f"{path}: not a readable SMPL-family model file ({err})") from None
    else:
        raw = load_restricted_pickle(path)
    if not isinstance(raw, dict):
        raise ModelFileError(f"{path}: expected a dict of arrays, got {type(raw).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise ModelFileError(f"{path}: missing field(s) {missing}; is this a SMPL/SMPL-H/SMPL-X/MANO model file?")
    return {k: np.asarray(_to_array(raw[k], k, path)) for k in (*REQUIRED_KEYS, *OPTIONAL_KEYS) if k in raw}


def _user_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mvmocap" / "models"


def find_model_file(kind: str, variant: str = "neutral", path: str | Path | None = None) -> Path:
    """Locate a model file: an explicit file or folder, then ``$MVMOCAP_MODELS``, then the user folder.

    ``variant`` is the gender (neutral, male, female) or, for MANO, the side (right, left).
    """
    if kind not in MODEL_FILE_NAMES:
        raise InputError(f"unknown model kind {kind!r}; one of {sorted(MODEL_FILE_NAMES)}")
    names = MODEL_FILE_NAMES[kind].get(variant)
    if names is None:
        raise InputError(f"{kind} has no variant {variant!r}; one of {sorted(MODEL_FILE_NAMES[kind])}")
    if path is not None and Path(path).is_file():
        return Path(path)
    folders = [Path(path)] if path is not None else []
    if os.environ.get(MODELS_ENV):
        folders.append(Path(os.environ[MODELS_ENV]))
    folders.append(_user_dir())
    tried = []
    for folder in folders:
        for sub in ("", kind, f"models/{kind}"):
            for name in names:
                candidate = folder / sub / name
                tried.append(candidate)
                if candidate.is_file():
                    return candidate
    looked = "\n  ".join(sorted({str(p.parent) for p in tried}))
    raise ModelFileError(
        f"no {kind} model file ({variant}) found. Looked in:\n  {looked}\n"
        f"for one of: {', '.join(names)}.\n"
        f"Register and download the model at {REGISTER_AT[kind]}, then pass its path, set {MODELS_ENV} "
        f"to its folder, or copy it to {_user_dir()}."
    )
