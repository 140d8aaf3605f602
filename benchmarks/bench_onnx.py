"""Speed of the ONNX export against torch eager, and what int8 / fp16 cost in accuracy.

For each image size (ViT-S with the shared Multi-HMR fixture's formula weights: its own checkpoint at
448 px, the same formula at other sizes) and batch size: milliseconds per image for torch eager fp32
(``TorchBackend``) and ONNX Runtime per precision (``OnnxBackend``), the same end-to-end work in both
(network, detection, SMPL-X, placement, typed results), on the fixture image (3 persons). Each value is
the median of ``--repeat`` timed runs after one warm-up, all in this one process, with the runners
interleaved round by round so a busy machine slows them alike, and a short pause before each run.
Wall time is what a user waits; on a machine shared with other work it swings widely, so the fastest
run ("best", the least disturbed) and the process CPU time are reported too: with ``--threads 1`` CPU
time is the work per image and does not count waiting for a busy CPU. Accuracy: mean per-vertex
distance (mm) of each precision to torch fp32 on the fixture image. The body model is a fake SMPL-X (same sizes as
the real one), so nothing licence-gated is needed.

    python benchmarks/bench_onnx.py                                   # CPU: 448 and 224, batch 1 and 4
    python benchmarks/bench_onnx.py --threads 1                       # CPU time = work, on a busy machine
    python benchmarks/bench_onnx.py --device cuda --ort-device cuda --precisions fp32 fp16
    python benchmarks/bench_onnx.py --device cuda --ort-device tensorrt --precisions fp32 fp16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from hmr.export import OnnxExporter  # noqa: E402
from hmr.infer.onnx_backend import OnnxBackend  # noqa: E402
from hmr.infer.preprocess import prepare  # noqa: E402
from hmr.infer.torch_backend import TorchBackend  # noqa: E402

FIXTURE_THRESH = 0.7044
#: pause before each timed run: ONNX Runtime's worker threads spin-wait for a moment after a run, and
#: without a pause they would take CPU from whichever runner goes next
IDLE_GAP_S = 0.2


def fixture_dir() -> Path:
    for candidate in (os.environ.get("HMR_SHARED_DIR"), REPO.parent / "shared", REPO / "shared"):
        if candidate and (Path(candidate) / "fixtures" / "multihmr").is_dir():
            return Path(candidate) / "fixtures" / "multihmr"
    sys.exit("shared/fixtures/multihmr not found; set HMR_SHARED_DIR")


def make_inputs(work: Path, sizes: list[int]) -> tuple[Path, dict[int, Path]]:
    """Fake SMPL-X and one formula-weight checkpoint per size (448: the fixture's own)."""
    from multihmr_variants import write_variant_checkpoint

    fixture = fixture_dir()
    models = work / "models"
    if not (models / "smplx" / "SMPLX_NEUTRAL.npz").is_file():
        subprocess.run(
            [sys.executable, str(fixture / "make_fake_smplx.py"), str(models)], check=True, capture_output=True
        )
    checkpoints = {}
    for size in sizes:
        path = work / f"vits{size}.pt"
        if not path.is_file():
            if size == 448:
                subprocess.run(
                    [
                        sys.executable,
                        str(fixture / "make_checkpoint.py"),
                        str(fixture / "keys_vits448.json"),
                        str(fixture / "args_vits448.json"),
                        str(path),
                    ],
                    check=True,
                    capture_output=True,
                )
            else:
                write_variant_checkpoint(fixture, path, 2, 8, size)
        checkpoints[size] = path
    return models, checkpoints


def mean_vertex_error_mm(results, reference) -> float:
    got = [p.vertices for r in results for p in r.persons]
    want = [p.vertices for r in reference for p in r.persons]
    if len(got) != len(want) or not got:
        return float("nan")
    return float(np.linalg.norm(np.stack(got) - np.stack(want), axis=-1).mean() * 1000)


def bench_size(size: int, checkpoint: Path, models: Path, work: Path, args) -> list[dict]:
    image = fixture_dir() / "input_448.png"
    device = torch.device(args.device)
    runners = {"torch eager fp32": TorchBackend(checkpoint, "smplx", models, device)}
    started = time.perf_counter()
    exporter = OnnxExporter(checkpoint, max_persons=args.max_persons, body_model="smplx", models_dir=models)
    for precision in args.precisions:
        path = work / f"vits{size}_{precision}.onnx"
        if not path.is_file() or args.re_export:
            exporter.save(path, precision)
        runners[f"ORT {precision}"] = OnnxBackend(path, device=args.ort_device, threads=args.threads)
    export_s = time.perf_counter() - started
    prepared = prepare(image, size)
    reference = runners["torch eager fp32"].predict_batch([prepared], FIXTURE_THRESH, 3)
    errors = {
        name: mean_vertex_error_mm(runner.predict_batch([prepared], FIXTURE_THRESH, 3), reference)
        for name, runner in runners.items()
        if name != "torch eager fp32"
    }
    rows = []
    for batch in args.batches:
        images = [prepared] * batch
        wall: dict[str, list[float]] = {name: [] for name in runners}
        cpu: dict[str, list[float]] = {name: [] for name in runners}
        for runner in runners.values():
            runner.predict_batch(images, FIXTURE_THRESH, 3)  # warm-up: allocations, kernel selection
        for _ in range(args.repeat):
            for name, runner in runners.items():
                time.sleep(IDLE_GAP_S)
                start, start_cpu = time.perf_counter(), time.process_time()
                runner.predict_batch(images, FIXTURE_THRESH, 3)
                wall[name].append((time.perf_counter() - start) * 1000 / batch)
                cpu[name].append((time.process_time() - start_cpu) * 1000 / batch)
        rows.append(
            {
                "size": size,
                "batch": batch,
                "vertex_error_mm": errors,
                "export_s": export_s,
                "ms_per_image": {name: statistics.median(values) for name, values in wall.items()},
                "best_ms_per_image": {name: min(values) for name, values in wall.items()},
                "cpu_ms_per_image": {name: statistics.median(values) for name, values in cpu.items()},
                "wall_runs": wall,
                "cpu_runs": cpu,
            }
        )
        print(format_row(rows[-1], list(runners), "ms_per_image", "wall"), flush=True)
        print(format_row(rows[-1], list(runners), "best_ms_per_image", "wall, best"), flush=True)
        print(format_row(rows[-1], list(runners), "cpu_ms_per_image", "CPU"), flush=True)
    return rows


def format_row(row: dict, names: list[str], key: str, label: str) -> str:
    base = row[key]["torch eager fp32"]
    cells = [f"{row[key][n]:.0f}" for n in names]
    ratios = [f"{base / row[key][n]:.2f}x" for n in names[1:]]
    return f"| {row['size']} | {row['batch']} | {label} | " + " | ".join(cells + ratios) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[448, 224])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "int8"], choices=["fp32", "fp16", "int8"])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per configuration (default 5)")
    parser.add_argument("--max-persons", type=int, default=10)
    parser.add_argument("--threads", type=int, help="CPU threads for torch and ONNX Runtime (default: theirs)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--ort-device", help="ONNX Runtime device: cpu, cuda, tensorrt (default: --device)")
    parser.add_argument("--work-dir", help="keep checkpoints and exports here between runs (default: temporary)")
    parser.add_argument("--re-export", action="store_true", help="export again even if --work-dir has the file")
    parser.add_argument("--json", help="also write all timings to this file")
    args = parser.parse_args()
    args.ort_device = args.ort_device or args.device
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        models, checkpoints = make_inputs(work, args.sizes)
        cpu = (
            next(
                (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                platform.processor(),
            )
            if Path("/proc/cpuinfo").exists()
            else platform.processor()
        )
        print(
            f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"onnxruntime {ort.__version__}, load average {os.getloadavg()[0]:.1f}"
        )
        names = ["torch eager fp32"] + [f"ORT {p}" for p in args.precisions]
        print(
            "| size | batch | time | "
            + " | ".join(f"{n} ms/img" for n in names)
            + " | "
            + " | ".join(f"{n} speed-up" for n in names[1:])
            + " |"
        )
        print("|" + "---|" * (3 + 2 * len(names) - 1))
        rows = [row for size in args.sizes for row in bench_size(size, checkpoints[size], models, work, args)]
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        print(
            "mean per-vertex error vs torch fp32 on the fixture image (mm): "
            + "; ".join(
                f"{row['size']} px {name} {err:.3f}"
                for row in rows
                if row["batch"] == args.batches[0]
                for name, err in row["vertex_error_mm"].items()
            )
        )
        print(
            "export (trace once + save each precision): "
            + ", ".join(f"{row['size']} px {row['export_s']:.0f} s" for row in rows if row["batch"] == args.batches[0])
        )
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
