"""Which detector landmark corresponds to which body-model keypoint.

Detectors and body models name the same anatomy differently. Each correspondence is listed once
by a neutral name, with the names each body model uses for it; a body model takes the pairs whose
name it has. Only landmarks with a real counterpart are paired: BlazePose's inner/outer eye
corners, mouth and hand-edge points have none in anny's COCO regressor and are left out, and
hips get a lower weight because BlazePose's hip points sit higher and wider than joint centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr.fit.keypoints import BLAZEPOSE_NAMES, HAND_NAMES

#: neutral name -> (BlazePose landmark, weight, names the body models use for it)
BODY_CORRESPONDENCES: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "nose": ("nose", 0.5, ("coco_nose", "nose")),
    "left_eye": ("left_eye", 0.5, ("coco_left_eye", "left_eye")),
    "right_eye": ("right_eye", 0.5, ("coco_right_eye", "right_eye")),
    "left_ear": ("left_ear", 0.5, ("coco_left_ear", "left_ear")),
    "right_ear": ("right_ear", 0.5, ("coco_right_ear", "right_ear")),
    "left_shoulder": ("left_shoulder", 1.0, ("coco_left_shoulder", "left_shoulder", "humerus_l")),
    "right_shoulder": ("right_shoulder", 1.0, ("coco_right_shoulder", "right_shoulder", "humerus_r")),
    "left_elbow": ("left_elbow", 1.0, ("coco_left_elbow", "left_elbow", "ulna_l")),
    "right_elbow": ("right_elbow", 1.0, ("coco_right_elbow", "right_elbow", "ulna_r")),
    "left_wrist": ("left_wrist", 1.0, ("coco_left_wrist", "left_wrist", "hand_l")),
    "right_wrist": ("right_wrist", 1.0, ("coco_right_wrist", "right_wrist", "hand_r")),
    "left_hip": ("left_hip", 0.7, ("coco_left_hip", "left_hip", "femur_l")),
    "right_hip": ("right_hip", 0.7, ("coco_right_hip", "right_hip", "femur_r")),
    "left_knee": ("left_knee", 1.0, ("coco_left_knee", "left_knee", "tibia_l")),
    "right_knee": ("right_knee", 1.0, ("coco_right_knee", "right_knee", "tibia_r")),
    "left_ankle": ("left_ankle", 1.0, ("coco_left_ankle", "left_ankle", "talus_l")),
    "right_ankle": ("right_ankle", 1.0, ("coco_right_ankle", "right_ankle", "talus_r")),
    "left_heel": ("left_heel", 0.7, ("coco_left_heel", "left_heel", "calcn_l")),
    "right_heel": ("right_heel", 0.7, ("coco_right_heel", "right_heel", "calcn_r")),
    "left_toes": ("left_foot_index", 0.7, ("coco_left_big_toe", "left_big_toe", "toes_l")),
    "right_toes": ("right_foot_index", 0.7, ("coco_right_big_toe", "right_big_toe", "toes_r")),
}

#: MediaPipe hand landmark -> anny bone whose head it is (fingertips are vertex keypoints)
_ANNY_HAND_BONES = {
    "wrist": "wrist",
    "thumb_cmc": "finger1-1",
    "thumb_mcp": "finger1-2",
    "thumb_ip": "finger1-3",
    "index_mcp": "finger2-1",
    "index_pip": "finger2-2",
    "index_dip": "finger2-3",
    "middle_mcp": "finger3-1",
    "middle_pip": "finger3-2",
    "middle_dip": "finger3-3",
    "ring_mcp": "finger4-1",
    "ring_pip": "finger4-2",
    "ring_dip": "finger4-3",
    "pinky_mcp": "finger5-1",
    "pinky_pip": "finger5-2",
    "pinky_dip": "finger5-3",
}
#: MediaPipe hand landmark -> SMPL-X joint name suffix (``left_`` / ``right_`` prepended)
_SMPLX_HAND_JOINTS = {
    "wrist": "wrist",
    "thumb_cmc": "thumb1",
    "thumb_mcp": "thumb2",
    "thumb_ip": "thumb3",
    "thumb_tip": "thumb",
    "index_mcp": "index1",
    "index_pip": "index2",
    "index_dip": "index3",
    "index_tip": "index",
    "middle_mcp": "middle1",
    "middle_pip": "middle2",
    "middle_dip": "middle3",
    "middle_tip": "middle",
    "ring_mcp": "ring1",
    "ring_pip": "ring2",
    "ring_dip": "ring3",
    "ring_tip": "ring",
    "pinky_mcp": "pinky1",
    "pinky_pip": "pinky2",
    "pinky_dip": "pinky3",
    "pinky_tip": "pinky",
}


def hand_target_names(side: str, hand_landmark: str) -> tuple[str, ...]:
    """Names a body model may use for hand landmark ``hand_landmark`` of ``side`` (left/right)."""
    names = [f"{side}_{_SMPLX_HAND_JOINTS[hand_landmark]}"]
    if hand_landmark in _ANNY_HAND_BONES:
        names.append(f"{_ANNY_HAND_BONES[hand_landmark]}.{side[0].upper()}")
    if hand_landmark.endswith("_tip"):
        names.append(f"{side}_{hand_landmark}")
    return tuple(names)


@dataclass(frozen=True)
class KeypointMapping:
    """Index pairs between detector landmarks and a body model's keypoint list.

    ``body_src`` indexes BlazePose's 33 landmarks, ``body_dst`` the model's keypoints, with
    ``body_weight`` per pair; ``hand_src`` indexes the 21 hand landmarks and ``hand_dst[side]``
    the model's keypoints for the left (0) and right (1) hand. ``names`` are the neutral names.
    """

    names: tuple[str, ...]
    body_src: np.ndarray  # (M,)
    body_dst: np.ndarray  # (M,)
    body_weight: np.ndarray  # (M,)
    hand_src: np.ndarray  # (H,)
    hand_dst: np.ndarray  # (2, H)


def build_mapping(keypoint_names: list[str]) -> KeypointMapping:
    """The pairs a body model with keypoints ``keypoint_names`` supports (first matching name wins)."""
    index = {name: i for i, name in enumerate(keypoint_names)}
    names, src, dst, weight = [], [], [], []
    for neutral, (landmark, w, candidates) in BODY_CORRESPONDENCES.items():
        hit = next((index[c] for c in candidates if c in index), None)
        if hit is not None:
            names.append(neutral)
            src.append(BLAZEPOSE_NAMES.index(landmark))
            dst.append(hit)
            weight.append(w)
    hand_src, hand_dst = [], []
    for i, landmark in enumerate(HAND_NAMES):
        hits = [
            next((index[c] for c in hand_target_names(side, landmark) if c in index), None)
            for side in ("left", "right")
        ]
        if None not in hits:
            hand_src.append(i)
            hand_dst.append(hits)
    return KeypointMapping(
        tuple(names),
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        np.asarray(weight, np.float32),
        np.asarray(hand_src, np.int64),
        np.asarray(hand_dst, np.int64).reshape(-1, 2).T.copy(),
    )
