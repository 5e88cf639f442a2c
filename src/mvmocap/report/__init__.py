"""The run report people look at: ``OUT/report.html``, one self-contained page of plots drawn as
inline SVG (:mod:`.svg`) from a finished run's files (:mod:`.page`)."""

from mvmocap.report.page import write_report_page
from mvmocap.report.thumbnails import write_thumbnails

__all__ = ["write_report_page", "write_thumbnails"]
