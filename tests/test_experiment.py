"""Experiment settings: typed sections with their defaults in one place, ``mvmocap settings``, and
the options of a run."""

import dataclasses

import pytest
import yaml

from mvmocap.cli.main import main
from mvmocap.pipeline.experiment import EXPERIMENTS, SECTIONS, load_experiment
from mvmocap.pipeline.options import RunOptions
from mvmocap.settings import field_docs
from mvmocap.utils import InputError


def _comparable(experiment):
    """Every setting, without where it came from."""
    values = {f.name: getattr(experiment, f.name) for f in dataclasses.fields(experiment)
              if f.name not in ("source", "fit_overrides")}
    values["fit"] = dataclasses.replace(values["fit"], source="")
    return values


@pytest.mark.parametrize("kind", sorted(EXPERIMENTS))
def test_printed_settings_read_back_to_the_same_experiment(kind, tmp_path, capsys):
    assert main(["settings", "--exp", kind]) == 0
    printed = capsys.readouterr().out
    path = tmp_path / "copy.yml"
    path.write_text(printed)
    assert _comparable(load_experiment(path)) == _comparable(load_experiment(kind))
    document = yaml.safe_load(printed)
    assert document["kind"] == kind and set(document) == {"kind", *SECTIONS[kind]}
    for name in SECTIONS[kind]:  # every key of every section is there, documented
        settings = getattr(load_experiment(kind), name)
        if dataclasses.is_dataclass(settings) and name != "fit":
            docs = field_docs(type(settings))
            for field in dataclasses.fields(settings):
                if field.name in document[name]:
                    assert docs.get(field.name), f"{type(settings).__name__}.{field.name} has no documentation"


@pytest.mark.parametrize("kind", sorted(EXPERIMENTS))
def test_packaged_files_hold_only_what_their_kind_changes(kind):
    """Defaults live in the settings classes; a packaged value equal to its default would be a
    second copy of it, free to drift."""
    packaged = yaml.safe_load(EXPERIMENTS[kind].read_text())
    experiment = load_experiment(kind)
    for name, values in packaged.items():
        if name in ("kind", "fit"):  # the fit's defaults are default_fit.yml's
            continue
        settings = getattr(experiment, name)
        defaults = type(settings)()
        for key, value in values.items():
            assert getattr(settings, key) == (tuple(value) if isinstance(value, list) else value)
            assert getattr(defaults, key) != getattr(settings, key), f"{kind}: {name}.{key} repeats its default"


@pytest.mark.parametrize(("text", "message"), [
    ("render:\n  alpha: 2\n", r"exp.yml: render.alpha: must be in \[0, 1\], got 2"),
    ("render:\n  ground_size: [1280]\n", r"exp.yml: render.ground_size: must be a list \[a whole number, a whole"),
    ("detec:\n  max_people: 2\n", r"exp.yml: \['detec'\] are not sections of a body experiment"),
    ("kind: hands\ntriangulate:\n  fix_left_right: true\n", r"triangulate.fix_left_right is not read by a hands"),
    ("kind: hands\nassociate:\n  gate: 0.2\n", r"\['associate'\] are not sections of a hands experiment"),
    ("kind: body+hands\ndetect_hands:\n  crop_px: big\n", r"detect_hands.crop_px: must be a whole number, got 'big'"),
    ("kind: body+hands\ndetect:\n  backend: blazepose\n", r"detect.backend: a body\+hands experiment detects bodies"),
    ("kind: hands\nhand_pca: 0\n", r"hand_pca must be a whole number >= 1 or null, got 0"),
    ("sync:\n  joints: LWrist\n", r"sync.joints: must be a list of strings, got 'LWrist'"),
    ("triangulate: 3\n", r"'triangulate' holds settings \('key: value' lines below it\), got 3"),
    ("fit:\n  poses:\n    iteratons: 3\n", r"exp.yml: in 'fit': .*unknown key 'poses.iteratons'"),
])
def test_a_bad_setting_names_the_file_section_and_key(tmp_path, text, message):
    path = tmp_path / "exp.yml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_experiment(path)


def test_a_user_file_changes_only_what_it_names(tmp_path):
    path = tmp_path / "exp.yml"
    path.write_text("sync:\n  joints: [LWrist, RWrist, LAnkle, RAnkle]\ndetect:\n  max_people: 2\n"
                    "fit:\n  poses:\n    iterations: 7\n")
    experiment, default = load_experiment(path), load_experiment("body")
    assert experiment.sync.joints == ("LWrist", "RWrist", "LAnkle", "RAnkle")
    assert experiment.sync.max_offset == default.sync.max_offset
    assert experiment.detect.max_people == 2 and experiment.detect.detect_every == default.detect.detect_every
    assert experiment.fit.stages["poses"].iterations == 7
    assert experiment.fit.stages["reprojection"].enabled  # body.yml's own change survives
    hands = tmp_path / "hands.yml"
    hands.write_text("kind: hands\nrender:\n  alpha: 0.5\n")
    assert load_experiment(hands).render.ground is False and load_experiment(hands).render.alpha == 0.5


def test_run_options_are_checked_when_made(tmp_path):
    with pytest.raises(InputError, match=r"--fps must be above 0"):
        RunOptions(root=tmp_path, fps=0)
    with pytest.raises(InputError, match=r"--vis-cams chooses the views of the overlay video"):
        RunOptions(root=tmp_path, vis_cams=["cam1"], videos=False)
    with pytest.raises(InputError, match=r"--sync must be one of"):
        RunOptions(root=tmp_path, sync="always")
    with pytest.raises(InputError, match=r"--frames -5:5"):
        RunOptions(root=tmp_path, frames="-5:5")
    options = RunOptions(root=str(tmp_path), cams=["cam2", "cam1"], gmm="prior.pkl")
    assert options.root == tmp_path and options.cams == ("cam2", "cam1") and options.output == tmp_path / "output"
    with pytest.raises(InputError, match=r"--gmm: read by body and multi experiments only"):
        options.check_for("hands")
    options.check_for("body")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.fps = 30.0
