"""Person detection on the token grid: score map, max-pool NMS peaks, sub-patch offsets."""

from __future__ import annotations

import torch
import torch.nn.functional as F

SCORE_EPS = 1e-4


def mlp(dim: int, out_dim: int) -> torch.nn.Sequential:
    """``Linear(D, D) - ReLU - Linear(D, out)``, the layout of the released detection heads."""
    return torch.nn.Sequential(torch.nn.Linear(dim, dim), torch.nn.ReLU(), torch.nn.Linear(dim, out_dim))


def score_map_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Sigmoid clamped to ``[1e-4, 1 - 1e-4]`` (as the reference, so scores match to the last bit)."""
    return logits.sigmoid().clamp(SCORE_EPS, 1 - SCORE_EPS)


def nms_score_map(score_map: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """Keep a cell only where it equals the max of its ``kernel x kernel`` neighbourhood. ``(B, h, w)``."""
    if kernel <= 1:
        return score_map
    pooled = F.max_pool2d(score_map[:, None], kernel, stride=1, padding=kernel // 2)[:, 0]
    return score_map * (score_map == pooled)


def find_peaks(score_map: torch.Tensor, det_thresh: float, kernel: int = 3) -> torch.Tensor:
    """Detected cells, ``(N, 3)`` rows of ``(batch, row, col)`` in row-major order per image."""
    peaks = nms_score_map(score_map, kernel)
    return torch.nonzero(peaks >= det_thresh)
