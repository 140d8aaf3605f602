"""Anny's mesh split into body parts, from its skinning weights.

A vertex belongs to the part of the bone that moves it most. Parts are what keypoint visibility
asks ("is the surface seen at the elbow's pixel part of the arm?") and what clothing regions are
built from, so both agree on where an arm ends.
"""

from __future__ import annotations

import numpy as np
import torch

from hmr.body.anny_body import ANNY_BONE_LABELS, AnnyBody

PARTS = (
    "head",
    "neck",
    "torso",
    "upperarm_l",
    "forearm_l",
    "hand_l",
    "upperarm_r",
    "forearm_r",
    "hand_r",
    "thigh_l",
    "shin_l",
    "foot_l",
    "thigh_r",
    "shin_r",
    "foot_r",
)


def bone_part(label: str) -> str:
    """The part an anny bone belongs to."""
    side = "_l" if label.endswith(".L") else "_r"
    if label in ("head", "eye.L", "eye.R"):
        return "head"
    if label.startswith("neck"):
        return "neck"
    if label.startswith(("upperarm",)):
        return "upperarm" + side
    if label.startswith("lowerarm"):
        return "forearm" + side
    if label.startswith(("wrist", "finger", "metacarpal")):
        return "hand" + side
    if label.startswith("upperleg"):
        return "thigh" + side
    if label.startswith("lowerleg"):
        return "shin" + side
    if label.startswith(("foot", "toe")):
        return "foot" + side
    return "torso"  # root, pelvis, spine, clavicle, shoulder


def vertex_bones(body: AnnyBody) -> np.ndarray:
    """(V,) index into ANNY_BONE_LABELS of the bone with the largest skinning weight per vertex."""
    weights = body.anny.vertex_bone_weights  # (V, 9) sparse: weights and their bone indices
    best = torch.argmax(weights, dim=1, keepdim=True)
    return torch.gather(body.anny.vertex_bone_indices.long(), 1, best)[:, 0].cpu().numpy()


def vertex_parts(body: AnnyBody) -> np.ndarray:
    """(V,) index into PARTS per vertex."""
    bone_to_part = np.array([PARTS.index(bone_part(label)) for label in ANNY_BONE_LABELS])
    return bone_to_part[vertex_bones(body)]


def face_parts(body: AnnyBody) -> np.ndarray:
    """(F,) index into PARTS per triangle of ``body.faces``: the part of most of its corners."""
    corner = vertex_parts(body)[body.faces]  # (F, 3)
    # with three corners, a part held by two of them is the majority; else the first corner's
    return np.where(corner[:, 1] == corner[:, 2], corner[:, 1], corner[:, 0])
