"""The error raised for unreadable or inconsistent data files."""

from __future__ import annotations

from mvmocap.utils import FileInputError


class DataError(FileInputError):
    """A data file or folder is missing, malformed or inconsistent; the message names it and the fix."""
