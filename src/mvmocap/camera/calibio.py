"""Load and save a ``CameraRig`` in any supported calibration format, chosen by path.

A folder is searched as peers lay sessions out: EasyMocap's ``intri.yml`` + ``extri.yml``, else
the one ``.toml`` or ``.qca.txt`` file in it, in its ``calibration/`` sub-folder (Pose2Sim's
layout) or in ``calibration/extrinsic/capture_volume/`` (caliscope's workspace, its
``camera_array.toml``), that parses as a calibration (FreeMoCap's ``*_camera_calibration.toml``
in the recording folder is found as the folder's own): other ``.toml`` files (Pose2Sim's ``Config.toml`` project
settings, a caliscope board file) are not calibrations and are passed over.
"""

from __future__ import annotations

from pathlib import Path

from mvmocap.camera.camera import CameraRig
from mvmocap.camera.errors import CalibrationError
from mvmocap.camera.formats.easymocap import read_easymocap, write_easymocap
from mvmocap.camera.formats.qualisys import read_qualisys, write_qualisys
from mvmocap.camera.formats.toml_calib import read_toml, write_toml

__all__ = ["load_calibration", "save_calibration", "find_calibration", "FORMATS_HELP"]

FORMATS_HELP = (
    "a folder with EasyMocap intri.yml + extri.yml, an anipose/Pose2Sim .toml file, "
    "or a Qualisys .qca.txt file"
)


# where a folder's calibration is looked for, in order: the folder, Pose2Sim's calibration/ and the
# capture volume caliscope writes in its workspace
_CALIBRATION_PLACES = (".", "calibration", "calibration/extrinsic/capture_volume")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".qca.txt") or name.endswith(".qca"):
        return "qualisys"
    if name.endswith(".toml"):
        return "toml"
    if name.endswith((".yml", ".yaml")) or path.is_dir() or not path.suffix:
        return "easymocap"
    raise CalibrationError(path, f"unknown calibration format; expected {FORMATS_HELP}")


def _read(path: Path) -> CameraRig:
    kind = _kind(path)
    if kind == "qualisys":
        return read_qualisys(path)
    if kind == "toml":
        return read_toml(path)
    folder = path if path.is_dir() else path.parent
    return read_easymocap(folder / "intri.yml", folder / "extri.yml")


def _calibration_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The ``.toml`` / ``.qca.txt`` files of ``folder`` that parse as calibrations, and those that do not."""
    files = sorted(folder.glob("*.toml")) + sorted(folder.glob("*.qca.txt"))
    good, other = [], []
    for f in files:
        try:
            _read(f)
            good.append(f)
        except CalibrationError:
            other.append(f)
    return good, other


def find_calibration(folder: str | Path) -> Path | None:
    """The calibration of a dataset or session folder (module docstring): the folder itself when it
    holds ``intri.yml`` + ``extri.yml``, else the one calibration file in it, in its
    ``calibration/`` sub-folder or in caliscope's capture volume; None when there is none or more
    than one in a place."""
    folder = Path(folder)
    for place in (folder / sub for sub in _CALIBRATION_PLACES):
        if (place / "intri.yml").is_file() and (place / "extri.yml").is_file():
            return place
        if place.is_dir():
            good, _ = _calibration_files(place)
            if len(good) == 1:
                return good[0]
    return None


def load_calibration(path: str | Path) -> CameraRig:
    """Read a rig from a dataset folder (module docstring: its own files or its ``calibration/``
    sub-folder), a ``.toml`` or a ``.qca.txt``."""
    path = Path(path)
    if not path.exists():
        raise CalibrationError(path, f"not found; expected {FORMATS_HELP}")
    if path.is_dir() and not (path / "intri.yml").exists():
        found = find_calibration(path)
        if found is None:
            sorted_files = [_calibration_files(path / sub) for sub in _CALIBRATION_PLACES if (path / sub).is_dir()]
            good = [f for files, _ in sorted_files for f in files]
            other = [f for _, files in sorted_files for f in files]
            seen = [f"more than one: {[str(f.relative_to(path)) for f in good]}"] if len(good) > 1 else []
            seen += [f"not calibrations: {[str(f.relative_to(path)) for f in other]}"] if other else []
            raise CalibrationError(path, "no calibration found (looked for intri.yml + extri.yml, *.toml, *.qca.txt "
                                         "here, in calibration/ and in calibration/extrinsic/capture_volume/"
                                         f"{'; ' if seen else ''}{'; '.join(seen)}). "
                                         f"Pass --calib with {FORMATS_HELP}")
        return load_calibration(found)
    return _read(path)


def save_calibration(rig: CameraRig, path: str | Path) -> list[Path]:
    """Write ``rig`` in the format chosen by ``path``; returns the files written.

    A folder, or a path ending in ``.yml``, writes EasyMocap ``intri.yml`` + ``extri.yml`` there.
    """
    path = Path(path)
    kind = _kind(path)
    if kind == "qualisys":
        write_qualisys(rig, path)
        return [path]
    if kind == "toml":
        write_toml(rig, path)
        return [path]
    folder = path.parent if path.suffix in (".yml", ".yaml") else path
    folder.mkdir(parents=True, exist_ok=True)
    write_easymocap(rig, folder / "intri.yml", folder / "extri.yml")
    return [folder / "intri.yml", folder / "extri.yml"]
