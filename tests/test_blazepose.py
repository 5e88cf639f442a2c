"""Multi-person BlazePose through LiteRT on rendered people; the detector settings; the cache layout."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from mvmocap.bodymodels import load_body_model
from mvmocap.camera import Camera
from mvmocap.detect import BlazePoseMulti, body_detector_factory, save_body
from mvmocap.detect.blazepose import ssd_anchors
from mvmocap.io import read_keypoints2d
from mvmocap.render import Scene
from mvmocap.synthetic.body_motion import model_motion
from mvmocap.synthetic.motions import motion_curves


@pytest.fixture(scope="module")
def two_people():
    """Three frames of two Anny people side by side, facing a 960x540 camera 4 m away."""
    model = load_body_model()
    cam = Camera.look_at("c", [[700, 0, 479.5], [0, 700, 269.5], [0, 0, 1]], [4.0, 0.0, 1.3], [0, 0, 0.9],
                         image_size=(960, 540))
    frames, truth = [], []
    people = []
    for k, y in enumerate((-0.7, 0.7)):
        walk = motion_curves("walk", 3, 30.0, seed=k)
        walk = replace(walk, xy=np.tile([0.0, y], (3, 1)), yaw=np.zeros(3))
        params = model_motion(model, walk, np.zeros(model.num_shapes))
        with torch.no_grad():
            out = model(*(torch.as_tensor(params[n]).float() for n in ("poses", "shapes", "Rh", "Th")),
                        keypoints="body25")
        people.append((out.vertices.double().numpy(), out.keypoints.double().numpy()))
    faces = model.faces.cpu().numpy()
    for f in range(3):
        scene = Scene()
        for vertices, _ in people:
            scene.add(vertices[f], faces, (0.86, 0.70, 0.60))
        r = scene.render(cam)
        frames.append(np.where(r.mask[..., None], (r.rgb * 255).astype(np.uint8), np.uint8(120)))
        truth.append([cam.project(kp[f]) for _, kp in people])
    return frames, np.array(truth)


def test_anchors_match_the_detector_output():
    anchors = ssd_anchors()
    assert anchors.shape == (2254, 2) and (anchors > 0).all() and (anchors < 1).all()
    np.testing.assert_allclose(anchors[:2], [[0.5 / 28, 0.5 / 28]] * 2)  # stride 8: 28 x 28 cells, 2 each


def test_two_people_found_and_followed(two_people):
    frames, truth = two_people
    detector = BlazePoseMulti(max_people=4)
    ids = []
    for f, rgb in enumerate(frames):
        people = detector(rgb, f)
        assert len(people) == 2
        ids.append(sorted(people))
        for kp in people.values():
            seen = kp[:, 2] > 0.5
            errors = [np.median(np.linalg.norm(kp[seen, :2] - t[seen], axis=-1)) for t in truth[f]]
            assert min(errors) < 15 and max(errors) > 100  # on one person, not between the two
    assert ids[0] == ids[1] == ids[2]  # followed from frame to frame with the same ids
    assert BlazePoseMulti(max_people=1)(frames[0], 0).__len__() == 1
    assert BlazePoseMulti()(np.full((360, 640, 3), 120, np.uint8), 0) == {}


def test_detector_settings_are_checked_before_any_frame():
    with pytest.raises(ValueError, match=r"exp: detect.backend: must be one of"):
        body_detector_factory({"backend": "openpose"}, "exp: detect")
    with pytest.raises(ValueError, match=r"\['model_complexity'\] are not read by backend 'blazepose'"):
        body_detector_factory({"backend": "blazepose", "model_complexity": 1})
    with pytest.raises(ValueError, match=r"detect.model_complexity: must be 0 \(lite\) or 1 \(full\)"):
        body_detector_factory({"backend": "mediapipe-legacy", "model_complexity": 7})
    with pytest.raises(ValueError, match=r"detect.max_people: must be a whole number >= 1"):
        body_detector_factory({"max_people": 0})
    with pytest.raises(ValueError, match=r"detect.min_detection_confidence: must be a number in \[0, 1\]"):
        body_detector_factory({"min_detection_confidence": 5})
    assert callable(body_detector_factory({"backend": "blazepose", "max_people": 2}))


def test_cache_holds_every_person_and_the_frame_time(tmp_path):
    a, b = np.ones((25, 3)), np.full((25, 3), 2.0)
    save_body(tmp_path, "cam1", 7, {3: a, 5: b}, (640, 360), timestamp=0.2335)
    save_body(tmp_path, "cam1", 8, {5: b}, (640, 360), timestamp=0.2668)
    doc = json.loads((tmp_path / "cam1" / "000007.json").read_text())
    assert [p["personID"] for p in doc["annots"]] == [3, 5] and doc["timestamp"] == 0.2335
    seq = read_keypoints2d(tmp_path)
    assert seq.frames == [7, 8] and sorted(seq.people) == [3, 5]
    np.testing.assert_allclose(seq.times["cam1"], [0.2335, 0.2668])
    assert seq.candidates().shape == (2, 1, 2, 25, 3)


def test_an_interrupted_camera_resumes_to_the_same_detections(tmp_path, monkeypatch):
    """The tracker's state, saved every few frames, lets a resumed camera continue exactly as if it had
    not stopped (the frames after the saved state detected again)."""
    from mvmocap.detect import MARKER, TRACKER, detect_camera
    from mvmocap.io import FrameSource
    from mvmocap.synthetic import make_video_capture

    root = make_video_capture(tmp_path / "data", load_body_model(), frames=10, cameras=2, image_size=(640, 360),
                              seed=2)
    source = FrameSource(root / "videos" / "cam1.mp4")
    settings = {"backend": "blazepose"}
    make = body_detector_factory(settings)
    frames = range(0, 10)
    assert detect_camera(source, "cam1", tmp_path / "whole", make, frames, settings) == 10

    class Interrupted(BlazePoseMulti):
        def __call__(self, rgb, index=None):
            if index == 6:
                raise KeyboardInterrupt
            return super().__call__(rgb, index)

    monkeypatch.setattr("mvmocap.detect.cache.TRACKER_EVERY", 4)  # the state saved after frames 3, 7, ...
    with pytest.raises(KeyboardInterrupt):
        detect_camera(source, "cam1", tmp_path / "resumed", Interrupted, frames, settings)
    folder = tmp_path / "resumed" / "cam1"
    assert json.loads((folder / TRACKER).read_text())["frame"] == 3 and not (folder / MARKER).exists()
    assert (folder / "000005.json").is_file()
    assert detect_camera(source, "cam1", tmp_path / "resumed", make, frames, settings) == 6  # 4 .. 9
    for f in frames:
        name = f"{f:06d}.json"
        assert (folder / name).read_text() == (tmp_path / "whole" / "cam1" / name).read_text(), name
    assert (folder / MARKER).exists() and not (folder / TRACKER).exists()
    # A damaged frame deleted (as its error says) is detected again though the camera was complete,
    # and so is a camera whose marker is empty; both runs end with the same detections.
    (folder / "000007.json").unlink()
    assert detect_camera(source, "cam1", tmp_path / "resumed", make, frames, settings) == 3
    (folder / MARKER).write_text("")
    assert detect_camera(source, "cam1", tmp_path / "resumed", make, frames, settings) == 10
    for f in frames:
        name = f"{f:06d}.json"
        assert (folder / name).read_text() == (tmp_path / "whole" / "cam1" / name).read_text(), name


def test_cameras_detected_in_worker_processes_equal_one_after_another(tmp_path):
    """--workers: each camera in its own spawned process, with fewer LiteRT threads, gives the
    same detections bit for bit, and the cache then holds every camera complete."""
    from mvmocap.detect import MARKER, detect_settings_from
    from mvmocap.io import FrameSource
    from mvmocap.pipeline.stages import detect_cameras
    from mvmocap.synthetic import make_video_capture

    root = make_video_capture(tmp_path / "data", load_body_model(), frames=6, cameras=2, image_size=(640, 360),
                              seed=3)
    sources = {cam: FrameSource(root / "videos" / f"{cam}.mp4") for cam in ("cam1", "cam2")}
    settings = detect_settings_from({"backend": "blazepose"})
    results = {}
    for processes, threads in ((1, None), (2, 1)):
        factory = body_detector_factory(settings, threads=threads)
        folder = tmp_path / f"p{processes}"
        assert detect_cameras(sources, folder, dict.fromkeys(sources, factory), range(6), settings.identity(),
                              desc="detect", processes=processes) == 12
        assert all((folder / cam / MARKER).is_file() for cam in sources)
        results[processes] = {p.relative_to(folder): json.loads(p.read_text())["annots"]
                              for p in sorted(folder.rglob("0*.json"))}
    assert len(results[1]) == 12 and results[1] == results[2]


def test_a_detection_worker_starts_without_pytorch():
    """A spawned detection worker imports the program's main module (``mvmocap``'s command line),
    the function it runs and the detector; none of them may load PyTorch, which cost every worker
    2 s of its start (a tenth of a 4-camera detection on 2 cores)."""
    import subprocess
    import sys

    from mvmocap.detect import detect_camera_in_worker

    code = (f"import sys, mvmocap.cli.main, mvmocap.detect.blazepose, {detect_camera_in_worker.__module__}; "
            "print(sorted(m for m in ('torch', 'mvmocap.fit') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
    import mvmocap.pipeline as pipeline
    from mvmocap.pipeline import RunOptions, run_experiment  # the package's names still import on use

    assert callable(run_experiment) and RunOptions.__name__ == "RunOptions"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        pipeline.nothing  # noqa: B018


def test_detection_rounds_search_a_few_squares_in_turn(two_people):
    """A round runs the person detector on one whole-frame square and the next few small squares,
    each in turn, not on all of them (a 1080 x 1920 frame has 3 + 15: 18 detector runs every round
    cost two thirds of the detection time, the three whole-frame ones a third where one person is
    followed), except on a camera's first frame; rounds every ``detect_every`` frames, none while
    ``max_people`` are followed; every whole-frame square while nobody is followed."""
    from mvmocap.detect.blazepose import detector_squares

    frames, _ = two_people
    whole, small = detector_squares(960, 540)
    assert (len(whole), len(small)) == (3, 15)
    assert [len(squares) for squares in detector_squares(1080, 1920)] == [3, 15]
    searched = []

    class Counting(BlazePoseMulti):
        def _detect_region(self, rgb, cx, cy, size):
            searched.append((cx, cy, size))
            return super()._detect_region(rgb, cx, cy, size)

    detector = Counting(max_people=4, detect_every=2, search_squares=3)
    for f in range(8):
        assert len(detector(frames[f % 3], f)) == 2
    assert searched[:18] == whole + small  # a camera's first frame: every square
    rounds = [searched[k:k + 4] for k in range(18, len(searched), 4)]
    assert len(searched) == 18 + 3 * 4 and len(rounds) == 3  # frames 2, 4, 6: 1 whole + 3 small each
    assert [r[0] for r in rounds] == whole  # in turn
    assert [s for r in rounds for s in r[1:]] == small[:9]  # in turn
    state = detector.state()
    assert (state["next_whole"], state["next_square"]) == (0, 9)
    searched.clear()
    one = Counting(max_people=1, detect_every=1)
    for f in range(3):
        assert len(one(frames[f], f)) == 1
    assert len(searched) == 18  # the first frame's round only: one person followed is all it wants
    searched.clear()
    everything = Counting(max_people=4, detect_every=1, search_squares=0)
    everything(frames[0], 0)
    assert len(searched) == 18
    searched.clear()
    nobody = Counting(max_people=4, detect_every=1, search_squares=2)
    blank = np.zeros_like(frames[0])
    for f in range(2):
        assert nobody(blank, f) == {}
    assert searched[18:] == whole + small[:2]  # nobody followed: every whole-frame square


def test_heatmap_refinement_equals_the_window_mean():
    """The vectorised refinement gives each landmark the confidence-weighted mean cell of its 7 x 7
    window, cells outside the heatmap left out, landmarks whose window is not confident unchanged."""
    from mvmocap.detect.blazepose import _refine_on_heatmap

    def by_hand(xy, heatmap):
        out = xy.copy()
        for j in range(len(xy)):
            cx, cy = int(xy[j, 0] / 4), int(xy[j, 1] / 4)
            cells = [(y, x) for y in range(cy - 3, cy + 4) for x in range(cx - 3, cx + 4)
                     if 0 <= x < 64 and 0 <= y < 64]
            if not cells:
                continue
            w = np.array([1 / (1 + np.exp(-float(heatmap[y, x, j]))) for y, x in cells])
            if w.max() < 0.5:
                continue
            out[j] = [sum((x + 0.5) * wi for (_, x), wi in zip(cells, w, strict=True)) / w.sum() * 4,
                      sum((y + 0.5) * wi for (y, _), wi in zip(cells, w, strict=True)) / w.sum() * 4]
        return out

    rng = np.random.default_rng(0)
    heatmap = rng.normal(-1, 3, (64, 64, 39)).astype(np.float32)
    xy = rng.uniform(-30, 290, (39, 2)).astype(np.float32)  # some windows half or wholly off the heatmap
    xy[0] = [-100, -100]
    refined = _refine_on_heatmap(xy, heatmap)
    np.testing.assert_allclose(refined, by_hand(xy, heatmap), atol=1e-3)
    assert (refined[0] == xy[0]).all() and (refined != xy).any()


def test_detection_processes_repay_their_start(tmp_path):
    """One process per camera at most, and one per 300 frames still to detect: a short clip is
    detected in this process (spawning costs more than it saves), cached frames count as done."""
    from mvmocap.pipeline.stages import VIEW_FRAMES_PER_PROCESS, detection_processes

    class Source:
        def __init__(self, count):
            self.count = count

    sources = {f"cam{k}": Source(600) for k in range(4)}
    assert VIEW_FRAMES_PER_PROCESS == 300
    assert detection_processes(sources, tmp_path, range(0, 600), 2) == 2
    assert detection_processes(sources, tmp_path, range(0, 600), 16) == 4
    assert detection_processes(sources, tmp_path, range(0, 100), 16) == 1  # 400 frames: one more process
    assert detection_processes(sources, tmp_path, range(0, 150), 16) == 2
    for cam in sources:
        (tmp_path / cam).mkdir()
        for f in range(140):
            (tmp_path / cam / f"{f:06d}.json").write_text("{}")
    assert detection_processes(sources, tmp_path, range(0, 150), 16) == 1  # 40 frames left to detect
