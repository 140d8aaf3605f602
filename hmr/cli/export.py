"""``hmr export onnx --checkpoint CKPT --out model.onnx``: a self-describing ONNX file for services."""

from __future__ import annotations

import argparse
from pathlib import Path

from hmr.cli.checks import check_at_least, check_odd_kernel, check_out_file
from hmr.errors import missing_checkpoint


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a network for deployment (ONNX)",
        description="Export a network checkpoint for deployment without PyTorch.",
    )
    formats = parser.add_subparsers(dest="format", metavar="FORMAT")
    formats.required = True
    onnx = formats.add_parser(
        "onnx",
        help="ONNX Runtime model with the body mesh inside",
        description="Write one .onnx file: uint8 images (dynamic batch), intrinsics K and a detection threshold "
        "in; per-person parameters, scores, a validity mask and (unless --body-model none) camera-frame "
        "SMPL-X meshes out. Input preparation, output meanings and mesh faces are stored in the file's "
        "metadata. Run it with `hmr predict --backend onnx --checkpoint model.onnx` or plain "
        "onnxruntime.",
    )
    onnx.add_argument("--checkpoint", required=True, help="network weights: a Multi-HMR .pt or an hmr .safetensors")
    onnx.add_argument("--out", required=True, help="output file, e.g. model.onnx")
    onnx.add_argument(
        "--img-size", type=int, help="input size S in pixels (default and only choice: the checkpoint's own, e.g. 448)"
    )
    onnx.add_argument("--max-persons", type=int, default=10, help="person slots per image (default 10)")
    precision = onnx.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="network in half precision (for GPUs)")
    precision.add_argument(
        "--int8",
        action="store_true",
        help="backbone weights and attention in int8 (about 2x faster on CPUs; opset 21, onnxruntime >= 1.19)",
    )
    onnx.add_argument(
        "--body-model",
        default="smplx",
        choices=["smplx", "none"],
        help="mesh built inside the graph (default smplx), or none for parameters only",
    )
    onnx.add_argument(
        "--models-dir", help="folder with smplx/SMPLX_NEUTRAL.npz (default: $HMR_MODELS_DIR, then ./models)"
    )
    onnx.add_argument(
        "--nms", type=int, default=3, help="max-pool NMS kernel size, odd (default 3); fixed in the graph"
    )
    onnx.add_argument("-q", "--quiet", action="store_true", help="no info messages")
    onnx.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_at_least(args.max_persons, 1, "--max-persons")
    check_at_least(args.img_size, 14, "--img-size")
    check_odd_kernel(args.nms)
    check_out_file(args.out, suffixes=(".onnx",))
    if not Path(args.checkpoint).is_file():
        raise missing_checkpoint(args.checkpoint)
    from hmr.export import export_onnx

    precision = "fp16" if args.fp16 else "int8" if args.int8 else "fp32"
    export_onnx(
        args.checkpoint,
        args.out,
        img_size=args.img_size,
        max_persons=args.max_persons,
        precision=precision,
        body_model=args.body_model,
        models_dir=args.models_dir,
        nms_kernel=args.nms,
    )
    return 0
