"""What an exported ONNX file says about itself, so a service needs nothing but the file.

Everything goes into the model's ``metadata_props`` (ONNX Runtime: ``session.get_modelmeta().
custom_metadata_map``), as strings: numbers as text, structures as JSON, mesh faces as base64.
:mod:`hmr.onnx_format` defines the keys; :mod:`hmr.infer.onnx_backend` reads them back and checks them.
"""

from __future__ import annotations

import json

import onnx

from hmr.nn.network import IMAGE_MEAN, IMAGE_STD
from hmr.onnx_format import FORMAT_TAG, OUTPUT_DOCS, PREPROCESSING, encode_faces


def output_specs(model: onnx.ModelProto) -> dict[str, dict]:
    """``{name: {shape, dtype, units, doc}}`` for every graph output, shapes read from the graph."""
    specs = {}
    for output in model.graph.output:
        tensor_type = output.type.tensor_type
        shape = [d.dim_param or d.dim_value for d in tensor_type.shape.dim]
        units, doc = OUTPUT_DOCS.get(output.name, ("", ""))
        specs[output.name] = {
            "shape": shape,
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type).name,
            "units": units,
            "doc": doc,
        }
    return specs


def build_metadata(
    model: onnx.ModelProto,
    *,
    network_config: dict,
    source: str,
    img_size: int,
    max_persons: int,
    nms_kernel: int,
    precision: str,
    body_model: str,
    network_body_model: str,
    rotation_layout: list[tuple[str, int]],
    head_joint: int,
    pelvis_joint: int,
    faces=None,
    joint_names: list[str] | None = None,
    hmr_version: str = "",
) -> dict[str, str]:
    meta = {
        "hmr_format": FORMAT_TAG,
        "hmr_version": hmr_version,
        "source_checkpoint": source,
        "network_config": json.dumps(network_config, sort_keys=True),
        "img_size": str(img_size),
        "max_persons": str(max_persons),
        "nms_kernel": str(nms_kernel),
        "precision": precision,
        "body_model": body_model,
        "network_body_model": network_body_model,
        "rotation_layout": json.dumps([[name, count] for name, count in rotation_layout]),
        "head_joint": str(head_joint),
        "pelvis_joint": str(pelvis_joint),
        "image_mean": json.dumps(list(IMAGE_MEAN)),
        "image_std": json.dumps(list(IMAGE_STD)),
        "preprocessing": json.dumps(PREPROCESSING),
        "camera": "OpenCV pinhole: x right, y down, z forward, metres",
        "outputs": json.dumps(output_specs(model)),
    }
    if faces is not None:
        meta["faces"] = encode_faces(faces)
        meta["num_faces"] = str(len(faces))
    if joint_names:
        meta["joint_names"] = json.dumps(list(joint_names))
    return meta


def write_metadata(model: onnx.ModelProto, metadata: dict[str, str], hmr_version: str) -> None:
    """Replace the model's metadata and stamp it as produced by hmr (in place)."""
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "hmr"
    model.producer_version = hmr_version
    model.doc_string = (
        "hmr human mesh recovery: uint8 images + intrinsics + threshold -> per-person body "
        "parameters and meshes in the camera frame; see the metadata for inputs and outputs"
    )
