"""fp16 and int8 exports against fp32 on the fixture: same persons, mesh error within the documented
tolerances (README, Deploying in a service), and the conversions touch only what they should."""

import numpy as np
import onnx
import pytest
from onnx_checks import FIXTURE_THRESH

from hmr.infer.onnx_backend import OnnxBackend
from hmr.infer.preprocess import prepare

pytestmark = pytest.mark.slow  # builds and exports ONNX models

#: mean per-vertex distance to the fp32 export, millimetres (measured: fp16 ~1.1, int8 ~0.46 on these images)
MAX_MEAN_VERTEX_ERROR_MM = {"fp16": 3.0, "int8": 5.0}


@pytest.fixture(scope="module")
def fp32_results(fixture_onnx, test_images):
    batch = [prepare(test_images[name], 448) for name in ("fixture", "wide", "black")]
    return batch, OnnxBackend(fixture_onnx, device="cpu").predict_batch(batch, FIXTURE_THRESH, 3)


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_reduced_precision_mesh_error(precision, fp32_results, fixture_onnx_fp16, fixture_onnx_int8, record_property):
    path = {"fp16": fixture_onnx_fp16, "int8": fixture_onnx_int8}[precision]
    backend = OnnxBackend(path, device="cpu")
    assert backend.info.precision == precision
    batch, reference = fp32_results
    results = backend.predict_batch(batch, FIXTURE_THRESH, 3)
    assert [len(r) for r in results] == [len(r) for r in reference] == [3, 1, 0]
    got = np.concatenate([r.stacked()["vertices"] for r in results if len(r)])
    want = np.concatenate([r.stacked()["vertices"] for r in reference if len(r)])
    error_mm = float(np.linalg.norm(got - want, axis=-1).mean() * 1000)
    record_property(f"{precision}_mean_vertex_error_mm", error_mm)
    print(f"{precision}: mean per-vertex error vs fp32 {error_mm:.3f} mm")
    assert 0.0 < error_mm < MAX_MEAN_VERTEX_ERROR_MM[precision]


def _initializer_types(model):
    return {init.name: init.data_type for init in model.graph.initializer}


def test_int8_quantises_only_the_backbone(fixture_onnx_int8, fixture_onnx):
    model = onnx.load(str(fixture_onnx_int8))
    ops = [node.op_type for node in model.graph.node]
    # 12 blocks x (qkv, proj, fc1, fc2) weight matrices + 12 blocks x (scores, weighted sum)
    assert ops.count("MatMulInteger") == 48 + 24 and "DynamicQuantizeLinear" in ops
    # every softmax stays fp32; the head's 4 attention layers keep their fp32 products
    float_model_ops = [node.op_type for node in onnx.load(str(fixture_onnx), load_external_data=False).graph.node]
    assert ops.count("Softmax") == float_model_ops.count("Softmax") == 16
    assert float_model_ops.count("MatMul") - ops.count("MatMul") == 48 + 24
    assert {op.domain: op.version for op in model.opset_import}[""] == 21
    int8_weights = [
        init for init in model.graph.initializer if init.data_type == onnx.TensorProto.INT8 and np.prod(init.dims) > 1
    ]
    assert len(int8_weights) == 48 and all(init.dims[0] in (384, 1536) for init in int8_weights)
    # the body model's arrays (posedirs: 486 x 31425) stay fp32
    large_fp32 = [
        init
        for init in model.graph.initializer
        if init.data_type == onnx.TensorProto.FLOAT and np.prod(init.dims) >= 486 * 31425
    ]
    assert large_fp32
    assert fixture_onnx_int8.stat().st_size < fixture_onnx.stat().st_size - 50e6


def test_fp16_keeps_io_types_and_body_in_fp32(fixture_onnx_fp16):
    model = onnx.load(str(fixture_onnx_fp16))
    inputs = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    assert inputs == {
        "images": onnx.TensorProto.UINT8,
        "K": onnx.TensorProto.FLOAT,
        "det_thresh": onnx.TensorProto.FLOAT,
    }
    assert all(
        o.type.tensor_type.elem_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.BOOL) for o in model.graph.output
    )
    kinds = _initializer_types(model)
    assert sum(kind == onnx.TensorProto.FLOAT16 for kind in kinds.values()) > 100
    big = [init for init in model.graph.initializer if np.prod(init.dims) >= 486 * 31425]
    assert big and all(init.data_type == onnx.TensorProto.FLOAT for init in big)


def test_int8_result_moves_little_with_its_batch(fixture_onnx_int8, test_images):
    """int8 scales span the batch (README, Precisions): the same photo alone and beside others differs
    by well under a millimetre, not by the int8 error budget."""
    backend = OnnxBackend(fixture_onnx_int8, device="cpu")
    batch = [prepare(test_images[name], 448) for name in ("fixture", "wide", "black")]
    alone = backend.predict_batch(batch[:1], FIXTURE_THRESH, 3)[0].stacked()["vertices"]
    together = backend.predict_batch(batch, FIXTURE_THRESH, 3)[0].stacked()["vertices"]
    shift_mm = float(np.linalg.norm(alone - together, axis=-1).mean() * 1000)
    print(f"int8: fixture photo alone vs in a batch of 3: {shift_mm:.3f} mm")
    assert shift_mm < 0.5
