"""Anny adapter on the real, bundled anny model."""

from __future__ import annotations

import anny
import numpy as np
import pytest
import roma
import torch

from hmr.body import load_body_model
from hmr.body.anny_body import ANNY_BONE_GROUPS, ANNY_BONE_LABELS, ANNY_PHENOTYPES


def height_m(vertices: torch.Tensor) -> float:
    return float(vertices[0, :, 1].max() - vertices[0, :, 1].min())


def test_counts_and_names(anny_body):
    out = anny_body(**anny_body.neutral_params(2))
    assert anny_body.num_vertices == 13718
    assert out.vertices.shape == (2, 13718, 3) and out.joints.shape == (2, 104 + 23, 3)
    assert out.vertices.dtype == torch.float32
    assert tuple(anny_body.anny.bone_labels) == ANNY_BONE_LABELS
    assert anny_body.faces.shape[1] == 3 and anny_body.faces.max() == 13717 and anny_body.faces.dtype == np.int64
    assert anny_body.joint_names[anny_body.head_joint] == "head"
    assert anny_body.joint_names[anny_body.pelvis_joint] == "root"


def test_bone_groups_cover_every_bone_but_the_root_once():
    grouped = [b for bones in ANNY_BONE_GROUPS.values() for b in bones]
    assert sorted(grouped) == sorted(ANNY_BONE_LABELS[1:])
    assert {k: len(v) for k, v in ANNY_BONE_GROUPS.items()} == {
        "body_pose": 35,
        "left_hand_pose": 19,
        "right_hand_pose": 19,
        "toe_pose": 28,
        "eye_pose": 2,
    }
    main_bones = {"upperleg01.L", "spine01", "upperarm01.R", "neck01", "head", "wrist.L"}
    assert main_bones <= set(ANNY_BONE_GROUPS["body_pose"])


def test_default_phenotype_is_a_plausible_adult_height(anny_body):
    assert 1.5 < height_m(anny_body(**anny_body.neutral_params(1)).vertices) < 1.9


def test_height_phenotype_is_monotonic(anny_body):
    heights = []
    for value in np.linspace(0.0, 1.0, 5):
        params = anny_body.neutral_params(1)
        params["height"] = torch.full((1, 1), float(value))
        heights.append(height_m(anny_body(**params).vertices))
    assert all(b > a + 0.05 for a, b in zip(heights, heights[1:]))


def test_phenotype_specs_are_anny_ranges(anny_body):
    assert anny_body.anny.phenotype_labels == list(ANNY_PHENOTYPES)
    assert anny_body.param_specs["age"].low == pytest.approx(-1 / 3) and anny_body.param_specs["age"].high == 1.0
    # anny clamps outside the range: past the bounds the body does not change
    params = anny_body.neutral_params(1)
    params["weight"] = torch.full((1, 1), 1.0)
    at_bound = anny_body(**params).vertices
    params["weight"] = torch.full((1, 1), 1.5)
    torch.testing.assert_close(anny_body(**params).vertices, at_bound)


def test_frame_is_y_up_facing_z_left_on_x(anny_body):
    joints = anny_body(**anny_body.neutral_params(1)).joints[0]
    at = {name: joints[i] for i, name in enumerate(anny_body.joint_names)}
    assert at["head"][1] > at["root"][1] + 0.4
    assert at["coco_left_ankle"][1] < at["root"][1] - 0.6 and at["coco_right_ankle"][1] < at["root"][1] - 0.6
    assert at["coco_nose"][2] > at["head"][2] + 0.05
    assert at["coco_left_hip"][0] > 0.03 > -0.03 > at["coco_right_hip"][0]
    torch.testing.assert_close(at["root"], torch.zeros(3))


def test_batched_equals_one_by_one(anny_body):
    gen = torch.Generator().manual_seed(0)
    params = {
        "global_orient": torch.randn(3, 3, generator=gen),
        "body_pose": 0.2 * torch.randn(3, 35, 3, generator=gen),
        "left_hand_pose": 0.2 * torch.randn(3, 19, 3, generator=gen),
        "height": torch.rand(3, 1, generator=gen),
        "gender": torch.rand(3, 1, generator=gen),
    }
    out = anny_body(**params)
    for i in range(3):
        single = anny_body(**{k: v[i : i + 1] for k, v in params.items()})
        torch.testing.assert_close(out.vertices[i : i + 1], single.vertices, atol=2e-5, rtol=0)
        torch.testing.assert_close(out.joints[i : i + 1], single.joints, atol=2e-5, rtol=0)


def test_global_orient_rotates_about_the_root(anny_body):
    params = anny_body.neutral_params(1)
    params["body_pose"] = 0.2 * torch.randn(1, 35, 3)
    rest = anny_body(**params)
    rotvec = torch.tensor([[0.2, 2.5, -0.4]])
    turned = anny_body(**{**params, "global_orient": rotvec})
    R = roma.rotvec_to_rotmat(rotvec)[0]
    torch.testing.assert_close(turned.vertices[0], rest.vertices[0] @ R.T, atol=1e-5, rtol=0)
    torch.testing.assert_close(turned.joints[0], rest.joints[0] @ R.T, atol=1e-5, rtol=0)


def test_bone_rotation_is_about_its_head_in_our_frame(anny_body):
    """Turning the left upper arm by R (our axes) swings the wrist by R about the shoulder."""
    names = anny_body.joint_names
    arm, wrist = names.index("upperarm01.L"), names.index("wrist.L")
    rest = anny_body(**anny_body.neutral_params(1)).joints[0]
    body_pose = torch.zeros(1, 35, 3)
    rotvec = torch.tensor([0.0, 0.0, 1.2])  # about the forward axis: raises the arm sideways
    body_pose[0, ANNY_BONE_GROUPS["body_pose"].index("upperarm01.L")] = rotvec
    posed = anny_body(body_pose=body_pose).joints[0]
    R = roma.rotvec_to_rotmat(rotvec)
    torch.testing.assert_close(posed[wrist], R @ (rest[wrist] - rest[arm]) + rest[arm], atol=1e-4, rtol=0)
    assert posed[wrist, 1] > rest[wrist, 1] + 0.2


def test_rotation_matrices_equal_axis_angle(anny_body):
    gen = torch.Generator().manual_seed(1)
    rotvecs = {
        "global_orient": torch.randn(2, 3, generator=gen),
        "body_pose": 0.4 * torch.randn(2, 35, 3, generator=gen),
        "right_hand_pose": 0.4 * torch.randn(2, 19, 3, generator=gen),
    }
    mats = {k: roma.rotvec_to_rotmat(v) for k, v in rotvecs.items()}
    torch.testing.assert_close(anny_body(**mats).vertices, anny_body(**rotvecs).vertices, atol=1e-5, rtol=0)


def test_coco_keypoints_are_anny_regressor_on_the_vertices(anny_body):
    out = anny_body(**anny_body.neutral_params(2))
    coco = out.joints[:, anny_body.coco_joint_indices]
    assert coco.shape == (2, 23, 3)
    regressor = anny.KeypointsRegressor.coco(anny_body.anny)
    torch.testing.assert_close(coco, regressor({"vertices": out.vertices}), atol=1e-5, rtol=0)
    assert [anny_body.joint_names[i] for i in anny_body.coco_joint_indices][:3] == [
        "coco_nose",
        "coco_left_eye",
        "coco_right_eye",
    ]


def test_gender_argument_sets_the_gender_phenotype(anny_body):
    female = load_body_model("anny", gender="female")
    assert float(female.neutral_params(1)["gender"]) == 1.0 and float(anny_body.neutral_params(1)["gender"]) == 0.5
    male = anny_body(**{**anny_body.neutral_params(1), "gender": torch.zeros(1, 1)}).vertices
    assert not torch.allclose(female(**female.neutral_params(1)).vertices, male, atol=1e-3)


def test_differentiable(anny_body):
    params = anny_body.neutral_params(1)
    params["body_pose"] = (0.1 * torch.randn(1, 35, 3)).requires_grad_()
    params["height"] = params["height"].requires_grad_()
    anny_body(**params).joints.square().sum().backward()
    assert params["body_pose"].grad.abs().sum() > 0 and params["height"].grad.abs().sum() > 0


def test_build_cache_is_detected(tmp_path, monkeypatch):
    """hmr announces Anny's 2-minute first build only when its cache really is missing."""
    import anny.paths

    from hmr.body.anny_body import anny_build_cached

    real = anny.paths.get_anny_cache_path()
    monkeypatch.setattr(anny.paths, "_ANNY_CACHE_DIR", [tmp_path])
    assert not anny_build_cached()
    (tmp_path / "v14").mkdir()
    (tmp_path / "v14" / "load_data_0.safetensors").write_bytes(b"")
    assert not anny_build_cached()  # loaded assets are not a built model
    (tmp_path / "v14" / "build_model_data_0.safetensors").write_bytes(b"")
    assert anny_build_cached()
    monkeypatch.setattr(anny.paths, "_ANNY_CACHE_DIR", [real])
    assert anny_build_cached() == any(real.glob("**/build_model_data_*.safetensors"))
