"""``hmr predict PATH...``: per image a ``.npz``, an overlay ``.jpg`` and a ``.glb``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PIL import Image

from hmr.atomic import atomic_path
from hmr.cli.checks import check_out_dir
from hmr.cli.common import (
    add_predictor_args,
    check_predictor_args,
    collect_inputs,
    intrinsics_from_args,
    output_stems,
    predictor_from_args,
)
from hmr.errors import HmrError

log = logging.getLogger("hmr")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="recover 3D bodies from images",
        description="Recover every person in each image as a posed 3D body. Writes <stem>.npz, "
        "<stem>_overlay.jpg and <stem>.glb per image into --out.",
    )
    parser.add_argument("inputs", nargs="+", metavar="PATH", help="image files, folders or glob patterns")
    parser.add_argument("--out", default="out", help="output folder (default ./out)")
    parser.add_argument("--no-render", action="store_true", help="write only the .npz (no overlay, no .glb)")
    add_predictor_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_predictor_args(args)
    out_dir = check_out_dir(args.out)
    files, skipped = collect_inputs(args, "images")
    predictor = predictor_from_args(args)
    stems = output_stems(files)
    failed = skipped
    written = 0
    for item in predictor.predict_files(
        files,
        K=intrinsics_from_args(args),
        fov=args.fov,
        det_thresh=args.det_thresh,
        nms_kernel=args.nms,
        progress=not args.quiet,
    ):
        if item.error:
            failed += 1
            print(f"hmr predict: skipped {item.error}", file=sys.stderr)
            continue
        stem = stems[item.path]
        try:
            write_outputs(item, out_dir, stem, render=not args.no_render)
        except HmrError as exc:
            failed += 1
            print(f"hmr predict: skipped {item.path}: {exc}", file=sys.stderr)
            continue
        written += 1
        if item.result.message:
            log.info("%s: %s", item.path, item.result.message)
    log.info("wrote %d of %d image(s) to %s", written, len(files) + skipped, out_dir)
    return 1 if failed else 0


def write_outputs(item, out_dir: Path, stem: str, render: bool = True) -> None:
    item.result.to_npz(out_dir / f"{stem}.npz")
    if not render:
        return
    overlay = item.result.render_overlay(item.display, item.K_display)
    with atomic_path(out_dir / f"{stem}_overlay.jpg") as tmp:
        Image.fromarray(overlay).save(tmp, format="JPEG", quality=92)
    item.result.to_glb(out_dir / f"{stem}.glb")
