"""``mvmocap export OUT --to FILE``: a finished run into the format its extension names."""

from __future__ import annotations

import logging
from pathlib import Path

from mvmocap.bodymodels.skinned import skinned_sequence
from mvmocap.export.amass import write_amass
from mvmocap.export.axes import ExportFrame
from mvmocap.export.bvh import write_bvh
from mvmocap.export.gltf import write_glb
from mvmocap.export.markers import write_c3d, write_trc
from mvmocap.export.source import load_fitted_run
from mvmocap.utils import InputError

__all__ = ["FORMATS", "export_run"]

log = logging.getLogger(__name__)

FORMATS = {".bvh": "skeleton motion (Blender, MotionBuilder, game engines)",
           ".glb": "skinned, animated mesh (glTF 2.0: Blender, Unity, Unreal, three.js)",
           ".npz": "AMASS parameters (SMPL-family fits)",
           ".trc": "3D keypoints for OpenSim", ".c3d": "3D keypoints for biomechanics tools"}
_RUN_FILES = ("params.npz", "report.json", "fit_log.json", "triangulation_report.json")


def export_run(out: str | Path, to: str | Path, *, person: int = 0, up: str | None = None, units: str | None = None,
               model: str | None = None, correctives: bool = True, keypoints: str = "triangulated") -> Path:
    """Export person ``person`` of the run in ``out`` to ``to`` (format from its extension, see
    :data:`FORMATS`). ``up``/``units``: the axes and units of BVH, TRC and C3D (default y up,
    metres); glTF (y up, metres) and AMASS (z up, metres) fix theirs, so giving them is an error.
    ``keypoints`` (TRC/C3D): ``triangulated`` or ``fit``."""
    out, to = Path(out), Path(to)
    suffix = to.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--to {to}: unknown extension {to.suffix!r}; one of "
                         + ", ".join(f"{k} ({v})" for k, v in FORMATS.items()))
    if to.resolve() in {(out / name).resolve() for name in _RUN_FILES}:
        raise InputError(f"--to {to} would replace the run's own {to.name}; choose another file")
    if suffix in (".glb", ".npz") and (up, units) != (None, None):
        fixed = "y up, metres" if suffix == ".glb" else "z up, metres"
        raise InputError(f"--to {to.name}: the format fixes its axes and units ({fixed}); drop --up/--units")
    frame = ExportFrame(up or "y", units or "m")
    run = load_fitted_run(out, person=person, model=model)
    if suffix == ".bvh":
        write_bvh(to, skinned_sequence(run.model, run.params), run.fps, frame)
    elif suffix == ".glb":
        write_glb(to, skinned_sequence(run.model, run.params), run.fps, correctives=correctives)
    elif suffix == ".npz":
        write_amass(to, run)
    else:
        kp, names = run.keypoints(keypoints)
        (write_trc if suffix == ".trc" else write_c3d)(to, kp, names, run.fps, frame)
    log.info("exported %d frames of %s (%s) to %s", len(run.frames), run.model.name, FORMATS[suffix], to)
    return to
