"""``hmr eval DATASET_DIR``: accuracy of a predictor (or of saved predictions) under a named protocol."""

from __future__ import annotations

import argparse
from pathlib import Path

from hmr.cli.checks import check_at_least, check_between, check_device, check_out_dir
from hmr.errors import HmrError, missing_checkpoint


def add_parser(subparsers) -> None:
    from hmr.eval.protocols import PROTOCOLS

    parser = subparsers.add_parser(
        "eval",
        help="measure accuracy on a dataset (MPJPE, PA-MPJPE, PVE, F1, ...)",
        description="Evaluate a predictor (the open default, --checkpoint, or an ONNX file) or saved predictions "
        "(--predictions) on a dataset in the unified format, under a named protocol. Writes "
        "REPORT_DIR/report.json and REPORT_DIR/per_image.csv and prints the table; predictions of a predictor are "
        "cached in REPORT_DIR/predictions/, so a rerun resumes.",
    )
    parser.add_argument("dataset", metavar="DATASET_DIR", help="folder written by hmr-data (convert or synth)")
    parser.add_argument("--split", help="split to evaluate (default: the protocol's, else all)")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), help="default: the dataset's own protocol")
    parser.add_argument("--predictions", help="folder of hmr predict .npz files, one per dataset image")
    parser.add_argument(
        "--checkpoint", help="network weights (.pt, .safetensors, or .onnx with --backend onnx); default: open pipeline"
    )
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx"], help="runtime for the network")
    parser.add_argument("--body-model", help="body model of the predictor (default: the checkpoint's; anny without)")
    parser.add_argument("--models-dir", help="body-model files and regressors (default: $HMR_MODELS_DIR, ./models)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--det-thresh", type=float, default=0.3, help="person score threshold (default 0.3)")
    parser.add_argument(
        "--convert-body",
        action="store_true",
        help="refit predictions in another body model as the ground truth's (convert-body fit) for mesh metrics",
    )
    parser.add_argument("--limit", type=int, help="only the first N images, for a quick look")
    parser.add_argument("--out", default="eval_report", help="report folder (default ./eval_report)")
    parser.add_argument("--compare", metavar="REPORT", help="another report.json (or its folder) to print beside")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    dataset = Path(args.dataset)
    if not dataset.is_dir():
        raise HmrError(f"{dataset} is not a folder; pass a dataset written by hmr-data convert or hmr-data synth")
    check_between(args.det_thresh, 0, 1, "--det-thresh")
    check_device(args.device, args.backend)
    if args.limit is not None:
        check_at_least(args.limit, 1, "--limit")
    if args.predictions and args.checkpoint:
        raise HmrError("pass either --predictions (saved results) or --checkpoint (a predictor to run), not both")
    if args.checkpoint and not Path(args.checkpoint).is_file():
        raise missing_checkpoint(Path(args.checkpoint))
    out_dir = check_out_dir(args.out)
    from hmr.eval import evaluate, format_comparison, format_report, read_report, write_report

    other = read_report(args.compare) if args.compare else None
    predictor, description = None, "saved predictions " + str(args.predictions)
    if not args.predictions:
        from hmr.infer.predictor import Predictor

        if args.backend == "onnx":
            predictor = Predictor(backend="onnx", onnx_path=args.checkpoint, device=args.device)
        else:
            predictor = Predictor(
                checkpoint=args.checkpoint, body_model=args.body_model, models_dir=args.models_dir, device=args.device
            )
        description = f"{args.backend} {args.checkpoint}" if args.checkpoint else "open default (keypoints + Anny fit)"
    report = evaluate(
        dataset,
        protocol=args.protocol,
        split=args.split,
        predictions_dir=args.predictions,
        predictor=predictor,
        predictor_description=description,
        cache_dir=out_dir / "predictions",
        models_dir=args.models_dir,
        progress=not args.quiet,
        det_thresh=args.det_thresh,
        limit=args.limit,
        convert_body=args.convert_body,
    )
    write_report(report, out_dir)
    print(format_report(report))
    if other is not None:
        print(format_comparison(report, other))
    return 0
