"""The trials of a session folder, and the calibration and time offsets each one uses.

A trial is a folder holding cameras' videos or images (``videos/``, ``images/``, FreeMoCap's
``synchronized_videos/``, caliscope's ``cam_<n>.mp4`` side by side: :func:`mvmocap.io.list_video_cameras`)
or ``annots/`` (precomputed 2D keypoints); the search does not look inside a trial (its ``output/``
and sub-folders are its own). A trial's
calibration is its own (:func:`mvmocap.camera.find_calibration`: ``intri.yml`` + ``extri.yml``, or
the one ``.toml`` / ``.qca.txt`` that parses as a calibration, in the folder or its
``calibration/`` sub-folder: Pose2Sim's ``Config.toml`` is not one), else the nearest parent's up
to the session folder; ``sync.yml`` is looked up the same way. Pose2Sim's ``Config.toml`` files
from the session down to the trial give its frame range, frame rate and multi-person switch
(:mod:`mvmocap.io.project_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mvmocap.camera import find_calibration
from mvmocap.io.frames import has_camera_input
from mvmocap.io.project_config import ProjectConfig, project_config_for
from mvmocap.utils import natural_key

__all__ = ["Trial", "find_trials"]

_SKIP = {"output", "calibration", "calib_check", "calib_people"}


@dataclass(frozen=True)
class Trial:
    """``root`` the trial folder; ``calibration`` the folder or file it uses (None: none found);
    ``sync`` its ``sync.yml`` or None; ``keypoints`` its ``annots/`` when it has no images or videos;
    ``project``: Pose2Sim's ``Config.toml`` settings of the session down to the trial, or None."""

    name: str
    root: Path
    calibration: Path | None
    sync: Path | None
    keypoints: Path | None
    project: ProjectConfig | None = None


def _nearest(folder: Path, session: Path, find) -> Path | None:
    for place in [folder, *folder.parents]:
        found = find(place)
        if found is not None:
            return found
        if place == session:
            break
    return None


def _sync_file(folder: Path) -> Path | None:
    for place in (folder, folder / "calibration"):
        if (place / "sync.yml").is_file():
            return place / "sync.yml"
    return None


def find_trials(session: str | Path) -> list[Trial]:
    """Every trial under ``session`` (the session folder itself may be one), in natural order."""
    session = Path(session).resolve()
    if not session.is_dir():
        raise FileNotFoundError(f"{session}: session folder not found")
    trials: list[Trial] = []
    stack = [session]
    while stack:
        folder = stack.pop()
        media = has_camera_input(folder)
        if media or (folder / "annots").is_dir():
            trials.append(Trial(str(folder.relative_to(session)) if folder != session else folder.name, folder,
                                _nearest(folder, session, find_calibration), _nearest(folder, session, _sync_file),
                                None if media else folder / "annots", project_config_for(folder, session)))
            continue
        stack.extend(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in _SKIP)
    return sorted(trials, key=lambda t: natural_key(t.name))
