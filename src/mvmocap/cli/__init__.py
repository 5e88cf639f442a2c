"""The ``mvmocap`` command."""

from mvmocap.cli.main import main

__all__ = ["main"]
