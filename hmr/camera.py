"""Camera intrinsics in numpy only, so the ONNX path can prepare images without importing torch."""
from __future__ import annotations

import math

import numpy as np


def intrinsics_from_fov(width: int, height: int, fov_deg: float = 60.0) -> np.ndarray:
    """Pinhole K with ``fov_deg`` across the longer image side, principal point at the centre."""
    focal = max(width, height) / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]], np.float64)
