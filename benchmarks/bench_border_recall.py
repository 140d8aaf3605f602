"""Recall of the open keypoint pipeline on people cut by the image border.

Ground truth comes from the detector on the uncropped photos in ``examples/``, with its border
search off (people there are whole or cut by the photographer, and the face-seeded detector is the
reference that sees them): each person's BlazePose keypoints. Every photo is then cropped so that one chosen person has
``--fractions`` (default 30, 45 and 60 %) of their keypoint box outside the frame, on each side
(left, right, top, bottom). A person counts as found when a detection's keypoints lie on that
person's visible ground-truth keypoints (median distance under ``--match`` of the person's size,
left and right allowed to swap: a body cut in half is easily seen mirrored). Required are the cut
person and every other person with at least half of their box inside the crop; a detection that
matches nobody in the crop (nor a person already matched) is a false person. With ``--fit`` the
detections are fitted too and the vertices checked to be finite.

Both the shipped detector (border search on) and the face-seeded detector alone run on every crop, so
the gain is measured against a baseline in the same run.

Usage: ``python benchmarks/bench_border_recall.py [--fractions 0.3 0.45 0.6] [--fit] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PHOTOS = ("lab_three_people.jpg", "lab_two_people.jpg", "outdoor_jump.jpg", "astronaut.jpg", "cameraman.jpg")
SIDES = ("left", "right", "top", "bottom")


def mirror_index() -> np.ndarray:
    """(33,) BlazePose landmark index of each landmark's left/right counterpart."""
    from hmr.fit.keypoints import BLAZEPOSE_NAMES

    names = list(BLAZEPOSE_NAMES)
    swap = {"left": "right", "right": "left"}
    out = []
    for name in names:
        side, _, rest = name.partition("_")
        out.append(names.index(f"{swap[side]}_{rest}") if side in swap else names.index(name))
    return np.array(out)


@dataclass
class Truth:
    """One person of an uncropped photo."""

    keypoints_px: np.ndarray  # (33, 2)
    confident: np.ndarray  # (33,) bool

    @property
    def box(self) -> np.ndarray:
        pts = self.keypoints_px[self.confident]
        return np.concatenate([pts.min(0), pts.max(0)])


def crop_for(box: np.ndarray, side: str, fraction: float, width: int, height: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of a crop that leaves ``fraction`` of ``box`` outside on ``side``."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    crop = [0, 0, width, height]
    if side == "left":
        crop[0] = round(x0 + fraction * w)
    elif side == "right":
        crop[2] = round(x1 - fraction * w)
    elif side == "top":
        crop[1] = round(y0 + fraction * h)
    else:
        crop[3] = round(y1 - fraction * h)
    return tuple(int(c) for c in crop)


def visible_fraction(box: np.ndarray, crop: tuple[int, int, int, int]) -> float:
    """Share of ``box``'s area inside ``crop`` (a degenerate box counts by its extent)."""
    w = max(box[2] - box[0], 1.0)
    h = max(box[3] - box[1], 1.0)
    iw = max(0.0, min(box[2], crop[2]) - max(box[0], crop[0]))
    ih = max(0.0, min(box[3], crop[3]) - max(box[1], crop[1]))
    return float(min(iw / w, 1.0) * min(ih / h, 1.0))


def match_cost(det_px: np.ndarray, truth: Truth, crop: tuple[int, int, int, int], mirror: np.ndarray) -> float:
    """Median distance from a detection's keypoints to the truth's visible ones, in person sizes
    (inf when fewer than 3 of the truth's confident keypoints are inside the crop)."""
    offset = np.array(crop[:2], np.float64)
    pts = truth.keypoints_px - offset
    w, h = crop[2] - crop[0], crop[3] - crop[1]
    inside = truth.confident & (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    if inside.sum() < 3:
        return float("inf")
    box = truth.box
    size = max(box[2] - box[0], box[3] - box[1], 1.0)
    costs = [
        np.median(np.linalg.norm(det_px[perm][inside] - pts[inside], axis=1)) / size for perm in (np.arange(33), mirror)
    ]
    return float(min(costs))


def evaluate(
    detections: list[np.ndarray],
    truths: list[Truth],
    crop: tuple[int, int, int, int],
    mirror: np.ndarray,
    max_cost: float,
) -> dict[int, int]:
    """Greedy detection -> truth assignment: ``{detection index: truth index}``."""
    pairs = sorted(
        (match_cost(d, t, crop, mirror), i, j) for i, d in enumerate(detections) for j, t in enumerate(truths)
    )
    out: dict[int, int] = {}
    for cost, i, j in pairs:
        if cost <= max_cost and i not in out and j not in out.values():
            out[i] = j
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.3, 0.45, 0.6])
    parser.add_argument("--match", type=float, default=0.15, help="max median keypoint distance, person sizes")
    parser.add_argument("--fit", action="store_true", help="also fit the bodies and check they are finite")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from hmr.camera import intrinsics_from_fov
    from hmr.fit import FitPipeline
    from hmr.fit.keypoints import KeypointDetector

    pipeline = FitPipeline("anny")  # the shipped detector: border search on
    variants = {"border search": pipeline.detect, "detector only": KeypointDetector(border_search=False).detect}
    mirror = mirror_index()
    rows, uncropped = [], {}
    for name in PHOTOS:
        image = np.asarray(Image.open(EXAMPLES / name).convert("RGB"))
        height, width = image.shape[:2]
        truths = [Truth(p.keypoints_px, p.confidence >= 0.5) for p in variants["detector only"](image)]
        uncropped[name] = {v: len(detect(image)) for v, detect in variants.items()}
        for target, truth in enumerate(truths):
            for side in SIDES:
                for fraction in args.fractions:
                    crop = crop_for(truth.box, side, fraction, width, height)
                    if crop[2] - crop[0] < 64 or crop[3] - crop[1] < 64:
                        continue
                    view = np.ascontiguousarray(image[crop[1] : crop[3], crop[0] : crop[2]])
                    visible = [visible_fraction(t.box, crop) for t in truths]
                    others = [j for j, v in enumerate(visible) if j != target and v >= 0.5]
                    row = {"photo": name, "person": target, "side": side, "outside": 1.0 - visible[target]}
                    for variant, detect in variants.items():
                        started = time.perf_counter()
                        people = detect(view)
                        seconds = time.perf_counter() - started
                        matched = evaluate([p.keypoints_px for p in people], truths, crop, mirror, args.match)
                        found = set(matched.values())
                        row[variant] = {
                            "found": target in found,
                            "others_found": sum(j in found for j in others),
                            "false": len(people) - len(matched),
                            "seconds": seconds,
                        }
                    row["others"] = len(others)
                    if args.fit:
                        people = pipeline.detect(view)
                        K = intrinsics_from_fov(view.shape[1], view.shape[0], 60.0)
                        result = pipeline.fit_people(people, K, view.shape[1::-1]) if people else None
                        row["finite"] = result is None or all(
                            np.isfinite(p.vertices).all() and np.isfinite(p.transl).all() for p in result.persons
                        )
                    rows.append(row)
                    new, old = row["border search"], row["detector only"]
                    print(
                        f"{name:22s} p{target} {side:6s} {100 * row['outside']:3.0f}% out  found "
                        f"{'yes' if new['found'] else 'NO '} (detector only {'yes' if old['found'] else 'no'})  "
                        f"false {new['false']} ({old['false']})",
                        flush=True,
                    )
    summary = {variant: summarise(rows, variant) for variant in variants}
    print(
        "\n| variant | cut people found | recall | other people (>= 50 % inside) found | false people | "
        "median s / crop |"
    )
    print("|---|---|---|---|---|---|")
    for variant, v in summary.items():
        print(
            f"| {variant} | {v['found']}/{v['crops']} | {100 * v['recall']:.1f} % | {v['others_found']}/{v['others']} "
            f"| {v['false']} (in {v['false_crops']} crops) | {v['median_s']:.2f} |"
        )
    print("\nrecall by side (border search / detector only):")
    for side in SIDES:
        side_rows = [r for r in rows if r["side"] == side]
        new = sum(r["border search"]["found"] for r in side_rows)
        old = sum(r["detector only"]["found"] for r in side_rows)
        print(f"  {side:6s} {new}/{len(side_rows)} / {old}/{len(side_rows)}")
    print("persons found on the uncropped photos:", uncropped)
    if args.fit:
        print("crops with a non-finite fitted body:", sum(not r["finite"] for r in rows))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary, "uncropped": uncropped}, indent=1))


def summarise(rows: list[dict], variant: str) -> dict:
    """Totals of one detector variant over all crops."""
    found = sum(r[variant]["found"] for r in rows)
    return {
        "crops": len(rows),
        "found": found,
        "recall": found / max(len(rows), 1),
        "others_found": sum(r[variant]["others_found"] for r in rows),
        "others": sum(r["others"] for r in rows),
        "false": sum(r[variant]["false"] for r in rows),
        "false_crops": sum(r[variant]["false"] > 0 for r in rows),
        "median_s": float(np.median([r[variant]["seconds"] for r in rows])),
    }


if __name__ == "__main__":
    main()
