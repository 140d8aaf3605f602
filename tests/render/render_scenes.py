"""Small scenes whose pictures can be predicted by hand: squares facing the camera, spheres."""

from __future__ import annotations

import numpy as np
import trimesh

from hmr.render.scene import DEFAULT_LIGHTING

# Deliberately unequal focal lengths and an off-centre principal point.
K_640x480 = np.array([[520.0, 0.0, 301.5], [0.0, 540.0, 252.25], [0.0, 0.0, 1.0]])


def backproject(K: np.ndarray, u: float, v: float, z: float) -> np.ndarray:
    """The camera-frame point at depth ``z`` that projects to pixel ``(u, v)``."""
    return z * np.linalg.solve(K, np.array([u, v, 1.0]))


def pixel_rect(K: np.ndarray, u0: float, v0: float, u1: float, v1: float, z: float):
    """A square facing the camera at depth ``z`` covering image coordinates [u0, u1] x [v0, v1]."""
    corners = np.stack([backproject(K, u, v, z) for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))])
    return corners, np.array([[0, 1, 2], [0, 2, 3]])


def sphere(center, radius: float, subdivisions: int = 3):
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions)
    return np.asarray(mesh.vertices) * radius + np.asarray(center, float), np.asarray(mesh.faces)


def facing_shade(color) -> np.ndarray:
    """uint8 colour of a surface whose normal points straight at the camera, drawn with alpha 1."""
    lambert = max(0.0, float(np.dot([0.0, 0.0, -1.0], np.asarray(DEFAULT_LIGHTING.to_light_cam))))
    return np.rint(np.asarray(color) * (DEFAULT_LIGHTING.ambient + DEFAULT_LIGHTING.diffuse * lambert) * 255)


def covered(out: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Pixels the render changed, ``(H, W)`` bool."""
    return (out != background).any(axis=2)
