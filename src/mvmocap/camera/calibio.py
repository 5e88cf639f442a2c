"""Load and save a ``CameraRig`` in any supported calibration format, chosen by path."""

from __future__ import annotations

from pathlib import Path

from mvmocap.camera.camera import CameraRig
from mvmocap.camera.errors import CalibrationError
from mvmocap.camera.formats.easymocap import read_easymocap, write_easymocap
from mvmocap.camera.formats.qualisys import read_qualisys, write_qualisys
from mvmocap.camera.formats.toml_calib import read_toml, write_toml

__all__ = ["load_calibration", "save_calibration", "FORMATS_HELP"]

FORMATS_HELP = (
    "a folder with EasyMocap intri.yml + extri.yml, an anipose/Pose2Sim .toml file, "
    "or a Qualisys .qca.txt file"
)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".qca.txt") or name.endswith(".qca"):
        return "qualisys"
    if name.endswith(".toml"):
        return "toml"
    if name.endswith((".yml", ".yaml")) or path.is_dir() or not path.suffix:
        return "easymocap"
    raise CalibrationError(path, f"unknown calibration format; expected {FORMATS_HELP}")


def load_calibration(path: str | Path) -> CameraRig:
    """Read a rig from a dataset folder (intri.yml + extri.yml), a ``.toml`` or a ``.qca.txt``.

    A folder without the YAML pair is accepted when it holds exactly one ``.toml`` or
    ``.qca.txt`` file.
    """
    path = Path(path)
    if not path.exists():
        raise CalibrationError(path, f"not found; expected {FORMATS_HELP}")
    if path.is_dir() and not (path / "intri.yml").exists():
        found = sorted(path.glob("*.toml")) + sorted(path.glob("*.qca.txt"))
        if len(found) != 1:
            raise CalibrationError(
                path,
                f"no calibration found (looked for intri.yml + extri.yml, *.toml, *.qca.txt; "
                f"found {[f.name for f in found]}). Pass --calib with {FORMATS_HELP}",
            )
        path = found[0]
    kind = _kind(path)
    if kind == "qualisys":
        return read_qualisys(path)
    if kind == "toml":
        return read_toml(path)
    folder = path if path.is_dir() else path.parent
    return read_easymocap(folder / "intri.yml", folder / "extri.yml")


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
