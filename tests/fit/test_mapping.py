"""Landmark <-> body-model keypoint pairs for every body model."""

from smplx.joint_names import JOINT_NAMES

from hmr.body.skel_dofs import SKEL_JOINT_NAMES
from hmr.fit.keypoints import BLAZEPOSE_NAMES, HAND_NAMES
from hmr.fit.mapping import BODY_CORRESPONDENCES, build_mapping


def test_anny_pairs_every_body_and_hand_landmark(fit_body):
    mapping = build_mapping(fit_body.keypoint_names)
    assert mapping.names == tuple(BODY_CORRESPONDENCES)
    names = fit_body.keypoint_names
    for src, dst in zip(mapping.body_src, mapping.body_dst):
        landmark = BLAZEPOSE_NAMES[src]
        # BlazePose's foot index is the big-toe side of the foot; everything else keeps its name
        assert names[dst].removeprefix("coco_") == landmark.replace("foot_index", "big_toe")
    assert len(mapping.hand_src) == len(HAND_NAMES)
    left = [names[i] for i in mapping.hand_dst[0]]
    right = [names[i] for i in mapping.hand_dst[1]]
    assert left[HAND_NAMES.index("wrist")] == "wrist.L" and right[HAND_NAMES.index("wrist")] == "wrist.R"
    assert left[HAND_NAMES.index("index_pip")] == "finger2-2.L"
    assert right[HAND_NAMES.index("pinky_tip")] == "right_pinky_tip"


def test_smplx_pairs_body_and_hands():
    mapping = build_mapping(list(JOINT_NAMES[:127]))
    assert len(mapping.names) == len(BODY_CORRESPONDENCES)
    assert len(mapping.hand_src) == len(HAND_NAMES)
    assert JOINT_NAMES[mapping.hand_dst[1][HAND_NAMES.index("thumb_tip")]] == "right_thumb"
    assert JOINT_NAMES[mapping.body_dst[mapping.names.index("left_toes")]] == "left_big_toe"


def test_skel_pairs_the_limbs_only():
    mapping = build_mapping(list(SKEL_JOINT_NAMES))
    assert "left_knee" in mapping.names and "nose" not in mapping.names
    assert SKEL_JOINT_NAMES[mapping.body_dst[mapping.names.index("right_elbow")]] == "ulna_r"
    assert len(mapping.hand_src) == 0
