"""Speed and accuracy of the open keypoint-fitting pipeline (``hmr.fit``) on this CPU.

Speed: every photo in ``examples/`` is run ``--repeat`` times; keypoint detection and fitting
are timed separately and divided by the number of people found, and the medians over all runs
are reported (wall clock, and process CPU time, which does not count waiting for a busy CPU).
Accuracy: the reprojection error of the fitted keypoints on those photos (% of the person's box
height), and on synthetic ground truth (``hmr.fit.synthetic``): PA-MPJPE of the body joints and
relative depth error of people 3-5 m away.

Usage: ``python benchmarks/bench_fit.py [--repeat 3] [--people 16] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hmr.camera import intrinsics_from_fov
from hmr.fit import FitPipeline
from hmr.fit.fitter import Fitter
from hmr.fit.observations import build_observations
from hmr.fit.synthetic import EVAL_BONES, pa_mpjpe, sample_people

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def bench_photos(pipeline: FitPipeline, repeat: int) -> dict:
    samples: dict[str, list[float]] = {k: [] for k in ("keypoints_wall", "keypoints_cpu", "fit_wall", "fit_cpu")}
    errors, per_photo = [], {}
    for path in sorted(EXAMPLES.glob("*.jpg")):
        image = np.asarray(Image.open(path).convert("RGB"))
        K = intrinsics_from_fov(image.shape[1], image.shape[0], 60.0)
        pipeline.predict(image, K)  # warm-up: graph start, caches
        for _ in range(repeat):
            people, kp_wall, kp_cpu = _timed(pipeline.detect, image)
            result, fit_wall, fit_cpu = _timed(pipeline.fit_people, people, K, image.shape[1::-1])
            if not people:
                continue
            n = len(people)
            for key, value in (
                ("keypoints_wall", kp_wall),
                ("keypoints_cpu", kp_cpu),
                ("fit_wall", fit_wall),
                ("fit_cpu", fit_cpu),
            ):
                samples[key].extend([value / n] * n)
        photo_errors = pipeline.reprojection_errors(result, people)
        errors.extend(photo_errors.tolist())
        per_photo[path.name] = {
            "people": len(people),
            "reprojection_error_pct": np.round(100 * photo_errors, 2).tolist(),
        }
    median = {k: statistics.median(v) for k, v in samples.items()}
    median["total_wall"] = median["keypoints_wall"] + median["fit_wall"]
    median["total_cpu"] = median["keypoints_cpu"] + median["fit_cpu"]
    return {
        "seconds_per_person_median": median,
        "photos": per_photo,
        "reprojection_error_pct": {"mean": 100 * float(np.mean(errors)), "max": 100 * float(np.max(errors))},
    }


def bench_synthetic(pipeline: FitPipeline, people: int, seed: int = 0) -> dict:
    fit_body, mapping = pipeline.fit_body, pipeline.mapping
    synthetic = sample_people(fit_body, mapping, people, seed=seed)
    obs = build_observations(synthetic.people, mapping, synthetic.K)
    state, wall, cpu = _timed(
        Fitter(fit_body, mapping, pipeline.fitter.settings).fit, obs, synthetic.K, fit_body.init_variables(people)
    )
    with torch.no_grad():
        keypoints = fit_body.keypoints(state.variables, hands=False) @ state.rotmat.transpose(1, 2)
        keypoints = keypoints + state.transl[:, None]
    joints = keypoints[:, [fit_body.keypoint_names.index(n) for n in EVAL_BONES]].numpy()
    error_mm = 1000 * pa_mpjpe(joints, synthetic.joints_cam)
    hips = [EVAL_BONES.index("upperleg01.L"), EVAL_BONES.index("upperleg01.R")]
    depth, true_depth = joints[:, hips].mean(1)[:, 2], synthetic.joints_cam[:, hips].mean(1)[:, 2]
    depth_pct = 100 * np.abs(depth - true_depth) / true_depth
    return {
        "people": people,
        "pa_mpjpe_mm": {"mean": float(error_mm.mean()), "max": float(error_mm.max())},
        "depth_error_pct": {"mean": float(depth_pct.mean()), "max": float(depth_pct.max())},
        "fit_seconds_per_person": {"wall": wall / people, "cpu": cpu / people},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per photo")
    parser.add_argument("--people", type=int, default=16, help="synthetic people")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    pipeline = FitPipeline("anny")
    report = {
        "torch_threads": torch.get_num_threads(),
        "photos": bench_photos(pipeline, args.repeat),
        "synthetic": bench_synthetic(pipeline, args.people),
    }
    speed = report["photos"]["seconds_per_person_median"]
    print("seconds per person (median)   wall    cpu")
    for phase in ("keypoints", "fit", "total"):
        print(f"  {phase:<26} {speed[phase + '_wall']:6.3f} {speed[phase + '_cpu']:6.3f}")
    for name, info in report["photos"]["photos"].items():
        print(f"  {name:<26} {info['people']} people, reprojection error % {info['reprojection_error_pct']}")
    syn = report["synthetic"]
    print(
        f"synthetic ({syn['people']} people, 3-5 m): PA-MPJPE {syn['pa_mpjpe_mm']['mean']:.1f} mm "
        f"(max {syn['pa_mpjpe_mm']['max']:.1f}), depth error {syn['depth_error_pct']['mean']:.1f}% "
        f"(max {syn['depth_error_pct']['max']:.1f}%)"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
