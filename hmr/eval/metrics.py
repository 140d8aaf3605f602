"""Per-person accuracy metrics on matched (prediction, ground truth) pairs, numpy only.

All inputs are in metres (3D) or pixels (2D) and one person at a time, so every metric is a
plain function a reader can check by hand; :mod:`hmr.eval.evaluation` averages them. Conventions
are the field's: MPJPE after aligning both skeletons at a root point; PA-MPJPE after the
similarity transform (rotation, translation and scale) that best maps the prediction onto the
ground truth (Umeyama's closed form); PVE the same on vertices of a shared topology.
"""

from __future__ import annotations

import numpy as np


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Euclidean distance between corresponding rows of ``a`` and ``b`` (N, D)."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=-1).mean())


def similarity_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``pred`` (N, 3) moved by the scale, rotation and translation that best fit it onto ``gt``.

    Umeyama (1991): the rotation from the SVD of the cross-covariance, with the reflection
    removed; the scale is the trace of the singular values over the prediction's variance.
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    mu_p, mu_g = pred.mean(0), gt.mean(0)
    p, g = pred - mu_p, gt - mu_g
    variance = float((p**2).sum())
    if variance < 1e-18:
        return np.broadcast_to(mu_g, pred.shape).copy()
    u, s, vt = np.linalg.svd(g.T @ p)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = u @ np.diag(d) @ vt
    scale = float((s * d).sum()) / variance
    return scale * p @ rotation.T + mu_g


def mpjpe_mm(pred: np.ndarray, gt: np.ndarray, pred_root: np.ndarray, gt_root: np.ndarray) -> float:
    """Mean per-joint error (mm) after moving each skeleton's root point to the origin."""
    return 1000.0 * mean_distance(np.asarray(pred) - pred_root, np.asarray(gt) - gt_root)


def pa_mpjpe_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint error (mm) after the similarity alignment (Procrustes with scale)."""
    return 1000.0 * mean_distance(similarity_align(pred, gt), gt)


def root_depth_error(pred_root: np.ndarray, gt_root: np.ndarray) -> tuple[float, float]:
    """(|z_pred - z_gt| in mm, the same as a share of the true depth) of the root point in the camera."""
    error = abs(float(pred_root[2]) - float(gt_root[2]))
    return 1000.0 * error, error / max(abs(float(gt_root[2])), 1e-9)


def reprojection_px(pred_2d: np.ndarray, gt_2d: np.ndarray) -> float:
    """Mean 2D distance (pixels) of the projected joints."""
    return mean_distance(pred_2d, gt_2d)
