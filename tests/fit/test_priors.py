"""Joint priors and the analytic limb start."""

import math

import roma
import torch

from hmr.fit.limb_init import Limb, limb_rotations
from hmr.fit.priors import JointPrior, bounded_prior_cost, hinge_axis, joint_prior_cost


def test_hinge_costs_nothing_inside_its_range_and_grows_outside():
    hinge = [JointPrior((1.0, 0.0, 0.0), twist_sigma=1e6, swing_sigma=0.1, limits=(0.0, 2.5))]
    inside = joint_prior_cost(torch.tensor([[[1.0, 0.0, 0.0]]]), hinge)
    outside = joint_prior_cost(torch.tensor([[[-0.3, 0.0, 0.0]]]), hinge)
    further = joint_prior_cost(torch.tensor([[[-0.6, 0.0, 0.0]]]), hinge)
    off_axis = joint_prior_cost(torch.tensor([[[1.0, 0.2, 0.0]]]), hinge)
    assert inside.item() < 1e-6
    assert 0 < outside.item() < further.item()
    assert abs(off_axis.item() - 4.0) < 1e-4  # (0.2 / 0.1)^2


def test_ball_prior_splits_twist_and_swing():
    ball = [JointPrior((0.0, 1.0, 0.0), twist_sigma=0.5, swing_sigma=1.0)]
    twist = joint_prior_cost(torch.tensor([[[0.0, 0.5, 0.0]]]), ball)
    swing = joint_prior_cost(torch.tensor([[[0.5, 0.0, 0.0]]]), ball)
    assert abs(twist.item() - 1.0) < 1e-5 and abs(swing.item() - 0.25) < 1e-5


def test_shape_prior_is_zero_at_the_mean():
    means, sigmas = torch.tensor([0.5, 0.38]), torch.tensor([0.5, 0.1])
    assert bounded_prior_cost(means[None], means, sigmas).item() == 0
    assert abs(bounded_prior_cost(torch.tensor([[0.5, 0.48]]), means, sigmas).item() - 1.0) < 1e-5


def test_hinge_axis_folds_the_lower_segment_back():
    upper, lower = torch.tensor([0.0, -1.0, 0.0]), torch.tensor([0.0, -0.7, 0.7])
    axis, rest = hinge_axis(upper, lower, torch.tensor([1.0, 0.0, 0.0]))
    assert abs(rest - math.pi / 4) < 1e-5
    folded = roma.rotvec_to_rotmat(0.3 * torch.tensor(axis)) @ lower
    angle = torch.arccos(torch.dot(folded, upper) / folded.norm())
    assert angle > math.pi / 4  # the fold grew
    straight_axis, straight_rest = hinge_axis(upper, upper.clone(), torch.tensor([1.0, 0.0, 0.0]))
    assert straight_axis == (1.0, 0.0, 0.0) and straight_rest < 1e-3


def test_limb_start_reproduces_observed_limb_directions():
    # one limb: root at the origin, rest pose bent 30 degrees in the x-y plane
    rest = torch.tensor([[0.0, 0.0, 0.0], [0.0, -0.3, 0.0], [0.0, -0.3 - 0.25 * math.cos(0.5), 0.25 * math.sin(0.5)]])
    axis, _ = hinge_axis(rest[1] - rest[0], rest[2] - rest[1], torch.tensor([1.0, 0.0, 0.0]))
    limb = Limb(root=0, middle=1, end=2, ball_joint=0, hinge_joint=1)
    gen = torch.Generator().manual_seed(0)
    truth = torch.zeros(4, 2, 3)
    truth[:, 0] = roma.random_rotvec(4, generator=gen) * 0.5
    truth[:, 1] = (torch.rand(4, generator=gen) * 1.5)[:, None] * torch.tensor(axis)
    ball, hinge = roma.rotvec_to_rotmat(truth[:, 0]), roma.rotvec_to_rotmat(truth[:, 1])
    upper = ball @ (rest[1] - rest[0])
    lower = ball @ hinge @ (rest[2] - rest[1])
    observed = torch.stack([torch.zeros(4, 3), upper, upper + lower], 1) * 1.3  # scale must not matter
    found = limb_rotations(rest, observed, torch.tensor([axis]), [limb], 2)
    ball_f, hinge_f = roma.rotvec_to_rotmat(found[:, 0]), roma.rotvec_to_rotmat(found[:, 1])
    upper_f = ball_f @ (rest[1] - rest[0])
    lower_f = ball_f @ hinge_f @ (rest[2] - rest[1])
    unit = torch.nn.functional.normalize
    assert torch.allclose(unit(upper_f, dim=-1), unit(upper, dim=-1), atol=1e-4)
    assert torch.allclose(unit(lower_f, dim=-1), unit(lower, dim=-1), atol=1e-4)
