"""The joint names of each body model's output, known without its (licence-gated) files.

Evaluation reads predictions saved by ``hmr predict`` (which store joints, not their names) and
labels of datasets, so it must know what joint ``k`` of a body model is without loading it.
The adapters take their names from here too, so the two can never disagree.
"""

from __future__ import annotations

from hmr.body.anny_body import ANNY_BONE_LABELS
from hmr.data.keypoint_formats import COCO133_BODY
from hmr.errors import HmrError

#: anny's bundled COCO regressor: the 17 COCO body points, then the feet in anny's own order
#: (pairs by side, unlike COCO-WholeBody's left foot then right foot)
ANNY_COCO_LABELS = (
    *COCO133_BODY[:17],
    "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe", "left_heel", "right_heel",
)  # fmt: skip
#: SMPL-X's 21 vertex keypoints (nose, eyes, ears, toes, heels, fingertips) in smplx's JOINT_NAMES
_VERTEX_JOINTS = slice(55, 76)


def joint_names(body_model: str) -> list[str]:
    """Names of the joints ``joints_3d`` holds for ``body_model`` (smplx, smpl, skel, anny)."""
    if body_model == "anny":
        return list(ANNY_BONE_LABELS) + [f"coco_{name}" for name in ANNY_COCO_LABELS]
    if body_model in ("smplx", "smpl"):
        from smplx.joint_names import JOINT_NAMES

        if body_model == "smplx":
            return list(JOINT_NAMES[:127])
        return list(JOINT_NAMES[:22]) + ["left_hand", "right_hand"] + list(JOINT_NAMES[_VERTEX_JOINTS])
    if body_model == "skel":
        from hmr.body.skel_dofs import SKEL_JOINT_NAMES

        return list(SKEL_JOINT_NAMES)
    raise HmrError(f"unknown body model {body_model!r}; expected smplx, smpl, skel or anny")
