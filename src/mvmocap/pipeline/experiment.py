"""Experiment settings of ``mvmocap run``: the packaged ``body.yml`` merged with the user's YAML."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from mvmocap.fit import FitConfig, load_fit_config
from mvmocap.utils import merge_settings

__all__ = ["load_experiment", "EXPERIMENTS"]

EXPERIMENTS = {"body": Path(str(resources.files("mvmocap.pipeline") / "body.yml"))}


def load_experiment(spec: str | Path | None = "body") -> tuple[dict, FitConfig]:
    """(settings, fit configuration) for a named experiment (``body``) or a YAML path."""
    settings = yaml.safe_load(EXPERIMENTS["body"].read_text())
    source = "body"
    if spec is not None and str(spec) not in EXPERIMENTS:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: experiment file not found; use --exp body or a YAML path")
        source = str(path)
        settings = merge_settings(settings, yaml.safe_load(path.read_text()) or {}, source)
    try:
        fit = load_fit_config(overrides=settings.get("fit") or None)
    except ValueError as err:
        raise ValueError(f"{source}: in 'fit': {err}") from None
    return settings, fit
