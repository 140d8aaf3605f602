"""The fitter's fast Anny forward must be the body adapter's forward, only cheaper."""

import roma
import torch

from hmr.body.anny_body import ANNY_BONE_GROUPS


def _random_variables(fit_body, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    variables = fit_body.init_variables(batch)
    variables["joints"] = 0.4 * torch.randn(variables["joints"].shape, generator=gen)
    variables["hands"] = 0.3 * torch.randn(variables["hands"].shape, generator=gen)
    variables["toes"] = 0.2 * torch.randn(variables["toes"].shape, generator=gen)
    variables["shape"] = torch.randn(variables["shape"].shape, generator=gen)
    return variables


def test_keypoints_and_mesh_match_the_body_adapter(fit_body):
    body = fit_body.body
    variables = _random_variables(fit_body, 3, seed=0)
    rotmat = roma.random_rotmat(3, generator=torch.Generator().manual_seed(1))
    transl = torch.tensor([[0.1, -0.2, 3.0], [0.0, 0.0, 4.0], [-0.5, 0.3, 5.0]])
    with torch.no_grad():
        reference = body(**fit_body.to_params(variables, rotmat))
        keypoints = fit_body.keypoints(variables, hands=True) @ rotmat.transpose(1, 2)
    vertices, joints = fit_body.posed(variables, rotmat, transl)
    assert torch.allclose(vertices, reference.vertices + transl[:, None], atol=1e-4)
    assert torch.allclose(joints, reference.joints + transl[:, None], atol=1e-4)
    names = fit_body.keypoint_names
    for name in ("coco_nose", "coco_left_ankle", "coco_right_wrist", "wrist.L", "finger3-2.R", "head"):
        assert torch.allclose(
            keypoints[:, names.index(name)], reference.joints[:, body.joint_names.index(name)], atol=1e-4
        ), name


def test_fingertips_sit_beyond_the_last_finger_joint(fit_body):
    with torch.no_grad():
        keypoints = fit_body.keypoints(fit_body.init_variables(1), hands=True)[0]
    names = fit_body.keypoint_names
    for side in ("left", "right"):
        for i, finger in enumerate(("thumb", "index", "middle", "ring", "pinky"), start=1):
            tip = keypoints[names.index(f"{side}_{finger}_tip")]
            last = keypoints[names.index(f"finger{i}-3.{side[0].upper()}")]
            before = keypoints[names.index(f"finger{i}-2.{side[0].upper()}")]
            # the tip continues the finger, a phalanx-length or less past its last joint
            assert torch.dot(tip - last, last - before) > 0
            assert 0.005 < (tip - last).norm() < 0.05


def test_body_variables_spread_a_chain_rotation_over_its_bones(fit_body):
    variables = fit_body.init_variables(1)
    joint = [name for name, _ in fit_body.joints].index("spine_lower")
    variables["joints"][0, joint] = torch.tensor([0.3, 0.0, 0.0])
    rotvecs = fit_body.body_rotvecs(variables)[0]
    body_bones = ANNY_BONE_GROUPS["body_pose"]
    spine = [body_bones.index(b) for b in ("spine05", "spine04", "spine03")]
    assert torch.allclose(rotvecs[spine], torch.tensor([0.1, 0.0, 0.0]).expand(3, 3))
    others = [i for i in range(len(body_bones)) if i not in spine]
    assert rotvecs[others].abs().max() == 0


def test_init_from_params_round_trips(fit_body):
    variables = _random_variables(fit_body, 2, seed=3)
    rotmat = roma.random_rotmat(2, generator=torch.Generator().manual_seed(4))
    params = fit_body.to_params(variables, rotmat)
    again = fit_body.to_params(fit_body.init_variables(2, params), rotmat)
    for name, value in params.items():
        assert torch.allclose(again[name], value, atol=1e-5), name
