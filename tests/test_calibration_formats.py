import textwrap

import numpy as np
import pytest

from mvmocap.camera import (
    CalibrationError,
    load_calibration,
    read_easymocap,
    read_qualisys,
    read_toml,
    save_calibration,
    write_qualisys,
)
from mvmocap.cli.main import main
from mvmocap.synthetic import ring_rig


def _assert_same_rig(a, b, atol=1e-9):
    assert a.names == b.names
    for ca, cb in zip(a, b, strict=True):
        np.testing.assert_allclose(ca.K, cb.K, atol=atol)
        np.testing.assert_allclose(ca.R, cb.R, atol=atol)
        np.testing.assert_allclose(ca.t, cb.t, atol=atol)
        n = max(ca.dist.size, cb.dist.size)
        np.testing.assert_allclose(
            np.pad(ca.dist, (0, n - ca.dist.size)), np.pad(cb.dist, (0, n - cb.dist.size)), atol=atol
        )
        assert ca.image_size == cb.image_size


@pytest.fixture
def rig10():
    """Ten cameras whose names sort differently as strings (cam10 before cam2)."""
    return ring_rig(10, seed=5)


@pytest.mark.parametrize("target", ["folder", "calib.toml", "calib.qca.txt"])
def test_round_trip_keeps_rig_and_order(tmp_path, rig10, target):
    path = tmp_path / target
    save_calibration(rig10, path)
    back = load_calibration(path)
    assert back.names == [f"cam{i}" for i in range(1, 11)]
    _assert_same_rig(rig10, back)


def test_three_formats_project_a_point_to_the_same_pixel(tmp_path, rig):
    save_calibration(rig, tmp_path / "emc")
    save_calibration(rig, tmp_path / "rig.toml")
    save_calibration(rig, tmp_path / "rig.qca.txt")
    rigs = [
        load_calibration(tmp_path / "emc"),
        read_toml(tmp_path / "rig.toml"),
        read_qualisys(tmp_path / "rig.qca.txt"),
    ]
    X = np.array([[0.2, -0.3, 1.1], [0.9, 0.4, 0.1], [-0.5, 0.5, 1.8]])
    expected = rig.project(X)
    for other in rigs:
        np.testing.assert_allclose(other.project(X), expected, atol=1e-6)


def test_reads_easymocap_file_as_written_by_easymocap(tmp_path):
    # The header and layout EasyMocap writes (OpenCV 3/4 style), names as strings of digits.
    (tmp_path / "intri.yml").write_text(
        textwrap.dedent("""\
        %YAML:1.0
        ---
        names:
           - "01"
           - "02"
        K_01: !!opencv-matrix
           rows: 3
           cols: 3
           dt: d
           data: [ 1000., 0., 960., 0., 1000., 540., 0., 0., 1. ]
        dist_01: !!opencv-matrix
           rows: 1
           cols: 5
           dt: d
           data: [ -0.1, 0.01, 0., 0., 0. ]
        K_02: !!opencv-matrix
           rows: 3
           cols: 3
           dt: d
           data: [ 1200., 0., 640., 0., 1200., 360., 0., 0., 1. ]
        dist_02: !!opencv-matrix
           rows: 1
           cols: 5
           dt: d
           data: [ 0., 0., 0., 0., 0. ]
        """)
    )
    (tmp_path / "extri.yml").write_text(
        textwrap.dedent("""\
        %YAML:1.0
        ---
        names:
           - "01"
           - "02"
        R_01: !!opencv-matrix
           rows: 3
           cols: 1
           dt: d
           data: [ 0., 0., 0. ]
        Rot_01: !!opencv-matrix
           rows: 3
           cols: 3
           dt: d
           data: [ 1., 0., 0., 0., 1., 0., 0., 0., 1. ]
        T_01: !!opencv-matrix
           rows: 3
           cols: 1
           dt: d
           data: [ 0., 0., 4. ]
        Rot_02: !!opencv-matrix
           rows: 3
           cols: 3
           dt: d
           data: [ 0., 1., 0., -1., 0., 0., 0., 0., 1. ]
        T_02: !!opencv-matrix
           rows: 3
           cols: 1
           dt: d
           data: [ 0.5, 0., 3. ]
        """)
    )
    rig = read_easymocap(tmp_path / "intri.yml", tmp_path / "extri.yml")
    assert rig.names == ["01", "02"]
    np.testing.assert_allclose(rig["01"].dist, [-0.1, 0.01, 0, 0, 0])
    np.testing.assert_allclose(rig["02"].R, [[0, 1, 0], [-1, 0, 0], [0, 0, 1]])  # from Rot_ when R_ is absent
    np.testing.assert_allclose(rig["01"].center, [0, 0, -4])
    assert rig["01"].image_size is None
    # The point in front of camera 01 on its axis lands on its principal point.
    np.testing.assert_allclose(rig["01"].project(np.array([0.0, 0.0, 0.0])), [960, 540])


def test_reads_qualisys_export_with_video_window_offset(tmp_path):
    # One video camera with a cropped video window and one marker camera (skipped).
    (tmp_path / "cal.qca.txt").write_text(
        textwrap.dedent("""\
        <?xml version="1.0" encoding="utf-8"?>
        <calibration source="x.qca" type="regular">
          <cameras>
            <camera active="1" serial="12345" model="Miqus Video" viewrotation="0" avg-residual="0.3">
              <fov_video left="64" top="32" right="1983" bottom="1111"/>
              <transform x="1000" y="-2000" z="1500" r11="1" r12="0" r13="0" r21="0" r22="1" r23="0"
                         r31="0" r32="0" r33="1"/>
              <intrinsic focalLengthU="64000" focalLengthV="64000" centerPointU="65536" centerPointV="36864"
                         radialDistortion1="-6.4" radialDistortion2="0.64" radialDistortion3="0"
                         tangentalDistortion1="0" tangentalDistortion2="0"/>
            </camera>
            <camera active="1" serial="999" model="Oqus 700+" viewrotation="0">
              <fov_video left="0" top="0" right="1" bottom="1"/>
            </camera>
          </cameras>
        </calibration>
        """)
    )
    rig = read_qualisys(tmp_path / "cal.qca.txt")
    assert rig.names == ["12345"]
    cam = rig["12345"]
    assert cam.image_size == (1920, 1080)
    np.testing.assert_allclose(cam.K, [[1000, 0, 1024 - 64], [0, 1000, 576 - 32], [0, 0, 1]])
    np.testing.assert_allclose(cam.dist, [-0.1, 0.01, 0, 0, 0])
    np.testing.assert_allclose(cam.center, [1.0, -2.0, 1.5])
    # Qualisys cameras look along their -z: with the identity rotation, straight down the world -z.
    below = cam.center - [0.0, 0.0, 2.0]
    np.testing.assert_allclose(cam.project(below), cam.K[:2, 2], atol=1e-9)


def test_qualisys_writer_refuses_what_it_cannot_store(tmp_path, rig):
    from mvmocap.camera import Camera, CameraRig

    no_size = CameraRig([Camera("a", rig[0].K, [], rig[0].R, rig[0].t)])
    with pytest.raises(ValueError, match="image size"):
        write_qualisys(no_size, tmp_path / "x.qca.txt")


@pytest.mark.parametrize(
    ("field", "message"),
    [("K_cam2", r"intri\.yml: field 'K_cam2' is missing"), ("T_cam3", r"extri\.yml: field 'T_cam3' is missing")],
)
def test_easymocap_missing_field_names_file_and_field(tmp_path, rig, field, message):
    save_calibration(rig, tmp_path)
    name = "intri.yml" if field.startswith("K") else "extri.yml"
    text = (tmp_path / name).read_text()
    (tmp_path / name).write_text(text.replace(f"{field}:", f"X{field}:"))
    with pytest.raises(CalibrationError, match=message):
        load_calibration(tmp_path)


def test_easymocap_camera_without_extrinsics(tmp_path, rig):
    save_calibration(rig, tmp_path)
    save_calibration(rig.subset(["cam1", "cam2"]), tmp_path / "sub")
    (tmp_path / "extri.yml").write_text((tmp_path / "sub" / "extri.yml").read_text())
    with pytest.raises(CalibrationError, match=r"extri\.yml: cameras \['cam3', 'cam4'\] are in intri\.yml"):
        load_calibration(tmp_path)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(CalibrationError, match=r"no calibration found .*intri\.yml"):
        load_calibration(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("[cam_0]\nname = 'a'\nmatrix = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\n")
    with pytest.raises(CalibrationError, match=r"bad\.toml: table \[cam_0\] lacks field\(s\) \['distortions'"):
        load_calibration(bad)
    bad.write_text("this is = = not toml")
    with pytest.raises(CalibrationError, match="not valid TOML"):
        load_calibration(bad)
    xml = tmp_path / "bad.qca.txt"
    xml.write_text(
        "<calibration><cameras><camera serial='1' model='video'><fov_video left='0' top='0' "
        "right='9' bottom='9'/></camera></cameras></calibration>"
    )
    with pytest.raises(CalibrationError, match=r"camera 1: element <intrinsic> is missing"):
        load_calibration(xml)
    (tmp_path / "calib.json").write_text("{}")
    with pytest.raises(CalibrationError, match="unknown calibration format"):
        load_calibration(tmp_path / "calib.json")
    with pytest.raises(CalibrationError, match=r"nowhere: not found"):
        load_calibration(tmp_path / "nowhere")


def test_toml_reads_pose2sim_style_file_with_millimetre_scale(tmp_path):
    (tmp_path / "Calib.toml").write_text(
        textwrap.dedent("""\
        [int_cam01_img]
        name = "int_cam01_img"
        size = [ 1088.0, 1920.0]
        matrix = [ [ 1677.0, 0.0, 542.0], [ 0.0, 1677.0, 952.0], [ 0.0, 0.0, 1.0]]
        distortions = [ -0.04, 0.25, 0.0, 0.0]
        rotation = [ 1.2, 1.2, -1.2]
        translation = [ 500.0, 1000.0, 3000.0]
        fisheye = false

        [metadata]
        adjusted = false
        error = 0.0
        """)
    )
    rig = read_toml(tmp_path / "Calib.toml", scale=0.001)
    assert rig.names == ["int_cam01_img"] and rig[0].image_size == (1088, 1920)
    np.testing.assert_allclose(rig[0].t, [0.5, 1.0, 3.0])


def test_calib_convert_command(tmp_path, rig):
    save_calibration(rig, tmp_path / "in")
    assert main(["calib", "convert", str(tmp_path / "in"), str(tmp_path / "out.toml")]) == 0
    assert main(["calib", "convert", str(tmp_path / "out.toml"), str(tmp_path / "out.qca.txt")]) == 0
    assert main(["calib", "convert", str(tmp_path / "out.qca.txt"), str(tmp_path / "back")]) == 0
    _assert_same_rig(rig, load_calibration(tmp_path / "back"))
    assert main(["calib", "convert", str(tmp_path / "nowhere"), str(tmp_path / "x.toml")]) == 2
