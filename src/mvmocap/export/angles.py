"""A finished run's joint angles to a file (``mvmocap angles``): OpenSim ``.mot`` or CSV
(:mod:`mvmocap.angles`)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mvmocap.angles import JointAngles, joint_angles, write_angles
from mvmocap.export.source import load_fitted_run

__all__ = ["export_angles"]

log = logging.getLogger(__name__)


def export_angles(out: str | Path, *, to: str | Path | None = None, person: int = 0,
                  model: str | None = None) -> tuple[Path, JointAngles]:
    """The joint angles of person ``person`` of the run in ``out`` written to ``to`` (``.mot`` or
    ``.csv``; default ``OUT/angles.mot``, ``OUT/people/<id>/angles.mot`` for a multi-person run).
    Returns the file and the angles."""
    run = load_fitted_run(out, person=person, model=model)
    hands = np.load(run.params_file)["keypoints3d"].shape[1] > 25  # a fit to hand keypoints: the wrists too
    angles = joint_angles(run.model, run.params, run.frames, run.fps, wrists=hands)
    path = write_angles(Path(to) if to is not None else run.params_file.parent / "angles.mot", angles,
                        name=f"mvmocap joint angles of {run.model_name}, person {person}")
    log.info("joint angles of %d frames (%s) written to %s", len(run.frames), run.model.name, path)
    return path, angles
