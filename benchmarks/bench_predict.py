"""ms/image of ``hmr.Predictor`` with a ViT-S network at 448 and 224 px on this machine, split into stages.

Weights are the shared fixture's formula weights (speed does not depend on their values) and the body model is
the fake SMPL-X (same vertex count as the real one). Each figure is the median of ``--runs`` runs after a warm-up.

    .venv/bin/python benchmarks/bench_predict.py [--runs 7] [--persons 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import MULTIHMR_FIXTURE  # noqa: E402
from multihmr_variants import write_variant_checkpoint  # noqa: E402


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_size(img_size: int, models_dir: Path, work: Path, runs: int, persons: int, device: str) -> dict[str, float]:
    from hmr import Predictor
    from hmr.infer.decode import decode_persons

    ckpt = write_variant_checkpoint(MULTIHMR_FIXTURE, work / f"vits{img_size}.pt", 2, 8, img_size)
    predictor = Predictor(ckpt, models_dir=models_dir, device=device)
    backend = predictor.backend
    image = np.asarray(
        __import__("PIL.Image", fromlist=["Image"]).open(MULTIHMR_FIXTURE / "input_448.png").convert("RGB")
    )
    image = np.asarray(__import__("PIL.Image", fromlist=["Image"]).fromarray(image).resize((640, 480)))
    prepared = [predictor.prepare(image)]
    pixels = torch.from_numpy(prepared[0].pixels.copy()).permute(2, 0, 1)[None].to(backend.device)
    K = torch.from_numpy(prepared[0].K_net)[None].float().to(backend.device)

    with torch.inference_mode():
        score_map = backend.network.score_map(backend.network.encode(pixels))
        # threshold that yields exactly `persons` peaks, so body and render time are comparable across sizes
        from hmr.nn.detection import nms_score_map

        peaks = nms_score_map(score_map, 3).flatten().sort(descending=True).values
        det_thresh = float(peaks[persons - 1])
        raw = backend.network(pixels, K, det_thresh, 3)
        result = backend.predict_batch(prepared, det_thresh, 3)[0]
        assert len(result) == persons, len(result)

        timings = {
            "preprocess": median_ms(lambda: predictor.prepare(image), runs),
            "network": median_ms(lambda: backend.network(pixels, K, det_thresh, 3), runs),
            "body model": median_ms(lambda: decode_persons(raw, backend.network.layout, backend.body, prepared), runs),
        }
    timings["render"] = median_ms(lambda: result.render_overlay(prepared[0].display, prepared[0].K_display), runs)
    timings["predict() total"] = median_ms(lambda: predictor.predict(image, det_thresh=det_thresh), runs)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--persons", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(
            [sys.executable, str(REPO / "tests" / "make_fake_body_models.py"), str(work / "models")],
            check=True,
            capture_output=True,
        )
        rows = {
            size: bench_size(size, work / "models", work, args.runs, args.persons, args.device) for size in (448, 224)
        }
    print(
        f"Predictor, ViT-S, 640x480 input, {args.persons} persons, device {args.device}, "
        f"torch threads {torch.get_num_threads()}, median of {args.runs} runs (ms/image)"
    )
    print(f"| stage | {' | '.join(f'{s} px' for s in rows)} |")
    print(f"|---|{'---|' * len(rows)}")
    for stage in next(iter(rows.values())):
        print(f"| {stage} | {' | '.join(f'{rows[s][stage]:.1f}' for s in rows)} |")


if __name__ == "__main__":
    main()
