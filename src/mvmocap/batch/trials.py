"""The trials of a session folder, and the calibration and time offsets each one uses.

A trial is a folder holding ``videos/``, ``images/`` or ``annots/`` (precomputed 2D keypoints);
the search does not look inside a trial (its ``output/`` and sub-folders are its own). A trial's
calibration is its own (``intri.yml`` + ``extri.yml``, or one ``.toml`` / ``.qca.txt``), else the
nearest parent's up to the session folder, in the folder itself or in its ``calibration/``
sub-folder (Pose2Sim's session layout); ``sync.yml`` is looked up the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mvmocap.utils import natural_key

__all__ = ["Trial", "find_trials", "TRIAL_INPUTS"]

TRIAL_INPUTS = ("videos", "images", "annots")
_SKIP = {"output", "calibration", "calib_check", "calib_people"}


@dataclass(frozen=True)
class Trial:
    """``root`` the trial folder; ``calibration`` the folder or file it uses (None: none found);
    ``sync`` its ``sync.yml`` or None; ``keypoints`` its ``annots/`` when it has no images or videos."""

    name: str
    root: Path
    calibration: Path | None
    sync: Path | None
    keypoints: Path | None


def _has_calibration(folder: Path) -> Path | None:
    for place in (folder, folder / "calibration"):
        if (place / "intri.yml").is_file() and (place / "extri.yml").is_file():
            return place
        if place.is_dir():
            single = [p for p in place.iterdir()
                      if p.is_file() and (p.suffix == ".toml" or p.name.endswith(".qca.txt"))]
            if len(single) == 1:
                return single[0]
    return None


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
        if any((folder / kind).is_dir() for kind in TRIAL_INPUTS):
            media = (folder / "videos").is_dir() or (folder / "images").is_dir()
            trials.append(Trial(str(folder.relative_to(session)) if folder != session else folder.name, folder,
                                _nearest(folder, session, _has_calibration), _nearest(folder, session, _sync_file),
                                None if media else folder / "annots"))
            continue
        stack.extend(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in _SKIP)
    return sorted(trials, key=lambda t: natural_key(t.name))
