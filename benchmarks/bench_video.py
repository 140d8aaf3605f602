"""Video pipeline throughput: the whole ``hmr video`` pipeline vs. the network alone on the same frames.

The overhead of everything that is not the network (decode, track, smooth, write the
``_tracks.npz``; no overlay) must stay under 15 % of the network's own time. Weights are random
(speed does not depend on them) and the body model is Anny, so this runs anywhere::

    .venv/bin/python benchmarks/bench_video.py                      # vits14-448, 32 frames 640x360
    .venv/bin/python benchmarks/bench_video.py --config vitl14-896 --device cuda --frames 256
    .venv/bin/python benchmarks/bench_video.py --video my_clip.mp4 --render

Recorded (2-core CPU shared with other jobs, torch 2.14.1, float32, batch 4, 24 synthetic frames
640x360, threshold set for ~4 persons/frame, best of 2)::

    vits14-448  network alone 0.45 frames/s | pipeline --no-render 0.45 frames/s | overhead +0.3 %
                stages, ms/frame: network 2225 | decode 4.1 | track 0.5 | smooth 3.3 | record 0.9 (0.4 %)

End-to-end timings on a loaded machine wander by +-20 %; the per-stage line is the stable measure.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from hmr.infer.predictor import Predictor
from hmr.nn import build_network, get_config
from hmr.video.decode import VideoReader
from hmr.video.pipeline import VideoOptions, VideoPipeline
from hmr.video.smoothing import DEFAULT_STRENGTH, TrackSmoother
from hmr.video.tracking import Tracker
from hmr.video.tracks_io import TrackRecorder


def synthetic_video(path: Path, frames: int, width: int, height: int, fps: int = 30) -> Path:
    """Three bright squares walking over a textured background, H.264."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 120, (height, width, 3), dtype=np.uint8)
    side = height // 5
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(frames):
            image = background.copy()
            for k in range(3):
                x = int((0.1 + 0.3 * k) * width + 3 * i * (-1) ** k) % (width - side)
                y = int((0.3 + 0.2 * k) * height) % (height - side)
                image[y : y + side, x : x + side] = (220, 180 - 40 * k, 90 + 60 * k)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def calibrate_threshold(predictor: Predictor, frames: list[np.ndarray], persons_per_frame: float) -> float:
    """The detection threshold at which ``frames`` hold about ``persons_per_frame`` persons each."""
    scores = sorted((p.score for r in predictor.predict(frames, det_thresh=0.0) for p in r.persons), reverse=True)
    return float(scores[min(len(scores), max(1, round(persons_per_frame * len(frames)))) - 1])


def stage_times(video: Path, decoded: list, results: list, param_kinds: dict, tmp: Path) -> dict[str, float]:
    """Seconds spent in each non-network stage on the network's own results: the overhead, free of the
    noise that other load puts on end-to-end timings."""
    started = time.perf_counter()
    with VideoReader(video) as reader:
        for _ in reader:
            pass
    seconds = {"decode": time.perf_counter() - started, "track": 0.0, "smooth": 0.0, "record": 0.0}
    tracker, smoother = Tracker(), TrackSmoother(DEFAULT_STRENGTH, param_kinds)
    with TrackRecorder(tmp) as recorder:
        for frame, result in zip(decoded, results):
            t0 = time.perf_counter()
            result = replace(result, persons=tracker.update(result.persons, frame.time_s))
            t1 = time.perf_counter()
            result = smoother.update(result, frame.time_s)
            t2 = time.perf_counter()
            recorder.add_frame(frame.index, frame.time_s, result)
            t3 = time.perf_counter()
            seconds["track"] += t1 - t0
            seconds["smooth"] += t2 - t1
            seconds["record"] += t3 - t2
        started = time.perf_counter()
        recorder.write(tmp / "stages_tracks.npz", {})
        seconds["record"] += time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="vits14-448", help="network config (random weights)")
    parser.add_argument("--video", help="a video to use instead of the synthetic one")
    parser.add_argument("--frames", type=int, default=32, help="synthetic video length")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs of each, interleaved; the fastest counts (other load on the machine only slows)",
    )
    parser.add_argument("--size", default="640x360", help="synthetic video WxH")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument(
        "--persons",
        type=float,
        default=3.0,
        help="random weights detect almost anything: the score threshold is set so that about "
        "this many persons are found per frame",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--render", action="store_true", help="also time the pipeline with the overlay video")
    args = parser.parse_args()

    torch.manual_seed(0)
    network = build_network(get_config(args.config, body_model="anny"))
    predictor = Predictor(checkpoint=network, device=args.device, batch_size=args.batch_size)
    kinds = {name: spec.kind for name, spec in predictor.param_specs.items()}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.video:
            video = Path(args.video)
        else:
            width, height = (int(v) for v in args.size.split("x"))
            video = synthetic_video(tmp / "bench.mp4", args.frames, width, height)
        with VideoReader(video) as reader:
            decoded = list(reader)
        frames = [frame.image for frame in decoded]
        det_thresh = calibrate_threshold(predictor, frames[: args.batch_size], args.persons)  # also the warm-up

        def predict_batch(batch, K):
            return predictor.predict(batch, K=K, det_thresh=det_thresh)

        results: list = []

        def network_alone() -> None:
            results.clear()
            for start in range(0, len(frames), args.batch_size):
                results.extend(predict_batch(frames[start : start + args.batch_size], None))

        def pipeline(render) -> callable:
            options = VideoOptions(batch_size=args.batch_size, progress=False, overwrite=True)
            video_pipeline = VideoPipeline(predict_batch, options, render, kinds)
            return lambda: video_pipeline.run([video], tmp / "out")

        runs = {"network alone": network_alone, "pipeline --no-render": pipeline(None)}
        if args.render:
            runs["pipeline with overlay"] = pipeline(lambda image, result: result.render_overlay(image))
        timings = {name: np.inf for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                timings[name] = min(timings[name], time.perf_counter() - started)
        with np.load(tmp / "out" / f"{video.stem}_tracks.npz") as tracks:
            persons = len(tracks["track_id"])
        stages = stage_times(video, decoded, results, kinds, tmp)

    n = len(frames)
    network_s = timings.pop("network alone")
    print(
        f"{args.config} on {args.device}, {n} frames {frames[0].shape[1]}x{frames[0].shape[0]}, "
        f"batch {args.batch_size}, {persons / n:.1f} persons/frame (det-thresh {det_thresh:.4f}), "
        f"best of {args.repeats}"
    )
    print(f"  network alone          {n / network_s:7.2f} frames/s")
    for name, seconds in timings.items():
        print(f"  {name:22s} {n / seconds:7.2f} frames/s   overhead {100 * (seconds / network_s - 1):+.1f} %")
    print(
        f"  stages alone, ms/frame: network {1000 * network_s / n:.1f} | "
        + " | ".join(f"{name} {1000 * seconds / n:.2f}" for name, seconds in stages.items())
        + f" | sum of non-network stages = {100 * sum(stages.values()) / network_s:.1f} % of network time"
    )


if __name__ == "__main__":
    main()
