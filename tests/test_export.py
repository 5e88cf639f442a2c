"""Exports read back: BVH forward kinematics and the glb's own skinning reproduce the fit (SMPL
format with its pose correctives, and Anny), AMASS fields rebuild the body, TRC/C3D markers equal
the keypoints; Blender's importers agree when Blender is installed."""

import json
import shutil
import subprocess
from pathlib import Path

import c3d
import numpy as np
import pytest
import torch
from fitted_runs import FPS, FRAMES, make_run
from gltf_skinning import skinned_vertices

from mvmocap.bodymodels import from_standard, load_body_model
from mvmocap.bodymodels.skinned import skinned_sequence
from mvmocap.cli.main import main
from mvmocap.export import ExportFrame, bvh_joint_positions, export_run, read_bvh, read_trc
from mvmocap.synthetic.model_files import make_model_arrays, write_model_file


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    smpl_file = write_model_file(make_model_arrays("smpl"), root / "models" / "SMPL_MALE.pkl", "pkl")
    spec = f"smpl:{smpl_file}"
    smpl, anny = load_body_model(spec), load_body_model("anny")
    return {"smpl": (make_run(root / "smpl", smpl, 0), spec, smpl), "anny": (make_run(root / "anny", anny, 1),
                                                                               None, anny)}


def _sequence(run):
    out, _, model = run
    data = np.load(out / "params.npz")
    return skinned_sequence(model, {k: data[k] for k in ("poses", "shapes", "Rh", "Th")})


@pytest.mark.parametrize("name", ["smpl", "anny"])
@pytest.mark.parametrize("up,units", [("y", "m"), ("z", "cm")])
def test_bvh_forward_kinematics_reproduces_every_joint(runs, tmp_path, name, up, units):
    out, spec, model = runs[name]
    path = export_run(out, tmp_path / "motion.bvh", up=up, units=units, model=spec)
    bvh = read_bvh(path)
    seq = _sequence(runs[name])
    frame = ExportFrame(up, units)
    order = [seq.joint_names.index(n) for n in bvh.names]
    assert sorted(order) == list(range(len(seq.joint_names)))  # every joint of the model, named as it names them
    err = np.linalg.norm(bvh_joint_positions(bvh) - frame.points(seq.joints[:, order]), axis=-1) / frame.scale
    assert err.max() < 1e-3 and bvh.motion.shape[0] == FRAMES and abs(bvh.frame_time - 1 / FPS) < 1e-6
    assert np.abs(seq.joints - model.sequence(dict(np.load(out / "params.npz")), "joints")).max() < 1e-5


@pytest.mark.parametrize("name", ["smpl", "anny"])
def test_glb_skinning_reproduces_the_fitted_vertices(runs, tmp_path, name):
    out, spec, model = runs[name]
    path = export_run(out, tmp_path / "body.glb", model=spec)
    fitted = model.sequence(dict(np.load(out / "params.npz")))  # (F, V, 3) world, z up
    for k in (0, FRAMES // 2, FRAMES - 1):
        assert np.abs(skinned_vertices(path, k) - ExportFrame("y").points(fitted[k])).max() < 1e-3
    if name == "smpl":  # the correctives travel as morph targets; without them the mesh is lighter and off
        light = export_run(out, tmp_path / "light.glb", model=spec, correctives=False)
        assert light.stat().st_size < path.stat().st_size / 5
        off = np.abs(skinned_vertices(light, FRAMES // 2) - ExportFrame("y").points(fitted[FRAMES // 2])).max()
        assert off > 1e-3


def test_amass_npz_rebuilds_the_body(runs, tmp_path):
    out, spec, model = runs["smpl"]
    path = export_run(out, tmp_path / "amass.npz", model=spec)
    data = np.load(path)
    assert data["poses"].shape == (FRAMES, 72) and data["trans"].shape == (FRAMES, 3)
    assert str(data["gender"]) == "male" and str(data["surface_model_type"]) == "smpl"
    assert float(data["mocap_framerate"]) == FPS and data["betas"].shape == (model.num_shapes,)
    with torch.no_grad():
        p = from_standard(model, torch.as_tensor(data["poses"][:, :3]), torch.as_tensor(data["poses"][:, 3:]),
                          torch.as_tensor(data["betas"][None]), torch.as_tensor(data["trans"]))
    rebuilt = model.sequence({k: v.numpy() for k, v in p.items()})
    assert np.abs(rebuilt - model.sequence(dict(np.load(out / "params.npz")))).max() < 1e-5
    with pytest.raises(Exception, match="AMASS holds SMPL"):
        export_run(runs["anny"][0], tmp_path / "anny.npz")


@pytest.mark.slow
@pytest.mark.parametrize("kind,width", [("smplh", 156), ("smplx", 165)])
def test_amass_fields_of_smplh_and_smplx(tmp_path, kind, width):
    spec = f"{kind}:{write_model_file(make_model_arrays(kind), tmp_path / f'{kind.upper()}_FEMALE.pkl', 'pkl')}"
    out = make_run(tmp_path, load_body_model(spec), seed=4)
    data = np.load(export_run(out, tmp_path / "amass.npz", model=spec))
    assert data["poses"].shape == (FRAMES, width) and str(data["gender"]) == "female"
    assert str(data["surface_model_type"]) == kind
    if kind == "smplx":
        split = np.concatenate([data[k] for k in ("root_orient", "pose_body", "pose_jaw", "pose_eye", "pose_hand")], 1)
        assert np.array_equal(split, data["poses"]) and float(data["mocap_frame_rate"]) == FPS
        assert int(data["num_betas"]) == data["betas"].shape[0]
    else:
        assert float(data["mocap_framerate"]) == FPS


@pytest.mark.filterwarnings("ignore:No analog data")  # the c3d reader notes that the file holds points only
def test_trc_and_c3d_markers_equal_the_keypoints(runs, tmp_path):
    out = runs["anny"][0]
    truth = np.stack([np.array(json.loads((out / "keypoints3d" / f"{f:06d}.json").read_text())[0]["keypoints3d"])
                      for f in range(10, 10 + FRAMES)])
    seen = truth[..., 3] > 0
    points, names, rate, units = read_trc(export_run(out, tmp_path / "m.trc", units="mm"))
    assert names[:2] == ["Nose", "Neck"] and rate == FPS and units == "mm" and points.shape == (FRAMES, 25, 3)
    expected = ExportFrame("y", "mm").points(truth[..., :3])
    assert np.abs(points[seen] - expected[seen]).max() < 1e-3 and np.isnan(points[~seen]).all()
    with open(export_run(out, tmp_path / "m.c3d", up="z"), "rb") as handle:
        reader = c3d.Reader(handle)
        assert [n.strip() for n in reader.point_labels] == names and reader.point_rate == FPS
        frames = [p for _, p, _ in reader.read_frames()]
    markers = np.stack(frames)
    assert np.abs(markers[..., :3][seen] - truth[..., :3][seen]).max() < 1e-5 and (markers[..., 3][~seen] < 0).all()
    fitted, _ = read_trc(export_run(out, tmp_path / "f.trc", keypoints="fit", up="z"))[:2]
    assert np.abs(fitted - np.load(out / "params.npz")["keypoints3d"]).max() < 1e-5


def test_export_command_and_bad_input(runs, tmp_path, caplog):
    out = runs["anny"][0]
    assert main(["export", str(out), "--to", str(tmp_path / "a.bvh")]) == 0 and (tmp_path / "a.bvh").is_file()
    cases = [(["--to", str(tmp_path / "a.fbx")], "unknown extension '.fbx'"),
             (["--to", str(tmp_path / "a.glb"), "--up", "z"], "fixes its axes"),
             (["--to", str(tmp_path / "a.bvh"), "--person", "3"], "holds one person"),
             (["--to", str(out / "params.npz")], "would replace the run's own params.npz")]
    for extra, message in cases:
        caplog.clear()
        assert main(["export", str(out), *extra]) == 2 and message in caplog.text, extra
    caplog.clear()
    assert main(["export", str(tmp_path / "nowhere"), "--to", str(tmp_path / "b.bvh")]) == 2
    assert "params.npz: not found" in caplog.text


@pytest.mark.skipif(shutil.which("blender") is None, reason="Blender not installed (.ci/run installs it with apt-get)")
@pytest.mark.parametrize("name,suffix", [("smpl", "glb"), ("anny", "glb"), ("anny", "bvh")])
def test_blender_imports_agree(runs, tmp_path, name, suffix):
    out, spec, model = runs[name]
    path = export_run(out, tmp_path / f"body.{suffix}", model=spec)
    seq = _sequence(runs[name])
    k = 5
    frame = k + 1 if suffix == "bvh" else k  # Blender's BVH importer starts at frame 1, its glTF one at time 0
    report = tmp_path / "blender.json"
    subprocess.run(["blender", "-b", "--factory-startup", "--python", str(Path(__file__).with_name("blender_check.py")),
                    "--", suffix, str(path), str(frame), str(report), str(int(FPS))],
                   check=True, capture_output=True, timeout=300)
    result = json.loads(report.read_text())
    heads = np.array([result["heads"][n] for n in seq.joint_names])
    assert np.abs(heads - seq.joints[k]).max() < 1e-3  # Blender turns y up back into z up: our world
    if suffix == "glb":
        used = np.unique(seq.faces)  # Blender drops vertices no triangle uses (the SMPL stand-in has a few)
        assert np.abs(np.array(result["vertices"]) - seq.vertices(np.array([k]))[0][used]).max() < 1e-3
        if name == "smpl":
            parts = int((seq.corrective_weights > 0).any(0).sum() + (seq.corrective_weights < 0).any(0).sum())
            assert result["shape_keys"] == 1 + parts  # basis + each corrective's positive and negative part
