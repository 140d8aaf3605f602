"""Any network checkpoint by its file type: ours (``.safetensors``) or a released Multi-HMR ``.pt``.

The dispatch lives here, above both formats (:mod:`hmr.nn.checkpoint` for ours,
:mod:`hmr.compat.multihmr` for Multi-HMR's), so ``hmr.nn`` never needs to know third-party formats.
"""

from __future__ import annotations

import os
from pathlib import Path

from hmr.compat.multihmr import config_from_args, convert_state_dict, read_checkpoint
from hmr.errors import HmrError, missing_checkpoint
from hmr.nn.checkpoint import build_network, load_state, read_safetensors
from hmr.nn.network import HumanMeshNet

#: suffixes of released Multi-HMR checkpoints
MULTIHMR_SUFFIXES = (".pt", ".pth", ".ckpt")


def load_network(path: str | os.PathLike) -> HumanMeshNet:
    """Build and load a network from ``.safetensors`` (ours) or ``.pt`` (Multi-HMR), in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise missing_checkpoint(path)
    if path.suffix == ".safetensors":
        config, state_dict = read_safetensors(path)
    elif path.suffix in MULTIHMR_SUFFIXES:
        blob = read_checkpoint(path)
        config = config_from_args(blob["args"])
        state_dict = convert_state_dict(blob["model_state_dict"], config)
    elif path.suffix == ".onnx":
        raise HmrError(f"{path} is an ONNX model; run it with --backend onnx")
    else:
        raise HmrError(f"unknown checkpoint type {path.suffix!r} for {path}; expected .safetensors or .pt")
    return load_state(build_network(config), state_dict, path)
