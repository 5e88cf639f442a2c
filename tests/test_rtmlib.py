"""detect.backend rtmlib with ONNX models generated here (same inputs and outputs as YOLOX with its
NMS and a Halpe26 / COCO-WholeBody RTMPose): boxes, SimCC decoding and the body25 mapping."""

import numpy as np
import pytest

from mvmocap.detect import body_detector_factory
from mvmocap.detect.rtmlib_pose import wholebody_to_halpe26

onnx = pytest.importorskip("onnx", reason="the rtmlib tests build ONNX models with the onnx package")
pytest.importorskip("onnxruntime", reason="detect.backend rtmlib runs on ONNX Runtime")
pytest.importorskip("rtmlib", reason="detect.backend rtmlib needs rtmlib (make install adds it)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

BOX = [100.0, 40.0, 300.0, 440.0]  # x0, y0, x1, y1 in the 640 x 480 test image (YOLOX input ratio 1)


def _constant_model(path, input_shape, outputs: dict[str, np.ndarray]) -> str:
    """An ONNX model with one image input that returns fixed tensors."""
    nodes, infos = [], []
    for name, value in outputs.items():
        nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value.astype(np.float32))))
        infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(nodes, "fixed", [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
                              infos)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def _pose_model(path, joints: int) -> str:
    """RTMPose 192x256 (SimCC split 2): every joint at the crop centre, but joint 5 a quarter left."""
    sx, sy = np.zeros((1, joints, 384)), np.zeros((1, joints, 512))
    sx[0, :, 192] = 0.9
    sy[0, :, 256] = 0.9
    sx[0, 5, 192], sx[0, 5, 96] = 0.0, 0.9
    return _constant_model(path, [1, 3, 256, 192], {"simcc_x": sx, "simcc_y": sy})


@pytest.fixture
def models(tmp_path):
    det = _constant_model(tmp_path / "det.onnx", [1, 3, 640, 640], {"dets": np.array([[BOX + [0.95]]])})
    return det, _pose_model(tmp_path / "halpe.onnx", 26), _pose_model(tmp_path / "wholebody.onnx", 133)


@pytest.mark.parametrize("which", [1, 2])
def test_rtmlib_backend_maps_to_body25(models, which):
    det, *poses = models
    detector = body_detector_factory({"backend": "rtmlib", "det": det, "pose": poses[which - 1],
                                      "pose_input_size": [192, 256]})()
    people = detector(np.zeros((480, 640, 3), np.uint8), 0)
    assert list(people) == [0]
    kp = people[0]
    assert kp.shape == (25, 3)
    centre = np.array([(BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2])
    # COCO's LShoulder (5) is body25's 5 too; a crop of 1.25 x the box, widened to 3:4, is 500 x 375
    np.testing.assert_allclose(kp[0, :2], centre, atol=2.0)  # the nose
    np.testing.assert_allclose(kp[5, :2], centre - [375 / 4, 0], atol=2.0)
    # Neck: Halpe26's own point; COCO-WholeBody has none, so the shoulders' mean
    np.testing.assert_allclose(kp[1, :2], centre if which == 1 else (kp[2, :2] + kp[5, :2]) / 2, atol=2.0)
    assert kp[22, 2] > 0.5 and kp[20, 2] > 0.5  # feet (big and small toes) come through
    assert np.allclose(kp[[0, 2, 8], 2], 0.9)


def test_rtmlib_settings_name_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match=r"detect.det: needs the path of your YOLOX person detector ONNX file.*"
                                         r"never downloads weights"):
        body_detector_factory({"backend": "rtmlib", "det": str(tmp_path / "none.onnx"), "pose": "x"})
    with pytest.raises(ValueError, match=r"are not read by backend 'rtmlib'"):
        body_detector_factory({"backend": "rtmlib", "max_people": 3})


def test_wholebody_feet_and_midline():
    kp = np.zeros((133, 3))
    kp[:, 2] = 1.0
    kp[:, 0] = np.arange(133)
    out = wholebody_to_halpe26(kp)
    assert out[20:, 0].tolist() == [17, 20, 18, 21, 19, 22]  # L/R big toes, small toes, heels
    assert out[18, 0] == 5.5 and out[19, 0] == 11.5 and out[17, 2] == 0  # Neck, MidHip; no Head
