"""``hmr video INPUT... --out DIR``: per video an overlay ``.mp4`` and a ``_tracks.npz``."""

from __future__ import annotations

import argparse
import logging
import sys

from hmr.cli.checks import check_out_dir
from hmr.cli.common import (
    add_predictor_args,
    check_predictor_args,
    collect_inputs,
    intrinsics_from_args,
    output_stems,
    predictor_from_args,
)
from hmr.video.smoothing import DEFAULT_STRENGTH

log = logging.getLogger("hmr")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "video",
        help="recover, track and smooth 3D bodies in videos",
        description="Recover every person in every frame, give each a persistent track id and smooth it over "
        "time. Writes <stem>.mp4 (overlay, same frames and timing as the input) and "
        "<stem>_tracks.npz per video into --out; videos whose outputs exist are skipped. For "
        "still images use `hmr predict`.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video files, folders or glob patterns")
    parser.add_argument("--out", default="out", help="output folder (default ./out)")
    frames = parser.add_argument_group("frames")
    frames.add_argument("--stride", type=int, default=1, help="process every N-th frame (default 1)")
    frames.add_argument(
        "--start",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first time to process (default 0). The tracks file keeps source "
        "times; the overlay video plays from 0 s (its overlay_start_s says the offset)",
    )
    frames.add_argument("--end", type=float, metavar="SECONDS", help="time to stop at (default: the end)")
    tracking = parser.add_argument_group("tracking and smoothing")
    tracking.add_argument("--max-persons", type=int, help="keep the N highest-scoring persons per frame")
    tracking.add_argument(
        "--smooth",
        type=float,
        default=DEFAULT_STRENGTH,
        help=f"temporal smoothing strength, 0 = off (default {DEFAULT_STRENGTH})",
    )
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--no-render", action="store_true", help="write only the _tracks.npz (no overlay video)")
    outputs.add_argument(
        "--save-meshes",
        action="store_true",
        help="also store every frame's mesh vertices (and the faces) in the _tracks.npz",
    )
    outputs.add_argument("--overwrite", action="store_true", help="redo videos whose outputs already exist")
    add_predictor_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_predictor_args(args)
    from hmr.video.pipeline import VideoOptions, VideoPipeline  # PyAV and the tracker: not for --help

    options = VideoOptions(
        batch_size=args.batch_size,
        stride=args.stride,
        start_s=args.start,
        end_s=args.end,
        max_persons=args.max_persons,
        smooth=args.smooth,
        K=intrinsics_from_args(args),
        save_meshes=args.save_meshes,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    out_dir = check_out_dir(args.out)
    files, skipped = collect_inputs(args, "videos")
    predictor = predictor_from_args(args)

    def predict_batch(frames, K_frames):
        return predictor.predict(frames, K=K_frames, fov=args.fov, det_thresh=args.det_thresh, nms_kernel=args.nms)

    def render(image, result):
        return result.render_overlay(image)

    pipeline = VideoPipeline(predict_batch, options, None if args.no_render else render, _param_kinds(predictor))
    reports = pipeline.run(files, out_dir, output_stems(files))
    for report in reports:
        if report.status == "failed":
            print(
                f"hmr video: skipped {report.error}"
                if str(report.source) in report.error
                else f"hmr video: skipped {report.source}: {report.error}",
                file=sys.stderr,
            )
        elif report.status == "skipped":
            log.info("%s: outputs exist, skipped (--overwrite to redo)", report.source)
        else:
            log.info(
                "%s: %d frames, %d tracks, %.1f frames/s%s",
                report.source,
                report.frames,
                report.tracks,
                report.frames / max(report.seconds, 1e-9),
                "".join(f"; warning: {w}" for w in report.warnings),
            )
    failed = sum(r.status == "failed" for r in reports) + skipped
    log.info(
        "%d done, %d skipped, %d failed; outputs in %s",
        sum(r.status == "done" for r in reports),
        sum(r.status == "skipped" for r in reports),
        failed,
        args.out,
    )
    return 1 if failed else 0


def _param_kinds(predictor) -> dict[str, str]:
    """Kinds (rotvec, angle, real, bounded) of the body model's parameter blocks, so the smoother
    treats ``Person.params`` on the right manifold."""
    return {name: spec.kind for name, spec in predictor.param_specs.items()}
