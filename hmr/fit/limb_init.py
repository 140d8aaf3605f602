"""A starting pose for the limbs from the detector's metric 3D landmarks (analytic, no search).

Reprojection alone leaves each limb free to point towards or away from the camera, and a fit
started from the rest pose often settles in the wrong one of those basins. The metric landmarks
say which: each limb is a ball joint (shoulder, hip) followed by a hinge (elbow, knee), so the
ball rotation is the one that carries the rest plane of the limb onto the observed plane (the
upper segment onto the observed one, the hinge axis onto the observed fold axis), and the
hinge angle is the change of the fold. A nearly straight limb has no plane; it gets the smallest
rotation that points the upper segment the right way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hmr.geometry import rotmat_to_rotvec, rotvec_to_rotmat


@dataclass(frozen=True)
class Limb:
    """One limb in keypoint indices (into the mapped keypoints) and free-joint indices."""

    root: int  # keypoint at the ball joint (shoulder / hip)
    middle: int  # keypoint at the hinge (elbow / knee)
    end: int  # keypoint past the hinge (wrist / ankle)
    ball_joint: int  # free-joint index of the ball joint
    hinge_joint: int  # free-joint index of the hinge


def _frame(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) orthonormal frame with columns ``first``, ``second`` (made orthogonal), cross."""
    e1 = torch.nn.functional.normalize(first, dim=-1)
    e2 = torch.nn.functional.normalize(second - (second * e1).sum(-1, keepdim=True) * e1, dim=-1)
    return torch.stack([e1, e2, torch.linalg.cross(e1, e2)], -1)


def _angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(1e-9)
    return torch.arccos(cos.clamp(-1.0, 1.0))


def limb_rotations(
    rest: torch.Tensor,
    observed: torch.Tensor,
    hinge_axes: torch.Tensor,
    limbs: list[Limb],
    n_joints: int,
    min_fold: float = 0.25,
) -> torch.Tensor:
    """Free-joint rotvecs (B, n_joints, 3) that bend each limb as observed; other joints stay 0.

    rest: (M, 3) keypoints of the rest pose; observed: (B, M, 3) in the same body frame (only
    directions matter); hinge_axes: (L, 3) flexion axis of each limb's hinge at rest (a positive
    rotation folds the limb); ``min_fold``: sine of the fold below which a limb counts as straight.
    """
    batch = observed.shape[0]
    out = observed.new_zeros((batch, n_joints, 3))
    for limb, axis in zip(limbs, hinge_axes):
        upper0 = rest[limb.middle] - rest[limb.root]
        lower0 = rest[limb.end] - rest[limb.middle]
        upper = observed[:, limb.middle] - observed[:, limb.root]
        lower = observed[:, limb.end] - observed[:, limb.middle]
        fold0 = _angle(upper0, lower0)
        fold = _angle(upper, lower)
        # the observed fold axis, signed like the rest one: u x l points along a positive hinge axis
        normal = torch.linalg.cross(upper, lower)
        planar = torch.sin(fold) > min_fold
        target = _frame(upper, torch.where(planar[:, None], normal, axis.expand_as(normal)))
        source = _frame(upper0, axis)
        plane_rot = target @ source.transpose(-1, -2)
        straight_rot = rotvec_to_rotmat(_smallest_rotvec(upper0.expand_as(upper), upper))
        ball = torch.where(planar[:, None, None], plane_rot, straight_rot)
        out[:, limb.ball_joint] = rotmat_to_rotvec(ball)
        out[:, limb.hinge_joint] = (fold - fold0)[:, None] * (axis / axis.norm())
    return out


def _smallest_rotvec(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B, 3) rotvec of the smallest rotation taking direction ``a`` to ``b``."""
    a = torch.nn.functional.normalize(a, dim=-1)
    b = torch.nn.functional.normalize(b, dim=-1)
    axis = torch.linalg.cross(a, b)
    sin = axis.norm(dim=-1, keepdim=True)
    cos = (a * b).sum(-1, keepdim=True)
    return axis / sin.clamp_min(1e-9) * torch.atan2(sin, cos)
