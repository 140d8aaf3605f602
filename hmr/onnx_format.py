"""The hmr ONNX file format, in numpy only: what ``hmr export onnx`` writes and the ONNX backend reads.

One home for the input and output names, the metadata keys and how they are encoded (numbers as
text, structures as JSON, mesh faces as base64), so the exporter and every reader agree, and a
service can parse a file's metadata without torch or onnx.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import numpy as np

from hmr.errors import HmrError

#: value of the ``hmr_format`` metadata key; bump when inputs, outputs or metadata change meaning
FORMAT_TAG = "hmr-onnx-v1"
INPUT_NAMES = ("images", "K", "det_thresh")
PARAM_OUTPUTS = ("scores", "valid", "loc", "transl", "rotmat", "rotvec", "betas", "expression")
MESH_OUTPUTS = ("vertices", "joints_3d", "joints_2d", "transl_pelvis")

#: per output: (units, meaning); shapes come from the graph itself
OUTPUT_DOCS: dict[str, tuple[str, str]] = {
    "scores": ("", "detection score of each person slot, 0 where not valid"),
    "valid": (
        "",
        "true for slots holding a person at or above det_thresh; valid slots come first, "
        "in row-major order of their cell on the token grid",
    ),
    "loc": (
        "px, network input",
        "person centre (head) in the S x S input; original-image pixels = (loc - pad) / scale",
    ),
    "transl": ("m, camera frame", "head joint position (x right, y down, z forward)"),
    "rotmat": ("", "rotation matrices in the order of rotation_layout (global orientation first)"),
    "rotvec": ("rad", "the same rotations as axis-angle vectors"),
    "betas": ("", "body shape coefficients"),
    "expression": ("", "face expression coefficients"),
    "vertices": ("m, camera frame", "posed mesh; triangles in the faces metadata"),
    "joints_3d": ("m, camera frame", "posed joints, named in joint_names"),
    "joints_2d": ("px, network input", "joints_3d projected with K; original-image pixels = (p - pad) / scale"),
    "transl_pelvis": ("m, camera frame", "pelvis joint position"),
}

PREPROCESSING = {
    "images": "uint8 RGB, (batch, 3, S, S): resize the image to fit inside S x S keeping its aspect ratio "
    "(longer side = S, bicubic), paste it centred on a black S x S canvas (pad = ((S - w) // 2, "
    "(S - h) // 2)), channels first",
    "normalization": "inside the graph: (pixel - 255 * mean) / (255 * std) with image_mean / image_std",
    "K": "float32 (batch, 3, 3): pinhole intrinsics of the S x S input, i.e. the original camera's with "
    "fx, cx scaled by the resize factor plus pad x, fy, cy likewise; unknown camera: 60 deg field of "
    "view across the longer side of the original image, principal point at its centre",
    "det_thresh": "float32 scalar: persons scoring at or above it are valid (0.3 is a good default)",
}


@dataclass(frozen=True)
class OnnxModelInfo:
    """What an hmr ONNX file says about itself (its metadata), checked against its inputs and outputs."""

    img_size: int
    max_persons: int
    nms_kernel: int
    precision: str
    body_model: str  # the body model whose meshes the graph outputs, or "none"
    network_body_model: str  # the body model the network's parameters are for
    rotation_layout: list[tuple[str, int]]
    head_joint: int
    pelvis_joint: int
    faces: np.ndarray  # (F, 3) int64, empty without a body model in the graph
    metadata: dict[str, str]

    @property
    def has_meshes(self) -> bool:
        return self.body_model != "none"


def parse_metadata(meta: dict[str, str], path: object = "model") -> OnnxModelInfo:
    """The typed view of a file's ``custom_metadata_map``; a foreign or damaged file is an HmrError."""
    tag = meta.get("hmr_format")
    if tag is None:
        raise HmrError(
            f"{path} is an ONNX model but not one written by `hmr export onnx` (no hmr metadata); "
            "export the checkpoint with `hmr export onnx --checkpoint CKPT --out model.onnx`"
        )
    if tag != FORMAT_TAG:
        raise HmrError(
            f"{path} has format {tag!r} but this hmr reads {FORMAT_TAG!r}; re-export it with this "
            "version of `hmr export onnx`"
        )
    try:
        return OnnxModelInfo(
            img_size=int(meta["img_size"]),
            max_persons=int(meta["max_persons"]),
            nms_kernel=int(meta["nms_kernel"]),
            precision=meta["precision"],
            body_model=meta["body_model"],
            network_body_model=meta["network_body_model"],
            rotation_layout=[(str(n), int(c)) for n, c in json.loads(meta["rotation_layout"])],
            head_joint=int(meta["head_joint"]),
            pelvis_joint=int(meta["pelvis_joint"]),
            faces=decode_faces(meta.get("faces", "")),
            metadata=dict(meta),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise HmrError(
            f"{path}: hmr metadata is incomplete or damaged ({type(exc).__name__}: {exc}); re-export the model"
        ) from None


def encode_faces(faces: np.ndarray) -> str:
    """``(F, 3)`` triangle indices as base64 of little-endian int32 (compact, readable without hmr)."""
    return base64.b64encode(np.ascontiguousarray(faces, dtype="<i4").tobytes()).decode("ascii")


def decode_faces(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<i4").reshape(-1, 3).astype(np.int64)
