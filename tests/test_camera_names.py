"""Camera names that differ only in form between the calibration and the inputs (issue 30)."""

import logging
import shutil

import pytest

from mvmocap.camera.naming import NameMatchError, match_names
from mvmocap.cli.main import main
from mvmocap.io import read_keypoints3d
from mvmocap.synthetic import CaptureSpec, make_capture, write_capture


@pytest.mark.parametrize("known,found,how", [
    (["cam01", "cam02"], ["cam1", "Cam2"], "same letters and number"),
    (["cam1", "cam2"], ["cam_1", "CAM-2"], "same letters and number"),
    (["01", "02", "03"], ["camera_1", "cam2", "c3"], "same number"),
    (["cam1", "cam2"], ["cam1", "cam2"], "same names"),
])
def test_names_are_paired_when_unambiguous(known, found, how):
    pairs, rule = match_names(known, found)
    assert rule == how and sorted(pairs.values()) == sorted(known) and sorted(pairs) == sorted(found)


@pytest.mark.parametrize("known,found,pattern", [
    (["cam0", "cam1"], ["cam01", "cam02"], r"only some names match.*\['cam01'\] but not \['cam02'\]"),
    (["cam1", "cam01"], ["c1"], r"'c1' could be any of \['cam1', 'cam01'\]"),
    (["cam1", "cam2"], ["cam_1", "cam01"], r"\['cam_1', 'cam01'\] would all be 'cam1'"),
])
def test_ambiguous_names_are_an_error_listing_both_sides(known, found, pattern):
    with pytest.raises(NameMatchError, match=pattern):
        match_names(known, found)


def test_keypoint_folders_named_otherwise_than_the_calibration(tmp_path, caplog, capsys):
    root = write_capture(make_capture(CaptureSpec(frames=6, cameras=3, seed=3)), tmp_path / "data")
    for k in (1, 2, 3):
        shutil.move(root / "annots" / f"cam{k}", root / "annots" / f"Cam_0{k}")
    with caplog.at_level(logging.INFO):
        assert main(["triangulate", "--data", str(root), "--keypoints", str(root / "annots"),
                     "--out", str(tmp_path / "out")]) == 0
    assert "cameras matched by same letters and number: calibration cam1 = input Cam_01" in caplog.text
    assert (read_keypoints3d(tmp_path / "out" / "keypoints3d")[0][..., 3] > 0).any()
    shutil.move(root / "annots" / "Cam_03", root / "annots" / "side")
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        assert main(["triangulate", "--data", str(root), "--keypoints", str(root / "annots"),
                     "--out", str(tmp_path / "out2")]) == 2
    assert "do not match: only some names match" in caplog.text and "Rename one side" in caplog.text
