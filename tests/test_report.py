"""Issue 32: the run's page ``OUT/report.html``: self-contained, every plot present, drawn where
the data says (headless Chromium), written by ``mvmocap report``."""

import json
import re
import shutil
import subprocess
from html import unescape

import cv2
import numpy as np
import pytest
from fitted_runs import FPS, make_run

from mvmocap.bodymodels import load_body_model
from mvmocap.camera import save_calibration
from mvmocap.cli.main import main
from mvmocap.export.angles import export_angles
from mvmocap.io import FrameSource, write_params_npz
from mvmocap.render import VideoWriter
from mvmocap.report import write_report_page, write_thumbnails
from mvmocap.skeletons import BODY25
from mvmocap.synthetic.rigs import ring_rig

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
FRAMES, FIRST = 30, 10


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A body run's folder as ``mvmocap run`` leaves it (params, angles, quality, report.json)
    beside a dataset folder with its calibration and two short videos; camera cam2 goes wrong in
    frames 20-27 (held-out error 40 px)."""
    root = tmp_path_factory.mktemp("report")
    rig = ring_rig(2, 3.0, image_size=(320, 180))
    save_calibration(rig, root)
    for cam in rig.names:
        with VideoWriter(root / "videos" / f"{cam}.mp4", FPS) as video:
            for k in range(FIRST + FRAMES):
                video.write(np.full((180, 320, 3), 40 + 5 * (k % 20), np.uint8))
    out = make_run(root, load_body_model("anny"), seed=5, frames=FRAMES)
    _, angles = export_angles(out)
    frames = np.arange(FIRST, FIRST + FRAMES)
    heldout = np.full((FRAMES, 2), 4.0)
    heldout[10:18, 1] = 40.0
    write_params_npz(out / "quality.npz", {
        "frames": frames, "cameras": np.asarray(rig.names), "detections": np.ones((FRAMES, 2), np.int32),
        "reprojection_px": np.full((FRAMES, 2), 2.5), "heldout_px": heldout,
        "left_right_fixed": np.eye(FRAMES, 2, dtype=bool)})
    report = {"cameras": rig.names, "frames": [FIRST, FIRST + FRAMES - 1], "fps": FPS, "model": "anny",
              "calibration": str(root), "dataset": str(root), "heldout": {"heldout_px": 4.0},
              "sync": {"source": "auto", "reference": "cam1", "offsets": {"cam1": 0.0, "cam2": 0.012}},
              "angles": {"summary": {}}, "timings_seconds": {"fit": 1.0}}
    (out / "report.json").write_text(json.dumps(report))
    sources = {cam: FrameSource(root / "videos" / f"{cam}.mp4") for cam in rig.names}
    write_thumbnails(out, rig, sources, list(frames), heldout, [np.load(out / "params.npz")["keypoints3d"]])
    return out


def test_the_page_holds_every_plot_and_fetches_nothing(finished_run, tmp_path, capsys):
    assert main(["report", str(finished_run), "--html", str(tmp_path / "page.html")]) == 0
    assert "wrote" in capsys.readouterr().out
    page = (tmp_path / "page.html").read_text()
    assert "<script src" not in page and "<link" not in page and "<img src=\"http" not in page
    plots = re.findall(r'data-plot="([^"]+)"', page)
    assert {"camera-cam1", "camera-cam2", "angle-knee_flexion", "angle-hip_flexion", "angle-trunk_flexion",
            "floor"} <= set(plots)
    cam2 = re.search(r'data-plot="camera-cam2".*?</svg>', page, re.S).group(0)
    assert cam2.count('class="problem"') == 1 and 'class="problem"' not in \
        re.search(r'data-plot="camera-cam1".*?</svg>', page, re.S).group(0)
    assert page.count("data:image/jpeg;base64,") == 4  # worst and best frame, both cameras
    assert "worst: frame 20, cam1" in page and "best: frame 10, cam1" in page  # cam2 went wrong at 20-27
    assert "+12.0 ms" in page  # cam2's offset
    assert len(page) < 2e6


def _chromium(url: str, *extra: str) -> str:
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=700,700", "--hide-scrollbars",
               "--virtual-time-budget=5000", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout


@pytest.mark.skipif(BROWSER is None, reason="no Chromium (.ci/run installs Debian's chromium with apt-get)")
def test_chromium_draws_the_path_where_the_data_is(finished_run, tmp_path):
    """The floor map alone (``#only=floor``) in a screenshot: the pelvis's path is drawn in its
    colour exactly where the plot's own mapping puts the fitted keypoints, and nowhere else."""
    page = write_report_page(finished_run, tmp_path / "page.html")
    dom = _chromium(page.resolve().as_uri(), "--dump-dom")
    status = re.search(r'<div id="status"([^>]*)>', dom).group(1)
    attrs = {m.group(1): unescape(m.group(2)) for m in re.finditer(r'data-(\w+)="([^"]*)"', status)}
    assert attrs["state"] == "ready" and json.loads(attrs["errors"]) == []
    assert int(attrs["plots"]) == len(re.findall(r'<svg class="plot"', page.read_text()))
    shot = tmp_path / "floor.png"
    _chromium(page.resolve().as_uri() + "#only=floor", f"--screenshot={shot}")
    image = cv2.imread(str(shot))[..., ::-1].astype(int)
    svg = re.search(r'<svg class="plot" data-plot="floor"([^>]*)>', page.read_text()).group(1)
    m = {k: float(v) for k, v in re.findall(r'data-(x0|y0|sx|sy|left|top)="([^"]+)"', svg)}
    hip = np.load(finished_run / "params.npz")["keypoints3d"][:, BODY25.index("MidHip")]
    px = m["left"] + (hip[:, 0] - m["x0"]) * m["sx"]
    py = m["top"] - (hip[:, 1] - m["y0"]) * m["sy"]
    blue = (np.abs(image - np.array([31, 119, 180])).sum(-1) < 60)
    blue[:30] = False  # the legend's swatch
    ys, xs = np.nonzero(blue)
    assert len(xs) > 20
    # every drawn pixel near the path the data gives, and the path's ends drawn
    samples = np.stack([np.interp(np.linspace(0, len(px) - 1, 400), np.arange(len(px)), a) for a in (px, py)], -1)
    nearest = np.min(np.hypot(xs[:, None] - samples[None, :, 0], ys[:, None] - samples[None, :, 1]), axis=1)
    assert np.mean(nearest < 3) > 0.95
    for x, y in ((px[0], py[0]), (px[-1], py[-1])):
        assert blue[int(round(y)) - 2:int(round(y)) + 3, int(round(x)) - 2:int(round(x)) + 3].any()


def test_a_camera_off_the_whole_time_is_shaded_the_whole_time():
    """Stretches compare a camera with the others at the same frames: on the Pose2Sim capture cam01
    predicted 25-40 px where the others agreed at 10-17, and a rule against the camera's own median
    (twice 25 px) shaded none of it. Here cam3 is at 30 px all along, the others at 5."""
    from mvmocap.report.page import _camera_quality

    frames = np.arange(60)
    heldout = np.full((60, 3), 5.0)
    heldout[:, 2] = 30.0
    heldout[10:20, 0] = np.nan  # cam1 does not see the person there: no stretch for that
    quality = {"frames": frames, "cameras": np.array(["cam1", "cam2", "cam3"]), "heldout_px": heldout,
               "reprojection_px": heldout / 2, "detections": np.ones((60, 3), np.int32),
               "left_right_fixed": np.zeros((60, 3), bool)}
    _, problems = _camera_quality(quality, FPS)
    assert problems["cam1"] == [] and problems["cam2"] == []
    assert problems["cam3"] == [(0.0, pytest.approx(60 / FPS))]
