"""Keypoint layouts that label columns name in ``kp2d_format`` / ``kp3d_format``.

Only layouts whose slots code must address by name live here; the others (``coco17``,
``smpl24``, ``h36m17``...) are carried through as their sources give them.
"""

from __future__ import annotations

#: COCO-WholeBody's 23 body and foot points, in its order (slots 0-22)
COCO133_BODY = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)
#: a hand's 21 points (slots 91-111 left, 112-132 right): the wrist, then four per finger from the
#: knuckle out (the order MediaPipe's hand landmarks share)
COCO133_HAND = (
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    "index_mcp",
    "index_pip",
    "index_dip",
    "index_tip",
    "middle_mcp",
    "middle_pip",
    "middle_dip",
    "middle_tip",
    "ring_mcp",
    "ring_pip",
    "ring_dip",
    "ring_tip",
    "pinky_mcp",
    "pinky_pip",
    "pinky_dip",
    "pinky_tip",
)
COCO133_FACE_SLOTS = range(23, 91)
COCO133_LEFT_HAND_SLOTS = range(91, 112)
COCO133_RIGHT_HAND_SLOTS = range(112, 133)
#: all 133 slot names: face points are ``face_0`` .. ``face_67``
COCO133 = (
    COCO133_BODY
    + tuple(f"face_{i}" for i in range(68))
    + tuple(f"left_{n}" for n in COCO133_HAND)
    + tuple(f"right_{n}" for n in COCO133_HAND)
)
