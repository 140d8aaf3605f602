"""Acceptance on synthetic ground truth: plausible Anny people 3-5 m away, detector-like noise."""

import numpy as np
import pytest
import torch

from hmr.fit.fitter import Fitter, project
from hmr.fit.observations import build_observations
from hmr.fit.synthetic import EVAL_BONES, pa_mpjpe, sample_people


def _fit_joints(pipeline, synthetic):
    fit_body, mapping = pipeline.fit_body, pipeline.mapping
    obs = build_observations(synthetic.people, mapping, synthetic.K)
    state = Fitter(fit_body, mapping).fit(obs, synthetic.K, fit_body.init_variables(len(synthetic.people)))
    with torch.no_grad():
        keypoints = fit_body.keypoints(state.variables, hands=False) @ state.rotmat.transpose(1, 2)
    keypoints = keypoints + state.transl[:, None]
    return keypoints[:, [fit_body.keypoint_names.index(n) for n in EVAL_BONES]].numpy(), state


@pytest.fixture(scope="module")
def synthetic_fit(pipeline):
    synthetic = sample_people(pipeline.fit_body, pipeline.mapping, 8, seed=0, noise_frac=0.01, dropout=0.1)
    joints, state = _fit_joints(pipeline, synthetic)
    return synthetic, joints, state


def test_fit_recovers_body_joints_and_depth(synthetic_fit):
    synthetic, joints, _ = synthetic_fit
    error_mm = pa_mpjpe(joints, synthetic.joints_cam) * 1000
    hips = [EVAL_BONES.index("upperleg01.L"), EVAL_BONES.index("upperleg01.R")]
    depth = joints[:, hips].mean(1)[:, 2]
    true_depth = synthetic.joints_cam[:, hips].mean(1)[:, 2]
    depth_error = np.abs(depth - true_depth) / true_depth
    print(
        f"PA-MPJPE mm: mean {error_mm.mean():.1f} max {error_mm.max():.1f}; "
        f"depth error %: mean {100 * depth_error.mean():.1f} max {100 * depth_error.max():.1f}"
    )
    assert error_mm.mean() <= 40.0
    assert error_mm.max() <= 60.0
    assert depth_error.max() <= 0.10


def test_fit_beats_its_start(pipeline, synthetic_fit):
    synthetic, joints, _ = synthetic_fit
    fit_body, mapping = pipeline.fit_body, pipeline.mapping
    obs = build_observations(synthetic.people, mapping, synthetic.K)
    start = Fitter(fit_body, mapping).initial_state(
        obs, torch.as_tensor(synthetic.K, dtype=torch.float32), fit_body.init_variables(len(synthetic.people))
    )
    with torch.no_grad():
        keypoints = fit_body.keypoints(start.variables, hands=False) @ start.rotmat.transpose(1, 2)
    keypoints = keypoints + start.transl[:, None]
    start_joints = keypoints[:, [fit_body.keypoint_names.index(n) for n in EVAL_BONES]].numpy()
    assert pa_mpjpe(joints, synthetic.joints_cam).mean() < 0.85 * pa_mpjpe(start_joints, synthetic.joints_cam).mean()


def test_fit_is_deterministic(pipeline, synthetic_fit):
    synthetic, joints, _ = synthetic_fit
    again, _ = _fit_joints(pipeline, synthetic)
    np.testing.assert_array_equal(again, joints)


def test_upper_body_only_stays_finite(pipeline):
    synthetic = sample_people(pipeline.fit_body, pipeline.mapping, 2, seed=5)
    for person in synthetic.people:
        person.confidence[23:] = 0.0  # hips, legs and feet unseen: a truncated person
    joints, state = _fit_joints(pipeline, synthetic)
    assert np.isfinite(joints).all()
    assert all(torch.isfinite(v).all() for v in state.variables.values())
    error_mm = pa_mpjpe(joints[:, 6:], synthetic.joints_cam[:, 6:]) * 1000  # arms, spine, head
    assert error_mm.mean() < 60.0


def _hand_errors(fit_body, mapping, obs, K, state):
    """(2 sides, B) mean hand-landmark distance in palms, wrist error taken out (finger pose only)."""
    with torch.no_grad():
        fitted = fit_body.keypoints(state.variables, hands=True) @ state.rotmat.transpose(1, 2) + state.transl[:, None]
    errors = []
    for side in range(2):
        K_t = torch.as_tensor(K, dtype=torch.float32)
        delta = project(fitted[:, mapping.hand_dst[side]], K_t) - obs.hands_px[:, side]
        errors.append((delta - delta[:, :1]).norm(dim=-1).mean(1) / obs.hands_scale_px[:, side])
    return torch.stack(errors)


def test_seen_hands_move_the_fingers(pipeline):
    fit_body, mapping = pipeline.fit_body, pipeline.mapping
    synthetic = sample_people(fit_body, mapping, 2, seed=7, noise_frac=0.0, dropout=0.0, world_noise_m=0.0)
    gen = torch.Generator().manual_seed(7)
    truth = dict(synthetic.variables)
    truth["hands"] = torch.zeros_like(truth["hands"])
    for side, group in enumerate(("left_hand_pose", "right_hand_pose")):  # finger poses from the prior
        for j, prior in enumerate(fit_body.hand_priors[group]):
            axis = torch.nn.functional.normalize(torch.tensor(prior.axis), dim=0)
            swing = torch.randn(2, 3, generator=gen) * prior.swing_sigma * 0.5
            twist = torch.randn(2, generator=gen) * prior.twist_sigma * 0.5
            truth["hands"][:, side, j] = swing - (swing @ axis)[:, None] * axis + twist[:, None] * axis
    with torch.no_grad():
        keypoints = fit_body.keypoints(truth, hands=True) @ synthetic.rotmat.transpose(1, 2) + synthetic.transl[:, None]
    K = synthetic.K
    for b, person in enumerate(synthetic.people):
        for side, attr in enumerate(("left_hand_px", "right_hand_px")):
            pts = keypoints[b, mapping.hand_dst[side]].numpy()
            setattr(person, attr, pts[:, :2] / pts[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2])
    obs = build_observations(synthetic.people, mapping, K)
    fitter = Fitter(fit_body, mapping)
    with_hands = _hand_errors(fit_body, mapping, obs, K, fitter.fit(obs, K, fit_body.init_variables(2)))
    obs.hands_valid[:] = 0.0
    without = _hand_errors(fit_body, mapping, obs, K, fitter.fit(obs, K, fit_body.init_variables(2)))
    assert (with_hands < 0.6 * without).all(), (with_hands, without)
    assert (with_hands < 0.5).all()
