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


def test_an_interrupted_camera_resumes_to_the_same_detections(tmp_path):
    """The tracker's state after every frame lets a resumed camera continue exactly where it stopped."""
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

    with pytest.raises(KeyboardInterrupt):
        detect_camera(source, "cam1", tmp_path / "resumed", Interrupted, frames, settings)
    folder = tmp_path / "resumed" / "cam1"
    assert json.loads((folder / TRACKER).read_text())["frame"] == 5 and not (folder / MARKER).exists()
    assert detect_camera(source, "cam1", tmp_path / "resumed", make, frames, settings) == 4
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
