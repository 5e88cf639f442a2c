"""Pose2Sim's project settings (``Config.toml``), which its sessions carry at every level.

Pose2Sim reads the session's ``Config.toml`` and lets a trial's own file override it key by key.
mvmocap takes what it can use from the ``[project]`` table and names the keys it used:

- ``frame_range = [A, B]``: the frames processed (A to B, B exclusive, as ``--frames A:B``);
  ``'auto'`` and ``'all'`` mean every frame;
- ``frame_rate = N``: the frame rate where the input has none (image folders); ``'auto'``: the
  videos' own;
- ``multi_person = true``: every person is reconstructed (``--exp multi``);
- ``participant_height = H`` or ``[H1, H2, ...]`` (metres): the subject's height (the first), for
  calibration from people and the scale; ``'auto'``: unknown.

Everything else (pose model, filtering, marker augmentation...) belongs to Pose2Sim's own stages
and is left alone. A file that is not valid TOML is an error naming it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mvmocap.utils import InputError

__all__ = ["ProjectConfig", "read_project_config", "project_config_for", "CONFIG_NAME"]

CONFIG_NAME = "Config.toml"


@dataclass(frozen=True)
class ProjectConfig:
    """What mvmocap uses of a Pose2Sim ``Config.toml``: ``frames`` ``"A:B"`` or None (all),
    ``fps`` or None (the input's), ``multi_person`` or None (not said), ``heights`` in metres
    (empty: unknown), ``sources``: the file each key was taken from."""

    frames: str | None = None
    fps: float | None = None
    multi_person: bool | None = None
    heights: tuple[float, ...] = ()
    sources: dict[str, Path] = field(default_factory=dict)

    def named(self, *keys: str) -> list[str]:
        """``"file: key"`` for those of ``keys`` that a file set."""
        return [f"{self.sources[k]}: {k}" for k in keys if k in self.sources]

    @property
    def height(self) -> float | None:
        """The (first) participant's height, or None."""
        return self.heights[0] if self.heights else None


def _project_table(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None
    project = data.get("project", {})
    return project if isinstance(project, dict) else {}


def _merge(config: ProjectConfig, path: Path) -> ProjectConfig:
    """``config`` with the keys that ``path`` sets (a later file overrides an earlier one)."""
    project = _project_table(path)
    values = {"frames": config.frames, "fps": config.fps, "multi_person": config.multi_person,
              "heights": config.heights}
    sources = dict(config.sources)

    def bad(key: str, expected: str) -> InputError:
        return InputError(f"{path}: [project] {key} = {project[key]!r}; expected {expected}")

    frame_range = project.get("frame_range")
    if frame_range is not None:
        if frame_range in ("auto", "all"):
            values["frames"] = None
            sources.pop("frame_range", None)
        elif (isinstance(frame_range, list) and len(frame_range) == 2 and all(isinstance(v, int) for v in frame_range)
              and 0 <= frame_range[0] < frame_range[1]):
            values["frames"] = f"{frame_range[0]}:{frame_range[1]}"
            sources["frame_range"] = path
        else:
            raise bad("frame_range", "'auto', 'all' or [start, end] with 0 <= start < end")
    rate = project.get("frame_rate")
    if rate == "auto":
        values["fps"] = None
        sources.pop("frame_rate", None)
    elif rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise bad("frame_rate", "'auto' or a number of frames per second above 0")
        values["fps"] = float(rate)
        sources["frame_rate"] = path
    multi = project.get("multi_person")
    if multi is not None:
        if not isinstance(multi, bool):
            raise bad("multi_person", "true or false")
        values["multi_person"] = multi
        sources["multi_person"] = path
    height = project.get("participant_height")
    if height == "auto":
        values["heights"] = ()
        sources.pop("participant_height", None)
    elif height is not None:
        heights = height if isinstance(height, list) else [height]
        if not heights or not all(isinstance(h, (int, float)) and not isinstance(h, bool) and 0.5 < h < 2.8
                                  for h in heights):
            raise bad("participant_height", "'auto', a height in metres (0.5-2.8) or a list of them")
        values["heights"] = tuple(float(h) for h in heights)
        sources["participant_height"] = path
    return ProjectConfig(**values, sources=sources)


def read_project_config(*paths: str | Path) -> ProjectConfig:
    """The settings of the ``Config.toml`` files ``paths``, the later ones overriding the earlier
    (a session's file first, then a trial's)."""
    config = ProjectConfig()
    for path in paths:
        config = _merge(config, Path(path))
    return config


def project_config_for(folder: str | Path, top: str | Path | None = None) -> ProjectConfig | None:
    """The settings that apply to ``folder``: every ``Config.toml`` from ``top`` (default: the
    folder alone) down to ``folder``, the nearer overriding; None when there is none."""
    folder = Path(folder).resolve()
    top = Path(top).resolve() if top is not None else folder
    chain = [folder]
    while chain[-1] != top and chain[-1] != chain[-1].parent and top in chain[-1].parents:
        chain.append(chain[-1].parent)
    files = [p / CONFIG_NAME for p in reversed(chain) if (p / CONFIG_NAME).is_file()]
    return read_project_config(*files) if files else None
