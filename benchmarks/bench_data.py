"""Speed of the dataset tools: conversion (images/s) and the streaming reader (samples/s).

Builds a synthetic COCO-layout source (one person per image), converts it with 1 and 2 worker
processes, then reads it back through a DataLoader with 2 workers (decoding every JPEG) and by
random access through the index. Nothing is downloaded; everything lives in a temporary folder.

    python benchmarks/bench_data.py [--n 2000] [--size 640x480] [--format jpg|png]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_tools.convert_coco import Coco  # noqa: E402
from data_tools.driver import run_conversion  # noqa: E402
from hmr.data.reader import IndexedDataset, StreamingDataset  # noqa: E402


def make_source(root: Path, n: int, width: int, height: int, fmt: str) -> int:
    """COCO val layout with ``n`` textured images; returns the bytes written."""
    (root / "val2017").mkdir(parents=True)
    (root / "annotations").mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    textures = [
        np.clip(
            (np.sin(xx / (7 + k)) + np.cos(yy / (5 + k)))[..., None] * 60
            + 128
            + rng.integers(-12, 13, (height, width, 3)),
            0,
            255,
        ).astype(np.uint8)
        for k in range(16)
    ]
    images, anns, total = [], [], 0
    for i in range(1, n + 1):
        pixels = np.roll(textures[i % 16], i, axis=1)
        buf = io.BytesIO()
        options = {"format": "JPEG", "quality": 90} if fmt == "jpg" else {"format": "PNG"}
        Image.fromarray(pixels).save(buf, **options)
        name = f"{i:012d}.{fmt}"
        (root / "val2017" / name).write_bytes(buf.getvalue())
        total += buf.tell()
        images.append({"id": i, "file_name": name, "width": width, "height": height})
        kp = np.concatenate([rng.uniform(0, min(width, height), (17, 2)), np.full((17, 1), 2.0)], 1)
        anns.append(
            {
                "id": i,
                "image_id": i,
                "category_id": 1,
                "iscrowd": 0,
                "bbox": [10.0, 10.0, 100.0, 200.0],
                "num_keypoints": 17,
                "keypoints": kp.reshape(-1).tolist(),
            }
        )
    labels = json.dumps({"images": images, "annotations": anns})
    (root / "annotations" / "person_keypoints_val2017.json").write_text(labels)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="number of images")
    ap.add_argument("--size", default="640x480", help="image size WxH")
    ap.add_argument(
        "--format",
        choices=["jpg", "png"],
        default="jpg",
        help="source format: jpg is stored as is, png is re-encoded (BEDLAM-like)",
    )
    ap.add_argument("--shard-mb", type=float, default=64.0, help="shard size for the benchmark (MB)")
    args = ap.parse_args()
    width, height = map(int, args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_data_"))
    try:
        t = time.perf_counter()
        src_bytes = make_source(tmp / "src", args.n, width, height, args.format)
        print(
            f"source: {args.n} {args.format} images {width}x{height}, {src_bytes / 1e6:.0f} MB "
            f"(built in {time.perf_counter() - t:.1f} s)"
        )
        for workers in (1, 2):
            out = tmp / f"out{workers}"
            t = time.perf_counter()
            report = run_conversion(
                Coco(), tmp / "src", out, workers=workers, shard_bytes=int(args.shard_mb * 1e6), quiet=True
            )
            dt = time.perf_counter() - t
            assert report.converted == args.n and not report.failed
            print(f"convert  workers={workers}: {args.n / dt:8.1f} images/s ({dt:.1f} s)")
        out = tmp / "out2"
        n_shards = len(list((out / "coco" / "shards").glob("*.tar")))
        loader = torch.utils.data.DataLoader(StreamingDataset(out, seed=0), batch_size=None, num_workers=2)
        t = time.perf_counter()
        seen = sum(1 for _ in loader)
        dt = time.perf_counter() - t
        print(f"stream   workers=2 ({n_shards} shards, JPEG decode): {seen / dt:8.1f} samples/s ({dt:.1f} s)")
        index = IndexedDataset(out)
        keys = random.Random(0).sample(index.keys, min(500, len(index)))
        t = time.perf_counter()
        for key in keys:
            index.get(key)
        dt = time.perf_counter() - t
        print(f"random access (index, 1 process, decode):       {len(keys) / dt:8.1f} samples/s")
        print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
