"""Import released Multi-HMR checkpoints (``.pt``) unchanged.

The file is a pickled dict ``{'model_state_dict', 'args', ...}`` whose ``args`` is an
``argparse.Namespace``. It is read with torch's weights-only unpickler and ``Namespace`` as the single
extra allowed class, so a checkpoint cannot run code on load.
"""

from __future__ import annotations

import argparse
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch

from hmr.atomic import atomic_path
from hmr.errors import HmrError, missing_checkpoint
from hmr.nn.backbone import resample_dinov2_pos_embed
from hmr.nn.config import BACKBONES, NetConfig

POS_EMBED_KEY = "backbone.encoder.pos_embed"
#: keys of the released state dict that have no counterpart in our network
IGNORED_PREFIXES = ("smpl_layer.", "backbone.encoder.mask_token")

#: training-time switches whose other values would need a different network
REQUIRED_ARGS = {"camera_embedding": "geometric", "nearness": True, "person_center": "head"}


def read_checkpoint(path: str | Path) -> dict:
    """Unpickle a Multi-HMR ``.pt`` safely; clear errors for truncated or foreign files."""
    path = Path(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise missing_checkpoint(path) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HmrError(
            f"checkpoint {path} cannot be read (truncated, corrupt or not a Multi-HMR .pt file): {first_line[:200]}"
        ) from None
    if not isinstance(blob, dict) or "model_state_dict" not in blob or "args" not in blob:
        found = sorted(blob)[:8] if isinstance(blob, dict) else type(blob).__name__
        raise HmrError(
            f"checkpoint {path} is not a Multi-HMR checkpoint: expected keys 'model_state_dict' and "
            f"'args', found {found}"
        )
    return blob


def config_from_args(args: argparse.Namespace | dict) -> NetConfig:
    """Map a checkpoint's training ``args`` onto a :class:`NetConfig`; training-only fields are ignored."""
    values = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
    for name, expected in REQUIRED_ARGS.items():
        if name in values and values[name] != expected:
            raise HmrError(f"checkpoint uses {name}={values[name]!r}; only {expected!r} is supported")
    backbone = values.get("backbone")
    if backbone not in BACKBONES:
        raise HmrError(f"checkpoint backbone {backbone!r} is not supported; known: {', '.join(BACKBONES)}")
    img_size = values.get("img_size", 448)
    img_size = int(img_size[0] if isinstance(img_size, (list, tuple)) else img_size)
    return NetConfig(
        backbone=backbone,
        img_size=img_size,
        body_model="smplx",
        num_betas=int(values.get("num_betas", 10)),
        xat_depth=int(values.get("xat_depth", 2)),
        xat_num_heads=int(values.get("xat_num_heads", 8)),
        num_bands=int(values.get("camera_embedding_num_bands", 16)),
        max_resolution=int(values.get("camera_embedding_max_resolution", 64)),
        clip_dist=bool(values.get("clip_dist", True)),
    )


def convert_state_dict(state_dict: dict[str, torch.Tensor], config: NetConfig) -> dict[str, torch.Tensor]:
    """Released keys -> ours: drop unused keys, resample the position embedding to ``img_size``."""
    converted = {k: v for k, v in state_dict.items() if not k.startswith(IGNORED_PREFIXES)}
    if POS_EMBED_KEY in converted:
        converted[POS_EMBED_KEY] = resample_dinov2_pos_embed(converted[POS_EMBED_KEY], config.img_size)
    return converted


def args_from_config(config: NetConfig) -> argparse.Namespace:
    """The ``args`` a released checkpoint would carry for ``config`` (network fields only)."""
    return argparse.Namespace(
        backbone=config.backbone,
        img_size=[config.img_size],
        train_return_type="smplx",
        camera_embedding="geometric",
        camera_embedding_num_bands=config.num_bands,
        camera_embedding_max_resolution=config.max_resolution,
        nearness=True,
        xat_depth=config.xat_depth,
        xat_num_heads=config.xat_num_heads,
        person_center="head",
        clip_dist=config.clip_dist,
        num_betas=config.num_betas,
    )


def write_checkpoint(state_dict: dict[str, torch.Tensor], config: NetConfig, path: str | Path) -> Path:
    """Save in the released layout (``epoch``, ``iter``, ``model_state_dict``, ``args``), atomically.

    The position embedding is stored at the network's own resolution; DINOv2 uses such an
    embedding as is, and :func:`convert_state_dict` leaves it unchanged on the way back.
    """
    if (
        config.body_model != "smplx"
        or config.xat_head_dim != 32
        or config.hph_dim != 1024
        or config.hph_mlp_dim != 1024
    ):
        raise HmrError(
            "only SMPL-X networks with the released head width (1024, heads of 32) can be written as "
            "Multi-HMR .pt; keep this one as .safetensors"
        )
    blob = {
        "epoch": 0,
        "iter": 0,
        "model_state_dict": OrderedDict((k, v.detach().cpu()) for k, v in state_dict.items()),
        "args": args_from_config(config),
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return Path(path)
