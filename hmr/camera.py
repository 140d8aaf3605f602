"""Camera geometry in numpy (OpenCV convention: x right, y down, z forward; metres and pixels).

The one numpy home for intrinsics, pinhole projection and axis-angle conversions, used by the
ONNX path (which must not import torch), the converters and the renderers; the torch
counterparts live in :mod:`hmr.geometry`.

The one subtle rule is the root fix: SMPL-family models rotate about their rest-pose pelvis
``J0(betas)``, not the origin, so moving a body from the world to the camera frame changes the
translation by more than ``R @ transl + t``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from hmr.errors import HmrError


def intrinsics_from_fov(width: int, height: int, fov_deg: float = 60.0) -> np.ndarray:
    """Pinhole K with ``fov_deg`` across the longer image side, principal point at the centre."""
    focal = max(width, height) / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]], np.float64)


def check_intrinsics(K: Any) -> np.ndarray:
    """A user's K as float64 ``(3, 3)``: finite, last row ``[0, 0, 1]``, positive focal lengths."""
    K = np.asarray(K, np.float64)
    if (
        K.shape != (3, 3)
        or not np.isfinite(K).all()
        or not np.allclose(K[2], (0, 0, 1))
        or K[0, 0] <= 0
        or K[1, 1] <= 0
    ):
        raise HmrError(
            "intrinsics K must be a finite (3, 3) pinhole matrix [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with "
            f"positive focal lengths, got {K.tolist()}"
        )
    return K


def scale_K(K: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Intrinsics after resizing the image by (sx, sy). (3, 3)

    Pixel centres sit at integer coordinates, so a resize maps ``x -> sx * (x + 0.5) - 0.5``;
    :func:`scale_points` applies the same map to 2D keypoints so they stay consistent with K.
    """
    K = np.asarray(K, np.float64)
    A = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
    return A @ K


def scale_points(xy: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """2D pixel coordinates after resizing by (sx, sy); extra columns (confidence) pass. (..., 2+)"""
    out = np.array(xy, np.float64, copy=True)
    out[..., 0] = sx * (out[..., 0] + 0.5) - 0.5
    out[..., 1] = sy * (out[..., 1] + 0.5) - 0.5
    return out


def project(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points to pixels, float64. (..., 3) -> (..., 2)

    Depths are held at 1e-9 m or more only so that a point on the camera plane does not divide by
    zero; an optimiser that needs a softer clamp has its own (:func:`hmr.fit.fitter.project`).
    """
    p = np.asarray(points_cam, np.float64) @ np.asarray(K, np.float64).T
    return p[..., :2] / np.clip(p[..., 2:3], 1e-9, None)


def rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """(..., 3) -> (..., 3, 3)"""
    rv = np.asarray(rotvec, np.float64)
    return Rotation.from_rotvec(rv.reshape(-1, 3)).as_matrix().reshape(*rv.shape[:-1], 3, 3)


def matrix_to_rotvec(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 3)"""
    R = np.asarray(R, np.float64)
    return Rotation.from_matrix(R.reshape(-1, 3, 3)).as_rotvec().reshape(*R.shape[:-2], 3)


def world_to_camera(
    global_orient: np.ndarray, transl: np.ndarray, pelvis_rest: np.ndarray, R_wc: np.ndarray, t_wc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move a body from the world to the camera frame, ``x_cam = R_wc @ x_world + t_wc``.

    global_orient, transl, pelvis_rest: (..., 3); R_wc: (..., 3, 3); t_wc: (..., 3).
    Returns (global_orient_cam, transl_cam), both (..., 3), such that posing the model with
    them gives exactly the world vertices mapped into the camera.
    """
    R_wc = np.asarray(R_wc, np.float64)
    go_cam = matrix_to_rotvec(R_wc @ rotvec_to_matrix(global_orient))
    j0 = np.asarray(pelvis_rest, np.float64)
    moved = np.einsum("...ij,...j->...i", R_wc, np.asarray(transl, np.float64) + j0)
    return go_cam, moved + np.asarray(t_wc, np.float64) - j0


def bbox_from_points(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Box around the points, clipped to the image, as xyxy. (N, 2+) -> (4,)

    Returns an empty array when the box falls outside the image.
    """
    xy = np.asarray(xy, np.float64)[:, :2]
    xy = xy[np.isfinite(xy).all(1)]
    if not len(xy):
        return np.zeros(0, np.float32)
    lo = np.maximum(xy.min(0), 0.0)
    hi = np.minimum(xy.max(0), [width - 1.0, height - 1.0])
    if (hi <= lo).any():
        return np.zeros(0, np.float32)
    return np.array([lo[0], lo[1], hi[0], hi[1]], np.float32)
