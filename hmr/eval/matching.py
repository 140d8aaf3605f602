"""Which prediction is which person: greedy matching on 2D joint error with a box-overlap gate.

As in the AGORA / BEDLAM evaluation: every (prediction, person) pair is scored by the mean
distance of their projected joints, pairs are taken best first, and a pair is accepted only
when neither side is taken yet and the boxes around the two sets of projected joints overlap
with IoU >= ``iou_min``. A far-away extra detection therefore stays unmatched (a false
positive), and a prediction near a person's centre but with another person's limbs is matched
to whoever its joints fit. Single-person benchmarks match too, so a wrong extra detection never
silently wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def box_of_points(points_2d: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) around the finite rows of ``points_2d`` (K, 2)."""
    finite = np.isfinite(points_2d).all(1)
    if not finite.any():
        return np.full(4, np.nan)
    pts = points_2d[finite]
    return np.concatenate([pts.min(0), pts.max(0)])


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes; 0 when either is empty or unknown."""
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def match_people(
    pred_2d: np.ndarray, gt_2d: np.ndarray, gt_valid: np.ndarray | None = None, iou_min: float = 0.1
) -> list[tuple[int, int]]:
    """Pairs (prediction index, person index), best 2D fit first.

    ``pred_2d`` (P, K, 2) and ``gt_2d`` (G, K, 2): the same K joints, projected; ``gt_valid``
    (G, K) marks the joints a person's error is measured on (default: all finite ones).
    """
    pred_2d, gt_2d = np.asarray(pred_2d, np.float64), np.asarray(gt_2d, np.float64)
    if gt_valid is None:
        gt_valid = np.isfinite(gt_2d).all(-1)
    pairs = []
    for p in range(len(pred_2d)):
        box_p = box_of_points(pred_2d[p])
        for g in range(len(gt_2d)):
            valid = gt_valid[g] & np.isfinite(pred_2d[p]).all(-1)
            if not valid.any():
                continue
            if box_iou(box_p, box_of_points(gt_2d[g][gt_valid[g]])) < iou_min:
                continue
            error = float(np.linalg.norm(pred_2d[p, valid] - gt_2d[g, valid], axis=1).mean())
            pairs.append((error, p, g))
    taken_p: set[int] = set()
    taken_g: set[int] = set()
    matched = []
    for _, p, g in sorted(pairs):
        if p in taken_p or g in taken_g:
            continue
        taken_p.add(p)
        taken_g.add(g)
        matched.append((p, g))
    return matched


@dataclass
class DetectionCounts:
    """True positives (matched pairs), false positives (unmatched predictions), misses (unmatched people)."""

    matched: int = 0
    false_positives: int = 0
    missed: int = 0

    def add(self, predictions: int, people: int, matched: int) -> None:
        self.matched += matched
        self.false_positives += predictions - matched
        self.missed += people - matched

    @property
    def precision(self) -> float:
        return self.matched / max(self.matched + self.false_positives, 1)

    @property
    def recall(self) -> float:
        return self.matched / max(self.matched + self.missed, 1)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0
