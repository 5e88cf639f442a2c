"""Experiment settings of ``mvmocap run``: the packaged ``body.yml`` merged with the user's YAML."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from mvmocap.fit import FitConfig, load_fit_config
from mvmocap.utils import InputError, merge_settings

__all__ = ["load_experiment", "EXPERIMENTS"]

EXPERIMENTS = {name: Path(str(resources.files("mvmocap.pipeline") / f"{file}.yml"))
               for name, file in (("body", "body"), ("hands", "hands"), ("body+hands", "bodyhands"))}


def _read_yaml(path: Path) -> dict:
    """The user's experiment file as a mapping; a syntax error or another shape names the file."""
    try:
        user = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where} ({getattr(err, 'problem', None) or err}); fix the "
                         "file (sections such as 'triangulate:' hold 'key: value' lines)") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file; an experiment file is YAML") from None
    if user is None:
        return {}
    if not isinstance(user, dict):
        raise InputError(f"{path}: must hold sections of settings ('triangulate:', 'fit:', ...), got a "
                         f"{type(user).__name__}")
    return user


def load_experiment(spec: str | Path | None = "body") -> tuple[dict, FitConfig]:
    """(settings, fit configuration) for a named experiment (``body``, ``hands``, ``body+hands``)
    or a YAML path;
    a file's ``kind`` (default ``body``) picks the defaults it is merged over."""
    spec = "body" if spec is None else spec
    if str(spec) in EXPERIMENTS:
        source = str(spec)
        settings = yaml.safe_load(EXPERIMENTS[source].read_text())
    else:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: experiment file not found; "
                                    "use --exp body, hands, body+hands or a YAML path")
        source = str(path)
        user = _read_yaml(path)
        kind = user.get("kind", "body")
        if kind not in EXPERIMENTS:
            raise InputError(f"{path}: kind must be one of {sorted(EXPERIMENTS)}, got {kind!r}")
        defaults = yaml.safe_load(EXPERIMENTS[kind].read_text())
        chosen = (user.get("detect") or {}).get("backend") if isinstance(user.get("detect"), dict) else None
        if chosen is not None and chosen != (defaults.get("detect") or {}).get("backend", chosen):
            # another detector reads other keys: its section starts from that detector's own defaults
            defaults["detect"] = {}
        settings = merge_settings(defaults, user, source)
    try:
        fit = load_fit_config(overrides=settings.get("fit") or None)
    except ValueError as err:
        raise InputError(f"{source}: in 'fit': {err}") from None
    return settings, fit
