"""Reduced-precision variants of an exported fp32 graph.

Only the network is converted; person selection, rotations, the body model and the placement stay
fp32 because millimetre meshes need it and they cost little. Network nodes are recognised by the
module scope the exporter records on each node (``pkg.torch.onnx.name_scopes``), so this must run
before :func:`strip_node_metadata`.

* fp16: weights and activations of the network in half precision (for GPUs; ONNX Runtime's CPU
  provider runs it but gains nothing).
* int8: dynamic quantisation of the backbone's weight matrices (activations quantised on the fly) and
  its attention products (:mod:`hmr.export.int8_attention`), the CPU speed-up; the small head keeps
  fp32. The file is converted to opset 21 on the way (blocked ``QuantizeLinear``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx

from hmr.export.int8_attention import INT8_OPSET, quantize_attention, with_opset

SCOPE_KEY = "pkg.torch.onnx.name_scopes"
NETWORK_SCOPE = "network."
BACKBONE_SCOPE = "network.backbone"
#: fp32 ops whose fp16 kernels ONNX Runtime's CPU provider lacks (scatter-add of the head's cell values)
FP16_KEEP_FP32_OPS = ("ScatterElements",)


def _in_scope(node: onnx.NodeProto, scope: str) -> bool:
    for prop in node.metadata_props:
        if prop.key == SCOPE_KEY:
            return f"'{scope}" in prop.value
    return False


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """The network's nodes in float16; inputs, outputs and everything else unchanged."""
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    keep_fp32 = [node.name for node in model.graph.node if not _in_scope(node, NETWORK_SCOPE)]
    return convert_float_to_float16(
        model,
        keep_io_types=True,
        node_block_list=keep_fp32,
        op_block_list=list(DEFAULT_OP_BLOCK_LIST) + list(FP16_KEEP_FP32_OPS),
    )


def to_int8(model: onnx.ModelProto, large: bool = False) -> onnx.ModelProto:
    """Backbone ``MatMul`` nodes with constant weights -> dynamically quantised int8 (per tensor); the
    backbone's attention products -> int8 too.

    ``large``: the model exceeds protobuf's 2 GiB, so the quantiser must write external data."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    backbone = {node.name for node in model.graph.node if _in_scope(node, BACKBONE_SCOPE)}
    model = with_opset(model, INT8_OPSET)
    if not quantize_attention(model, backbone):
        logging.getLogger("hmr").warning(
            "int8: no attention product matched the expected pattern; only the "
            "weight matrices are quantised (about 1.3x slower than it should be)"
        )
    constants = {init.name for init in model.graph.initializer}
    targets = [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul" and node.input[1] in constants and node.name in backbone
    ]
    quant_log = logging.getLogger()
    level = quant_log.level
    quant_log.setLevel(logging.ERROR)  # the quantiser warns on the root logger about optional pre-processing
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "int8.onnx"
            quantize_dynamic(
                model,
                out,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                nodes_to_quantize=targets,
                extra_options={"MatMulConstBOnly": True},
                use_external_data_format=large,
            )
            return onnx.load(str(out))
    finally:
        quant_log.setLevel(level)


def strip_node_metadata(model: onnx.ModelProto) -> None:
    """Drop the exporter's per-node debug records (stack traces with local paths, FX node dumps)."""
    for node in model.graph.node:
        del node.metadata_props[:]
