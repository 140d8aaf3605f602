"""Labels of a rendered person: keypoints in COCO-WholeBody order, their visibility, boxes.

Keypoints come from the posed body itself: anny's bundled COCO regressor for the 23 body and foot
points, bone heads and fingertip vertices for the 21 points of each hand (as the open default's
fitter pairs them, :mod:`hmr.fit.mapping`). Anny has no face-landmark regressor, so the 68 face
slots stay unlabelled (confidence 0).

Visibility is read from the rendered layers at the keypoint's pixel: a keypoint is visible when
it is in front of the camera and inside the image, and the surface drawn there is this person's
and belongs to a body part the keypoint sits in (an elbow seen through its own arm, not through
the torso in front of it). Points on the skin (face, feet, fingers) must also be within a few
centimetres of that surface, which rejects a nose seen from behind the head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr.body.anny_body import ANNY_BONE_LABELS
from hmr.camera import project
from hmr.data.keypoint_formats import (
    COCO133,
    COCO133_BODY,
    COCO133_HAND,
    COCO133_LEFT_HAND_SLOTS,
    COCO133_RIGHT_HAND_SLOTS,
)
from hmr.fit.keypoints import HAND_NAMES
from hmr.fit.mapping import build_mapping
from hmr.synth.parts import PARTS

#: COCO keypoint -> the parts whose surface may be seen at its pixel when it is visible
_BODY_POINT_PARTS = {
    "nose": ("head",),
    "eye": ("head",),
    "ear": ("head",),
    "shoulder": ("torso", "upperarm", "neck"),
    "elbow": ("upperarm", "forearm"),
    "wrist": ("forearm", "hand"),
    "hip": ("torso", "thigh"),
    "knee": ("thigh", "shin"),
    "ankle": ("shin", "foot"),
    "big_toe": ("foot",),
    "small_toe": ("foot",),
    "heel": ("foot",),
}
#: keypoints on the skin: the surface seen must be this close in front of them (metres)
SURFACE_TOLERANCE_M = 0.04
#: keypoints inside the body (joint centres): how far in front of them their part's surface may be
JOINT_TOLERANCE_M = 0.35
_SURFACE_POINTS = ("nose", "eye", "ear", "big_toe", "small_toe", "heel")


def _side_part(side: str, part: str) -> int:
    return PARTS.index(part + ("_l" if side == "left" else "_r") if part not in ("head", "neck", "torso") else part)


@dataclass(frozen=True)
class KeypointLayout:
    """How the 133 COCO-WholeBody slots are read off a posed Anny body.

    ``source (133,)``: index into the concatenation [fast-model keypoints, bone heads] or -1
    (unlabelled); ``allowed_parts (133, len(PARTS))`` bool; ``tolerance_m (133,)``.
    """

    source: np.ndarray
    allowed_parts: np.ndarray
    tolerance_m: np.ndarray

    @property
    def labelled(self) -> np.ndarray:
        return self.source >= 0


def build_layout(fast_keypoint_names: list[str]) -> KeypointLayout:
    """The layout for a fast keypoint model whose keypoints are ``fast_keypoint_names`` (then bone heads)."""
    names = list(fast_keypoint_names) + list(ANNY_BONE_LABELS)
    source = np.full(len(COCO133), -1, np.int64)
    allowed = np.zeros((len(COCO133), len(PARTS)), bool)
    tolerance = np.full(len(COCO133), JOINT_TOLERANCE_M, np.float32)
    for slot, name in enumerate(COCO133_BODY):
        source[slot] = names.index(f"coco_{name}")
        side, _, kind = name.partition("_") if name != "nose" else ("", "", "nose")
        for part in _BODY_POINT_PARTS[kind]:
            allowed[slot, _side_part(side, part)] = True
        if kind in _SURFACE_POINTS:
            tolerance[slot] = SURFACE_TOLERANCE_M
    mapping = build_mapping(names)
    for side_index, (side, slots) in enumerate(
        (("left", COCO133_LEFT_HAND_SLOTS), ("right", COCO133_RIGHT_HAND_SLOTS))
    ):
        for src, dst in zip(mapping.hand_src, mapping.hand_dst[side_index], strict=True):
            slot = slots[COCO133_HAND.index(HAND_NAMES[src])]
            source[slot] = dst
            allowed[slot, _side_part(side, "hand")] = True
            if HAND_NAMES[src] == "wrist":
                allowed[slot, _side_part(side, "forearm")] = True
            else:
                tolerance[slot] = SURFACE_TOLERANCE_M
    return KeypointLayout(source, allowed, tolerance)


def keypoint_visibility(
    layout: KeypointLayout,
    keypoints_cam: np.ndarray,
    person: int,
    K: np.ndarray,
    width: int,
    height: int,
    instance: np.ndarray,
    part: np.ndarray,
    depth_m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``(133, 2)`` and visibility ``(133,)`` bool of one person's keypoints.

    ``instance``, ``part`` (H, W) int (-1: nothing drawn) and ``depth_m`` (H, W) are the rendered
    layers of the whole image; ``keypoints_cam (133, 3)``.
    """
    in_front = keypoints_cam[:, 2] > 0.01
    uv = np.full((len(keypoints_cam), 2), np.nan)
    uv[in_front] = project(keypoints_cam[in_front], K)
    col, row = np.rint(uv[:, 0]), np.rint(uv[:, 1])
    inside = in_front & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    visible = np.zeros(len(keypoints_cam), bool)
    r, c = row[inside].astype(np.int64), col[inside].astype(np.int64)
    seen_part = part[r, c]
    ok = (instance[r, c] == person) & (seen_part >= 0)
    ok &= layout.allowed_parts[np.flatnonzero(inside), np.maximum(seen_part, 0)]
    ok &= depth_m[r, c] >= keypoints_cam[inside, 2] - layout.tolerance_m[inside]
    visible[np.flatnonzero(inside)] = ok
    return uv, visible & layout.labelled


def mask_box(mask: np.ndarray) -> np.ndarray:
    """xyxy box around the true pixels of a mask (pixel edges), or an empty array when none is."""
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return np.zeros(0, np.float32)
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], np.float32)


def amodal_box(verts_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """xyxy box around the projection of every vertex in front of the camera, not clipped to the image."""
    front = verts_cam[:, 2] > 0.01
    uv = project(verts_cam[front], K)
    return np.concatenate([uv.min(0), uv.max(0)]).astype(np.float32)
