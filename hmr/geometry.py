"""Rotations and camera maths in torch: the one torch home, shared by the network, the body adapters,
the fitter and the exporters (the numpy counterparts are in :mod:`hmr.camera`).

Axis-angle conversions are roma's: matrix -> axis-angle goes through its quaternion path, because the
direct formula divides by sin(theta) and breaks down near pi (off by > 1e3 in float32 at pi - 3e-4).
roma is imported on first use: it pulls in ``torch._dynamo``, seconds that ``import hmr.body`` should
not pay.
"""

from __future__ import annotations

import torch


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
    import roma

    return roma.rotmat_to_rotvec(rotmat)


def rotvec_to_rotmat(rotvec: torch.Tensor) -> torch.Tensor:
    """``(..., 3) -> (..., 3, 3)``."""
    import roma

    return roma.rotvec_to_rotmat(rotvec)


def project(points_cam: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pinhole projection ``K X / Z``. ``(..., N, 3)``, K ``(..., 3, 3)`` -> ``(..., N, 2)`` pixels."""
    uvw = points_cam @ K.transpose(-1, -2)
    return uvw[..., :2] / uvw[..., 2:3]


# -- placing a posed body in the camera (Multi-HMR's convention, shared by the decoder and the ONNX graph)


def place_bodies(
    vertices: torch.Tensor,
    joints: torch.Tensor,
    global_rotmat: torch.Tensor,
    head_cam: torch.Tensor,
    head_joint: int,
    pelvis_joint: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate a zero-global-rotation body about its pelvis, then move its head joint to ``head_cam``.

    vertices ``(N, V, 3)``, joints ``(N, K, 3)``, global_rotmat ``(N, 3, 3)``, head_cam ``(N, 3)``.
    """
    pelvis = joints[:, pelvis_joint : pelvis_joint + 1]
    rotate = global_rotmat.transpose(1, 2)
    verts_rot = (vertices - pelvis) @ rotate + pelvis
    joints_rot = (joints - pelvis) @ rotate + pelvis
    return move_head_to(verts_rot, joints_rot, head_cam, head_joint)


def move_head_to(
    vertices: torch.Tensor, joints: torch.Tensor, head_cam: torch.Tensor, head_joint: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Translate posed bodies so that joint ``head_joint`` lands on ``head_cam`` ``(N, 3)``."""
    shift = head_cam[:, None] - joints[:, head_joint : head_joint + 1]
    return vertices + shift, joints + shift


def head_position(loc_px: torch.Tensor, depth_m: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """``z K^-1 [u, v, 1]`` written out (no inverse): ``(N, 2)``, ``(N,)``, ``(N, 3, 3)`` -> ``(N, 3)``."""
    x = (loc_px[:, 0] - K[:, 0, 2]) / K[:, 0, 0] * depth_m
    y = (loc_px[:, 1] - K[:, 1, 2]) / K[:, 1, 1] * depth_m
    return torch.stack([x, y, depth_m], dim=-1)
