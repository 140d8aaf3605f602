"""Options shared by the commands that run a predictor (``predict``, ``video``)."""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np

from hmr.cli.checks import check_at_least, check_between, check_device, check_odd_kernel
from hmr.errors import HmrError
from hmr.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

#: per kind of input: its suffixes, and the command for the other kind
KINDS = {"images": (IMAGE_SUFFIXES, "video"), "videos": (VIDEO_SUFFIXES, "predict")}


def add_predictor_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--checkpoint",
        help="network weights: a Multi-HMR .pt, an hmr .safetensors, or an .onnx "
        "with --backend onnx (default: the open keypoint-fitting pipeline)",
    )
    group.add_argument("--backend", default="torch", choices=["torch", "onnx"], help="runtime for the network")
    group.add_argument(
        "--body-model",
        help="smplx, smpl, skel or anny (default: what the checkpoint predicts; anny without a checkpoint)",
    )
    group.add_argument(
        "--refine",
        action="store_true",
        help="polish a network's prediction by fitting it to detected keypoints (needs --checkpoint)",
    )
    group.add_argument("--models-dir", help="folder with body-model files (default: $HMR_MODELS_DIR, then ./models)")
    group.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    group.add_argument("--batch-size", type=int, default=4, help="images per network call (default 4)")
    camera = parser.add_argument_group("camera")
    camera.add_argument("--fov", type=float, help="field of view across the longer image side, degrees (default 60)")
    camera.add_argument("--intrinsics", metavar="FX,FY,CX,CY", help="camera intrinsics in original-image pixels")
    det = parser.add_argument_group("detection")
    det.add_argument("--det-thresh", type=float, default=0.3, help="person score threshold (default 0.3)")
    det.add_argument("--nms", type=int, default=3, help="max-pool NMS kernel size, odd (default 3)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info messages")


def check_predictor_args(args: argparse.Namespace) -> None:
    """Every predictor flag, checked before a model loads (see :mod:`hmr.cli.checks`)."""
    check_at_least(args.batch_size, 1, "--batch-size")
    check_between(args.fov, 0, 180, "--fov", open_interval=True)
    check_between(args.det_thresh, 0, 1, "--det-thresh")
    check_odd_kernel(args.nms)
    check_device(args.device, args.backend)
    intrinsics_from_args(args)


def predictor_from_args(args: argparse.Namespace):
    from hmr.infer.predictor import Predictor

    return Predictor(
        checkpoint=args.checkpoint,
        body_model=args.body_model,
        models_dir=args.models_dir,
        device=args.device,
        backend=args.backend,
        batch_size=args.batch_size,
        refine=args.refine,
    )


def intrinsics_from_args(args: argparse.Namespace) -> np.ndarray | None:
    if not args.intrinsics:
        return None
    if args.fov is not None:
        raise HmrError("give either --fov or --intrinsics, not both")
    try:
        fx, fy, cx, cy = (float(v) for v in args.intrinsics.split(","))
    except ValueError:
        raise HmrError(f"--intrinsics must be four numbers FX,FY,CX,CY, got {args.intrinsics!r}") from None
    if not (fx > 0 and fy > 0 and np.isfinite([fx, fy, cx, cy]).all()):
        raise HmrError(f"--intrinsics needs positive focal lengths FX,FY (pixels), got {args.intrinsics!r}")
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], np.float64)


def expand_inputs(
    patterns: list[str], suffixes: frozenset[str], refused: dict[str, str] | None = None
) -> tuple[list[Path], list[str]]:
    """Files, folders (searched recursively for ``suffixes``) and globs -> (files, problems).

    ``refused`` maps suffixes of the other kind of input to the hint given for a file named
    explicitly with one (a video passed to ``hmr predict``).
    """
    refused = refused or {}
    files: list[Path] = []
    problems: list[str] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            if not found:
                problems.append(f"{pattern}: folder has no files with suffix {', '.join(sorted(suffixes))}")
            files.extend(found)
        elif path.is_file() and path.suffix.lower() in refused:
            problems.append(f"{pattern}: {refused[path.suffix.lower()]}")
        elif path.is_file():
            files.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True) if Path(m).is_file())
            if not matches:
                problems.append(f"{pattern}: no such file, folder or matching glob")
            files.extend(matches)
    unique = list(dict.fromkeys(files))
    return unique, problems


def collect_inputs(args: argparse.Namespace, kind: str) -> tuple[list[Path], int]:
    """Expand ``args.inputs`` (``kind``: images or videos); report each pattern that matched nothing
    or names the other kind (one line each) and go on.

    Returns the files and how many patterns were skipped; no file at all is an error.
    """
    suffixes, other_command = KINDS[kind]
    noun, other = kind.removesuffix("s"), next(k for k in KINDS if k != kind).removesuffix("s")
    refused = {
        s: f"is a{'n' if other[0] in 'aeiou' else ''} {other} file; use hmr {other_command}"
        for s in KINDS[other + "s"][0]
    }
    files, problems = expand_inputs(args.inputs, suffixes, refused)
    for problem in problems:
        print(f"hmr {args.command}: skipped {problem}", file=sys.stderr)
    if not files:
        raise HmrError(f"no input {kind} found; pass {noun} files, folders or globs")
    return files, len(problems)


def output_stems(files: list[Path]) -> dict[Path, str]:
    """One output name per input; inputs sharing a stem get their parent folder's name prefixed."""
    stems: dict[Path, str] = {}
    seen: dict[str, int] = {}
    for f in files:
        seen[f.stem] = seen.get(f.stem, 0) + 1
    for f in files:
        stems[f] = f.stem if seen[f.stem] == 1 else f"{f.parent.name}_{f.stem}"
    taken: set[str] = set()
    for f, stem in stems.items():
        candidate, n = stem, 1
        while candidate in taken:
            candidate, n = f"{stem}_{n}", n + 1
        stems[f] = candidate
        taken.add(candidate)
    return stems
