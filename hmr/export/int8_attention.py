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
two adjacent products at 32767. Keeping one side of each product to 7 bits (k within +-63, the
probabilities within 0..127) keeps every such sum below it, so results do not depend on the CPU;
it costs ~0.15 mm of mean vertex error on the fixture.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, version_converter

#: first opset whose ``QuantizeLinear`` takes a block size (one scale per row of probabilities)
INT8_OPSET = 21
_CONST = "int8_attention/"
_CONSTANTS = {
    "v_levels": np.array(127, np.float32),
    "k_levels": np.array(63, np.float32),
    "prob_step": np.array(1 / 127, np.float32),
    "min_scale": np.array(1e-12, np.float32),
    "int8_zero": np.array(0, np.int8),
    "last_axis": np.array([-1], np.int64),
    "token_axis": np.array([-2], np.int64),
}
#: one block spanning the whole last axis, whatever the token count
_WHOLE_ROW = 1 << 30


def with_opset(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """``model`` converted to ``opset`` by ONNX's version converter.

    The converter serialises the model, which protobuf refuses past 2 GiB, so it sees the graph with
    empty initializers and the weights are put back afterwards (no adapter reads weight values)."""
    shell = onnx.ModelProto()
    shell.CopyFrom(model)
    weights = {}
    for init in shell.graph.initializer:
        weights[init.name] = init.raw_data
        init.ClearField("raw_data")
    converted = version_converter.convert_version(shell, opset)
    for init in converted.graph.initializer:
        if init.name in weights:
            init.raw_data = weights[init.name]
    return converted


def quantize_attention(model: onnx.ModelProto, node_names: set[str]) -> int:
    """Rewrite every ``MatMul(Softmax(MatMul(q, k^T)), v)`` whose softmax is in ``node_names``;
    returns how many. The model's opset must be at least :data:`INT8_OPSET`."""
    graph = model.graph
    opset = next(op.version for op in model.opset_import if op.domain in ("", "ai.onnx"))
    if opset < INT8_OPSET:
        raise ValueError(f"int8 attention needs opset {INT8_OPSET} (blocked QuantizeLinear), model has {opset}")
    constants = {init.name for init in graph.initializer}
    producer = {name: node for node in graph.node for name in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    rewrites: dict[str, list[onnx.NodeProto]] = {}
    for softmax in graph.node:
        if softmax.op_type != "Softmax" or softmax.name not in node_names:
            continue
        scores = producer.get(softmax.input[0])
        users = consumers.get(softmax.output[0], [])
        if (scores is None or scores.op_type != "MatMul" or any(name in constants for name in scores.input)
                or len(users) != 1 or users[0].op_type != "MatMul" or users[0].input[0] != softmax.output[0]
                or users[0].input[1] in constants):
            continue
        rewrites[scores.name] = _Rewriter(scores.name).scores(scores)
        rewrites[users[0].name] = _Rewriter(users[0].name).weighted_sum(users[0])
    if rewrites:
        graph.initializer.extend(numpy_helper.from_array(value, _CONST + name) for name, value in _CONSTANTS.items())
        nodes = [new for node in graph.node for new in rewrites.get(node.name, [node])]
        del graph.node[:]
        graph.node.extend(nodes)
    return len(rewrites) // 2


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

    def weighted_sum(self, matmul: onnx.NodeProto) -> list[onnx.NodeProto]:
        probs, v = matmul.input
        v_mean = self.op("ReduceMean", [v, _CONST + "token_axis"], keepdims=1)
        v_i8, v_scale = self.symmetric_int8(self.op("Sub", [v, v_mean]), "v_levels")
        row_scale = self.op("Mul", [self.op("ReduceMax", [probs, _CONST + "last_axis"], keepdims=1),
                                    _CONST + "prob_step"])
        probs_u8 = self.op("QuantizeLinear", [probs, row_scale], axis=-1, block_size=_WHOLE_ROW)
        product = self.op("Cast", [self.op("MatMulInteger", [probs_u8, v_i8])], to=TensorProto.FLOAT)
        centred = self.op("Mul", [product, self.op("Mul", [row_scale, v_scale])])
        self.op("Add", [centred, v_mean], list(matmul.output))
        return self.nodes
