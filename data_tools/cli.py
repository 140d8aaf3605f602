"""``hmr-data``: convert datasets into the unified format, inspect and verify the result.

A thin layer over ``data_tools`` and ``hmr.data``: every subcommand is one library call, user
mistakes (``HmrError``) print as one line, and a batch reports the files it had to skip.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from hmr.cli.checks import (
    check_at_least,
    check_between,
    check_device,
    check_out_dir,
    check_out_file,
    mark_subcommand_parsers,
    parse_args,
)
from hmr.errors import HmrError
from hmr.native_quiet import filtered_stderr


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only results and errors")


def build_parser() -> argparse.ArgumentParser:
    from data_tools.registry import CONVERTERS

    ap = argparse.ArgumentParser(prog="hmr-data", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "convert",
        help="convert one source dataset",
        description=(
            "Convert a dataset from its original on-disk layout into OUT/NAME/. Rerunning continues where a "
            "previous run stopped."
        ),
    )
    p.add_argument("name", choices=sorted(CONVERTERS), metavar="NAME", help=f"one of: {', '.join(sorted(CONVERTERS))}")
    p.add_argument("--src", required=True, type=Path, help="the dataset's root folder as downloaded")
    p.add_argument("--out", required=True, type=Path, help="output root; the dataset goes to OUT/NAME/")
    p.add_argument("--split", action="append", default=[], help="split(s) to convert (repeatable); default all")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--max-side", type=int, default=2000, help="downscale images whose long side exceeds this (px)")
    p.add_argument("--models-dir", help="body-model folder (default $HMR_MODELS_DIR or ./models)")
    p.add_argument("--shard-size-mb", type=float, default=1000.0, help="target shard size in MB (default 1000)")
    p.add_argument("--limit", type=int, help="convert at most this many source images (for a quick look)")
    _add_common(p)

    p = sub.add_parser(
        "convert-body",
        help="add a label version in another body model",
        description=(
            "Fit another body model to every stored SMPL/SMPL-X person (on its skin vertices) and write the "
            "result as a new label version, joined on instance_id; images are not rewritten."
        ),
    )
    p.add_argument("dir", type=Path, help="a converted dataset folder, or the --out root of several")
    p.add_argument(
        "--to",
        required=True,
        choices=["skel", "smplx", "anny"],
        help="target body model: skel or anny (from SMPL or SMPL-X), smplx (from SMPL)",
    )
    p.add_argument("--version", help="label version name (default '<to>-fit-v1')")
    p.add_argument("--dataset", action="append", default=[], help="only these datasets (repeatable)")
    p.add_argument("--split", action="append", default=[], help="only these splits (repeatable)")
    p.add_argument("--models-dir", help="body-model folder (default $HMR_MODELS_DIR or ./models)")
    p.add_argument("--device", default="cpu", help="torch device for the fit (cpu, cuda)")
    p.add_argument("--iters", type=int, default=60, help="L-BFGS iterations per batch (default 60)")
    p.add_argument("--batch-size", type=int, default=256, help="persons fitted together")
    p.add_argument(
        "--tolerance-mm",
        type=float,
        default=10.0,
        help="mean vertex error (anny: symmetric surface distance) above which a fit is reported as not converged",
    )
    _add_common(p)

    p = sub.add_parser(
        "synth",
        help="render synthetic Anny people with exact labels (our own, licence-free data)",
        description=(
            "Render posed, shaped Anny people into images with exact labels, written to OUT/synth/ in the unified "
            "format. The same seed gives the same images and labels; parts (--shard-index I --num-shards K) can run "
            "side by side into one OUT; rerunning the same command continues where a run stopped."
        ),
    )
    p.add_argument("--out", required=True, type=Path, help="output root; the set goes to OUT/synth/")
    p.add_argument("--num-images", type=int, help="images in the whole set (all parts together); default 1000")
    p.add_argument("--seed", type=int, help="random seed of the set (default 0)")
    p.add_argument(
        "--preset",
        choices=["bench-v1"],
        help="a fixed, documented set: bench-v1 = 200 images, 640x480, 1-6 people, seed 2026 (split bench_v1); "
        "--num-images/--seed/--width/--height/--max-people may not be combined with it",
    )
    p.add_argument("--width", type=int, help="image width in pixels (default 640)")
    p.add_argument("--height", type=int, help="image height in pixels (default 480)")
    p.add_argument("--max-people", type=int, help="at most this many people per image, 1-6 by default")
    p.add_argument("--backgrounds", type=Path, help="folder of photos to use as backdrops (default: procedural)")
    p.add_argument("--poses", type=Path, help="motion file or folder (BVH, AMASS .npz) to pose people from")
    p.add_argument("--poses-fps", type=float, default=10.0, help="frames per second kept from motion files (10)")
    p.add_argument("--save-verts", action="store_true", help="store camera-frame vertices of every person")
    p.add_argument("--save-masks", action="store_true", help="store an instance mask per image (<key>.mask.png)")
    p.add_argument("--images-per-shard", type=int, help="images per tar shard, the unit of resuming (1000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--shard-index", type=int, default=0, help="which part this process makes (0-based)")
    p.add_argument("--num-shards", type=int, default=1, help="number of parts the set is split into")
    _add_common(p)

    p = sub.add_parser("stats", help="counts per dataset/split/body model and missing fields")
    p.add_argument("dir", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_common(p)

    p = sub.add_parser("show", help="contact sheet of images with meshes and keypoints drawn over them")
    p.add_argument("dir", type=Path)
    p.add_argument("--n", type=int, default=16, help="number of images (default 16)")
    p.add_argument("--out", type=Path, help="PNG to write (default DIR/contact_sheet.png)")
    p.add_argument("--dataset", action="append", default=[])
    p.add_argument("--split", action="append", default=[])
    p.add_argument("--label-version", help="draw this label version instead of the base labels")
    p.add_argument("--models-dir", help="body-model folder, to draw meshes (keypoints only without it)")
    p.add_argument("--seed", type=int, default=0, help="which images to pick")
    _add_common(p)

    p = sub.add_parser("verify", help="check checksums, schemas and that every label's image is stored")
    p.add_argument("dir", type=Path)
    p.add_argument("--no-checksums", action="store_true", help="check sizes only (fast)")
    _add_common(p)

    p = sub.add_parser("list", help="list the dataset converters")
    _add_common(p)
    mark_subcommand_parsers(ap)
    return ap


def _convert(a: argparse.Namespace) -> int:
    check_at_least(a.workers, 1, "--workers")
    check_at_least(a.max_side, 64, "--max-side")
    check_between(a.shard_size_mb, 0, float("inf"), "--shard-size-mb", open_interval=True)
    check_at_least(a.limit, 1, "--limit")
    if not a.src.is_dir():
        raise HmrError(f"--src {a.src} is not a folder; pass the dataset's root folder as downloaded")
    check_out_dir(a.out)
    from data_tools.driver import run_conversion
    from data_tools.registry import get_converter

    report = run_conversion(
        get_converter(a.name),
        a.src,
        a.out,
        a.split,
        a.workers,
        a.max_side,
        a.models_dir,
        int(a.shard_size_mb * 1e6),
        a.limit,
        a.quiet,
    )
    print(
        f"{report.dataset}: {report.converted} images converted, {report.already_done} already done, "
        f"{len(report.failed)} failed -> {report.out_dir}"
    )
    return _report_failures(report.failed)


def _report_failures(failed: list[tuple[str, str]]) -> int:
    """The first 20 failures on stderr, one line each; exit status 1 when anything failed."""
    for path, why in failed[:20]:
        print(f"  failed: {path}: {why}", file=sys.stderr)
    if len(failed) > 20:
        print(f"  ... and {len(failed) - 20} more (listed in manifest.json)", file=sys.stderr)
    return 1 if failed else 0


def _synth(a: argparse.Namespace) -> int:
    for flag, value in (("--num-images", a.num_images), ("--images-per-shard", a.images_per_shard)):
        check_at_least(value, 1, flag)
    check_at_least(a.workers, 1, "--workers")
    check_at_least(a.num_shards, 1, "--num-shards")
    check_between(a.shard_index, 0, a.num_shards - 1, "--shard-index")
    check_between(a.max_people, 1, 6, "--max-people")
    check_at_least(a.width, 16, "--width")
    check_at_least(a.height, 16, "--height")
    check_between(a.poses_fps, 0, float("inf"), "--poses-fps", open_interval=True)
    if a.preset and any(v is not None for v in (a.num_images, a.seed, a.width, a.height, a.max_people)):
        raise HmrError(f"--preset {a.preset} fixes the set; drop --num-images/--seed/--width/--height/--max-people")
    if a.poses is not None and not a.poses.exists():
        raise HmrError(f"--poses {a.poses} does not exist; pass a BVH / AMASS .npz file or a folder of them")
    check_out_dir(a.out)
    import dataclasses

    from hmr.synth.backgrounds import list_background_photos, readable_photos
    from hmr.synth.presets import PRESETS, default_preset

    photos, failures = readable_photos(list_background_photos(a.backgrounds)) if a.backgrounds else ([], [])
    if a.backgrounds and not photos:
        raise HmrError(f"--backgrounds {a.backgrounds}: none of its {len(failures)} images is readable")
    if a.preset:
        preset = PRESETS[a.preset]
    else:
        preset = default_preset(1000 if a.num_images is None else a.num_images, a.seed or 0)
        config = preset.config
        people = (1, a.max_people) if a.max_people else config.people
        config = dataclasses.replace(
            config, width=a.width or config.width, height=a.height or config.height, people=people
        )
        preset = dataclasses.replace(preset, config=config)
    options = {"save_verts": a.save_verts, "save_masks": a.save_masks}
    if a.images_per_shard:
        options["images_per_shard"] = a.images_per_shard
    preset = dataclasses.replace(preset, **options)
    motions = []
    if a.poses is not None:
        from hmr.synth.motion import load_motions

        motions, bad_motions = load_motions(a.poses, fps=a.poses_fps)
        failures += bad_motions
        if not motions:
            raise HmrError(f"--poses {a.poses}: no motion file could be read ({len(bad_motions)} failed)")
    from data_tools.synth import run_synth

    report = run_synth(a.out, preset, a.shard_index, a.num_shards, a.workers, photos, motions, failures, quiet=a.quiet)
    print(
        f"synth: {report.generated} images ({report.persons} people) generated, {report.already_done} already done, "
        f"{len(report.failed)} failed -> {report.out_dir}"
    )
    return _report_failures(report.failed)


def _convert_body(a: argparse.Namespace) -> int:
    check_at_least(a.iters, 1, "--iters")
    check_at_least(a.batch_size, 1, "--batch-size")
    check_between(a.tolerance_mm, 0, float("inf"), "--tolerance-mm", open_interval=True)
    check_device(a.device)
    _check_dataset_dir(a.dir)
    check_out_dir(a.dir)
    from data_tools.convert_body import convert_body

    report = convert_body(
        a.dir,
        a.to,
        version=a.version,
        datasets=a.dataset,
        splits=a.split,
        models_dir=a.models_dir,
        device=a.device,
        iters=a.iters,
        batch_size=a.batch_size,
        tolerance_mm=a.tolerance_mm,
        quiet=a.quiet,
    )
    print(report.summary())
    return 0


def _stats(a: argparse.Namespace) -> int:
    from hmr.data.stats import all_stats, format_stats

    stats = all_stats(a.dir)
    print(json.dumps(stats, indent=1) if a.json else format_stats(stats))
    return 0


def _show(a: argparse.Namespace) -> int:
    check_at_least(a.n, 1, "--n")
    _check_dataset_dir(a.dir)
    check_out_file(a.out or a.dir / "contact_sheet.png", suffixes=(".png",))
    from data_tools.show import contact_sheet

    out = contact_sheet(
        a.dir,
        a.out or a.dir / "contact_sheet.png",
        n=a.n,
        datasets=a.dataset,
        splits=a.split,
        label_version=a.label_version,
        models_dir=a.models_dir,
        seed=a.seed,
    )
    print(out)
    return 0


def _verify(a: argparse.Namespace) -> int:
    from hmr.data.verify import verify_dataset

    report = verify_dataset(a.dir, checksums=not a.no_checksums)
    for line in report.problems:
        print(line)
    print(
        f"{'OK' if report.ok else 'FAILED'}: {report.checked_files} files, {report.checked_images} images, "
        f"{report.checked_instances} persons checked, {len(report.problems)} problems"
    )
    return 0 if report.ok else 1


def _list(a: argparse.Namespace) -> int:
    from data_tools.registry import CONVERTERS, get_converter

    for name in CONVERTERS:
        c = get_converter(name)
        print(f"{name:<16} {c.description}")
    return 0


def _check_dataset_dir(path: Path) -> None:
    if not path.is_dir():
        raise HmrError(f"{path} is not a folder; pass a folder written by hmr-data convert")


_COMMANDS = {
    "convert": _convert,
    "convert-body": _convert_body,
    "synth": _synth,
    "stats": _stats,
    "show": _show,
    "verify": _verify,
    "list": _list,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(build_parser(), argv)
    try:
        with filtered_stderr():  # native libraries' own log lines are not for users (hmr.native_quiet)
            return _COMMANDS[args.command](args)
    except HmrError as e:
        print(f"hmr-data: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hmr-data: interrupted; rerun the same command to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
