"""Camera geometry shared by the converters (numpy, OpenCV convention, metres).

The one subtle rule is the root fix: SMPL-family models rotate about their rest-pose pelvis
``J0(betas)``, not the origin, so moving a body from the world to the camera frame changes the
translation by more than ``R @ transl + t``.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


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
    """Pinhole projection of camera-frame points to pixels. (..., 3) -> (..., 2)"""
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


def world_to_camera(global_orient: np.ndarray, transl: np.ndarray, pelvis_rest: np.ndarray,
                    R_wc: np.ndarray, t_wc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
