"""Our network format: build, load and save networks as ``.safetensors``.

Our format is one ``.safetensors`` file whose header metadata carries the network config as JSON
(``hmr_config``), so weights and the description needed to rebuild the module never get separated.
Choosing a reader by file type (ours, Multi-HMR's ``.pt``) is :func:`hmr.compat.load_network`'s job.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from hmr.atomic import atomic_path
from hmr.errors import HmrError
from hmr.nn.config import NetConfig
from hmr.nn.network import HumanMeshNet

FORMAT_TAG = "hmr-network-v1"


def build_network(config: NetConfig) -> HumanMeshNet:
    return HumanMeshNet(config).eval()


def load_state(network: HumanMeshNet, state_dict: dict[str, torch.Tensor], source: Path) -> HumanMeshNet:
    """Strict load with a one-line error naming what is missing, unexpected or mis-shaped."""
    expected = network.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [
        f"{k} {tuple(state_dict[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and state_dict[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} with wrong shape (e.g. {'; '.join(wrong_shape[:2])})")
    if problems:
        raise HmrError(f"checkpoint {source} does not match its network config: {'; '.join(problems)}")
    network.load_state_dict(state_dict, strict=True)
    return network


def read_safetensors(path: Path) -> tuple[NetConfig, dict[str, torch.Tensor]]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state_dict = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise HmrError(f"checkpoint {path} cannot be read (truncated or corrupt safetensors): {exc}") from None
    if metadata.get("format") != FORMAT_TAG or "hmr_config" not in metadata:
        raise HmrError(f"{path} is a safetensors file without an hmr network config; convert it with `hmr convert`")
    return NetConfig.from_dict(json.loads(metadata["hmr_config"])), state_dict


def save_network(network: HumanMeshNet, path: str | Path) -> Path:
    """Write weights + config as one safetensors file, atomically."""
    from safetensors.torch import save_file

    state_dict = {k: v.detach().contiguous().cpu() for k, v in network.state_dict().items()}
    metadata = {"format": FORMAT_TAG, "hmr_config": json.dumps(network.config.to_dict())}
    with atomic_path(path) as tmp:
        save_file(state_dict, str(tmp), metadata=metadata)
    return Path(path)
