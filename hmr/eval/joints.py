"""Joint sets the protocols measure, and where each body model keeps those joints.

A joint set is a list of neutral names; a body model provides a joint when one of the names it
uses for that anatomy is among its joints (:data:`ALIASES`). When prediction and ground truth
are different body models, only the joints both provide are measured, and the report says
which: the same name is not always the same point (anny's COCO hip sits on the skin, SMPL's hip
joint inside), so cross-model numbers carry that definition gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr.data.keypoint_formats import COCO133_BODY
from hmr.errors import HmrError
from hmr.fit.mapping import BODY_CORRESPONDENCES

SMPL24 = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
    "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)  # fmt: skip
#: Human3.6M's 17 joints in the order of the H36M regressor; LSP14 picks 14 of them
H36M17 = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "spine", "thorax",
    "neck_nose", "head_top", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow",
    "right_wrist",
)  # fmt: skip
LSP14 = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist", "right_elbow",
    "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "thorax", "head_top",
)  # fmt: skip
LSP14_FROM_H36M = tuple(H36M17.index(n) for n in LSP14)

JOINT_SETS: dict[str, tuple[str, ...]] = {
    "smpl24": SMPL24,
    "smplx22": SMPL24[:22],
    "coco17": COCO133_BODY[:17],
    "lsp14": LSP14,
}

#: neutral name -> the names body models use for it, most specific first
ALIASES: dict[str, tuple[str, ...]] = {name: names for name, (_, _, names) in BODY_CORRESPONDENCES.items()}


@dataclass
class JointSelection:
    """Which joints of a joint set two body models both provide, and where."""

    names: list[str]  # the neutral names measured
    pred_index: np.ndarray  # (K,) into the prediction's joints
    gt_index: np.ndarray  # (K,) into the ground truth's joints
    note: str = ""  # what was left out, when the two bodies differ


def _find(joint_names: list[str], neutral: str, exact: bool) -> int | None:
    position = {n: i for i, n in enumerate(joint_names)}
    candidates = (neutral, f"coco_{neutral}") if exact else (f"coco_{neutral}", *ALIASES.get(neutral, ()), neutral)
    for name in candidates:
        if name in position:
            return position[name]
    return None


def select_joints(joint_set: str, pred_names: list[str], gt_names: list[str], same_body: bool) -> JointSelection:
    """The joints of ``joint_set`` both sides provide (exact names when both are one body model)."""
    wanted = JOINT_SETS[joint_set]
    names, pred_index, gt_index = [], [], []
    for neutral in wanted:
        g = _find(gt_names, neutral, exact=same_body)
        p = _find(pred_names, neutral, exact=same_body)
        if g is not None and p is not None:
            names.append(neutral)
            pred_index.append(p)
            gt_index.append(g)
    if len(names) < 4:
        raise HmrError(
            f"the prediction and the ground truth share only {len(names)} joints of {joint_set}; "
            "predict with the ground truth's body model (--body-model)"
        )
    left_out = [n for n in wanted if n not in names]
    note = ""
    if left_out:
        note = f"{len(names)} of {len(wanted)} {joint_set} joints (without {', '.join(left_out)})"
    elif not same_body:
        note = f"all {len(names)} {joint_set} joints, as each body model defines them"
    return JointSelection(names, np.asarray(pred_index), np.asarray(gt_index), note)


def root_point(joints: np.ndarray, names: list[str], alignment: str) -> np.ndarray:
    """The alignment point of one skeleton (K, 3) whose joints are ``names``."""
    if alignment == "pelvis" and "pelvis" in names:
        return joints[names.index("pelvis")]
    if "left_hip" in names and "right_hip" in names:
        return (joints[names.index("left_hip")] + joints[names.index("right_hip")]) / 2
    raise HmrError(f"cannot align at {alignment}: the measured joints have no pelvis or hips")
