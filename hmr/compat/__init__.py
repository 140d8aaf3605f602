"""Importers for third-party checkpoints."""
from hmr.compat.multihmr import config_from_args, convert_state_dict, read_checkpoint

__all__ = ["config_from_args", "convert_state_dict", "read_checkpoint"]
