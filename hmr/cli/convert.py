"""``hmr convert SRC DST``: Multi-HMR ``.pt`` <-> hmr ``.safetensors``, by the files' suffixes."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hmr.cli.checks import check_out_file
from hmr.errors import HmrError, missing_checkpoint

log = logging.getLogger("hmr")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert checkpoints between Multi-HMR .pt and hmr .safetensors",
        description="Convert a network checkpoint. The direction follows the suffixes: SRC.pt -> DST.safetensors "
        "imports a released Multi-HMR checkpoint; SRC.safetensors -> DST.pt writes the released layout.",
    )
    parser.add_argument("src", help="input checkpoint (.pt or .safetensors)")
    parser.add_argument("dst", help="output checkpoint (.safetensors or .pt)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no info messages")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    src, dst = Path(args.src), check_out_file(args.dst, flag="DST", suffixes=(".safetensors", ".pt"))
    if not src.is_file():
        raise missing_checkpoint(src)
    if src.resolve() == dst.resolve():
        raise HmrError("source and destination are the same file; choose another output path")
    from hmr.compat import load_network, write_checkpoint
    from hmr.nn import save_network

    network = load_network(src)
    if dst.suffix == ".safetensors":
        save_network(network, dst)
    else:
        write_checkpoint(network.state_dict(), network.config, dst)
    log.info(
        "wrote %s (%s, %d px, body model %s)",
        dst,
        network.config.backbone,
        network.config.img_size,
        network.config.body_model,
    )
    return 0
