"""SMPL-X's hands and face as vertex sets, and its joint regressor, from the user's model file.

EHF measures the hands and the face on their own, each aligned at the joint it hangs from
(wrists, neck), so that a good hand on a misplaced arm still counts as a good hand. A vertex
belongs to the region of the joint that skins it most (the model file's ``weights``): wrist and
finger joints make the hands; head, jaw and eye joints the face.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hmr.errors import HmrError

LEFT_HAND_JOINTS = (20, *range(25, 40))  # left wrist and its 15 finger joints
RIGHT_HAND_JOINTS = (21, *range(40, 55))
FACE_JOINTS = (15, 22, 23, 24)  # head, jaw, eyes
#: (region, vertex joints, the joint it is aligned at) for EHF's part metrics
REGIONS = (("left_hand", LEFT_HAND_JOINTS, 20), ("right_hand", RIGHT_HAND_JOINTS, 21), ("face", FACE_JOINTS, 12))


@dataclass
class SmplxRegions:
    J_regressor: np.ndarray  # (55, V) skeleton joints from vertices
    vertices: dict[str, np.ndarray]  # region -> vertex indices
    anchor_joint: dict[str, int]  # region -> joint it is aligned at


def load_smplx_regions(models_dir: Path) -> SmplxRegions:
    path = Path(models_dir) / "smplx" / "SMPLX_NEUTRAL.npz"
    if not path.exists():
        raise HmrError(
            f"EHF needs the SMPL-X model file {path} (its joint regressor and skinning weights); "
            "download SMPL-X and pass --models-dir"
        )
    with np.load(path, allow_pickle=True) as data:
        regressor = np.asarray(data["J_regressor"], np.float64)
        weights = np.asarray(data["weights"], np.float64)
    owner = weights.argmax(1)
    vertices = {name: np.flatnonzero(np.isin(owner, joints)) for name, joints, _ in REGIONS}
    return SmplxRegions(regressor[:55], vertices, {name: anchor for name, _, anchor in REGIONS})
