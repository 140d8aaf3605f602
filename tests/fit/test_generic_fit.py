"""SMPL-X (here: the fake test files) goes through the same fitter with its full forward."""

import numpy as np
import pytest
import torch

from hmr.camera import intrinsics_from_fov
from hmr.fit.keypoints import PersonKeypoints
from hmr.fit.observations import ray_rotation


@pytest.fixture(scope="module")
def smplx_pipeline(fake_models_dir):
    from hmr.fit import FitPipeline

    return FitPipeline("smplx", models_dir=fake_models_dir)


def _observe(pipeline, K, seed):
    """Detector-like observations of two posed SMPL-X people, 3.5 and 4.5 m away."""
    body, mapping = pipeline.body, pipeline.mapping
    gen = torch.Generator().manual_seed(seed)
    params = body.neutral_params(2)
    params["body_pose"] = 0.2 * torch.randn(params["body_pose"].shape, generator=gen)
    params["global_orient"] = torch.tensor([[np.pi, 0.0, 0.0], [np.pi * 0.9, 0.0, 0.3]])
    with torch.no_grad():
        joints = body(**params).joints.numpy()
    joints = joints - joints[:, :1] + np.array([[[-0.4, 0.1, 3.5]], [[0.5, 0.0, 4.5]]])
    people = []
    for person in joints:
        pts = person[mapping.body_dst]
        uv = pts[:, :2] / pts[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2]
        keypoints, conf, world = np.zeros((33, 2)), np.zeros(33), np.zeros((33, 3))
        keypoints[mapping.body_src] = uv
        conf[mapping.body_src] = 0.9
        hips = pts[[mapping.names.index("left_hip"), mapping.names.index("right_hip")]].mean(0)
        world[mapping.body_src] = (pts - hips) @ ray_rotation(uv.mean(0), K)
        people.append(PersonKeypoints(0.9, keypoints, conf, world))
    return people


def test_smplx_fit_lands_on_the_keypoints(smplx_pipeline):
    K = intrinsics_from_fov(1280, 960, 60.0)
    people = _observe(smplx_pipeline, K, seed=0)
    result = smplx_pipeline.fit_people(people, K, (1280, 960))
    assert result.body_model == "smplx" and len(result) == 2
    errors = smplx_pipeline.reprojection_errors(result, people)
    assert (errors < 0.02).all(), errors
    for person in result.persons:
        assert person.rotvec.shape == (53, 3) and person.betas.shape == (10,) and person.expression.shape == (10,)
        assert np.isfinite(person.vertices).all() and 2.5 < person.transl_pelvis[2] < 6.0
        assert {"global_orient", "body_pose", "betas"} <= set(person.params)


def test_skel_fit_folds_the_global_rotation_into_the_pelvis(fake_models_dir):
    from hmr.body.skel_dofs import BALL_JOINT_DOFS, ball_rotmats_to_dofs
    from hmr.fit import FitPipeline

    pipeline = FitPipeline("skel", models_dir=fake_models_dir)
    body, mapping = pipeline.body, pipeline.mapping
    K = intrinsics_from_fov(1280, 960, 60.0)
    params = body.neutral_params(1)
    ball = torch.eye(3).repeat(1, len(BALL_JOINT_DOFS), 1, 1)
    ball[:, 0] = torch.tensor([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])  # facing the camera, upright
    params["poses"][:, list(BALL_JOINT_DOFS[0])] = ball_rotmats_to_dofs(ball)[:, 0]
    params["poses"][:, 6] = 0.5  # a bent knee
    with torch.no_grad():
        joints = body(**params).joints[0].numpy()
    joints = joints - joints[0] + np.array([0.2, 0.1, 4.0])
    pts = joints[mapping.body_dst]
    uv = pts[:, :2] / pts[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2]
    keypoints, conf, world = np.zeros((33, 2)), np.zeros(33), np.zeros((33, 3))
    keypoints[mapping.body_src], conf[mapping.body_src] = uv, 0.9
    hips = pts[[mapping.names.index("left_hip"), mapping.names.index("right_hip")]].mean(0)
    world[mapping.body_src] = (pts - hips) @ ray_rotation(uv.mean(0), K)
    people = [PersonKeypoints(0.9, keypoints, conf, world)]
    result = pipeline.fit_people(people, K, (1280, 960))
    assert (pipeline.reprojection_errors(result, people) < 0.02).all()
    person = result.persons[0]
    # the stored parameters alone re-pose the fitted body (up to its translation)
    with torch.no_grad():
        again = body(**{k: torch.as_tensor(v)[None] for k, v in person.params.items()}).joints[0].numpy()
    shift = person.joints_3d - again
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-3)
