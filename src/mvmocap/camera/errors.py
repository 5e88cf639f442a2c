"""The error raised for unreadable or inconsistent calibration files."""

from __future__ import annotations

from mvmocap.utils import FileInputError


class CalibrationError(FileInputError):
    """A calibration file is missing, malformed or inconsistent; the message names file and field."""
