"""The axes and units an export is written in.

mvmocap's world is right-handed, z up, metres (ARCHITECTURE.md). ``up="y"`` turns it into the
y-up frame that BVH importers (Blender's included), glTF (always) and OpenSim expect:
``(x, y, z) -> (x, z, -y)``, a proper rotation, so handedness is kept and rotations map as
``C R C^T``. ``units`` scales positions only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.utils import InputError

__all__ = ["ExportFrame", "UNITS", "UP_AXES"]

UNITS = {"m": 1.0, "cm": 100.0, "mm": 1000.0}
UP_AXES = ("y", "z")
_Z_TO_Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class ExportFrame:
    """``up``: ``"y"`` or ``"z"``; ``units``: ``"m"``, ``"cm"`` or ``"mm"``."""

    up: str = "y"
    units: str = "m"

    def __post_init__(self):
        if self.up not in UP_AXES:
            raise InputError(f"--up must be one of {UP_AXES}, got {self.up!r}")
        if self.units not in UNITS:
            raise InputError(f"--units must be one of {sorted(UNITS)}, got {self.units!r}")

    @property
    def axes(self) -> np.ndarray:
        """(3, 3) rotation from mvmocap's world axes to the export's."""
        return _Z_TO_Y if self.up == "y" else np.eye(3)

    @property
    def scale(self) -> float:
        return UNITS[self.units]

    def points(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points (or offsets) in metres -> export axes and units."""
        return self.scale * np.asarray(points, dtype=np.float64) @ self.axes.T

    def rotations(self, rotations: np.ndarray) -> np.ndarray:
        """(..., 3, 3) rotations expressed in world axes -> in export axes."""
        return self.axes @ np.asarray(rotations, dtype=np.float64) @ self.axes.T
