"""Rotation and camera helpers shared by the network, the fitter and the exporters.

Rotation-matrix -> axis-angle goes through roma's quaternion path: the direct formula divides by
sin(theta) and breaks down near pi (off by > 1e3 in float32 at pi - 3e-4).
"""
from __future__ import annotations

import roma
import torch

from hmr.camera import intrinsics_from_fov  # noqa: F401  (kept importable here with the other camera maths)


def rot6d_to_rotmat(x: torch.Tensor) -> torch.Tensor:
    """6D rotation -> matrix, Multi-HMR's convention: ``x.reshape(-1, 2, 3).transpose(1, 2)``.

    The six numbers are read as two 3-vectors that become the first two columns, then
    Gram-Schmidt. Released weights depend on this exact layout. ``(..., 6) -> (..., 3, 3)``.
    """
    cols = x.reshape(*x.shape[:-1], 2, 3).transpose(-1, -2)
    a1, a2 = cols[..., 0], cols[..., 1]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def rotmat_to_rot6d(rotmat: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rot6d_to_rotmat` for proper rotations. ``(..., 3, 3) -> (..., 6)``."""
    return rotmat[..., :2].transpose(-1, -2).reshape(*rotmat.shape[:-2], 6)


def rotmat_to_rotvec(rotmat: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3) -> (..., 3)``, stable at every angle including pi."""
    return roma.rotmat_to_rotvec(rotmat)


def rotvec_to_rotmat(rotvec: torch.Tensor) -> torch.Tensor:
    """``(..., 3) -> (..., 3, 3)``."""
    return roma.rotvec_to_rotmat(rotvec)


def project(points_cam: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pinhole projection ``K X / Z``. ``(..., N, 3)``, K ``(..., 3, 3)`` -> ``(..., N, 2)`` pixels."""
    uvw = points_cam @ K.transpose(-1, -2)
    return uvw[..., :2] / uvw[..., 2:3]
