"""The error raised for unreadable or inconsistent data files."""

from __future__ import annotations

from pathlib import Path

from mvmocap.utils import InputError


class DataError(InputError):
    """A data file or folder is missing, malformed or inconsistent; the message names it and the fix."""

    def __init__(self, path: str | Path, message: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")
