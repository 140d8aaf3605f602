"""Direction helpers shared by the pose rig and motion retargeting (scipy rotations, float64)."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (a zero vector stays zero)."""
    return v / max(float(np.linalg.norm(v)), 1e-12)


def swing(a: np.ndarray, b: np.ndarray) -> Rotation:
    """The smallest rotation taking direction ``a`` onto direction ``b`` (half a turn when opposite)."""
    a, b = unit(a), unit(b)
    axis = np.cross(a, b)
    s, c = float(np.linalg.norm(axis)), float(np.dot(a, b))
    if s < 1e-9:
        if c > 0:
            return Rotation.identity()
        perpendicular = unit(np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0]))
        return Rotation.from_rotvec(math.pi * perpendicular)
    return Rotation.from_rotvec(axis / s * math.atan2(s, c))
