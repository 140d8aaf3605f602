"""int8 attention rewrite on a bare attention graph: it replaces both products, runs in ONNX Runtime,
and stays close to fp32 on the attention patterns that break naive post-softmax quantisation."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from hmr.export.int8_attention import INT8_OPSET, quantize_attention, with_opset

HEADS, TOKENS, DIM = 2, 1025, 32


def attention_model(opset: int = 18) -> onnx.ModelProto:
    shape = [1, HEADS, TOKENS, DIM]
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name in ("q", "k", "v")]
    nodes = [
        helper.make_node("Transpose", ["k"], ["k_t"], name="k_t", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "k_t"], ["scores"], name="scores"),
        helper.make_node("Softmax", ["scores"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["out"], name="weighted_sum"),
    ]
    graph = helper.make_graph(
        nodes, "attention", inputs, [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)]
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(model: onnx.ModelProto, feeds: dict) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def inputs(pattern: str) -> dict:
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, HEADS, TOKENS, DIM)).astype(np.float32)
    k = rng.standard_normal((1, HEADS, TOKENS, DIM)).astype(np.float32)
    v = (rng.standard_normal((1, HEADS, TOKENS, DIM)) + 0.5).astype(np.float32)
    if pattern == "diffuse":  # every weight near 1/1025
        q *= 0.05
    elif pattern == "sink":  # token 0 takes about half of every row, the rest spread thinly
        q[..., 0], k[..., 0] = 1.0, 0.0
        k[:, :, 0, 0] = np.log(TOKENS)
        q[..., 1:] *= 0.1
    elif pattern == "peaked":  # a few tokens take most of each row
        q *= 0.6
    return {"q": q, "k": k, "v": v}


@pytest.fixture(scope="module")
def quantized() -> onnx.ModelProto:
    model = with_opset(attention_model(), INT8_OPSET)
    assert quantize_attention(model, {"softmax"}) == 1
    return model


def test_both_products_become_integer(quantized):
    ops = [node.op_type for node in quantized.graph.node]
    assert ops.count("MatMulInteger") == 2 and "MatMul" not in ops and ops.count("Softmax") == 1


def test_only_listed_softmaxes_are_rewritten():
    model = with_opset(attention_model(), INT8_OPSET)
    assert quantize_attention(model, {"some_other_node"}) == 0
    assert [node.op_type for node in model.graph.node].count("MatMul") == 2


def test_refuses_an_opset_without_blocked_quantisation():
    with pytest.raises(ValueError, match="opset 21"):
        quantize_attention(attention_model(18), {"softmax"})


@pytest.mark.parametrize("pattern", ["diffuse", "sink", "peaked"])
def test_close_to_fp32(quantized, pattern):
    feeds = inputs(pattern)
    want = run(attention_model(), feeds)
    got = run(quantized, feeds)
    probs = run(_probs_model(), feeds)
    if pattern == "sink":  # the pattern really is a sink: half the mass on one token, the rest under a step
        assert 0.3 < probs[..., 0].mean() < 0.7 and np.median(probs[..., 1:]) < probs.max(-1).mean() / 510
    relative = np.linalg.norm(got - want) / np.linalg.norm(want)
    # measured 0.001 (diffuse), 0.017 (sink), 0.034 (peaked); dropping the sub-step weights of the
    # sink rows (no centring of v) gives ~0.2
    assert relative < 0.05, f"{pattern}: relative error {relative:.4f}"


def _probs_model() -> onnx.ModelProto:
    model = attention_model()
    model.graph.node.pop()
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info("probs", TensorProto.FLOAT, None))
    return model


def test_with_opset_keeps_the_weights():
    """Large weights travel around the converter, small typed-field constants through it: both arrive."""
    model = attention_model()
    weight = np.arange(4000, dtype=np.float32).reshape(2, 2000)
    model.graph.initializer.append(onnx.numpy_helper.from_array(weight, "w"))
    model.graph.initializer.append(helper.make_tensor("shape", TensorProto.INT64, [2], [2000, 2]))
    converted = with_opset(model, INT8_OPSET)
    assert {op.domain: op.version for op in converted.opset_import}[""] == INT8_OPSET
    values = {init.name: onnx.numpy_helper.to_array(init) for init in converted.graph.initializer}
    np.testing.assert_array_equal(values["w"], weight)
    np.testing.assert_array_equal(values["shape"], [2000, 2])


def test_unknown_row_length_rewrites_only_the_scores():
    """Without a static token count the probabilities cannot be one quantisation block per row."""
    model = attention_model()
    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.shape.dim[2].dim_param = "tokens"
    model = with_opset(model, INT8_OPSET)
    assert quantize_attention(model, {"softmax"}) == 1
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("MatMulInteger") == 1 and ops.count("MatMul") == 1
    feeds = inputs("peaked")
    want = run(attention_model(), feeds)
    assert np.linalg.norm(run(model, feeds) - want) / np.linalg.norm(want) < 0.05


def test_softmax_over_another_axis_is_left_alone():
    model = attention_model()
    model.graph.node[2].attribute[0].i = 2
    model = with_opset(model, INT8_OPSET)
    assert quantize_attention(model, {"softmax"}) == 0


@pytest.mark.parametrize("pattern", ["diffuse", "sink", "peaked"])
def test_products_cannot_saturate_without_vnni(quantized, pattern):
    """Two adjacent uint8 x int8 products must sum below 32767 (AVX2's ``vpmaddubsw`` saturates there)."""
    model = onnx.ModelProto()
    model.CopyFrom(quantized)
    products = [node for node in model.graph.node if node.op_type == "MatMulInteger"]
    for node in products:
        model.graph.output.extend(
            [
                helper.make_tensor_value_info(node.input[0], TensorProto.UINT8, None),
                helper.make_tensor_value_info(node.input[1], TensorProto.INT8, None),
            ]
        )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    values = dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs(pattern))))
    for node in products:
        a, b = values[node.input[0]].astype(np.int64), values[node.input[1]].astype(np.int64)
        assert 2 * a.max() * np.abs(b).max() <= 32767, node.name


def test_to_int8_warns_when_no_attention_matches(caplog):
    """A graph without the exporter's backbone scopes (as if a new exporter changed its output) still
    converts, and says that the attention speed-up is missing instead of silently losing it."""
    from hmr.export.precision import to_int8

    with caplog.at_level("WARNING", logger="hmr"):
        model = to_int8(attention_model())
    assert "no attention product matched" in caplog.text
    assert [node.op_type for node in model.graph.node].count("MatMul") == 2
