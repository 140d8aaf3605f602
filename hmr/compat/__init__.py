"""Checkpoint formats above the network: the file-type dispatch and importers for third-party ones."""

from hmr.compat.checkpoints import load_network
from hmr.compat.multihmr import config_from_args, convert_state_dict, read_checkpoint, write_checkpoint

__all__ = ["config_from_args", "convert_state_dict", "load_network", "read_checkpoint", "write_checkpoint"]
