"""The network: DINOv2 backbone, detection, Human Prediction Head, decoders (see DESIGN.md)."""

from hmr.nn.checkpoint import build_network, save_network
from hmr.nn.config import CONFIGS, NetConfig, get_config
from hmr.nn.network import HumanMeshNet, RawPersons

__all__ = ["CONFIGS", "HumanMeshNet", "NetConfig", "RawPersons", "build_network", "get_config", "save_network"]
