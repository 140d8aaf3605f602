"""The backbone's two attention products in int8, which ``quantize_dynamic`` leaves in fp32.

``quantize_dynamic`` covers only products with a constant weight, yet at 448 px the scores q.k^T and
the weighted sum p.v over 1025 tokens are a third of the backbone's work. Both are rewritten here with
standard ops (``DynamicQuantizeLinear``, ``QuantizeLinear``, ``MatMulInteger``), so any runtime reads
the file; ONNX Runtime fuses them into its uint8 x int8 kernels, the pair the CPU's dot-product
instructions multiply fastest.

* scores: q as dynamic uint8 (one scale per tensor), k as symmetric int8 (one scale per tensor). The
  softmax itself stays fp32.
* weighted sum: the probabilities as unsigned integers with one scale per row (row max / 127, a
  blocked ``QuantizeLinear``, opset 21); one scale per tensor would round every weight of a diffuse
  row to zero. v is centred on its mean over the tokens before int8 and the mean added back after
  the product: p.v = p.(v - mean) + mean holds because each row of p sums to one, and in int8 it
  hands the probability mass lost to rounding (the many weights under half a step, next to an
  attention sink that takes half the row) to the mean value instead of dropping it, the known
  failure of uniform post-softmax quantisation.

Ranges: x86 CPUs without VNNI multiply uint8 x int8 with ``vpmaddubsw``, which saturates the sum of
two adjacent products at 32767. Keeping one side of each attention product to 7 bits (k within +-63,
the probabilities within 0..127) keeps every such sum below it, so these products do not depend on
the CPU; it costs ~0.15 mm of mean vertex error on the fixture. (The weight matrices use ONNX
Runtime's standard dynamic quantisation, full 8 bits, with its documented AVX2 caveat.)

Scales are per tensor over the whole batch, as ``quantize_dynamic``'s are: an image's result moves a
little with what it is batched with (0.45 mm measured with a noise image beside the fixture).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, version_converter

#: first opset whose ``QuantizeLinear`` takes a block size (one scale per row of probabilities)
INT8_OPSET = 21
_CONST = "int8_attention/"
#: initializers up to this size stay in the copies given to the converter and to shape inference
_SMALL_BYTES = 4096
_CONSTANTS: dict[str, np.ndarray] = {
    "v_levels": np.array(127, np.float32),
    "k_levels": np.array(63, np.float32),
    "prob_step": np.array(1 / 127, np.float32),
    "min_scale": np.array(1e-12, np.float32),
    "int8_zero": np.array(0, np.int8),
    "last_axis": np.array([-1], np.int64),
    "token_axis": np.array([-2], np.int64),
}


def with_opset(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """``model`` converted to ``opset`` by ONNX's version converter, which sees the graph without its
    weights (:func:`_weightless`; no adapter reads weight values). It drops the nodes'
    ``metadata_props`` (the exporter's module scopes): read those before."""
    shell, weights = _weightless(model)
    converted = version_converter.convert_version(shell, opset)
    for init in converted.graph.initializer:
        if init.name in weights:
            init.raw_data = weights[init.name]
    return converted


def _weightless(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, bytes]]:
    """A copy of ``model`` whose large initializers have no data, and that data by name.

    Protobuf refuses to serialise past 2 GiB, and the converter and shape inference both serialise;
    they need the weights' shapes only. Small constants (reshape targets and the like) keep their
    values, in ``raw_data`` or in typed fields (``int64_data``, ...)."""
    shell = onnx.ModelProto()
    shell.CopyFrom(model)
    weights = {}
    for init in shell.graph.initializer:
        if len(init.raw_data) > _SMALL_BYTES:
            weights[init.name] = init.raw_data
            init.ClearField("raw_data")
    return shell, weights


def quantize_attention(model: onnx.ModelProto, node_names: set[str]) -> int:
    """Rewrite every ``MatMul(Softmax(MatMul(q, k^T)), v)`` whose softmax is in ``node_names``;
    returns how many. The model's opset must be at least :data:`INT8_OPSET`. Where the length of a
    probability row is not static, only the scores are rewritten (the row is one quantisation block)."""
    graph = model.graph
    opset = next(op.version for op in model.opset_import if op.domain in ("", "ai.onnx"))
    if opset < INT8_OPSET:
        raise ValueError(f"int8 attention needs opset {INT8_OPSET} (blocked QuantizeLinear), model has {opset}")
    constants = {init.name for init in graph.initializer}
    producer = {name: index for index, node in enumerate(graph.node) for name in node.output}
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(graph.node):
        for name in node.input:
            consumers.setdefault(name, []).append(index)
    shapes = _static_shapes(model)
    rewrites: dict[int, list[onnx.NodeProto]] = {}
    matched = 0
    for softmax in graph.node:
        if softmax.op_type != "Softmax" or softmax.name not in node_names or not _on_last_axis(softmax, shapes):
            continue
        scores_at = producer.get(softmax.input[0])
        users = consumers.get(softmax.output[0], [])
        scores = graph.node[scores_at] if scores_at is not None else None
        if scores is None or scores.op_type != "MatMul" or any(name in constants for name in scores.input):
            continue
        assert scores_at is not None  # scores is None otherwise
        rewrites[scores_at] = _Rewriter(scores.name or f"attention_scores_{scores_at}").scores(scores)
        matched += 1
        weighted = graph.node[users[0]] if len(users) == 1 else None
        if (
            weighted is None
            or weighted.op_type != "MatMul"
            or weighted.input[0] != softmax.output[0]
            or weighted.input[1] in constants
        ):
            continue
        # a row of p is as long as v's token axis (the product's shared dimension): whichever is known
        row_length = _dim(shapes, softmax.output[0], -1) or _dim(shapes, weighted.input[1], -2)
        if row_length:
            rewrites[users[0]] = _Rewriter(weighted.name or f"attention_sum_{users[0]}").weighted_sum(
                weighted, row_length
            )
    if rewrites:
        graph.initializer.extend(numpy_helper.from_array(value, _CONST + name) for name, value in _CONSTANTS.items())
        nodes = [new for index, node in enumerate(graph.node) for new in rewrites.get(index, [node])]
        del graph.node[:]
        graph.node.extend(nodes)
    return matched


def _static_shapes(model: onnx.ModelProto) -> dict[str, list[int | None]]:
    """Inferred shape of every value, ``None`` where a dimension is not a number."""
    inferred = onnx.shape_inference.infer_shapes(_weightless(model)[0])
    return {
        info.name: [dim.dim_value if dim.HasField("dim_value") else None for dim in info.type.tensor_type.shape.dim]
        for info in list(inferred.graph.value_info) + list(inferred.graph.output)
        if info.type.tensor_type.HasField("shape")
    }


def _dim(shapes: dict[str, list[int | None]], name: str, axis: int) -> int | None:
    shape = shapes.get(name, [])
    return shape[axis] if len(shape) >= abs(axis) else None


def _on_last_axis(softmax: onnx.NodeProto, shapes: dict[str, list[int | None]]) -> bool:
    axis = next((helper.get_attribute_value(a) for a in softmax.attribute if a.name == "axis"), -1)
    rank = len(shapes.get(softmax.output[0], []))
    return axis == -1 or (rank > 0 and axis == rank - 1)


class _Rewriter:
    """Builds the replacement nodes of one ``MatMul``, named after it."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []

    def op(self, op_type: str, inputs: list[str], outputs: list[str] | None = None, **attrs) -> str:
        name = f"{self.prefix}/{op_type.lower()}_{len(self.nodes)}"
        outputs = outputs or [name]
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=name, **attrs))
        return outputs[0]

    def symmetric_int8(self, x: str, levels: str) -> tuple[str, str]:
        """``x`` as int8 with zero point 0 and one scale (max |x| / ``levels``); returns (values, scale)."""
        largest = self.op("ReduceMax", [self.op("Abs", [x])], keepdims=0)
        scale = self.op("Max", [self.op("Div", [largest, _CONST + levels]), _CONST + "min_scale"])
        return self.op("QuantizeLinear", [x, scale, _CONST + "int8_zero"]), scale

    def scores(self, matmul: onnx.NodeProto) -> list[onnx.NodeProto]:
        q, k = matmul.input
        q_u8, q_scale, q_zero = (f"{self.prefix}/q_{part}" for part in ("u8", "scale", "zero"))
        self.op("DynamicQuantizeLinear", [q], [q_u8, q_scale, q_zero])
        k_i8, k_scale = self.symmetric_int8(k, "k_levels")
        product = self.op("Cast", [self.op("MatMulInteger", [q_u8, k_i8, q_zero])], to=TensorProto.FLOAT)
        self.op("Mul", [product, self.op("Mul", [q_scale, k_scale])], list(matmul.output))
        return self.nodes

    def weighted_sum(self, matmul: onnx.NodeProto, row_length: int) -> list[onnx.NodeProto]:
        probs, v = matmul.input
        v_mean = self.op("ReduceMean", [v, _CONST + "token_axis"], keepdims=1)
        v_i8, v_scale = self.symmetric_int8(self.op("Sub", [v, v_mean]), "v_levels")
        row_scale = self.op(
            "Mul", [self.op("ReduceMax", [probs, _CONST + "last_axis"], keepdims=1), _CONST + "prob_step"]
        )
        probs_u8 = self.op("QuantizeLinear", [probs, row_scale], axis=-1, block_size=row_length)
        product = self.op("Cast", [self.op("MatMulInteger", [probs_u8, v_i8])], to=TensorProto.FLOAT)
        centred = self.op("Mul", [product, self.op("Mul", [row_scale, v_scale])])
        self.op("Add", [centred, v_mean], list(matmul.output))
        return self.nodes
