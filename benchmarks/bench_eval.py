"""Accuracy table: the open default and one network in torch and ONNX fp32 / fp16 / int8, in one run.

Every predictor is evaluated with ``hmr.eval.evaluate`` under the ``synth`` protocol on the same
generated images (default: the first ``--images`` of ``--preset bench-v1``, made into a temporary
folder unless ``--set`` names one). The network is the shared Multi-HMR fixture's ViT-S/448 with
its formula weights and a fake SMPL-X (nothing licence-gated): its absolute accuracy means nothing,
but the rows of its precisions against its own fp32 row show what fp16 and int8 cost. Seconds per
image are wall time of prediction (median over images is not available from a report; this is the
total over the images).

    python benchmarks/bench_eval.py [--images 40] [--set DIR] [--json out.json] [--skip-network]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_onnx import make_inputs  # noqa: E402

from hmr.eval import evaluate  # noqa: E402


def _synth_set(work: Path) -> Path:
    from data_tools.synth import run_synth
    from hmr.synth.presets import BENCH_V1

    run_synth(work / "set", BENCH_V1, workers=2, quiet=True)
    return work / "set"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--set", type=Path, help="a generated set (default: bench-v1 into a temporary folder)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skip-network", action="store_true", help="only the open default")
    args = ap.parse_args(argv)
    from hmr.infer.predictor import Predictor

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dataset = args.set or _synth_set(work)
        predictors = {"open default (keypoints + Anny fit)": lambda: Predictor()}
        if not args.skip_network:
            from hmr.export import OnnxExporter

            models, checkpoints = make_inputs(work, [448])
            checkpoint = checkpoints[448]
            predictors["ViT-S/448 torch fp32"] = lambda: Predictor(checkpoint=checkpoint, models_dir=models)
            exporter = OnnxExporter(checkpoint, max_persons=16, body_model="smplx", models_dir=models)
            for precision in ("fp32", "fp16", "int8"):
                path = exporter.save(work / f"vits448_{precision}.onnx", precision)
                predictors[f"ViT-S/448 ONNX {precision}"] = lambda path=path: Predictor(backend="onnx", onnx_path=path)
        for name, make in predictors.items():
            predictor = make()
            start = time.perf_counter()
            cache = work / name.replace(" ", "_").replace("/", "")
            report = evaluate(
                dataset, protocol="synth", predictor=predictor, cache_dir=cache, models_dir=work / "models",
                limit=args.images,
            )  # fmt: skip
            seconds = (time.perf_counter() - start) / max(report.images, 1)
            rows[name] = {
                "images": report.images,
                "people": report.people,
                "precision": report.precision,
                "recall": report.recall,
                "f1": report.f1,
                **report.metrics,
                "s_per_image": seconds,
                "notes": report.notes,
            }
            m = report.metrics
            print(
                f"{name:<36} P {report.precision:.3f} R {report.recall:.3f} F1 {report.f1:.3f} "
                f"MPJPE {m.get('mpjpe_mm', float('nan')):.1f} PA-MPJPE {m.get('pa_mpjpe_mm', float('nan')):.1f} "
                f"PVE {m.get('pve_mm', float('nan')):.1f} reproj {m.get('reproj_px', float('nan')):.1f}px "
                f"{seconds:.2f} s/img",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
