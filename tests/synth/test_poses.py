"""The pose sampler: enough everyday key poses, inside joint limits, no limb through the body, hands shaped."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hmr.body.anny_body import ANNY_BONE_GROUPS, ANNY_BONE_LABELS, AnnyBody
from hmr.synth.poses import KEY_POSES, Arm, PoseSampler, PoseSpec, clamp_to_limits, perturb, within_limits
from hmr.synth.self_contact import segment_distances

#: activities the issue asks for, each matched by at least one key pose name
ACTIVITIES = (
    "stand", "walk", "run", "sit", "squat", "kneel", "lie", "reach", "wave", "arms_crossed", "hips",
    "phone", "carry", "jump", "dance", "tennis", "box", "kick", "yoga",
)  # fmt: skip


@pytest.fixture(scope="module")
def body() -> AnnyBody:
    return AnnyBody()


@pytest.fixture(scope="module")
def sampler(body) -> PoseSampler:
    return PoseSampler(body)


def _anny_heads(body: AnnyBody, pose) -> np.ndarray:
    with torch.no_grad():
        out = body(
            global_orient=torch.from_numpy(pose.global_orient)[None],
            body_pose=torch.from_numpy(pose.body_pose)[None],
            left_hand_pose=torch.from_numpy(pose.left_hand_pose)[None],
            right_hand_pose=torch.from_numpy(pose.right_hand_pose)[None],
        )
    return out.joints[0, : len(ANNY_BONE_LABELS)].double().numpy()


def test_the_library_covers_everyday_activities_within_limits_without_self_intersection(sampler):
    names = [k.name for k in KEY_POSES]
    assert len(names) >= 30 and len(set(names)) == len(names)
    missing = [a for a in ACTIVITIES if not any(a in n for n in names)]
    assert not missing
    for spec in KEY_POSES:
        assert within_limits(spec), spec.name
        assert sampler.penetration_m(spec) <= sampler.capsules.tolerance_m, spec.name


def test_perturbed_samples_stay_within_limits_and_samples_are_reproducible(sampler):
    rng = np.random.default_rng(3)
    for spec in KEY_POSES:
        assert within_limits(perturb(spec, rng, scale=2.0)), spec.name
    a = sampler.sample(np.random.default_rng(5))
    b = sampler.sample(np.random.default_rng(5))
    assert a.name == b.name and np.array_equal(a.body_pose, b.body_pose)
    assert a.body_pose.shape == (len(ANNY_BONE_GROUPS["body_pose"]), 3) and a.body_pose.dtype == np.float32


def test_the_rig_forward_kinematics_is_anny_s(body, sampler):
    pose = sampler.sample(np.random.default_rng(8))
    local = {"root": Rotation.from_rotvec(pose.global_orient.astype(np.float64))}
    for group in ("body_pose", "left_hand_pose", "right_hand_pose"):
        for bone, rotvec in zip(ANNY_BONE_GROUPS[group], getattr(pose, group).astype(np.float64)):
            local[bone] = Rotation.from_rotvec(rotvec)
    assert np.abs(sampler.rig.posed_heads(local) - _anny_heads(body, pose)).max() < 1e-4


def test_an_arm_through_the_chest_is_measured_and_sampled_poses_keep_limbs_apart(body, sampler):
    through = PoseSpec("through", arm_r=Arm(elev=90, azim=140, elbow=120), arm_l=Arm(elev=90, azim=140, elbow=120))
    assert sampler.penetration_m(through) > sampler.capsules.tolerance_m
    rng = np.random.default_rng(12)
    for _ in range(40):
        heads = _anny_heads(body, sampler.sample(rng))
        assert sampler.capsules.penetration_m(heads) <= sampler.capsules.tolerance_m + 1e-6


def test_segment_distance_matches_hand_computed_cases():
    p0, p1 = np.array([[0.0, 0, 0]]), np.array([[1.0, 0, 0]])
    # parallel segment 2 above: distance 2; crossing segment offset by 0.5 in z: distance 0.5; end to end: 1
    assert segment_distances(p0, p1, np.array([[0.0, 2, 0]]), np.array([[1.0, 2, 0]]))[0] == pytest.approx(2.0)
    assert segment_distances(p0, p1, np.array([[0.5, -1, 0.5]]), np.array([[0.5, 1, 0.5]]))[0] == pytest.approx(0.5)
    assert segment_distances(p0, p1, np.array([[2.0, 0, 0]]), np.array([[3.0, 0, 0]]))[0] == pytest.approx(1.0)


def test_hand_shapes_close_the_fingers(body, sampler):
    wrist, tip = ANNY_BONE_LABELS.index("wrist.R"), ANNY_BONE_LABELS.index("finger3-3.R")
    reach = {}
    for shape in ("open", "grip", "fist"):
        pose = sampler.sample(np.random.default_rng(1))
        pose.right_hand_pose = sampler.hands.hand(shape, "R").astype(np.float32)
        heads = _anny_heads(body, pose)
        reach[shape] = np.linalg.norm(heads[tip] - heads[wrist])
    assert reach["open"] > reach["grip"] > reach["fist"]


def test_an_arm_behind_the_back_cannot_rise_overhead():
    spec = PoseSpec("behind", arm_l=Arm(elev=150, azim=-80))
    assert not within_limits(spec)
    clamped = clamp_to_limits(spec)
    assert within_limits(clamped) and clamped.arm_l.elev == 60.0 and clamped.arm_l.azim == -80
    assert within_limits(PoseSpec("forward", arm_l=Arm(elev=150, azim=80)))
