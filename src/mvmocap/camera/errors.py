"""The error raised for unreadable or inconsistent calibration files."""

from __future__ import annotations

from pathlib import Path

from mvmocap.utils import InputError


class CalibrationError(InputError):
    """A calibration file is missing, malformed or inconsistent; the message names file and field."""

    def __init__(self, path: str | Path, message: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")
