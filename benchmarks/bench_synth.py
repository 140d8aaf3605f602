"""Synthetic people: generation speed, and how real they look to a real person detector.

``speed``: images per second of ``hmr-data synth`` at 640 x 480 with 1-4 people, with 1 worker
(the baseline) and with ``--workers`` (default: every core), median of ``--runs`` runs, each into
a fresh folder so nothing is resumed.

``realism``: the open default pipeline's detector (``hmr predict`` without a checkpoint runs the
same :class:`hmr.fit.FitPipeline`) on a generated set (default: the ``bench-v1`` preset). A
labelled person counts as found when a detection's body keypoints lie on theirs (median distance
under ``--match`` of the person's box height), detections and people paired one to one
(Hungarian, over every labelled person, so that a detection of a half-hidden person is not
credited to its neighbour). Reported: recall over people whose visible fraction is at least
``--min-visible`` (0.6), recall by role, false detections, and the median distance between the
detected and labelled visible body keypoints as a share of box height (labels and pixels agree
when it is small).

Usage::

    python benchmarks/bench_synth.py speed [--images 40] [--runs 3] [--workers 2]
    python benchmarks/bench_synth.py realism [--set DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from hmr.data.keypoint_formats import COCO133


def _pairs() -> tuple[np.ndarray, np.ndarray]:
    """(BlazePose landmark index, COCO-WholeBody slot) of every body point both have."""
    from hmr.fit.keypoints import BLAZEPOSE_NAMES
    from hmr.fit.mapping import BODY_CORRESPONDENCES

    slot_of = {"left_toes": "left_big_toe", "right_toes": "right_big_toe"}
    src, dst = [], []
    for neutral, (landmark, _, _) in BODY_CORRESPONDENCES.items():
        src.append(BLAZEPOSE_NAMES.index(landmark))
        dst.append(COCO133.index(slot_of.get(neutral, neutral)))
    return np.asarray(src), np.asarray(dst)


def speed(images: int, runs: int, workers: int) -> dict:
    from data_tools.synth import run_synth
    from hmr.synth.generate import SynthConfig
    from hmr.synth.presets import default_preset

    preset = default_preset(images, seed=7, config=SynthConfig(people=(1, 4)), images_per_shard=images)
    result = {}
    for n in sorted({1, workers}):
        rates = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                report = run_synth(out, preset, workers=n, quiet=True)
                rates.append(report.generated / (time.perf_counter() - start))
        result[f"workers_{n}"] = {"images_per_s": statistics.median(rates), "runs": rates}
        print(f"workers={n}: {statistics.median(rates):.2f} images/s (median of {runs}: {np.round(rates, 2)})")
    if workers > 1:
        ratio = result[f"workers_{workers}"]["images_per_s"] / result["workers_1"]["images_per_s"]
        result["speedup"] = ratio
        print(f"speed-up of {workers} workers over 1: {ratio:.2f}x")
    return result


def realism(set_dir: Path, min_visible: float, match: float, images: int | None = None, **detector_kw) -> dict:
    from hmr.data.reader import IndexedDataset
    from hmr.fit import FitPipeline

    src, dst = _pairs()
    pipeline = FitPipeline("anny", **detector_kw)
    data = IndexedDataset(set_dir)
    found = {"whole": [0, 0], "border": [0, 0], "all": [0, 0]}
    false_detections, errors, seconds, people = 0, [], [], []
    for i in range(min(len(data), images or len(data))):
        sample = data[i]
        start = time.perf_counter()
        detections = pipeline.detect(sample["image"])
        seconds.append(time.perf_counter() - start)
        persons = sample["persons"]
        cost = np.full((len(persons), len(detections)), np.inf)
        for p, person in enumerate(persons):
            visible = person.kp2d[dst, 2] == 2
            height = max(float(person.bbox_xyxy[3] - person.bbox_xyxy[1]), 1.0)
            if visible.sum() < 3:
                continue
            for d, det in enumerate(detections):
                dist = np.linalg.norm(det.keypoints_px[src[visible]] - person.kp2d[dst[visible], :2], axis=1)
                cost[p, d] = np.median(dist) / height
        rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
        matched = {r: c for r, c in zip(rows, cols, strict=True) if cost[r, c] < match}
        false_detections += len(detections) - len(matched)
        for p, person in enumerate(persons):
            if not person.visible_fraction >= min_visible:
                continue
            inside = (person.bbox_xyxy[0] >= 0) & (person.bbox_xyxy[1] >= 0)
            inside &= (person.bbox_xyxy[2] <= sample["img_w"]) & (person.bbox_xyxy[3] <= sample["img_h"])
            role = "whole" if inside else "border"  # cut by the image border when its amodal box leaves it
            hit = p in matched
            people.append(_describe(person, sample, i, role, hit))
            for key in (role, "all"):
                found[key][0] += int(hit)
                found[key][1] += 1
            if hit:
                det = detections[matched[p]]
                visible = person.kp2d[dst, 2] == 2
                height = max(float(person.bbox_xyxy[3] - person.bbox_xyxy[1]), 1.0)
                dist = np.linalg.norm(det.keypoints_px[src[visible]] - person.kp2d[dst[visible], :2], axis=1)
                errors.extend((dist / height).tolist())
    result = {
        "images": min(len(data), images or len(data)),
        "recall": found["all"][0] / max(found["all"][1], 1),
        "people": found["all"][1],
        "recall_by_role": {k: v[0] / max(v[1], 1) for k, v in found.items() if k != "all"},
        "people_by_role": {k: v[1] for k, v in found.items() if k != "all"},
        "false_detections": false_detections,
        "median_keypoint_error_box_share": float(np.median(errors)) if errors else float("nan"),
        "median_detect_s": statistics.median(seconds),
    }
    print(json.dumps(result, indent=1))
    result["people_found"] = people  # per person, for looking at what is missed (--json)
    return result


def _describe(person, sample: dict, image: int, role: str, found: bool) -> dict:
    """What may explain a miss: size, visibility, pose, and whether the person faces the camera."""
    from hmr.camera import rotvec_to_matrix

    forward_cam = rotvec_to_matrix(person.params["global_orient"].astype(np.float64)) @ np.array([0.0, 0.0, 1.0])
    to_camera = -person.params["transl"].astype(np.float64)
    cos_facing = float(forward_cam @ to_camera / max(np.linalg.norm(to_camera), 1e-9))
    return {
        "image": image,
        "found": found,
        "role": role,
        "box_height_share": float(person.bbox_xyxy[3] - person.bbox_xyxy[1]) / sample["img_h"],
        "visible_fraction": float(person.visible_fraction),
        "pose": person.pgt_version,
        "cos_facing_camera": cos_facing,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--images", type=int, default=40)
    s.add_argument("--runs", type=int, default=3)
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    r = sub.add_parser("realism")
    r.add_argument("--set", type=Path, help="a generated set (default: generate bench-v1 into a temp folder)")
    r.add_argument("--min-visible", type=float, default=0.6)
    r.add_argument("--match", type=float, default=0.15)
    r.add_argument("--images", type=int, help="only the first N images of the set")
    r.add_argument("--score-threshold", type=float, default=0.4, help="person detector threshold (hmr's default)")
    r.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    for p in (s, r):
        p.add_argument("--json", type=Path, help="also write the numbers here")
    a = ap.parse_args(argv)
    if a.what == "speed":
        result = speed(a.images, a.runs, a.workers)
    else:
        set_dir = a.set
        if set_dir is None:
            from data_tools.synth import run_synth
            from hmr.synth.presets import BENCH_V1

            set_dir = Path(tempfile.mkdtemp(prefix="bench-v1-"))
            run_synth(set_dir, BENCH_V1, workers=a.workers)
        result = realism(set_dir, a.min_visible, a.match, a.images, score_threshold=a.score_threshold)
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
