"""Experiment settings of ``mvmocap run``, parsed once into typed sections.

An experiment is a kind (``body``, ``hands``, ``body+hands``) and its sections. Every default lives
in one place: the section's frozen dataclass (``detect``, ``associate``, ``sync``, ``triangulate``,
``render``, ``detect_hands``) or, for ``fit``, ``mvmocap/fit/default_fit.yml``. The packaged
``body.yml``, ``hands.yml`` and ``bodyhands.yml`` hold only what their kind changes; a user's file
(``--exp my.yml``) is read over the packaged file of its ``kind``. ``mvmocap settings --exp X``
prints every key of an experiment with its value and meaning (:func:`experiment_yaml`): the file
to copy and edit.

Errors name the file, the section and the key: an unknown section or key, a wrong type, a value
out of range, a section the kind does not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from mvmocap.associate import PeopleSettings, SubjectSettings
from mvmocap.detect import (
    BodyDetectSettings,
    HandCropSettings,
    HandsSettings,
    LegacyPoseSettings,
    detect_settings_from,
)
from mvmocap.fit import FitConfig, load_fit_config
from mvmocap.fit.config import merged_fit_settings
from mvmocap.render import RenderSettings
from mvmocap.settings import settings_from, settings_yaml, yaml_value
from mvmocap.sync import SmoothSettings, SyncSettings
from mvmocap.triangulate import TriangulateSettings
from mvmocap.utils import InputError

__all__ = ["EXPERIMENTS", "Experiment", "experiment_yaml", "load_experiment"]

EXPERIMENTS = {name: Path(str(resources.files("mvmocap.pipeline") / f"{file}.yml"))
               for name, file in (("body", "body"), ("hands", "hands"), ("body+hands", "bodyhands"),
                                  ("multi", "multi"))}

# The sections each kind reads, in the order they are printed.
SECTIONS = {
    "body": ("detect", "smooth", "associate", "sync", "triangulate", "fit", "render"),
    "hands": ("hand_pca", "detect", "triangulate", "fit", "render"),
    "body+hands": ("hand_pca", "detect", "detect_hands", "triangulate", "fit", "render"),
    "multi": ("detect", "smooth", "associate", "people", "sync", "triangulate", "fit", "render"),
}
_NOT_READ = {  # keys of a section that a kind does not read
    "hands": {"triangulate": ("fix_left_right",)},
    "body+hands": {"triangulate": ("fix_left_right",)},
}
_DETECT_DOCS = {
    "body": "the person detector",
    "hands": "MediaPipe Hands (legacy solution) over whole frames, video mode per camera",
    "body+hands": "MediaPipe Pose (legacy solution), one person per view",
    "multi": "the person detector",
}
_SECTION_DOCS = {
    "smooth": "each view's detections smoothed over time, without lag (One Euro, forwards and backwards)",
    "associate": "the same person across views (body: the subject among everyone detected)",
    "people": "everyone followed over time, each with their own id",
    "sync": "camera time offsets (mvmocap sync, run --sync auto)",
    "triangulate": "the subject's 3D keypoints from every view",
    "render": "the videos of a run",
    "detect_hands": "the hand detector beside the body's",
}
_HAND_PCA_DOC = ("MANO / SMPL-H / SMPL-X only: pose each hand's fingers with this many PCA components "
                 "(null: all 45 axis-angle values)")


@dataclass(frozen=True)
class Experiment:
    """Every setting of one experiment, checked.

    kind: ``body``, ``hands`` or ``body+hands``.
    source: the experiment's name or the user's file (named in errors).
    detect: the body detector (``hands``: the hand detector; ``body+hands``: MediaPipe Pose).
    triangulate, fit, render: the stages' settings.
    associate: how detections are matched across views (``body``, ``multi``; else None).
    sync: how the cameras are timed (``body``, ``multi``; else None).
    people: how everyone is followed over time (``multi`` only, else None).
    smooth: the detections' smoothing over time (``body``, ``multi``; else None).
    detect_hands: the hand detector beside the body's (``body+hands`` only, else None).
    hand_pca: finger PCA components (``hands``, ``body+hands``).
    """

    kind: str
    source: str
    detect: BodyDetectSettings | HandsSettings
    triangulate: TriangulateSettings
    fit: FitConfig
    render: RenderSettings
    associate: SubjectSettings | None = None
    sync: SyncSettings | None = None
    people: PeopleSettings | None = None
    smooth: SmoothSettings | None = None
    detect_hands: HandCropSettings | None = None
    hand_pca: int | None = None
    fit_overrides: dict | None = None  # the fit section as given (over default_fit.yml), for printing


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


def _deep_update(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        out[key] = _deep_update(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) \
            else value
    return out


def load_experiment(spec: str | Path | None = "body") -> Experiment:
    """The experiment named ``body``, ``hands`` or ``body+hands``, or read from a YAML path (its
    ``kind``, default ``body``, picks the packaged file it is read over)."""
    spec = "body" if spec is None else spec
    if str(spec) in EXPERIMENTS:
        source, kind, user = str(spec), str(spec), {}
    else:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: experiment file not found; "
                                    "use --exp body, hands, body+hands or a YAML path")
        source, user = str(path), _read_yaml(path)
        kind = user.get("kind", "body")
        if kind not in EXPERIMENTS:
            raise InputError(f"{path}: kind must be one of {sorted(EXPERIMENTS)}, got {kind!r}")
    packaged = yaml.safe_load(EXPERIMENTS[kind].read_text()) or {}
    unknown = sorted(set(user) - {"kind", *SECTIONS[kind]})
    if unknown:
        raise InputError(f"{source}: {unknown} are not sections of a {kind} experiment (it reads "
                         f"{list(SECTIONS[kind])}); remove them or check 'kind'")
    for name in SECTIONS[kind]:
        if name != "hand_pca" and user.get(name) is not None and not isinstance(user[name], dict):
            raise InputError(f"{source}: '{name}' holds settings ('key: value' lines below it), got {user[name]!r}")
        for key in _NOT_READ.get(kind, {}).get(name, ()):
            if key in (user.get(name) or {}):
                raise InputError(f"{source}: {name}.{key} is not read by a {kind} experiment; remove it")

    def section(name: str) -> dict:
        given = user.get(name) or {}
        if name == "detect" and "backend" in given and given["backend"] != (packaged.get(name) or {}).get("backend"):
            return dict(given)  # another detector reads other keys: none of the packaged ones
        return {**(packaged.get(name) or {}), **given}

    where = lambda name: f"{source}: {name}"  # noqa: E731
    if kind in ("body", "multi"):
        detect = detect_settings_from(section("detect"), where("detect"))
    elif kind == "hands":
        detect = settings_from(HandsSettings, section("detect"), where("detect"))
    else:
        values = section("detect")
        if values.pop("backend", LegacyPoseSettings.BACKEND) != LegacyPoseSettings.BACKEND:
            raise InputError(f"{where('detect')}.backend: a body+hands experiment detects bodies with "
                             f"{LegacyPoseSettings.BACKEND!r} (MediaPipe Pose) only")
        detect = settings_from(LegacyPoseSettings, values, where("detect"))
    fit_overrides = _deep_update(packaged.get("fit") or {}, user.get("fit") or {})
    try:
        fit = load_fit_config(overrides=fit_overrides or None)
    except (InputError, KeyError, TypeError, ValueError) as err:
        raise InputError(f"{source}: in 'fit': {err}") from None
    hand_pca = user.get("hand_pca", packaged.get("hand_pca")) if "hand_pca" in SECTIONS[kind] else None
    if hand_pca is not None and (isinstance(hand_pca, bool) or not isinstance(hand_pca, int) or hand_pca < 1):
        raise InputError(f"{source}: hand_pca must be a whole number >= 1 or null, got {hand_pca!r}")
    return Experiment(
        kind=kind, source=source, detect=detect,
        triangulate=settings_from(TriangulateSettings, section("triangulate"), where("triangulate")),
        fit=fit, render=settings_from(RenderSettings, section("render"), where("render")),
        associate=(settings_from(SubjectSettings, section("associate"), where("associate"))
                   if kind in ("body", "multi") else None),
        people=settings_from(PeopleSettings, section("people"), where("people")) if kind == "multi" else None,
        sync=settings_from(SyncSettings, section("sync"), where("sync")) if kind in ("body", "multi") else None,
        smooth=(settings_from(SmoothSettings, section("smooth"), where("smooth"))
                if kind in ("body", "multi") else None),
        detect_hands=(settings_from(HandCropSettings, section("detect_hands"), where("detect_hands"))
                      if kind == "body+hands" else None),
        hand_pca=hand_pca, fit_overrides=fit_overrides,
    )


def experiment_yaml(experiment: Experiment) -> str:
    """Every key of ``experiment`` as a commented YAML file that :func:`load_experiment` reads back
    to the same settings (what ``mvmocap settings`` prints)."""
    lines = [f"# mvmocap run --exp {experiment.source}: every setting, with its value. Copy this file, change",
             "# what you need and pass it with --exp my.yml; keys you leave out keep these values.",
             "# The dataset options (--cams, --frames, --calib, ...) stay on the command line.", "",
             f"kind: {experiment.kind}", ""]
    for name in SECTIONS[experiment.kind]:
        if name == "hand_pca":
            lines += [f"hand_pca: {yaml_value(experiment.hand_pca)}  # {_HAND_PCA_DOC}", ""]
            continue
        if name == "fit":
            lines.append("fit:  # every stage and weight; their meaning: mvmocap/fit/default_fit.yml (same keys)")
            dumped = yaml.safe_dump(merged_fit_settings(experiment.fit_overrides), sort_keys=False,
                                    default_flow_style=None, width=100)
            lines += ["  " + row for row in dumped.splitlines()] + [""]
            continue
        settings = getattr(experiment, name)
        doc = _DETECT_DOCS[experiment.kind] if name == "detect" else _SECTION_DOCS[name]
        lines.append(f"{name}:  # {doc}")
        if name == "detect" and experiment.kind in ("body", "multi"):
            lines.append(f"  backend: {settings.BACKEND}  # blazepose, mediapipe-legacy or rtmlib (each reads its "
                         "own keys: mvmocap.detect.settings)")
        lines += settings_yaml(settings, exclude=_NOT_READ.get(experiment.kind, {}).get(name, ())) + [""]
    return "\n".join(lines)
