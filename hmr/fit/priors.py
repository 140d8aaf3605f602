"""Pose and shape priors: what keeps a fit human where the keypoints say little.

Anny's ``local-ref`` rotations are expressed in world-aligned axes of the rest pose (in
AnnyBody's frame: x to the body's left, y up, z forward), so each joint's prior can name its
axes directly. Every free rotation has a quadratic prior split into a twist part (about the bone)
and a swing part, with its own scale in radians; knees and elbows are hinges: a range on the
flexion angle and a tight prior on the other two components.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class JointPrior:
    """Prior of one free rotation ``w`` (rotvec, rad).

    ``axis`` is the twist axis (the bone direction) for ball joints and the flexion axis for
    hinges; ``twist_sigma`` / ``swing_sigma`` scale the components along / across it. A hinge
    (``limits`` set) penalizes its flexion outside ``limits`` (rad) and everything off-axis with
    ``swing_sigma``.
    """

    axis: tuple[float, ...]  # 3 components
    twist_sigma: float
    swing_sigma: float
    limits: tuple[float, float] | None = None


def joint_prior_cost(rotvecs: torch.Tensor, priors: list[JointPrior], limit_sigma: float = 0.05) -> torch.Tensor:
    """Summed prior cost per person. rotvecs: (B, N, 3) for ``len(priors) == N`` joints -> (B,)."""
    axes = rotvecs.new_tensor([p.axis for p in priors])  # (N, 3)
    axes = axes / axes.norm(dim=-1, keepdim=True)
    along = (rotvecs * axes).sum(-1)  # (B, N)
    across = rotvecs - along[..., None] * axes
    twist_sigma = rotvecs.new_tensor([p.twist_sigma for p in priors])
    swing_sigma = rotvecs.new_tensor([p.swing_sigma for p in priors])
    cost = (along / twist_sigma) ** 2 + (across.square().sum(-1) / swing_sigma**2)
    lows = rotvecs.new_tensor([p.limits[0] if p.limits else -1e3 for p in priors])
    highs = rotvecs.new_tensor([p.limits[1] if p.limits else 1e3 for p in priors])
    outside = torch.relu(lows - along) + torch.relu(along - highs)
    return (cost + (outside / limit_sigma) ** 2).sum(-1)


def bounded_prior_cost(values: torch.Tensor, means: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Gaussian prior on shape values. values: (B, S); means, sigmas: (S,) -> (B,)."""
    return (((values - means) / sigmas) ** 2).sum(-1)


def hinge_axis(upper: torch.Tensor, lower: torch.Tensor, fallback: torch.Tensor) -> tuple[tuple[float, ...], float]:
    """Flexion axis of a hinge from its two segments at rest, and the flexion already there.

    A positive rotation about the returned axis folds ``lower`` back towards ``-upper``. Nearly
    straight segments (a knee at rest) leave the axis undefined: ``fallback`` is used then.
    """
    normal = torch.linalg.cross(upper, lower)
    if normal.norm() < 1e-3 * upper.norm() * lower.norm():
        axis = fallback / fallback.norm()
    else:
        axis = normal / normal.norm()
    cos = torch.dot(upper, lower) / (upper.norm() * lower.norm())
    return tuple(float(a) for a in axis), float(torch.arccos(cos.clamp(-1.0, 1.0)))
