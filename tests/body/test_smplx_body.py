"""SMPL-X and SMPL adapters (fake asset files), checked against smplx itself and the Multi-HMR fixture."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import smplx
import torch

from hmr.body import load_body_model
from hmr.nn.outputs import smplx_params_from_rotmats


def random_params(model, batch, seed=0, scale=0.3):
    gen = torch.Generator().manual_seed(seed)
    return {name: scale * torch.randn((batch, *spec.shape), generator=gen) for name, spec in model.param_specs.items()}


def one_by_one(model, params):
    outs = [model(**{k: v[i : i + 1] for k, v in params.items()}) for i in range(len(next(iter(params.values()))))]
    return torch.cat([o.vertices for o in outs]), torch.cat([o.joints for o in outs])


@pytest.mark.parametrize("name, n_verts, n_joints", [("smplx", 10475, 127), ("smpl", 6890, 45)])
def test_shapes_faces_and_names(name, n_verts, n_joints, request):
    model = request.getfixturevalue(f"{name}_body")
    out = model(**random_params(model, 3))
    assert out.vertices.shape == (3, n_verts, 3) and out.joints.shape == (3, n_joints, 3)
    assert model.num_vertices == n_verts and len(model.joint_names) == n_joints
    assert model.faces.dtype == np.int64 and model.faces.shape[1] == 3
    assert model.faces.min() == 0 and model.faces.max() == n_verts - 1
    assert model.joint_names[model.head_joint] == "head" and model.joint_names[model.pelvis_joint] == "pelvis"


@pytest.mark.parametrize("name", ["smplx", "smpl"])
def test_batched_equals_one_by_one(name, request):
    model = request.getfixturevalue(f"{name}_body")
    params = random_params(model, 4, seed=1)
    out = model(**params)
    verts, joints = one_by_one(model, params)
    torch.testing.assert_close(out.vertices, verts, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.joints, joints, atol=1e-5, rtol=0)


def test_smplx_matches_smplx_package_with_axis_angle(smplx_body, fake_models_dir):
    reference = smplx.create(
        str(fake_models_dir),
        "smplx",
        gender="neutral",
        use_pca=False,
        flat_hand_mean=True,
        num_betas=10,
        num_expression_coeffs=10,
        batch_size=2,
    )
    params = random_params(smplx_body, 2, seed=2, scale=0.5)
    ref = reference(**{k: v.reshape(2, -1) for k, v in params.items()}, pose2rot=True)
    ours = smplx_body(**params)
    torch.testing.assert_close(ours.vertices, ref.vertices, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.joints, ref.joints, atol=1e-5, rtol=0)


def test_smpl_matches_smplx_package_with_axis_angle(smpl_body, fake_models_dir):
    reference = smplx.create(str(fake_models_dir), "smpl", gender="neutral", batch_size=2)
    params = random_params(smpl_body, 2, seed=3, scale=0.5)
    ref = reference(**{k: v.reshape(2, -1) for k, v in params.items()}, pose2rot=True)
    ours = smpl_body(**params)
    torch.testing.assert_close(ours.vertices, ref.vertices, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.joints, ref.joints, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["smplx", "smpl"])
def test_rotation_matrices_equal_axis_angle(name, request):
    model = request.getfixturevalue(f"{name}_body")
    params = random_params(model, 2, seed=4, scale=0.8)
    as_mats = {k: roma.rotvec_to_rotmat(v) if model.param_specs[k].kind == "rotvec" else v for k, v in params.items()}
    assert as_mats["global_orient"].shape == (2, 3, 3)
    flat = {k: v.reshape(2, -1) if model.param_specs[k].kind == "rotvec" else v for k, v in params.items()}
    for variant in (as_mats, flat):
        torch.testing.assert_close(model(**variant).vertices, model(**params).vertices, atol=1e-5, rtol=0)


def test_rotation_matrices_near_pi_are_not_converted(smplx_body):
    """A rotation of pi - 3e-4 (the fixture's trap) must reach smplx as the matrix it is."""
    axis = torch.tensor([0.6, 0.0, 0.8])
    body_pose = torch.eye(3).repeat(1, 21, 1, 1)
    body_pose[0, 17] = roma.rotvec_to_rotmat((np.pi - 3e-4) * axis)
    ours = smplx_body(body_pose=body_pose)
    ref = smplx_body.layer(body_pose=body_pose)
    torch.testing.assert_close(ours.vertices, ref.vertices, atol=0, rtol=0)


def test_zero_pose_head_above_pelvis_feet_below(smplx_body, smpl_body):
    for model, ankles in ((smplx_body, (7, 8)), (smpl_body, (7, 8))):
        joints = model(**model.neutral_params(1)).joints[0]
        head, pelvis = joints[model.head_joint], joints[model.pelvis_joint]
        assert head[1] > pelvis[1] + 0.4
        assert all(joints[a, 1] < pelvis[1] - 0.6 for a in ankles)


@pytest.mark.parametrize("name", ["smplx", "smpl"])
def test_global_orient_rotates_about_the_pelvis(name, request):
    model = request.getfixturevalue(f"{name}_body")
    params = random_params(model, 1, seed=5)
    params["global_orient"] = torch.zeros(1, 3)
    rest = model(**params)
    rotvec = torch.tensor([[0.3, -1.2, 0.5]])
    turned = model(**{**params, "global_orient": rotvec})
    R = roma.rotvec_to_rotmat(rotvec)[0]
    pelvis = rest.joints[0, model.pelvis_joint]
    torch.testing.assert_close(turned.vertices[0], (rest.vertices[0] - pelvis) @ R.T + pelvis, atol=1e-5, rtol=0)


def test_multihmr_layout_reproduces_the_fixture(smplx_body, multihmr_fixture):
    """Posing the fixture's 53 rotations and moving the head joint onto ``transl`` gives its meshes."""
    expected = np.load(multihmr_fixture / "expected_vits448.npz")
    params = smplx_params_from_rotmats(
        torch.from_numpy(expected["rotmat"]),
        torch.from_numpy(expected["betas"]),
        torch.from_numpy(expected["expression"]),
    )
    out = smplx_body(**params)
    head = out.joints[:, smplx_body.head_joint : smplx_body.head_joint + 1]
    shift = torch.from_numpy(expected["transl"])[:, None] - head
    np.testing.assert_allclose((out.vertices + shift).numpy(), expected["vertices"], atol=1e-4)
    np.testing.assert_allclose((out.joints + shift).numpy(), expected["joints_3d"], atol=1e-4)
    np.testing.assert_allclose((out.joints + shift)[:, 0].numpy(), expected["transl_pelvis"], atol=1e-4)


def test_smplx_params_from_rotmats_order():
    rotmats = roma.rotvec_to_rotmat(torch.randn(2, 53, 3))
    params = smplx_params_from_rotmats(rotmats, torch.zeros(2, 10), torch.ones(2, 10))
    assert params["global_orient"].shape == (2, 3, 3)
    torch.testing.assert_close(params["body_pose"], rotmats[:, 1:22])
    torch.testing.assert_close(params["left_hand_pose"], rotmats[:, 22:37])
    torch.testing.assert_close(params["right_hand_pose"], rotmats[:, 37:52])
    torch.testing.assert_close(params["jaw_pose"], rotmats[:, 52:53])
    with pytest.raises(ValueError):
        smplx_params_from_rotmats(rotmats[:, :52], torch.zeros(2, 10), torch.zeros(2, 10))


def test_genders_and_more_betas(fake_models_dir):
    heights = {}
    for gender in ("male", "female"):
        model = load_body_model("smplx", models_dir=fake_models_dir, gender=gender, num_betas=16)
        assert model.param_specs["betas"].shape == (16,)
        verts = model(betas=torch.zeros(1, 16)).vertices[0]
        heights[gender] = float(verts[:, 1].max() - verts[:, 1].min())
    assert heights["male"] > heights["female"] + 0.1


@pytest.mark.parametrize("name", ["smplx", "smpl"])
def test_differentiable(name, request):
    model = request.getfixturevalue(f"{name}_body")
    params = {k: v.requires_grad_() for k, v in random_params(model, 2, seed=6).items()}
    model(**params).vertices.square().sum().backward()
    for key in ("global_orient", "body_pose", "betas"):
        assert params[key].grad is not None and params[key].grad.abs().sum() > 0


def test_bad_parameters_are_rejected(smplx_body):
    with pytest.raises(ValueError, match="unknown"):
        smplx_body(transl=torch.zeros(1, 3))
    with pytest.raises(ValueError, match="body_pose"):
        smplx_body(body_pose=torch.zeros(1, 20, 3))
    with pytest.raises(ValueError, match="batch"):
        smplx_body(body_pose=torch.zeros(2, 21, 3), betas=torch.zeros(3, 10))
