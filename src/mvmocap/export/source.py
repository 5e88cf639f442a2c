"""What an export reads: a finished run's output folder (``params.npz``, ``keypoints3d/``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvmocap.bodymodels import BodyModel, load_body_model
from mvmocap.io import DataError, read_keypoints3d
from mvmocap.skeletons import get_format
from mvmocap.utils import InputError

__all__ = ["FittedRun", "load_fitted_run"]


@dataclass(frozen=True)
class FittedRun:
    """One person of a run: the fit's parameters (EasyMocap convention: ``poses`` (F, D),
    ``shapes`` (1, S), ``Rh``, ``Th`` (F, 3)), its frame numbers and rate, and the model."""

    out: Path
    person: int
    params: dict[str, np.ndarray]
    frames: np.ndarray
    fps: float
    model: BodyModel
    model_name: str
    params_file: Path  # OUT/params.npz, or OUT/people/<id>/params.npz of a multi-person run

    def keypoints(self, which: str = "triangulated") -> tuple[np.ndarray, list[str]]:
        """``(F, K, 4)`` keypoints (metres, confidence 0 = missing) on the fit's frames and their
        names: ``triangulated`` (``keypoints3d/``) or ``fit`` (the fitted body's keypoints)."""
        names = list(get_format("body25").joints)
        if which == "fit":
            kp = np.asarray(np.load(self.params_file)["keypoints3d"], dtype=np.float64)
            return np.concatenate([kp, np.ones(kp.shape[:-1] + (1,))], -1), names
        if which != "triangulated":
            raise InputError(f"--keypoints must be 'triangulated' or 'fit', got {which!r}")
        kp, frames = read_keypoints3d(self.out / "keypoints3d", pid=self.person)
        by_frame = dict(zip(frames, kp, strict=True))
        blank = np.zeros(kp.shape[1:])
        return np.stack([by_frame.get(int(f), blank) for f in self.frames]), names[:kp.shape[1]]


def load_fitted_run(out: str | Path, *, person: int = 0, model: str | None = None) -> FittedRun:
    """Read ``out/params.npz`` (of a multi-person run: ``out/people/<person>/params.npz``) and
    load its body model (``model``: a spec for
    :func:`mvmocap.bodymodels.load_body_model`, needed when the fit used a model file that is not
    found by its kind alone, e.g. ``smpl:/path/SMPL_MALE.pkl``)."""
    out = Path(out)
    path = out / "params.npz"
    people = out / "people"
    if people.is_dir() and not path.is_file():  # a multi-person run: one folder per id
        path = people / str(person) / "params.npz"
        if not path.is_file():
            ids = sorted(int(p.name) for p in people.iterdir() if p.name.isdigit())
            raise DataError(path, f"--person {person}: this run holds the people {ids}")
        person_checked = True
    else:
        person_checked = False
    if not path.is_file():
        raise DataError(path, "not found: export reads a finished run's output folder (mvmocap run ... --out OUT)")
    data = np.load(path)
    missing = [k for k in ("poses", "shapes", "Rh", "Th", "fps", "frames", "model") if k not in data]
    if missing:
        raise DataError(path, f"fields {missing} are missing; rerun the fit with this mvmocap version")
    if person != 0 and not person_checked:
        raise DataError(path, f"--person {person}: this run holds one person, id 0")
    name = str(data["model"])
    body = load_body_model(model or name.split(" ")[0])
    params = {k: np.asarray(data[k], dtype=np.float64) for k in ("poses", "shapes", "Rh", "Th")}
    if params["poses"].shape[1] != body.pose_dim or params["shapes"].shape[-1] != body.num_shapes:
        raise DataError(path, f"its parameters (poses {params['poses'].shape[1]}, shapes "
                              f"{params['shapes'].shape[-1]}) do not fit the model {body.name} (pose_dim "
                              f"{body.pose_dim}, {body.num_shapes} shapes); pass the fit's model with --model")
    return FittedRun(out, person, params, np.asarray(data["frames"]), float(data["fps"]), body, name, path)
