"""SKEL adapter on fake ``skel_*.pkl`` files, and the per-DoF decoder table."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from body_models.skel import _io as skel_io
from body_models.skel import _pose as skel_pose

from hmr.body import load_body_model
from hmr.body.skel_dofs import (
    BALL_JOINT_AXES,
    BALL_JOINT_DOFS,
    BALL_JOINTS,
    SKEL_DOFS,
    SKEL_JOINT_NAMES,
    ball_dofs_to_rotmats,
    ball_rotmats_to_dofs,
    dof_groups,
)


def random_params(batch, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {"poses": 0.3 * torch.randn(batch, 46, generator=gen), "betas": torch.randn(batch, 10, generator=gen)}


def test_shapes_and_names(skel_body):
    out = skel_body(**random_params(3))
    assert out.vertices.shape == (3, 6890, 3) and out.joints.shape == (3, 24, 3)
    assert tuple(skel_body.joint_names) == SKEL_JOINT_NAMES
    assert skel_body.faces.shape == (13776, 3) and skel_body.faces.dtype == np.int64
    assert skel_body.joint_names[skel_body.head_joint] == "head"
    assert skel_body.joint_names[skel_body.pelvis_joint] == "pelvis"


def test_batched_equals_one_by_one(skel_body):
    params = random_params(4, seed=1)
    out = skel_body(**params)
    for i in range(4):
        single = skel_body(**{k: v[i : i + 1] for k, v in params.items()})
        torch.testing.assert_close(out.vertices[i : i + 1], single.vertices, atol=1e-5, rtol=0)
        torch.testing.assert_close(out.joints[i : i + 1], single.joints, atol=1e-5, rtol=0)


def test_zero_pose_head_above_pelvis_ankles_below(skel_body):
    joints = skel_body().joints[0]
    names = skel_body.joint_names
    assert joints[skel_body.head_joint, 1] > joints[skel_body.pelvis_joint, 1] + 0.4
    for ankle in ("talus_r", "talus_l"):
        assert joints[names.index(ankle), 1] < joints[skel_body.pelvis_joint, 1] - 0.6
    # zero pose joints are the regressed rest joints: shape moves them, pose DoF 0 does not move the pelvis
    moved = skel_body(poses=torch.tensor([[0.7] + [0.0] * 45])).joints[0]
    torch.testing.assert_close(moved[0], joints[0])


def test_pelvis_dofs_rotate_the_body_about_the_pelvis(skel_body):
    """The fake file has identity rest rotations, so the pelvis DoF rotation is the global rotation."""
    betas = torch.randn(1, 10)
    rest = skel_body(betas=betas)
    poses = torch.zeros(1, 46)
    poses[0, :3] = torch.tensor([0.4, -0.3, 1.1])
    turned = skel_body(poses=poses, betas=betas)
    R = ball_dofs_to_rotmats(poses)[0, BALL_JOINTS.index(0)]
    pelvis = rest.joints[0, 0]
    torch.testing.assert_close(turned.vertices[0], (rest.vertices[0] - pelvis) @ R.T + pelvis, atol=1e-5, rtol=0)


def test_genders_load_and_differ(fake_models_dir, skel_body):
    female = load_body_model("skel", models_dir=fake_models_dir, gender="female")
    assert female.gender == "female"
    height = [float(v[0, :, 1].max() - v[0, :, 1].min()) for v in (skel_body().vertices, female().vertices)]
    assert height[0] > height[1] + 0.1


def test_differentiable(skel_body):
    params = {k: v.requires_grad_() for k, v in random_params(2, seed=2).items()}
    skel_body(**params).vertices.square().sum().backward()
    assert params["poses"].grad.abs().sum() > 0 and params["betas"].grad.abs().sum() > 0


def test_dof_table_matches_body_models():
    assert [d.index for d in SKEL_DOFS] == list(range(46))
    assert [(d.joint,) for d in SKEL_DOFS] == list(skel_pose._CONTROL_JOINTS)
    groups = dof_groups()
    assert {k: len(v) for k, v in groups.items()} == {"ball": 15, "hinge": 8, "small": 23}
    assert sorted(sum(groups.values(), [])) == list(range(46))
    assert len(set(d.name for d in SKEL_DOFS)) == 46
    # every ball / hinge joint owns all of its DoF in one group
    for joint in set(d.joint for d in SKEL_DOFS):
        assert len({d.group for d in SKEL_DOFS if d.joint == joint}) == 1
    assert [SKEL_JOINT_NAMES[j] for j in BALL_JOINTS] == ["pelvis", "femur_r", "femur_l", "humerus_r", "humerus_l"]


def test_ball_axes_match_body_models():
    axes = skel_io._compute_joint_axes()
    for joint, dofs in zip(BALL_JOINTS, BALL_JOINT_DOFS):
        np.testing.assert_allclose(axes[list(dofs)], np.array(BALL_JOINT_AXES[joint]), atol=1e-6)
        assert np.linalg.det(np.array(BALL_JOINT_AXES[joint])) == pytest.approx(1.0)


def test_ball_rotations_round_trip():
    gen = torch.Generator().manual_seed(3)
    poses = torch.zeros(64, 46)
    angles = torch.rand(64, 5, 3, generator=gen) * 2 * np.pi - np.pi
    angles[..., 1] = angles[..., 1] * 0.45  # keep the middle angle away from gimbal lock (+-pi/2)
    poses[:, list(sum(BALL_JOINT_DOFS, ()))] = angles.reshape(64, 15)
    rotmats = ball_dofs_to_rotmats(poses.double())
    eye = torch.eye(3, dtype=torch.float64).expand(64, 5, 3, 3)
    torch.testing.assert_close(rotmats @ rotmats.transpose(-1, -2), eye)
    torch.testing.assert_close(ball_rotmats_to_dofs(rotmats), angles.double(), atol=1e-9, rtol=0)


def test_ball_rotation_composition_is_skels():
    """Single-DoF rotations compose as R2 @ R1 @ R0 about the listed axes (body-models' convention)."""
    poses = torch.zeros(1, 46, dtype=torch.float64)
    poses[0, 29:32] = torch.tensor([0.3, 0.5, 0.7], dtype=torch.float64)  # shoulder_r x, y, z
    c, s = np.cos, np.sin
    rx = np.array([[1, 0, 0], [0, c(0.3), -s(0.3)], [0, s(0.3), c(0.3)]])
    ry = np.array([[c(0.5), 0, s(0.5)], [0, 1, 0], [-s(0.5), 0, c(0.5)]])
    rz = np.array([[c(0.7), -s(0.7), 0], [s(0.7), c(0.7), 0], [0, 0, 1]])
    np.testing.assert_allclose(ball_dofs_to_rotmats(poses)[0, BALL_JOINTS.index(15)].numpy(), rz @ ry @ rx, atol=1e-12)


def test_fake_files_have_the_real_array_names_and_shapes(fake_models_dir):
    data = pickle.loads((fake_models_dir / "skel" / "skel_female.pkl").read_bytes())
    shapes = {
        "skin_template_v": (6890, 3),
        "skin_template_f": (13776, 3),
        "shapedirs": (6890, 3, 10),
        "posedirs": (6890, 3, 207),
        "skin_weights": (6890, 24),
        "J_regressor_osim": (24, 6890),
        "J_regressor": (24, 6890),
        "apose_rel_transfo": (24, 4, 4),
        "per_joint_rot": (24, 3, 3),
        "osim_kintree_table": (2, 24),
    }
    for key, shape in shapes.items():
        assert data[key].shape == shape, key
    assert data["skin_weights"].toarray().sum(1) == pytest.approx(np.ones(6890))
    assert list(data["bone_names"]) == list(SKEL_JOINT_NAMES)
    assert list(data["pose_params_name"]) == [d.name for d in SKEL_DOFS]
    assert data["skel_weights"].shape == (len(data["skel_template_v"]), 24)
