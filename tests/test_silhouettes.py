"""Fitted bodies checked against the people's silhouettes: a body of the person's build measures
about as wide as they are across the torso, a heavier one wider (and is warned about)."""

import logging

import numpy as np
import pytest

from mvmocap.bodymodels import load_body_model
from mvmocap.camera import load_calibration
from mvmocap.fit import FitResult
from mvmocap.io import FrameSource, list_video_cameras
from mvmocap.pipeline.silhouettes import body_widths, warn_implausible
from mvmocap.pipeline.videos import FittedMesh
from mvmocap.synthetic.body_motion import model_motion
from mvmocap.synthetic.multi import MultiSpec, crossing_walks, make_multi_capture


@pytest.fixture(scope="module")
def walking(tmp_path_factory):
    model = load_body_model()
    spec = MultiSpec(people=1, cameras=3, frames=12, image_size=(480, 270), seed=3)
    root = make_multi_capture(tmp_path_factory.mktemp("walk"), model, spec)
    rng = np.random.default_rng(spec.seed)  # the scene's own draws: its person's true shape and motion
    bounds = model.shape_bounds
    betas = rng.uniform(0.6 * bounds[0], 0.6 * bounds[1], model.num_shapes)
    params = model_motion(model, crossing_walks(spec)[0], betas)
    return model, root, params


def _mesh(model, params, shapes) -> FittedMesh:
    keypoints = model.sequence({**params, "shapes": shapes}, output="body25")
    return FittedMesh(model, FitResult(params["poses"], shapes, params["Rh"], params["Th"], keypoints))


class _Wider:
    """``model`` with every posed body ``factor`` times as wide: scaled about its vertical axis."""

    def __init__(self, model, factor: float):
        self.model, self.factor, self.faces = model, factor, model.faces

    def sequence(self, params, output="vertices"):
        for vertices in self.model.sequence(params, output):
            centre = vertices.mean(0)
            yield np.concatenate([centre[:2] + self.factor * (vertices[:, :2] - centre[:2]), vertices[:, 2:]], 1)


def test_a_wider_body_measures_wider_than_the_person(walking, caplog):
    """The person's own body measures within 15% of their segmented silhouette, one 1.5x as wide
    1.35-1.65x that, and is warned about; a body where nobody is gives no ratio."""
    model, root, params = walking
    rig = load_calibration(root)
    sources = {name: FrameSource(path) for name, path in list_video_cameras(root).items()}
    own_mesh = _mesh(model, params, np.asarray(params["shapes"]).reshape(1, -1))
    wider_mesh = FittedMesh(_Wider(model, 1.5), own_mesh.result)
    frames = list(range(12))
    (own,), (wider,) = (body_widths(rig, sources, frames, [mesh]) for mesh in (own_mesh, wider_mesh))
    assert own.samples >= 10 and wider.samples >= 10
    assert 0.85 < own.width_ratio < 1.15, own
    assert 1.35 < wider.width_ratio / own.width_ratio < 1.65, (own, wider)
    with caplog.at_level(logging.WARNING):
        warn_implausible({"person 0": own, "person 1": wider})
    assert "person 1: the fitted body is" in caplog.text and "person 0" not in caplog.text
    fit = own_mesh.result
    far = [30.0, 0.0, 0.0]  # metres away
    moved = FittedMesh(model, FitResult(fit.poses, fit.shapes, fit.Rh, fit.Th + far, fit.keypoints + far))
    assert body_widths(rig, sources, frames, [moved])[0].width_ratio is None  # off in the distance
