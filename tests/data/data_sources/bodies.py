"""Known bodies for the source fixtures: random but plausible poses, evaluated with smplx."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from hmr.body.dataset_bodies import POSE_SIZES, BodyBank
from hmr.camera import rotvec_to_matrix


def random_params(rng: np.random.Generator, kind: str, n: int, num_betas: int = 10) -> dict[str, np.ndarray]:
    """(n, D) parameters: small joint angles, any global orientation, a translation near the origin."""
    out = {name: rng.normal(0, 0.15, (n, size)) for name, size in POSE_SIZES[kind].items()}
    out["global_orient"] = rng.normal(0, 1.0, (n, 3))
    out["transl"] = rng.normal(0, 0.3, (n, 3))
    out["betas"] = rng.normal(0, 1.0, (n, num_betas))
    return out


def camera(rng: np.random.Generator, distance: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """A world-to-camera (R, t) looking at the origin from ``distance`` metres, y-up world."""
    yaw = rng.uniform(-np.pi, np.pi)
    R = rotvec_to_matrix(np.array([np.pi, 0, 0])) @ rotvec_to_matrix(np.array([0, yaw, 0]))
    return R, np.array([0.0, 0.0, distance])


def world_to_cam_points(points: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    return points @ R.T + t


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def png(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def posed(bank: BodyBank, kind: str, gender: str, params: dict[str, np.ndarray], flat_hand_mean: bool = True):
    return bank.forward(kind, gender, params, flat_hand_mean)
