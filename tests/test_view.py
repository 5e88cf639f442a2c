"""The replay page: self-contained, small enough for 1000 frames, and, in a real browser
(headless Chromium), drawing the fitted mesh where its projection says, without console errors."""

import json
import re
import shutil
import subprocess
from html import unescape

import cv2
import numpy as np
import pytest
from fitted_runs import make_run

from mvmocap.bodymodels import load_body_model
from mvmocap.camera import save_calibration
from mvmocap.cli.main import main
from mvmocap.synthetic import ring_rig
from mvmocap.synthetic.model_files import make_model_arrays, write_model_file
from mvmocap.view import view_run

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
SIZE = (900, 600)


@pytest.fixture(scope="module")
def anny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("view")
    out = make_run(root, load_body_model("anny"), seed=2)
    save_calibration(ring_rig(4, 4.0), root)  # the dataset folder above the run: the page's frusta
    return out


def test_page_is_self_contained(anny_run, tmp_path, capsys):
    assert main(["view", str(anny_run), "--html", str(tmp_path / "page.html")]) == 0
    page = (tmp_path / "page.html").read_text()
    assert "wrote" in capsys.readouterr().out
    assert "<script src" not in page and "<link" not in page  # nothing is fetched when it opens
    data = json.loads(unescape(re.search(r'id="replay-data">(.*?)</script>', page, re.S).group(1)))
    assert [c["name"] for c in data["cameras"]] == ["cam1", "cam2", "cam3", "cam4"]
    assert len(data["frames"]) == 12 and data["people"][0]["influences"] == 9  # Anny: every influence kept


def test_a_1000_frame_smpl_page_stays_small(tmp_path):
    model_file = write_model_file(make_model_arrays("smpl"), tmp_path / "SMPL_NEUTRAL.pkl", "pkl")
    spec = f"smpl:{model_file}"
    out = make_run(tmp_path, load_body_model(spec), seed=3, frames=1000)
    page = view_run(out, model=spec)
    assert page.stat().st_size < 30e6
    assert page.stat().st_size < 6e6  # 2.5 MB here: three.js 0.7, the mesh, 1000 frames of joints and keypoints


def _chromium(url: str, *extra: str) -> str:
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
               "--use-angle=swiftshader", f"--window-size={SIZE[0]},{SIZE[1]}", "--hide-scrollbars",
               "--virtual-time-budget=10000", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout


@pytest.mark.skipif(BROWSER is None, reason="no Chromium (.ci/run installs Debian's chromium with apt-get)")
def test_browser_draws_the_mesh_where_it_projects(anny_run, tmp_path):
    page = view_run(anny_run, tmp_path / "page.html")
    k = 7
    url = f"{page.resolve().as_uri()}#frame={k}&size=800x480"  # the same drawing in both browser runs
    dom = _chromium(url, "--dump-dom")
    status = re.search(r'<div id="status"([^>]*)>', dom).group(1)
    attrs = {m.group(1): unescape(m.group(2)) for m in re.finditer(r'data-(\w+)="([^"]*)"', status)}
    assert attrs["state"] == "ready" and json.loads(attrs["errors"]) == [] and attrs["frame"] == str(k)
    shot = tmp_path / "shot.png"
    _chromium(url, f"--screenshot={shot}")
    image = cv2.imread(str(shot))[..., ::-1].astype(int)  # RGB
    assert image.shape[:2] == (SIZE[1], SIZE[0])
    params = dict(np.load(anny_run / "params.npz"))
    vertices = load_body_model("anny").sequence({key: params[key][k:k + 1] if key != "shapes" else params[key]
                                                 for key in ("poses", "shapes", "Rh", "Th")})[0]
    view = np.array(json.loads(attrs["view"])).reshape(4, 4).T  # three.js keeps matrices column-major
    clip = np.c_[vertices, np.ones(len(vertices))] @ view.T
    ndc = clip[:, :2] / clip[:, 3:]
    width, height = json.loads(attrs["size"])
    assert (width, height) == (800, 480)
    px = np.c_[(ndc[:, 0] + 1) / 2 * width, (1 - ndc[:, 1]) / 2 * height]
    (x0, y0), (x1, y1) = np.floor(px.min(0)).astype(int), np.ceil(px.max(0)).astype(int)
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height and (x1 - x0) * (y1 - y0) > 400
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    skin = (r - b > 60) & (r > g)  # the person's orange, lit or shaded; the floor, frusta and keypoints are not
    inside = np.zeros(skin.shape, bool)
    inside[y0:y1, x0:x1] = True
    assert skin[inside].mean() > 0.2  # the box is well covered by the mesh ...
    grown = np.zeros(skin.shape, bool)
    grown[max(0, y0 - 4):y1 + 4, max(0, x0 - 4):x1 + 4] = True
    assert skin[~grown].sum() < 0.01 * skin.sum()  # ... and the mesh is nowhere else


@pytest.fixture(scope="module")
def two_people_run(tmp_path_factory):
    """A multi-person run folder: person 0 over frames 10-21, person 1 over frames 10-15 only."""
    root = tmp_path_factory.mktemp("two")
    model = load_body_model("anny")
    out = root / "output"
    for pid, frames in ((0, 12), (1, 6)):
        single = make_run(root / f"single{pid}", model, seed=4 + pid, frames=frames)
        (out / "people").mkdir(parents=True, exist_ok=True)
        shutil.copytree(single, out / "people" / str(pid))
    return out


def _page_data(page) -> dict:
    return json.loads(unescape(re.search(r'id="replay-data">(.*?)</script>', page.read_text(), re.S).group(1)))


def test_a_multi_person_page_shows_every_person_in_its_frames(two_people_run, tmp_path):
    """Issue 29: the page held the first person only."""
    import base64

    data = _page_data(view_run(two_people_run, tmp_path / "page.html"))
    assert [p["id"] for p in data["people"]] == [0, 1] and data["frames"] == list(range(10, 22))
    own = [np.frombuffer(base64.b64decode(p["frame_index"]), "<i4").tolist() for p in data["people"]]
    assert own == [list(range(12)), list(range(6)) + [-1] * 6]  # person 1 is hidden after frame 15
    assert data["keypoints"]["count"] == 50 and len(data["keypoints"]["limbs"]) == 2 * 24
    assert data["people"][0]["colour"] != data["people"][1]["colour"]


@pytest.mark.skipif(BROWSER is None, reason="no Chromium (.ci/run installs Debian's chromium with apt-get)")
def test_the_browser_draws_a_person_only_in_their_frames(two_people_run, tmp_path):
    page = view_run(two_people_run, tmp_path / "page.html")
    colours = {}
    for k in (2, 9):  # page frames 12 (both people) and 19 (person 0 alone)
        url = f"{page.resolve().as_uri()}#frame={k}&size=800x480"
        dom = _chromium(url, "--dump-dom")
        status = re.search(r'<div id="status"([^>]*)>', dom).group(1)
        attrs = {m.group(1): unescape(m.group(2)) for m in re.finditer(r'data-(\w+)="([^"]*)"', status)}
        assert attrs["state"] == "ready" and json.loads(attrs["errors"]) == [], attrs
        shot = tmp_path / f"shot{k}.png"
        _chromium(url, f"--screenshot={shot}")
        r, g, b = cv2.imread(str(shot))[40:-60, :, ::-1].astype(int).transpose(2, 0, 1)  # the scene, not the controls
        colours[k] = {"orange": int(((r - b > 60) & (r > g)).sum()), "blue": int(((b - r > 60) & (b > g)).sum())}
    assert colours[2]["orange"] > 500 and colours[2]["blue"] > 500, colours
    assert colours[9]["orange"] > 500 and colours[9]["blue"] < 50, colours
