"""Pose2Sim's project settings files (Config.toml): what mvmocap takes from them, named."""

from pathlib import Path

import pytest

from mvmocap.io.project_config import project_config_for, read_project_config
from mvmocap.utils import InputError

REAL = Path(__file__).resolve().parents[2] / "shared" / "real" / "pose2sim_multiperson" / "Config.toml"


def test_a_trial_overrides_its_session_key_by_key(tmp_path):
    session, trial = tmp_path / "Session", tmp_path / "Session" / "Trial_1"
    trial.mkdir(parents=True)
    (session / "Config.toml").write_text("[project]\nmulti_person = true\nparticipant_height = [1.72, 1.6]\n"
                                         "frame_rate = 60\nframe_range = [0, 500]\n[pose]\nmode = 'balanced'\n")
    (trial / "Config.toml").write_text("[project]\nframe_range = [10, 300]\nframe_rate = 'auto'\n")
    config = project_config_for(trial, session)
    assert (config.frames, config.fps, config.multi_person, config.heights) == ("10:300", None, True, (1.72, 1.6))
    assert config.height == 1.72
    assert config.named("frame_range", "frame_rate", "multi_person") == [
        f"{(trial / 'Config.toml').resolve()}: frame_range", f"{(session / 'Config.toml').resolve()}: multi_person"]
    assert project_config_for(tmp_path) is None


@pytest.mark.parametrize("line,pattern", [("frame_range = [300, 10]", r"frame_range = \[300, 10\]; expected"),
                                          ("frame_rate = -5", "frame_rate = -5; expected"),
                                          ("participant_height = 172", "participant_height = 172; expected"),
                                          ("multi_person = 'yes'", "multi_person = 'yes'; expected true or false")])
def test_bad_values_are_named_with_the_file(tmp_path, line, pattern):
    (tmp_path / "Config.toml").write_text(f"[project]\n{line}\n")
    with pytest.raises(InputError, match=pattern) as err:
        read_project_config(tmp_path / "Config.toml")
    assert str(tmp_path / "Config.toml") in str(err.value)


@pytest.mark.skipif(not REAL.is_file(), reason="../shared/real/pose2sim_multiperson is not here")
def test_pose2sims_own_demo_settings():
    config = read_project_config(REAL)
    assert (config.frames, config.fps, config.multi_person, config.heights) == (None, None, True, ())
